// Case 11 (issue 13): the search sink under faults. Beside the Redis sink "cache"
// of every case, sluice feeds a Sphinx 2.2 searchd (sink "search", kind =
// "manticore", one RT index per pgbench table, `filler` the full-text field) while
// pgbench writes; each case breaks the search side and ends, like every case,
// with sluice caught up, `sluice verify` finding no drift in either sink and no
// version going backwards in either (the search sink's _sluice_version of every
// teller and branch document is watched too).
//
//   a. kill -9 of sluice at random moments;
//   b. searchd killed (SIGKILL: its binlog replays) and stopped, each restarted
//      after 1 s, then down for 21 s (backlog drain);
//   c. an index emptied under load (TRUNCATE RTINDEX), and searchd restarted
//      without its data: detected, rebuilt while streaming goes on;
//   d. connections to searchd reset through TcpProxy, once refused for 3 s.
//
// Recoveries are measured on the search sink's checkpoint: the lowest position
// of the three indexes' checkpoint documents.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "faults/fault_fixture.h"
#include "harness/sphinx_server.h"
#include "harness/tcp_proxy.h"
#include "sink/manticore/checkpoint_text.h"
#include "sink/manticore/document_id.h"
#include "sink/manticore/index_definition.h"
#include "sink/manticore/sphinxql_connection.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kIndexes[] = {"pgbench_accounts_rt", "pgbench_branches_rt", "pgbench_tellers_rt"};
constexpr const char* kWatchedSearchIndexes[] = {"pgbench_branches_rt", "pgbench_tellers_rt"};
const std::string kCheckpointId = std::to_string(kCheckpointDocumentId);

// The blocks `sluice check` asks for (filler is the field and, as every field,
// also a string attribute), written by hand so that a wrong layout would fail.
std::vector<std::string> pgbench_index_blocks() {
  auto block = [](const std::string& index, std::vector<std::string> integer_columns) {
    std::vector<IndexAttribute> attributes = {{"filler", AttributeType::kString}};
    for (auto& column : integer_columns) attributes.push_back({std::move(column), AttributeType::kBigint});
    return IndexDefinition(index, {"filler"}, attributes).sphinx_conf_block("{dir}/" + index);
  };
  return {block("pgbench_accounts_rt", {"aid", "bid", "abalance"}),
          block("pgbench_branches_rt", {"bid", "bbalance"}),
          block("pgbench_tellers_rt", {"tid", "bid", "tbalance"})};
}

// A connection to searchd opened on first use and dropped after any failure, so
// that helpers survive searchd going away.
class SearchReader {
 public:
  explicit SearchReader(int port) : port_(port) {}
  SphinxqlConnection::Result query(const std::string& sql) {
    try {
      if (!connection_) {
        SphinxqlConnection::Options options;
        options.connect_timeout = 2s;
        options.io_timeout = 5s;
        connection_ = std::make_unique<SphinxqlConnection>(
            SphinxqlUrl::parse("mysql://127.0.0.1:" + std::to_string(port_)), options, "fault test");
      }
      return connection_->query(sql);
    } catch (...) {
      connection_.reset();
      throw;
    }
  }

 private:
  int port_;
  std::unique_ptr<SphinxqlConnection> connection_;
};

class SearchFaultTest : public FaultTest {
 protected:
  SearchFaultTest()
      : FaultTest({.redis = Stack::Redis::kAppendOnly, .search_index_blocks = pgbench_index_blocks()}) {}

  void SetUp() override {
    FaultTest::SetUp();
    reader = std::make_unique<SearchReader>(search->port());
    auto watch = std::make_shared<SearchReader>(search->port());
    extra_watcher = std::make_unique<RegressionWatcher>([watch] {
      std::vector<RegressionWatcher::Entry> entries;
      for (const char* index : kWatchedSearchIndexes) {
        auto result = watch->query(std::string("SELECT id, _sluice_version FROM ") + index + " WHERE id < " +
                                   kCheckpointId + " LIMIT 1000 OPTION max_matches=1000");
        for (const auto& row : result.rows) {
          if (row.size() < 2 || !row[0] || !row[1]) continue;
          entries.push_back({std::string(index) + ' ' + *row[0], *row[1]});
        }
      }
      return entries;
    });
  }
  void TearDown() override {
    FaultTest::TearDown();  // stops the watchers first
    reader.reset();
  }

