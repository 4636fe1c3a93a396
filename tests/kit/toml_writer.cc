#include "kit/toml_writer.h"

#include <cstdio>

namespace sluice::test {

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {  // TOML allows no other control character in a basic string
          char escaped[7];
          std::snprintf(escaped, sizeof escaped, "\\u%04X", byte);
          out += escaped;
        } else {
          out += c;
        }
      }
    }
  }
  return out + "\"";
}

std::string toml_key(std::string_view key) {
  if (key.empty()) return toml_string(key);
  for (char c : key) {
    const bool bare = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!bare) return toml_string(key);
  }
  return std::string(key);
}

TomlWriter& TomlWriter::header(std::string_view open, std::string_view path, std::string_view close) {
  if (!text_.empty()) text_ += '\n';
  text_ += open;
  for (std::size_t start = 0;;) {
    const std::size_t dot = path.find('.', start);
    text_ += toml_key(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    text_ += '.';
    start = dot + 1;
  }
  text_ += close;
  text_ += '\n';
  return *this;
}

TomlWriter& TomlWriter::table(std::string_view path) { return header("[", path, "]"); }
TomlWriter& TomlWriter::array_table(std::string_view path) { return header("[[", path, "]]"); }

TomlWriter& TomlWriter::set(std::string_view key, std::string_view value) {
  text_ += toml_key(key) + " = " + toml_string(value) + "\n";
  return *this;
}

TomlWriter& TomlWriter::set(std::string_view key, bool value) {
  text_ += toml_key(key) + (value ? " = true\n" : " = false\n");
  return *this;
}

TomlWriter& TomlWriter::set_integer(std::string_view key, int64_t value) {
  text_ += toml_key(key) + " = " + std::to_string(value) + "\n";
  return *this;
}

TomlWriter& TomlWriter::set(std::string_view key, const std::vector<std::string>& values) {
  std::string array = "[";
  for (const auto& value : values) {
    if (array.size() > 1) array += ", ";
    array += toml_string(value);
  }
  text_ += toml_key(key) + " = " + array + "]\n";
  return *this;
}

TomlWriter& TomlWriter::set(std::string_view key, std::initializer_list<std::string_view> values) {
  return set(key, std::vector<std::string>(values.begin(), values.end()));
}

TomlWriter& TomlWriter::raw(std::string_view text) {
  text_ += text;
  if (!text.empty() && text.back() != '\n') text_ += '\n';
  return *this;
}

std::string postgres_dsn(int port, std::string_view user, std::string_view password) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " dbname=app user=" + std::string(user) +
         " password=" + std::string(password);
}

TomlWriter& postgres_source(TomlWriter& toml, std::string_view dsn, std::string_view slot_and_publication,
                            const std::vector<std::string>& tables) {
  return toml.table("source")
      .set("kind", "postgres")
      .set("dsn", dsn)
      .set("slot", slot_and_publication)
      .set("publication", slot_and_publication)
      .set("tables", tables);
}

TomlWriter& fast_retry(TomlWriter& toml) {
  return toml.table("retry").set("initial_backoff_ms", 100).set("max_backoff_ms", 1000);
}

TomlWriter& redis_sink(TomlWriter& toml, std::string_view name, std::string_view url) {
  return toml.array_table("sinks").set("name", name).set("kind", "redis").set("url", url);
}

TomlWriter& manticore_sink(TomlWriter& toml, std::string_view name, std::string_view url) {
  return toml.array_table("sinks").set("name", name).set("kind", "manticore").set("url", url).set("index", "{table}_rt");
}

}  // namespace sluice::test
