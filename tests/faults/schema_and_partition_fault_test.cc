// Issue 12 under faults: a partitioned table captured under its root's name
// while its rows move between partitions and sluice is killed with SIGKILL; and
// schema changes of pgbench_accounts (ADD / DROP / retype / RENAME COLUMN),
// each answered by a table re-sync while the load goes on, one of the re-syncs
// cut by kill -9. Both end, like every case, with `sluice verify` (no drift).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "faults/fault_fixture.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAccounts = "public.pgbench_accounts";
constexpr long kEventsRows = 3000;  // rows of events before sluice starts
constexpr long kSecondsInRange = 91L * 24 * 3600;  // 2024-01-01 .. 2024-04-01 (leap year)

// A timestamptz literal `offset` seconds after 2024-01-01 00:00 UTC.
std::string at_literal(long offset) {
  return "(timestamptz '2024-01-01 00:00:00+00' + interval '" + std::to_string(offset) + " seconds')";
}

// Writes public.events on its own connection and thread until stop(): inserts,
// updates of the payload, updates of `at` that move a row to another partition
// or change its key inside one, deletes, and multi-row updates. Ids stay unique
// (new ones come from a counter), so `id` names one row.
// Thread-safety: changes() and error() may be called from any thread.
// Lifetime: the destructor stops and joins the thread.
class EventsWriter {
 public:
  EventsWriter(std::string dsn, unsigned seed, long first_new_id)
      : dsn_(std::move(dsn)), rng_(seed), next_id_(first_new_id) {
    thread_ = std::thread([this] { run(); });
  }
  ~EventsWriter() { stop(); }
  EventsWriter(const EventsWriter&) = delete;
  EventsWriter& operator=(const EventsWriter&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Rows inserted, updated or deleted by committed statements (a row moved to
  // another partition counts once: one UPDATE).
  long changes() const { return changes_.load(); }
  long moves() const { return moves_.load(); }
  long statements() const { return statements_.load(); }
  std::string error() const {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  // Runs one statement; returns how many rows it changed.
  static long changed_rows(PgClient& db, const std::string& statement) {
    return std::stol(db.scalar("WITH c AS (" + statement + " RETURNING 1) SELECT count(*) FROM c"));
  }

  void run() {
    try {
      PgClient db(dsn_);
      std::uniform_int_distribution<int> percent(0, 99);
      std::uniform_int_distribution<long> offset(0, kSecondsInRange - 1);
      while (!stop_) {
        std::uniform_int_distribution<long> existing(1, next_id_ - 1);
        const std::string id = std::to_string(existing(rng_));
        const int p = percent(rng_);
        long rows = 0;
        if (p < 30) {
          const long fresh = next_id_++;
          rows = changed_rows(db, "INSERT INTO events VALUES (" + std::to_string(fresh) + ", " + at_literal(offset(rng_)) +
                                      ", 'new:" + std::to_string(fresh) + "')");
        } else if (p < 50) {
          rows = changed_rows(db, "UPDATE events SET payload = payload || ':u' WHERE id = " + id);
        } else if (p < 65) {
          // Into the next month's partition (March wraps to January).
          rows = changed_rows(db,
                              "UPDATE events SET at = CASE WHEN at < '2024-03-01 00:00+00' THEN at + interval '1 month' "
                              "ELSE at - interval '2 months' END, payload = payload || ':m' WHERE id = " + id);
          moves_ += rows;
        } else if (p < 75) {
          // A new key in the same partition.
          rows = changed_rows(db, "UPDATE events SET at = date_trunc('month', at) + (at - date_trunc('month', at)) / 2 "
                                  "WHERE id = " + id);
        } else if (p < 90) {
          rows = changed_rows(db, "DELETE FROM events WHERE id = " + id);
        } else {
          rows = changed_rows(db, "UPDATE events SET payload = 'batch:' || id WHERE id BETWEEN " + id + " AND " + id +
                                      " + 15");
        }
        changes_ += rows;
        ++statements_;
        std::this_thread::sleep_for(10ms);
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mu_);
      error_ = e.what();
    }
  }

  std::string dsn_;
  std::mt19937 rng_;
  long next_id_;
  std::atomic<bool> stop_{false};
  std::atomic<long> changes_{0};
  std::atomic<long> moves_{0};
  std::atomic<long> statements_{0};
  mutable std::mutex mu_;
  std::string error_;
  std::thread thread_;
};

class SchemaAndPartitionFaultTest : public FaultTest {
 protected:
  // events: the key (at, id) is not in column order, and `at` holds ':' (escaped
  // in the keys). Three monthly partitions.
  void create_events() {
    db().exec(std::string(R"(
      CREATE TABLE events (id bigint NOT NULL, at timestamptz NOT NULL, payload text, PRIMARY KEY (at, id))
        PARTITION BY RANGE (at);
      CREATE TABLE events_2024_01 PARTITION OF events FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2024-02-01 00:00+00');
      CREATE TABLE events_2024_02 PARTITION OF events FOR VALUES FROM ('2024-02-01 00:00+00') TO ('2024-03-01 00:00+00');
      CREATE TABLE events_2024_03 PARTITION OF events FOR VALUES FROM ('2024-03-01 00:00+00') TO ('2024-04-01 00:00+00');
      INSERT INTO events SELECT g, timestamptz '2024-01-01 00:00+00' + g * interval '2617 seconds', 'row:' || g
        FROM generate_series(1, )") + std::to_string(kEventsRows) + ") g;");
  }

  // The fixture's config with public.events captured too.
  std::string events_config() {
    if (std::find(captured_tables.begin(), captured_tables.end(), "public.events") == captured_tables.end()) {
      captured_tables.push_back("public.events");
    }
    return write_config();
  }

  // The lines of `process` that contain one of `words`.
  static std::string lines_with(const SluiceProcess& process, const std::vector<std::string>& words) {
    std::string lines;
    std::istringstream in(process.output());
    for (std::string line; std::getline(in, line);) {
      for (const auto& word : words) {
        if (line.find(word) != std::string::npos) {
          lines += line + "\n";
          break;
        }
      }
    }
    return lines;
  }
  static std::string resync_lines(const SluiceProcess& process) { return lines_with(process, {"re-sync", "shape"}); }

  // Keeps the warnings and errors of a run before it is replaced (its output
  // goes with it), and prints them all at the end of the case.
  void keep_warnings(const SluiceProcess& process) { warnings_ += lines_with(process, {" warning ", " error ", " critical "}); }
  void print_warnings() { std::printf("sluice warnings and errors (all runs):\n%s", warnings_.c_str()); }

 private:
  std::string warnings_;
};

TEST_F(SchemaAndPartitionFaultTest, PartitionedTableUnderLoadWithKill9LosesNothing) {
  constexpr int kKills = 5;
  const unsigned seed = std::random_device{}();
  std::printf("SchemaAndPartitionFaultTest seed: %u\n", seed);
  report.seed = std::to_string(seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> gap_ms(300, 2500);

  create_events();
  auto config = events_config();
  report.setup += "; public.events partitioned by month (3 partitions, " + std::to_string(kEventsRows) +
                  " rows, key (at, id)) written by a thread of the test (~100 statements/s)";
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  ASSERT_EQ(cache().keys("events:*").size(), static_cast<std::size_t>(kEventsRows)) << sluice->output();

  start_load(20);
  EventsWriter writer(pg->dsn(), seed + 1, kEventsRows + 1);
  std::this_thread::sleep_for(1s);

  report.recovery_measure =
      "restart after kill -9 -> the sink checkpoint reaches the WAL position read at the restart "
      "(measured when reached before the next kill)";
  int before_recovery = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    ASSERT_TRUE(sluice->running()) << sluice->output();
    ASSERT_EQ(writer.error(), "");
    sluice->kill9();
    ASSERT_TRUE(sluice->wait(10s));
    ++report.faults_injected;
    keep_warnings(*sluice);
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto restarted = Clock::now();
    sluice = start_sluice(config);
    if (kill + 1 == kKills) {
      auto recovered = time_until_sink_reaches(*target, restarted, sluice.get(), 60s);
      ASSERT_TRUE(recovered) << sluice->output();
      report.recovery_s.push_back(*recovered);
      ASSERT_TRUE(wait_streaming(*sluice));
      break;
    }
    auto kill_at = restarted + std::chrono::milliseconds(gap_ms(rng));
    auto recovered = time_until_sink_reaches(*target, restarted, sluice.get(),
                                             std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - Clock::now()));
    if (recovered) {
      report.recovery_s.push_back(*recovered);
    } else {
      ++before_recovery;
    }
    std::this_thread::sleep_until(kill_at);
  }
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last kill: lengthen it";
  wait_load();
  writer.stop();
  ASSERT_EQ(writer.error(), "");
  manual_changes = writer.changes();
  report.notes = std::to_string(before_recovery) + " of " + std::to_string(report.faults_injected) +
                 " kills came before that restart had caught up (not in recovery_s); events: " +
                 std::to_string(writer.statements()) + " statements, " + std::to_string(writer.changes()) +
                 " rows changed (in captured_changes), " + std::to_string(writer.moves()) + " moved to another partition";
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
  keep_warnings(*sluice);
  print_warnings();

  const auto rows = std::stoul(db().scalar("SELECT count(*) FROM events"));
  EXPECT_EQ(cache().keys("events:*").size(), rows);
  // No key under a partition's name.
  EXPECT_TRUE(cache().keys("events_2024_*").empty());
}

TEST_F(SchemaAndPartitionFaultTest, SchemaChangesUnderLoadConverge) {
  const unsigned seed = std::random_device{}();
  std::printf("SchemaAndPartitionFaultTest seed: %u\n", seed);
  report.seed = std::to_string(seed);
  std::mt19937 rng(seed);

  // pgbench's TPC-B writes abalance only: filler is the column to retype and rename.
  const std::vector<std::string> ddl = {
      "ALTER TABLE pgbench_accounts ADD COLUMN note int NOT NULL DEFAULT 7",
      "ALTER TABLE pgbench_accounts DROP COLUMN note",
      "ALTER TABLE pgbench_accounts ALTER COLUMN filler TYPE text",
      "ALTER TABLE pgbench_accounts RENAME COLUMN filler TO memo",
  };
  // A pass over the 100,000 accounts takes about a second here: the kill comes
  // soon after it began (a pass that still ends first moves the kill on).
  int kill_during = std::uniform_int_distribution<int>(0, static_cast<int>(ddl.size()) - 1)(rng);
  auto kill_after = std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 400)(rng));
  std::string moved;  // why the kill came later than drawn, if it did

  auto config = write_config("", 0, 0, "schema_check_interval_ms = 200\nsnapshot_chunk_rows = 500\n");
  report.setup += "; schema_check_interval_ms 200; snapshot_chunk_rows 500";
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(25);
  std::this_thread::sleep_for(1s);

  report.recovery_measure =
      "DDL committed -> 're-sync of public.pgbench_accounts: every row read again' logged (the pass cut by "
      "kill -9: by the restarted run) [ADD COLUMN, DROP COLUMN, ALTER COLUMN TYPE, RENAME COLUMN]";
  report.secondary_measure = "restart after kill -9 -> the restarted run's re-sync of pgbench_accounts done";
  const std::string begun = std::string("re-sync of ") + kAccounts + ": reading it again";
  const std::string done = std::string("re-sync of ") + kAccounts + ": every row read again";

  for (int i = 0; i < static_cast<int>(ddl.size()); ++i) {
    ASSERT_TRUE(sluice->running()) << sluice->output();
    ASSERT_TRUE(load && !load->done()) << "the load ended before " << ddl[i] << ": lengthen it";
    const std::size_t begun_before = occurrences(*sluice, begun);
    const std::size_t done_before = occurrences(*sluice, done);
    const auto changed_wall = std::chrono::system_clock::now();
    db().exec(ddl[i]);
    ++report.faults_injected;
    ASSERT_TRUE(wait_for_output(*sluice, begun, begun_before + 1, 30s)) << "after " << ddl[i];
    if (i == kill_during) {
      std::this_thread::sleep_for(kill_after);
      if (occurrences(*sluice, done) > done_before) {
        ASSERT_LT(i + 1, static_cast<int>(ddl.size()))
            << "every re-sync ended before its kill: make the table larger or the chunks smaller\n"
            << resync_lines(*sluice);
        moved += "the pass after DDL " + std::to_string(i + 1) + " ended within " +
                 std::to_string(kill_after.count()) + " ms; ";
        ++kill_during;
        kill_after /= 2;
      }
    }
    if (i != kill_during) {
      ASSERT_TRUE(wait_for_output(*sluice, done, done_before + 1, 60s)) << "after " << ddl[i];
      auto took = seconds_to_line(*sluice, done, changed_wall, done_before + 1);
      ASSERT_TRUE(took);
      report.recovery_s.push_back(*took);
      continue;
    }
    sluice->kill9();
    ASSERT_TRUE(sluice->wait(10s));
    ++report.faults_injected;
    keep_warnings(*sluice);
    std::printf("killed during the re-sync after '%s', %lld ms after it began; its lines:\n%s", ddl[i].c_str(),
                static_cast<long long>(kill_after.count()), resync_lines(*sluice).c_str());
    const auto restarted_wall = std::chrono::system_clock::now();
    sluice = start_sluice(config);
    // The sinks no longer hold a shape of the table (forgotten at the pass's
    // begin, or the old one): the restarted run reads it all again.
    ASSERT_TRUE(wait_for_output(*sluice, begun, 1, 30s)) << "the restarted run did not re-sync " << kAccounts;
    ASSERT_TRUE(wait_for_output(*sluice, done, 1, 60s));
    auto took = seconds_to_line(*sluice, done, changed_wall, 1);
    auto since_restart = seconds_to_line(*sluice, done, restarted_wall, 1);
    ASSERT_TRUE(took && since_restart);
    report.recovery_s.push_back(*took);
    report.secondary_s.push_back(*since_restart);
  }
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last re-sync did: lengthen it";
  report.notes = moved + "kill -9 during the re-sync after DDL " + std::to_string(kill_during + 1) + " of " +
                 std::to_string(ddl.size()) + ", " + std::to_string(kill_after.count()) + " ms after it began";
  std::printf("re-sync lines of the last run:\n%s", resync_lines(*sluice).c_str());
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
  keep_warnings(*sluice);
  print_warnings();

  // The documents have the table's last shape (verify compares them too).
  auto document = cache().get("pgbench_accounts:1");
  ASSERT_TRUE(document);
  EXPECT_NE(document->find("\"memo\""), std::string::npos) << *document;
  EXPECT_EQ(document->find("\"filler\""), std::string::npos) << *document;
  EXPECT_EQ(document->find("\"note\""), std::string::npos) << *document;
}

}  // namespace
}  // namespace sluice::test
