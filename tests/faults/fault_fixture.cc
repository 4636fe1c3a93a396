#include "faults/fault_fixture.h"

#include <ctime>
#include <regex>
#include <stdexcept>
#include <thread>

#include "kit/sluice_output.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;

const char* const kWatchedIndexes[] = {"sluice:cache:index:public.pgbench_tellers",
                                       "sluice:cache:index:public.pgbench_branches"};

}  // namespace

double seconds_since(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

uint64_t parse_lsn(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) {
    throw std::invalid_argument("not an LSN: '" + text + "'");
  }
  return (std::stoull(text.substr(0, slash), nullptr, 16) << 32) | std::stoull(text.substr(slash + 1), nullptr, 16);
}

FaultTest::FaultTest(const Stack::Options& servers) : stack(servers) {}

void FaultTest::SetUp() {
  report.case_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  pgbench_init(pg->port(), 1);
  watcher = std::make_unique<RegressionWatcher>(
      redis->port(), std::vector<std::string>(std::begin(kWatchedIndexes), std::end(kWatchedIndexes)));
}

void FaultTest::TearDown() {
  if (emit_report && !report_emitted_ && watcher) {
    report.completed = false;
    report.regressions = watcher->regressions();
    report.regression_samples = watcher->samples();
    report.duration_s = seconds_since(case_start_);
    report.emit();
  }
  load.reset();
  extra_watcher.reset();
  watcher.reset();
  cache_.reset();
  db_.reset();
}

TomlWriter FaultTest::config_toml(const std::string& sink_extra, int pg_port, int redis_port,
                                 const std::string& source_extra) {
  report.setup = "pgbench scale 1, -c 4 -j 2 -R 300 (TPC-B); batch_max_changes " +
                 (batch_max_changes > 0 ? std::to_string(batch_max_changes) : std::string("default")) +
                 "; status_interval_ms 500; retry backoff 100..1000 ms; Redis AOF appendfsync always";
  TomlWriter toml;
  postgres_source(toml, postgres_dsn(pg_port != 0 ? pg_port : pg->port()) + " connect_timeout=10", kSlot,
                  captured_tables)
      .set("snapshot", "initial")
      .set("status_interval_ms", 500)
      .raw(source_extra);
  fast_retry(toml);
  redis_sink(toml, "cache", "redis://127.0.0.1:" + std::to_string(redis_port != 0 ? redis_port : redis->port()) + "/0")
      .set("mode", "upsert")
      .set("format", "json")
      .set("key", "{table}:{pk}");
  if (batch_max_changes > 0) toml.set("batch_max_changes", batch_max_changes);
  return toml.raw(sink_extra);
}

std::string FaultTest::write_config(const std::string& sink_extra, int pg_port, int redis_port,
                                    const std::string& source_extra, const std::string& file_name) {
  return write_config(config_toml(sink_extra, pg_port, redis_port, source_extra), file_name);
}

std::string FaultTest::write_config(const TomlWriter& toml, const std::string& file_name) {
  return stack.write_config(toml, file_name);
}

std::unique_ptr<SluiceProcess> FaultTest::start_sluice(const std::string& config,
                                                       const std::vector<std::string>& extra_args) {
  return stack.start_sluice(config, extra_args);
}

std::size_t FaultTest::occurrences(const SluiceProcess& process, const std::string& text) {
  return ::sluice::test::occurrences(process, text);
}

::testing::AssertionResult FaultTest::wait_for_output(SluiceProcess& process, const std::string& text,
                                                      std::size_t count, std::chrono::milliseconds timeout) {
  return ::sluice::test::wait_for_output(process, text, count, timeout);
}

::testing::AssertionResult FaultTest::wait_streaming(SluiceProcess& process, std::size_t count,
                                                     std::chrono::milliseconds timeout) {
  return ::sluice::test::wait_streaming(process, count, timeout);
}

