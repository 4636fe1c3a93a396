// TomlWriter: the text of a sluice config file, built a line at a time, so that
// tests stop pasting TOML together by hand. Every string value is written as a
// TOML basic string with backslash, quote and control characters escaped, so a
// value reaches sluice exactly as the test gave it (${env:NAME} is plain text to
// TOML: sluice expands it after parsing).
//
//   TomlWriter toml;
//   postgres_source(toml, postgres_dsn(pg->port()), "sluice_cache", {"public.media"})
//       .set("status_interval_ms", 500);
//   redis_sink(toml, "cache", redis->url()).set("key", "{table}:{pk}");
//   dir->write_file("sluice.toml", toml.str());
//
// Lines come out in call order: a key belongs to the table opened last, as in
// TOML itself. The writer checks nothing sluice would check (unknown keys, a key
// set twice): a test may write what sluice must refuse. Not thread-safe.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::test {

// `text` as a TOML basic string: in double quotes, with \" \\ \b \t \n \f \r and
// \uXXXX for the other control characters (U+0000..U+001F, U+007F). Other bytes,
// UTF-8 included, are copied as they are.
std::string toml_string(std::string_view text);

// `key` as a TOML key: bare when it is only A-Z a-z 0-9 _ -, quoted otherwise.
std::string toml_key(std::string_view key);

class TomlWriter {
 public:
  // "[path]" / "[[path]]", after a blank line unless it is the first line.
  // `path` is dotted ("sinks.tables"); each part is written as toml_key(part).
  TomlWriter& table(std::string_view path);
  TomlWriter& array_table(std::string_view path);

  // "key = value" in the table opened last (or at the top, before any).
  TomlWriter& set(std::string_view key, std::string_view value);
  TomlWriter& set(std::string_view key, const char* value) { return set(key, std::string_view(value)); }
  TomlWriter& set(std::string_view key, bool value);
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  TomlWriter& set(std::string_view key, T value) {
    return set_integer(key, static_cast<int64_t>(value));
  }
  // Arrays of strings: ["a", "b"]; empty: [].
  TomlWriter& set(std::string_view key, const std::vector<std::string>& values);
  TomlWriter& set(std::string_view key, std::initializer_list<std::string_view> values);

  // `text` as it is, for what the writer has no call for (a comment, a line that
  // is wrong on purpose); a newline is added when `text` does not end in one.
  // Empty text writes nothing.
  TomlWriter& raw(std::string_view text);

  const std::string& str() const { return text_; }

 private:
  TomlWriter& set_integer(std::string_view key, int64_t value);
  TomlWriter& header(std::string_view open, std::string_view path, std::string_view close);

  std::string text_;
};

// ---- the pieces of a sluice config that the tests repeat ----

// The harness's database (PostgresServer: database and role "app") as sluice is
// given it: "host=127.0.0.1 port=PORT dbname=app user=USER password=PASSWORD".
// `port` is PostgresServer::port(), or a TcpProxy's in front of it. The default
// password is "${env:APP_PG_PASSWORD}", so that no file holds it: the fixtures run
// sluice with APP_PG_PASSWORD=app-secret in its environment.
std::string postgres_dsn(int port, std::string_view user = "app",
                         std::string_view password = "${env:APP_PG_PASSWORD}");

// [source] with kind = "postgres", dsn, slot and publication both named
// `slot_and_publication`, and tables. Returns `toml`, left in [source] for the
// test's other keys (snapshot, status_interval_ms, ...).
TomlWriter& postgres_source(TomlWriter& toml, std::string_view dsn, std::string_view slot_and_publication,
                            const std::vector<std::string>& tables);

// [retry] with initial_backoff_ms = 100 and max_backoff_ms = 1000: outages in the
// tests last seconds, so sluice retries quickly.
TomlWriter& fast_retry(TomlWriter& toml);

// A [[sinks]] entry with name, kind = "redis" and url (RedisServer::url(db), or a
// redis:// url to a proxy). Returns `toml`, left in the sink for its other keys.
TomlWriter& redis_sink(TomlWriter& toml, std::string_view name, std::string_view url);

// A [[sinks]] entry with name, kind = "manticore", url (SphinxServer::url(), or a
// mysql:// url to a proxy) and index = "{table}_rt", the tests' one RT index per
// table. Returns `toml`, left in the sink for its other keys.
TomlWriter& manticore_sink(TomlWriter& toml, std::string_view name, std::string_view url);

}  // namespace sluice::test
