// Commit-to-readable latency, sampled: bench/run.sh runs this next to a pgbench
// load. Every 1/rate seconds it commits `UPDATE <table> SET n = <seq> WHERE id =
// <row>` (autocommit: the statement returns after the commit) on PostgreSQL, notes
// the time the commit returned, then reads the row's Redis key in a tight loop
// until the document shows n = seq; the difference is one sample. Prints
// "samples N p50_ms X p99_ms Y max_ms Z" (and "timeouts K" for samples never seen
// within 10 s) on stdout.
//
//   latency_probe PG_CONNINFO REDIS_PORT KEY_PREFIX ROW_ID RATE SECONDS
//   e.g. latency_probe "host=127.0.0.1 port=5432 dbname=app user=app" 6379 bench_rows: -1 200 20
//
// The key read is KEY_PREFIX + ROW_ID ("bench_rows:-1" for sluice's default key
// template, "peer:bench_rows:-1" for the Node.js peer). The document may be
// to_jsonb() text ("n": 5) or JSON.stringify() text of node-postgres' row, where
// a bigint is a string ("n":"5"): both are accepted.
#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct PgDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct RedisDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "latency_probe: %s\n", message.c_str());
  std::exit(2);
}

// The integer after "n": in a JSON document, or -1.
long long field_n(const char* document, size_t length) {
  std::string_view text(document, length);
  auto at = text.find("\"n\"");
  if (at == std::string_view::npos) return -1;
  at += 3;
  while (at < text.size() && (text[at] == ' ' || text[at] == ':' || text[at] == '"')) ++at;
  long long value = 0;
  bool any = false;
  while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
    value = value * 10 + (text[at] - '0');
    any = true;
    ++at;
  }
  return any ? value : -1;
}

double percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) die("usage: latency_probe PG_CONNINFO REDIS_PORT KEY_PREFIX ROW_ID RATE SECONDS");
  const std::string conninfo = argv[1];
  const int redis_port = std::atoi(argv[2]);
  const std::string key = std::string(argv[3]) + argv[4];
  const std::string row = argv[4];
  const double rate = std::atof(argv[5]);
  const double seconds = std::atof(argv[6]);
  if (redis_port <= 0 || rate <= 0 || seconds <= 0) die("REDIS_PORT, RATE and SECONDS must be positive");

  std::unique_ptr<PGconn, PgDeleter> pg(PQconnectdb(conninfo.c_str()));
  if (PQstatus(pg.get()) != CONNECTION_OK) die(std::string("PostgreSQL: ") + PQerrorMessage(pg.get()));
  std::unique_ptr<redisContext, RedisDeleter> redis(redisConnect("127.0.0.1", redis_port));
  if (!redis || redis->err) die("Redis: cannot connect to port " + std::to_string(redis_port));

  // Start above whatever n the row holds, so an old value never counts.
  long long seq = 0;
  {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(
        PQexec(pg.get(), ("SELECT n FROM bench_rows WHERE id = " + row).c_str()), PQclear);
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
      die("row id = " + row + " of bench_rows: " + PQerrorMessage(pg.get()));
    }
    seq = std::atoll(PQgetvalue(r.get(), 0, 0)) + 1000;
  }

  std::vector<double> samples_ms;
  long timeouts = 0;
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto next = Clock::now();
  while (Clock::now() < end) {
    std::this_thread::sleep_until(next);
    next += period;
    ++seq;
    const std::string sql = "UPDATE bench_rows SET n = " + std::to_string(seq) + " WHERE id = " + row;
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(pg.get(), sql.c_str()), PQclear);
    const auto committed = Clock::now();
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) die(std::string("UPDATE: ") + PQerrorMessage(pg.get()));
    const auto give_up = committed + std::chrono::seconds(10);
    bool seen = false;
    while (Clock::now() < give_up) {
      std::unique_ptr<redisReply, ReplyDeleter> reply(
          static_cast<redisReply*>(redisCommand(redis.get(), "GET %b", key.data(), key.size())));
      if (!reply) die("Redis: connection lost");
      if (reply->type == REDIS_REPLY_STRING && field_n(reply->str, reply->len) >= seq) {
        samples_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - committed).count());
        seen = true;
        break;
      }
    }
    if (!seen) ++timeouts;
    if (Clock::now() > next) next = Clock::now();  // a slow sample does not cause a burst
  }
  std::sort(samples_ms.begin(), samples_ms.end());
  std::printf("samples %zu p50_ms %.3f p99_ms %.3f max_ms %.3f timeouts %ld\n", samples_ms.size(),
              percentile(samples_ms, 0.50), percentile(samples_ms, 0.99),
              samples_ms.empty() ? 0.0 : samples_ms.back(), timeouts);
  return timeouts == 0 ? 0 : 1;
}