std::optional<double> FaultTest::seconds_to_line(const SluiceProcess& process, const std::string& text,
                                                std::chrono::system_clock::time_point since, std::size_t nth) {
  std::string output = process.output();
  std::size_t at = std::string::npos;
  for (std::size_t seen = 0; seen < nth; ++seen) {
    at = output.find(text, at == std::string::npos ? 0 : at + text.size());
    if (at == std::string::npos) return std::nullopt;
  }
  std::size_t line_start = output.rfind('\n', at);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  // "2026-11-22T08:46:56.068+00:00 info ..." (app/cli.cc: "%Y-%m-%dT%H:%M:%S.%e%z")
  static const std::regex stamp(R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})([+-])(\d{2}):?(\d{2}))");
  std::smatch m;
  std::string line = output.substr(line_start, 40);
  if (!std::regex_search(line, m, stamp)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  long long epoch_ms = static_cast<long long>(timegm(&tm)) * 1000 + std::stoi(m[7]);
  long long offset_min = std::stoi(m[9]) * 60 + std::stoi(m[10]);
  epoch_ms -= (m[8] == "+" ? 1 : -1) * offset_min * 60 * 1000;
  auto logged = std::chrono::system_clock::time_point(std::chrono::milliseconds(epoch_ms));
  return std::chrono::duration<double>(logged - since).count();
}

void FaultTest::start_load(int seconds, int rate) {
  wait_load();
  PgbenchLoad::Options options;
  options.rate = rate;
  options.duration = std::chrono::seconds(seconds);
  load = std::make_unique<PgbenchLoad>(pg->port(), options);
}

void FaultTest::wait_load() {
  if (!load) return;
  load->wait();
  report.pgbench_reported += load->reported_transactions();
  load.reset();
}

void FaultTest::cancel_load() {
  if (!load) return;
  load->cancel();
  report.pgbench_reported += load->reported_transactions();
  load.reset();
}

std::optional<std::string> FaultTest::try_scalar(const std::string& sql) {
  try {
    return db().scalar(sql);
  } catch (const std::exception&) {
    db_.reset();
    return std::nullopt;
  }
}

PgClient& FaultTest::db() {
  if (!db_) db_ = std::make_unique<PgClient>(pg->dsn());
  return *db_;
}

RedisClient& FaultTest::cache() {
  if (!cache_) cache_ = std::make_unique<RedisClient>(redis->port());
  return *cache_;
}

void FaultTest::forget_connections() {
  db_.reset();
  cache_.reset();
}

std::optional<uint64_t> FaultTest::wal_lsn() {
  auto text = try_scalar("SELECT pg_current_wal_lsn()::text");
  if (!text) return std::nullopt;
  return parse_lsn(*text);
}

std::optional<uint64_t> FaultTest::slot_confirmed_lsn() {
  auto text = try_scalar("SELECT coalesce((SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '" +
                         std::string(kSlot) + "'), '')");
  if (!text || text->empty()) return std::nullopt;
  return parse_lsn(*text);
}

std::optional<uint64_t> FaultTest::sink_checkpoint_lsn() {
  try {
    auto reply = cache().command({"HGET", kCheckpointKey, "position"});
    // Position::encode(): 16 hex digits of the commit LSN, ':', the index.
    if (reply.empty() || !reply[0] || reply[0]->size() < 16) return std::nullopt;
    return std::stoull(reply[0]->substr(0, 16), nullptr, 16);
  } catch (const std::exception&) {
    cache_.reset();
    return std::nullopt;
  }
}

