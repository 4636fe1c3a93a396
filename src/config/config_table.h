// One TOML table of the configuration as a plugin reads it ([source], [[sinks]]
// or one of its [[sinks.tables]] entries). Every value read through it is type-checked and
// ${env:}/${file:}-expanded by the loader, and every failure is thrown as
// Error::config "FILE:LINE:COLUMN: KEY: what" (config/config.h), KEY being the
// full path ("sinks[1].tables[0].stream"). Absent keys read as nullopt.
//
// A ConfigTable is valid only during the plugin's parse call; not thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class ConfigTable {
 public:
  virtual ~ConfigTable() = default;

  // "sinks[0]", "sinks[0].tables[2]".
  virtual const std::string& path() const = 0;
  // `path().key`.
  std::string key(std::string_view name) const { return path() + "." + std::string(name); }
  virtual bool has(std::string_view name) const = 0;

  // A string; `non_empty` refuses "". With `secret`, whatever ${...} references
  // inserted, and the password of a URL, never appear in any later message.
  virtual std::optional<std::string> string(std::string_view name, bool non_empty = true, bool secret = false) = 0;
  virtual std::optional<int64_t> integer(std::string_view name) = 0;
  virtual std::optional<size_t> positive_integer(std::string_view name) = 0;
  // One of `choices`, by name ("upsert", ...).
  virtual std::optional<std::string> choice(std::string_view name, std::initializer_list<std::string_view> choices) = 0;
  // A secret string (a connection string): expanded like string(), everything
  // ${...} inserted hidden from later messages; `inserted` says whether any was
  // (a message about the value must then not quote it). The plugin hide()s
  // what else in it is secret.
  struct Secret {
    std::string value;
    bool inserted = false;
  };
  virtual std::optional<Secret> secret_string(std::string_view name) = 0;
  // `secret` never appears in a later message of the loader.
  virtual void hide(std::string secret) = 0;
  // An unquoted lowercase identifier of at most 63 bytes (a slot, a publication).
  virtual std::optional<std::string> identifier(std::string_view name) = 0;
  // A non-empty array of distinct unquoted lowercase identifiers (column names).
  virtual std::optional<std::vector<std::string>> identifiers(std::string_view name) = 0;

  // Throws at the value of `name` (at the table itself when it is absent).
  [[noreturn]] virtual void fail(std::string_view name, std::string_view what) const = 0;
};

}  // namespace sluice