  // The cache sink of every case, and the search sink under test (at
  // `search_port` when given: a TcpProxy in front of searchd).
  std::string write_search_config(int search_port = 0) {
    TomlWriter toml = config_toml();
    manticore_sink(toml, "search", "mysql://127.0.0.1:" + std::to_string(search_port != 0 ? search_port : search->port()))
        .set("batch_max_changes", kBatchMaxChanges);
    for (const char* table : {"pgbench_accounts", "pgbench_branches", "pgbench_tellers"}) {
      toml.array_table("sinks.tables").set("table", "public." + std::string(table)).set("fields", {"filler"});
    }
    auto config = write_config(toml);
    report.setup += "; plus sink 'search' (Sphinx 2.2.11 RT, binlog_flush 2), recoveries measured on it";
    return config;
  }

  // The lowest commit LSN of the indexes' checkpoint positions; nullopt while
  // searchd is unreachable or an index has no checkpoint with a position.
  std::optional<uint64_t> sink_checkpoint_lsn() override {
    std::optional<uint64_t> lowest;
    try {
      for (const char* index : kIndexes) {
        auto result =
            reader->query(std::string("SELECT _sluice_checkpoint FROM ") + index + " WHERE id = " + kCheckpointId);
        if (result.rows.empty() || result.rows[0].empty() || !result.rows[0][0]) return std::nullopt;
        auto state = parse_checkpoint(*result.rows[0][0], index);
        if (!state.position) return std::nullopt;
        uint64_t lsn = std::stoull(state.position->encode().substr(0, 16), nullptr, 16);
        lowest = lowest ? std::min(*lowest, lsn) : lsn;
      }
    } catch (const std::exception&) {
      return std::nullopt;
    }
    return lowest;
  }

  void stay_down(SluiceProcess& sluice, std::chrono::seconds down) { FaultTest::stay_down(sluice, down, "searchd"); }

  long documents(const char* index) {
    reader->query(std::string("SELECT id FROM ") + index + " WHERE id < " + kCheckpointId + " LIMIT 1");
    auto meta = reader->query("SHOW META");
    for (const auto& row : meta.rows) {
      if (row.size() == 2 && row[0] == "total_found" && row[1]) return std::stol(*row[1]);
    }
    return -1;
  }

  SphinxServer* const search = &stack.search();
  std::unique_ptr<SearchReader> reader;
};