std::optional<double> FaultTest::time_until_sink_reaches(uint64_t target, Clock::time_point since,
                                                         SluiceProcess* process, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto at = sink_checkpoint_lsn();
    if (at && *at >= target) return seconds_since(since);
    if (process != nullptr && !process->running()) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

void FaultTest::measure_recovery(SluiceProcess& sluice, std::chrono::seconds timeout) {
  auto back = Clock::now();
  forget_connections();
  auto target = wal_lsn();
  ASSERT_TRUE(target);
  auto recovered = time_until_sink_reaches(*target, back, &sluice, timeout);
  ASSERT_TRUE(recovered) << sluice.output();
  report.recovery_s.push_back(*recovered);
}

void FaultTest::stay_down(SluiceProcess& sluice, std::chrono::seconds down, const std::string& store) {
  auto until = Clock::now() + down;
  while (Clock::now() < until) {
    ASSERT_TRUE(sluice.running()) << "sluice exited while " << store << " was away:\n" << sluice.output();
    std::this_thread::sleep_for(200ms);
  }
}

void FaultTest::ride_out_long_outage(SluiceProcess& sluice, const std::function<void()>& stop,
                                     const std::function<void()>& start, std::chrono::seconds down,
                                     const std::string& store) {
  stop();
  ++report.faults_injected;
  auto backlog_from = wal_lsn();
  stay_down(sluice, down, store);
  start();
  auto backlog_to = wal_lsn();
  measure_recovery(sluice);
  if (backlog_from && backlog_to) {
    report.notes = "WAL written during the " + std::to_string(down.count()) +
                   " s outage: " + std::to_string((*backlog_to - *backlog_from) / 1024) + " KiB";
  }
}

::testing::AssertionResult FaultTest::wait_caught_up(std::chrono::milliseconds timeout) {
  std::optional<uint64_t> target;
  if (!eventually([&] { return (target = wal_lsn()).has_value(); }, 30s)) {
    return ::testing::AssertionFailure() << "PostgreSQL unreachable";
  }
  std::optional<uint64_t> confirmed;
  if (eventually([&] { return (confirmed = slot_confirmed_lsn()) && *confirmed >= *target; }, timeout)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "slot '" << kSlot << "' confirmed_flush_lsn "
                                       << (confirmed ? std::to_string(*confirmed) : std::string("(none)"))
                                       << " did not reach the WAL position " << *target;
}

FaultTest::VerifyResult FaultTest::run_verify(const std::string& config, bool repair) {
  std::vector<std::string> args = {"verify", "--config", config};
  if (repair) args.push_back("--repair");
  auto [code, output] = run_sluice(args, env, 300s);
  VerifyResult result;
  result.code = code;
  result.output = output;
  static const std::regex line(R"(sink '[^']+' \S+: (\d+) rows checked, (\d+) missing, (\d+) different, (\d+) extra)");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), line); it != std::sregex_iterator(); ++it) {
    result.checked += std::stol((*it)[1].str());
    result.missing += std::stol((*it)[2].str());
    result.different += std::stol((*it)[3].str());
    result.extra += std::stol((*it)[4].str());
  }
  result.no_drift_line = output.find("\nno drift") != std::string::npos || output.rfind("no drift", 0) == 0;
  return result;
}

::testing::AssertionResult FaultTest::verify_no_drift(const std::string& config) {
  auto result = run_verify(config);
  report.keys_verified = result.checked;
  report.keys_missing = result.missing;
  report.keys_different = result.different;
  report.keys_extra = result.extra;
  if (result.code == 0 && result.no_drift_line && result.missing + result.different + result.extra == 0 &&
      result.checked > 0) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "sluice verify (exit " << result.code << "):\n" << result.output;
}

void FaultTest::finish_case(const std::string& config) {
  wait_load();
  EXPECT_TRUE(wait_caught_up());
  EXPECT_TRUE(verify_no_drift(config));
  auto committed = try_scalar("SELECT count(*) FROM pgbench_history");
  report.pgbench_transactions = committed ? std::stol(*committed) : -1;
  report.captured_changes = 3 * report.pgbench_transactions + manual_changes;
  report.regressions = watcher->regressions() + (extra_watcher ? extra_watcher->regressions() : 0);
  report.regression_samples = watcher->samples() + (extra_watcher ? extra_watcher->samples() : 0);
  report.duration_s = seconds_since(case_start_);
  report.emit();
  report_emitted_ = true;
  for (RegressionWatcher* w : {watcher.get(), extra_watcher.get()}) {
    if (w == nullptr) continue;
    std::string examples;
    for (const auto& e : w->examples()) examples += "\n  " + e;
    EXPECT_EQ(w->regressions(), 0) << "versions went backwards:" << examples;
    EXPECT_GT(w->samples(), 0) << "a regression watcher never read its store";
  }
}

}  // namespace sluice::test
