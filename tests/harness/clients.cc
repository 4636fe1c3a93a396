// PgClient and RedisClient: blocking clients for test setup and checks.
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sys/time.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "harness/servers.h"

namespace sluice::test {
namespace {

PGconn* pg(void* conn) { return static_cast<PGconn*>(conn); }
redisContext* rc(void* ctx) { return static_cast<redisContext*>(ctx); }

std::string trimmed(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void flatten(const redisReply* r, std::vector<std::optional<std::string>>& out) {
  switch (r->type) {
    case REDIS_REPLY_NIL:
      out.emplace_back(std::nullopt);
      break;
    case REDIS_REPLY_INTEGER:
      out.emplace_back(std::to_string(r->integer));
      break;
    case REDIS_REPLY_ARRAY:
      for (std::size_t i = 0; i < r->elements; ++i) flatten(r->element[i], out);
      break;
    case REDIS_REPLY_ERROR:
      throw std::runtime_error("redis error: " + std::string(r->str, r->len));
    default:  // STRING, STATUS (and RESP3 scalar types in newer hiredis)
      out.emplace_back(r->str != nullptr ? std::string(r->str, r->len) : std::string());
  }
}

}  // namespace

// ---- PgClient ----

PgClient::PgClient(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
  if (conn_ == nullptr) throw std::runtime_error("PQconnectdb: out of memory");
  if (PQstatus(pg(conn_)) != CONNECTION_OK) {
    std::string message = trimmed(PQerrorMessage(pg(conn_)));
    PQfinish(pg(conn_));
    conn_ = nullptr;
    throw std::runtime_error("connect failed: " + message);
  }
}

PgClient::~PgClient() {
  if (conn_ != nullptr) PQfinish(pg(conn_));
}

std::vector<Row> PgClient::query(const std::string& sql) {
  // PQexec runs every statement and returns the last result, or the first error.
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(pg(conn_), sql.c_str()), &PQclear);
  if (!res) throw std::runtime_error("query failed: " + trimmed(PQerrorMessage(pg(conn_))));
  ExecStatusType status = PQresultStatus(res.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY) return {};
  if (status != PGRES_TUPLES_OK) {
    const char* sqlstate = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
    std::string message = trimmed(PQresultErrorMessage(res.get()));
    if (message.empty()) message = PQresStatus(status);
    throw std::runtime_error("query failed" +
                             (sqlstate != nullptr ? " [" + std::string(sqlstate) + "]" : "") + ": " +
                             message + "\n  in: " + sql);
  }
  std::vector<Row> rows;
  int nrows = PQntuples(res.get());
  int ncols = PQnfields(res.get());
  rows.reserve(nrows);
  for (int i = 0; i < nrows; ++i) {
    Row row;
    row.reserve(ncols);
    for (int j = 0; j < ncols; ++j) {
      if (PQgetisnull(res.get(), i, j)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res.get(), i, j), PQgetlength(res.get(), i, j)));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string PgClient::scalar(const std::string& sql) {
  auto rows = query(sql);
  if (rows.empty() || rows[0].empty()) throw std::runtime_error("no value from: " + sql);
  if (!rows[0][0]) throw std::runtime_error("NULL from: " + sql);
  return *rows[0][0];
}

// ---- RedisClient ----

RedisClient::RedisClient(int port, int db) {
  timeval timeout{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr) throw std::runtime_error("redis connect: out of memory");
  if (c->err != 0) {
    std::string message = c->errstr;
    redisFree(c);
    throw std::runtime_error("redis connect to port " + std::to_string(port) + " failed: " + message);
  }
  timeval command_timeout{30, 0};
  redisSetTimeout(c, command_timeout);
  ctx_ = c;
  if (db != 0) {
    try {
      command({"SELECT", std::to_string(db)});
    } catch (...) {
      redisFree(c);
      ctx_ = nullptr;
      throw;
    }
  }
}

RedisClient::~RedisClient() {
  if (ctx_ != nullptr) redisFree(rc(ctx_));
}

std::vector<std::optional<std::string>> RedisClient::command(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("empty redis command");
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(rc(ctx_), static_cast<int>(args.size()), args.data(), lens.data()));
  if (reply == nullptr) {
    throw std::runtime_error("redis " + argv[0] + " failed: " + std::string(rc(ctx_)->errstr));
  }
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> owned(reply, &freeReplyObject);
  std::vector<std::optional<std::string>> out;
  flatten(reply, out);
  return out;
}

std::optional<std::string> RedisClient::get(const std::string& key) {
  auto reply = command({"GET", key});
  return reply.empty() ? std::nullopt : reply[0];
}

std::vector<std::string> RedisClient::keys(const std::string& pattern) {
  std::vector<std::string> out;
  for (auto& k : command({"KEYS", pattern})) {
    if (k) out.push_back(std::move(*k));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::test
