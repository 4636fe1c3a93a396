#include "sink/redis/redis_config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "config/config.h"
#include "core/error.h"
#include "sink/redis/redis_url.h"

namespace sluice {

namespace {

// A file the sink reads when it connects: named by its key when it cannot be read now.
void check_readable(ConfigTable& sink, std::string_view key, const std::string& path) {
  std::ifstream file(path);
  if (!file) sink.fail(key, fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
}

}  // namespace

const char* to_string(SinkMode mode) {
  switch (mode) {
    case SinkMode::kUpsert: return "upsert";
    case SinkMode::kInvalidate: return "invalidate";
    case SinkMode::kStream: return "stream";
  }
  return "?";
}

const RedisTableConfig* RedisSinkConfig::table_override(const std::string& qualified_table) const {
  for (const RedisTableConfig& t : tables) {
    if (t.table == qualified_table) return &t;
  }
  return nullptr;
}

const std::string& RedisSinkConfig::key_for(const std::string& qualified_table) const {
  const RedisTableConfig* t = table_override(qualified_table);
  return t != nullptr && t->key ? *t->key : key;
}

std::string RedisSinkConfig::state_place() const {
  // The url without its password (the place, not the credentials), and the prefix.
  try {
    const RedisUrl parsed = RedisUrl::parse(url);
    return fmt::format("Redis {}:{} db {}, state prefix \"{}\"", parsed.host, parsed.port, parsed.db, state_prefix);
  } catch (const Error&) {
    return "Redis " + url + ", state prefix \"" + state_prefix + "\"";
  }
}

std::string RedisSinkConfig::describe() const {
  const char* what = mode == SinkMode::kUpsert ? (format == DocumentFormat::kJson ? "upsert, json documents" : "upsert, hashes")
                                               : to_string(mode);
  return fmt::format("{}, keys like '{}'", what, key);
}

std::optional<std::string> redis_url_problem(std::string_view url) {
  // The sink's own parser, so that a url that loads is a url the sink can use.
  try {
    RedisUrl::parse(url);
  } catch (const Error& e) {
    return e.what();
  }
  return std::nullopt;
}

std::shared_ptr<const RedisSinkConfig> parse_redis_sink_config(ConfigTable& sink, std::vector<ConfigTable*>& tables,
                                                              const SinkConfig& common) {
  auto out = std::make_shared<RedisSinkConfig>();
  out->name = common.name;
  out->state_prefix = "sluice:" + common.name;

  std::optional<std::string> url = sink.string("url", /*non_empty=*/true, /*secret=*/true);
  if (!url) sink.fail("url", "required key is missing");
  if (auto problem = redis_url_problem(*url)) sink.fail("url", *problem);
  out->url = std::move(*url);
  const bool tls = RedisUrl::parse(out->url).tls;
  for (auto [key, field] : {std::pair{"tls_ca_file", &RedisTlsSettings::ca_file},
                            std::pair{"tls_cert_file", &RedisTlsSettings::cert_file},
                            std::pair{"tls_key_file", &RedisTlsSettings::key_file}}) {
    if (auto path = sink.string(key, /*non_empty=*/true)) {
      if (!tls) sink.fail(key, "only applies to a rediss:// url (TLS); this sink's url is redis://");
      check_readable(sink, key, *path);
      out->tls.*field = std::move(*path);
    }
  }
  if (auto name = sink.string("tls_server_name", /*non_empty=*/true)) {
    if (!tls) sink.fail("tls_server_name", "only applies to a rediss:// url (TLS); this sink's url is redis://");
    out->tls.server_name = std::move(*name);
  }
  if (out->tls.cert_file.empty() != out->tls.key_file.empty()) {
    sink.fail(out->tls.cert_file.empty() ? "tls_key_file" : "tls_cert_file",
              "mutual TLS needs both tls_cert_file and tls_key_file");
  }

  if (auto mode = sink.choice("mode", {"upsert", "invalidate", "stream"})) {
    out->mode = *mode == "upsert" ? SinkMode::kUpsert : *mode == "invalidate" ? SinkMode::kInvalidate : SinkMode::kStream;
  }
  const std::string mode_name = fmt::format("\"{}\"", to_string(out->mode));
  auto only_for_stream = [&](ConfigTable& table, std::string_view key) {
    table.fail(key, fmt::format("only applies to mode = \"stream\" (this sink has mode = {})", mode_name));
  };

  if (auto format = sink.choice("format", {"json", "hash"})) {
    out->format = *format == "json" ? DocumentFormat::kJson : DocumentFormat::kHash;
    if (out->format == DocumentFormat::kHash && out->mode != SinkMode::kUpsert) {
      sink.fail("format", fmt::format("\"hash\" only applies to mode = \"upsert\" (this sink has mode = {})", mode_name));
    }
  }
  if (auto on_error = sink.choice("on_error", {"stop", "dead_letter"})) {
    out->on_error = *on_error == "stop" ? OnError::kStop : OnError::kDeadLetter;
  }
  if (auto key = sink.string("key")) out->key = std::move(*key);
  if (auto stream = sink.string("stream")) {
    if (out->mode != SinkMode::kStream) only_for_stream(sink, "stream");
    out->stream = std::move(*stream);
  }
  if (auto maxlen = sink.positive_integer("stream_maxlen")) {
    if (out->mode != SinkMode::kStream) only_for_stream(sink, "stream_maxlen");
    out->stream_maxlen = *maxlen;
  }
  if (auto prefix = sink.string("state_prefix")) out->state_prefix = std::move(*prefix);
  if (auto ops = sink.integer("script_max_ops")) {
    if (*ops < 0) sink.fail("script_max_ops", fmt::format("must be 0 or more, not {}", *ops));
    out->script_max_ops = static_cast<size_t>(*ops);
  }

  for (size_t i = 0; i < tables.size() && i < common.tables.size(); ++i) {
    ConfigTable& table = *tables[i];
    const SinkTableConfig& shared = common.tables[i];
    RedisTableConfig t{shared.table, table.string("key"), shared.columns, shared.exclude_columns, std::nullopt};
    if ((shared.columns || shared.exclude_columns) && out->mode == SinkMode::kInvalidate) {
      const char* which = shared.columns ? "columns" : "exclude_columns";
      table.fail(which, fmt::format("only applies to modes \"upsert\" and \"stream\" (this sink has mode = {})", mode_name));
    }
    if (auto stream = table.string("stream")) {
      if (out->mode != SinkMode::kStream) only_for_stream(table, "stream");
      t.stream = std::move(*stream);
    }
    out->tables.push_back(std::move(t));
  }
  return out;
}

}  // namespace sluice