TEST_F(SearchFaultTest, SluiceKilledAtRandomMomentsFeedingSearchLosesNothing) {
  constexpr int kKills = 6;
  const unsigned seed = std::random_device{}();
  std::printf("SearchFaultTest seed: %u\n", seed);
  report.seed = std::to_string(seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> gap_ms(300, 2500);

  auto config = write_search_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  EXPECT_EQ(documents("pgbench_accounts_rt"), 100000) << "the snapshot did not fill the index";
  start_load(20);
  std::this_thread::sleep_for(1s);
  report.recovery_measure = "restart after kill -9 -> the search checkpoint (lowest of the three indexes) reaches "
                            "the WAL position read at the restart (when reached before the next kill)";

  int before_recovery = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    ASSERT_TRUE(sluice->running()) << sluice->output();
    sluice->kill9();
    ASSERT_TRUE(sluice->wait(10s));
    ++report.faults_injected;
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto restarted = Clock::now();
    sluice = start_sluice(config);
    auto window = kill + 1 == kKills ? 60000ms : std::chrono::milliseconds(gap_ms(rng));
    auto recovered = time_until_sink_reaches(*target, restarted, sluice.get(), window);
    if (recovered) {
      report.recovery_s.push_back(*recovered);
    } else {
      ASSERT_NE(kill + 1, kKills) << "the last restart did not catch up:\n" << sluice->output();
      ++before_recovery;
    }
    if (kill + 1 < kKills) std::this_thread::sleep_until(restarted + window);
  }
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last kill: lengthen it";
  report.notes = std::to_string(before_recovery) + " of " + std::to_string(report.faults_injected) +
                 " kills came before that restart had caught up (not in recovery_s)";
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(SearchFaultTest, SearchdKilledStoppedAndDownFor20SecondsIsRiddenOut) {
  auto config = write_search_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(45);
  std::this_thread::sleep_for(2s);
  report.recovery_measure = "searchd started again -> the search checkpoint reaches the WAL position read then; "
                            "[SIGKILL+start after 1 s (binlog replay), SIGKILL+start, SIGTERM+start after 1 s, "
                            "SIGTERM+start after 21 s (backlog drain)]";

  for (bool kill : {true, true, false}) {
    kill ? search->kill() : search->stop();
    ++report.faults_injected;
    stay_down(*sluice, 1s);
    search->start();
    measure_recovery(*sluice);
    std::this_thread::sleep_for(2s);
  }
  ride_out_long_outage(*sluice, [&] { search->stop(); }, [&] { search->start(); }, 21s, "searchd");
  ASSERT_TRUE(load && !load->done()) << "the load ended before the drain: lengthen it";
  finish_case(config);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(SearchFaultTest, EmptiedIndexAndSearchdWithoutItsDataAreRebuiltWhileStreaming) {
  static constexpr const char* kRebuilt = "the sink is whole again";
  auto config = write_search_config();
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(45);
  std::this_thread::sleep_for(2s);
  report.recovery_measure = "index emptied -> sluice logs the search sink whole again (100,011 documents copied "
                            "while streaming); [TRUNCATE RTINDEX pgbench_tellers_rt, TRUNCATE RTINDEX "
                            "pgbench_accounts_rt, searchd restarted without its index files and binlog]";
  report.secondary_measure = "index emptied -> the search checkpoint reaches the WAL position read then";

  auto reset_and_measure = [&](const std::function<void()>& reset, std::size_t nth) {
    auto from = Clock::now();
    auto from_wall = std::chrono::system_clock::now();
    reset();
    ++report.faults_injected;
    ASSERT_TRUE(wait_for_output(*sluice, kRebuilt, nth, 180s)) << sluice->output();
    auto rebuilt = seconds_to_line(*sluice, kRebuilt, from_wall, nth);
    ASSERT_TRUE(rebuilt) << sluice->output();
    report.recovery_s.push_back(*rebuilt);
    auto target = wal_lsn();
    ASSERT_TRUE(target);
    auto streamed = time_until_sink_reaches(*target, from, sluice.get(), 60s);
    ASSERT_TRUE(streamed) << sluice->output();
    report.secondary_s.push_back(*streamed);
  };
  // A restart that keeps its data is not a reset: nothing is rebuilt.
  search->stop();
  search->start();
  ASSERT_TRUE(time_until_sink_reaches(*wal_lsn(), Clock::now(), sluice.get(), 60s)) << sluice->output();
  ASSERT_EQ(occurrences(*sluice, kRebuilt), 0u) << "a restart with the data kept is not a reset:\n" << sluice->output();

  auto truncate = [&](const char* index) {
    return [this, index] {
      SphinxqlConnection admin(SphinxqlUrl::parse(search->url()), {}, "fault test");
      admin.execute(std::string("TRUNCATE RTINDEX ") + index);
    };
  };
  reset_and_measure(truncate("pgbench_tellers_rt"), 1);
  std::this_thread::sleep_for(2s);
  reset_and_measure(truncate("pgbench_accounts_rt"), 2);
  std::this_thread::sleep_for(2s);
  reset_and_measure(
      [&] {
        search->kill();
        for (const auto& entry : std::filesystem::directory_iterator(search->dir())) {
          auto name = entry.path().filename().string();
          if (name.rfind("pgbench_", 0) == 0 || name.rfind("binlog", 0) == 0) std::filesystem::remove_all(entry.path());
        }
        search->start();
      },
      3);
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last rebuild: lengthen it";
  finish_case(config);
  EXPECT_EQ(documents("pgbench_accounts_rt"), 100000);
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

TEST_F(SearchFaultTest, CutConnectionsToSearchdAreReconnected) {
  constexpr int kCuts = 6;
  TcpProxy proxy(search->port());
  auto config = write_search_config(proxy.port());
  auto sluice = start_sluice(config);
  ASSERT_TRUE(wait_streaming(*sluice));
  start_load(30);
  std::this_thread::sleep_for(2s);
  report.recovery_measure = "cut (the last one followed by 3 s of refused connections, measured from their end) -> "
                            "the search checkpoint reaches the WAL position read then";
  for (int cut = 0; cut < kCuts; ++cut) {
    bool refuse = cut + 1 == kCuts;
    int before = proxy.connections_cut();
    if (refuse) proxy.set_accepting(false);
    proxy.cut();
    ++report.faults_injected;
    EXPECT_GT(proxy.connections_cut(), before) << "no live connection to searchd to cut";
    if (refuse) {
      stay_down(*sluice, 3s);
      proxy.set_accepting(true);
    }
    measure_recovery(*sluice, 60s);
    std::this_thread::sleep_for(1500ms);
  }
  ASSERT_TRUE(load && !load->done()) << "the load ended before the last cut: lengthen it";
  report.notes = "connections to searchd reset: " + std::to_string(proxy.connections_cut());
  finish_case(config);  // sluice verify reaches searchd through the proxy too
  EXPECT_TRUE(sluice->running()) << sluice->output();
}

}  // namespace
}  // namespace sluice::test
