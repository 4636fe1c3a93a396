// The configuration loader: walks the TOML document, expands references, checks
// every value and reports the first problem as "FILE:LINE:COL: KEY: what".
// docs/configuration.md is the user-facing description of the same rules.
#include "config/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <utility>

#include "config/endpoint_check.h"
#include "config/expand.h"
#include "config/redact.h"
#include "config/suggest.h"
#include "core/error.h"

namespace sluice {
namespace {

using KeyList = std::vector<std::string_view>;

// clang-format off
const KeyList kRootKeys = {"source", "sinks", "retry", "metrics"};
// Every source's keys; a plugin adds its own (config/source_plugin.h).
const KeyList kSourceKeys = {"kind", "tables", "snapshot", "snapshot_chunk_rows", "snapshot_workers"};
// Every sink's keys; a plugin adds its own (config/sink_plugin.h).
const KeyList kSinkKeys = {"name", "kind", "on_reset", "tables", "batch_max_changes", "batch_max_bytes", "queue_max_bytes"};
const KeyList kSinkTableKeys = {"table", "columns", "exclude_columns"};
const KeyList kRetryKeys = {"initial_backoff_ms", "max_backoff_ms"};
const KeyList kMetricsKeys = {"listen", "unhealthy_after_ms"};
// clang-format on

constexpr size_t kMaxIdentifierBytes = 63;  // NAMEDATALEN - 1
constexpr int64_t kMaxSnapshotWorkers = 16;

// A value for a message: in double quotes, control characters escaped.
std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string join_key(std::string_view parent, std::string_view name) {
  return parent.empty() ? std::string(name) : fmt::format("{}.{}", parent, name);
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// Why `s` is not an unquoted lowercase PostgreSQL identifier, or "".
std::string identifier_problem(std::string_view s) {
  if (s.empty()) return "it is empty";
  if (s.size() > kMaxIdentifierBytes) {
    return fmt::format("it is {} bytes long; PostgreSQL identifiers have at most {}", s.size(),
                       kMaxIdentifierBytes);
  }
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') {
      return "it contains uppercase letters; PostgreSQL folds unquoted names to lowercase and "
             "names that need quoting are not supported";
    }
  }
  if (s[0] >= '0' && s[0] <= '9') return "it starts with a digit";
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return fmt::format(
          "it contains {}; only lowercase letters, digits and underscores are allowed",
          in_quotes(std::string_view(&c, 1)));
    }
  }
  return {};
}

// Why `name` is not "table" or "schema.table", or "".
std::string table_name_problem(std::string_view name) {
  if (name.find('"') != std::string_view::npos) {
    return "quoted identifiers are not supported; write the lowercase unquoted name, "
           "e.g. \"public.user_account\"";
  }
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) {
    std::string problem = identifier_problem(name);
    return problem.empty() ? "" : "table name: " + problem;
  }
  if (name.find('.', dot + 1) != std::string_view::npos) {
    return "write \"table\" or \"schema.table\"";
  }
  if (std::string problem = identifier_problem(name.substr(0, dot)); !problem.empty()) {
    return "schema name: " + problem;
  }
  if (std::string problem = identifier_problem(name.substr(dot + 1)); !problem.empty()) {
    return "table name: " + problem;
  }
  return {};
}

// "64MiB", "8MB", "512KiB", "1024": bytes, or nullopt.
std::optional<size_t> parse_size(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  size_t digits_begin = i;
  uint64_t number = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (__builtin_mul_overflow(number, 10u, &number) ||
        __builtin_add_overflow(number, static_cast<uint64_t>(text[i] - '0'), &number)) {
      return std::nullopt;
    }
  }
  if (i == digits_begin) return std::nullopt;
  while (i < text.size() && text[i] == ' ') ++i;
  std::string_view unit = text.substr(i);
  while (!unit.empty() && unit.back() == ' ') unit.remove_suffix(1);
  static const std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"kB", 1000},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
  };
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    uint64_t bytes;
    if (__builtin_mul_overflow(number, factor, &bytes) ||
        bytes > std::numeric_limits<size_t>::max()) {
      return std::nullopt;
    }
    return static_cast<size_t>(bytes);
  }
  return std::nullopt;
}

template <typename Enum>
struct Choice {
  std::string_view name;
  Enum value;
};

class Loader {
 public:
  Loader(std::string path, std::filesystem::path base_dir, const PluginRegistry& plugins)
      : path_(std::move(path)), base_dir_(std::move(base_dir)), plugins_(plugins) {}

  Config load(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(path_));
    } catch (const toml::parse_error& e) {
      const toml::source_position at = e.source().begin;
      throw Error::config(
          fmt::format("{}:{}:{}: invalid TOML: {}", path_, at.line, at.column, e.description()));
    }
    Config config;
    config.path = path_;
    reject_unknown_keys(root, "", kRootKeys);
    load_source(root, config.source);
    load_sinks(root, config);
    load_retry(root, config.retry);
    load_metrics(root, config.metrics);
    return config;
  }

 private:
  // Throws the error. Every message passes through redact_secrets: the checks
  // below never print a dsn or url, this is the second line of defence.
  [[noreturn]] void fail(const toml::source_position& at, std::string_view key,
                         std::string_view what) const {
    std::string message = fmt::format("{}:{}:{}: {}: {}", path_, at.line, at.column, key, what);
    throw Error::config(redact_secrets(std::move(message), secrets_));
  }
  [[noreturn]] void fail(const toml::node& node, std::string_view key,
                         std::string_view what) const {
    fail(node.source().begin, key, what);
  }
  [[noreturn]] void fail_type(const toml::node& node, std::string_view key,
                              std::string_view expected) const {
    fail(node, key, fmt::format("expected {}, got {}", expected, type_name(node)));
  }
  [[noreturn]] void fail_missing(const toml::table& table, std::string_view key) const {
    fail(table, key, "required key is missing");
  }

  // A plugin's view of one table (config/config_table.h).
  class TableView final : public ConfigTable {
   public:
    TableView(Loader& loader, const toml::table& table, std::string path)
        : loader_(loader), table_(table), path_(std::move(path)) {}
    const std::string& path() const override { return path_; }
    bool has(std::string_view name) const override { return table_.get(name) != nullptr; }
    std::optional<std::string> string(std::string_view name, bool non_empty, bool secret) override {
      const toml::node* n = table_.get(name);
      if (n == nullptr) return std::nullopt;
      std::string value = loader_.expanded_string(*n, key(name), secret).value;
      if (secret) {
        std::vector<std::string> written = url_secret_values(value);
        loader_.secrets_.insert(loader_.secrets_.end(), written.begin(), written.end());
      }
      if (non_empty && value.empty()) loader_.fail(*n, key(name), "must not be empty");
      return value;
    }
    std::optional<int64_t> integer(std::string_view name) override {
      const toml::node* n = table_.get(name);
      if (n == nullptr) return std::nullopt;
      return loader_.integer_value(*n, key(name));
    }
    std::optional<size_t> positive_integer(std::string_view name) override {
      const toml::node* n = table_.get(name);
      if (n == nullptr) return std::nullopt;
      return loader_.positive_integer(*n, key(name));
    }
    std::optional<std::string> choice(std::string_view name, std::initializer_list<std::string_view> choices) override {
      const toml::node* n = table_.get(name);
      if (n == nullptr) return std::nullopt;
      std::string text = loader_.string_value(*n, key(name));
      std::string names;
      for (std::string_view choice : choices) {
        if (choice == text) return text;
        names += (names.empty() ? "" : ", ") + in_quotes(choice);
      }
      loader_.fail(*n, key(name), fmt::format("{} is not one of {}", in_quotes(text), names));
    }
    std::optional<Secret> secret_string(std::string_view name) override {
      const toml::node* n = table_.get(name);
      if (n == nullptr) return std::nullopt;
      ExpandedString expanded = loader_.expanded_string(*n, key(name), /*secret=*/true);
      return Secret{std::move(expanded.value), !expanded.inserted.empty()};
    }
    void hide(std::string secret) override { loader_.secrets_.push_back(std::move(secret)); }
    std::optional<std::string> identifier(std::string_view name) override {
      const toml::node* n = table_.get(name);
      if (n == nullptr) return std::nullopt;
      return loader_.identifier(*n, key(name));
    }
    std::optional<std::vector<std::string>> identifiers(std::string_view name) override {
      const toml::node* n = table_.get(name);
      if (n == nullptr) return std::nullopt;
      return loader_.identifier_list(*n, key(name));
    }
    [[noreturn]] void fail(std::string_view name, std::string_view what) const override {
      const toml::node* n = table_.get(name);
      if (n != nullptr) loader_.fail(*n, key(name), what);
      loader_.fail(table_, key(name), what);
    }

   private:
    Loader& loader_;
    const toml::table& table_;
    std::string path_;
  };

  // A non-empty array of distinct identifiers (column names).
  std::vector<std::string> identifier_list(const toml::node& node, const std::string& key) {
    const toml::array& list = array_value(node, key, "an array of column names");
    if (list.empty()) fail(node, key, "must list at least one column");
    std::vector<std::string> out;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string item_key = fmt::format("{}[{}]", key, i);
      std::string column = identifier(list[i], item_key);
      if (std::find(out.begin(), out.end(), column) != out.end()) {
        fail(list[i], item_key, fmt::format("duplicate column {}", in_quotes(column)));
      }
      out.push_back(std::move(column));
    }
    return out;
  }

  // Unknown keys of a sink table: a key another kind of sink reads is named as
  // such ("only applies to kind = \"redis\"").
  void reject_unknown_sink_keys(const toml::table& table, std::string_view path, const KeyList& common,
                                const std::vector<std::string>& own, const std::string& kind, bool table_keys) const {
    KeyList known = common;
    for (const std::string& k : own) known.push_back(k);
    for (auto&& [name, value] : table) {
      const std::string_view k = name.str();
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      std::string kinds;
      for (const std::string& other : plugins_.sink_kinds()) {
        const SinkPlugin* plugin = plugins_.find_sink(other);
        const auto& keys = table_keys ? plugin->table_keys : plugin->keys;
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) continue;
        kinds += (kinds.empty() ? "" : " or ") + in_quotes(other);
      }
      if (!kinds.empty()) {
        fail(value, join_key(path, k), fmt::format("only applies to kind = {} (this sink has kind = {})", kinds, in_quotes(kind)));
      }
    }
    reject_unknown_keys(table, path, known);
  }

  void reject_unknown_keys(const toml::table& table, std::string_view path,
                           const KeyList& known) const {
    // The table iterates in key order; report the first unknown key in the file.
    const toml::key* first = nullptr;
    for (auto&& [key, value] : table) {
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      const toml::source_position at = key.source().begin;
      if (first == nullptr || at.line < first->source().begin.line ||
          (at.line == first->source().begin.line && at.column < first->source().begin.column)) {
        first = &key;
      }
    }
    if (first != nullptr) {
      fail(first->source().begin, join_key(path, first->str()),
           "unknown key" + did_you_mean(first->str(), known));
    }
  }

  // A string value with its ${...} references expanded. With `secret`, whatever
  // the references inserted is hidden from every later message.
  ExpandedString expanded_string(const toml::node& node, std::string_view key, bool secret) {
    const auto* value = node.as_string();
    if (value == nullptr) fail_type(node, key, "a string");
    try {
      ExpandedString out = expand_references(value->get(), base_dir_);
      if (secret) secrets_.insert(secrets_.end(), out.inserted.begin(), out.inserted.end());
      return out;
    } catch (const Error& e) {
      fail(node, key, e.what());
    }
  }
  std::string string_value(const toml::node& node, std::string_view key) {
    return expanded_string(node, key, /*secret=*/false).value;
  }
  std::string non_empty_string(const toml::node& node, std::string_view key) {
    std::string s = string_value(node, key);
    if (s.empty()) fail(node, key, "must not be empty");
    return s;
  }

  int64_t integer_value(const toml::node& node, std::string_view key) const {
    const auto* value = node.as_integer();
    if (value == nullptr) fail_type(node, key, "an integer");
    return value->get();
  }
  size_t positive_integer(const toml::node& node, std::string_view key) const {
    int64_t v = integer_value(node, key);
    if (v <= 0) fail(node, key, fmt::format("must be a positive integer, got {}", v));
    return static_cast<size_t>(v);
  }
  std::chrono::milliseconds positive_millis(const toml::node& node, std::string_view key) const {
    return std::chrono::milliseconds(static_cast<int64_t>(positive_integer(node, key)));
  }
  size_t size_value(const toml::node& node, std::string_view key) {
    constexpr std::string_view kExpected =
        "a size: a number of bytes or a string such as \"64MiB\", \"8MB\", \"512KiB\"";
    if (node.is_integer()) return positive_integer(node, key);
    if (!node.is_string()) fail_type(node, key, kExpected);
    std::string text = string_value(node, key);
    std::optional<size_t> bytes = parse_size(text);
    if (!bytes) {
      fail(node, key,
           fmt::format("{} is not a size; write a number of bytes or a number with one of the "
                       "units B, kB, MB, GB, KiB, MiB, GiB (e.g. \"64MiB\")",
                       in_quotes(text)));
    }
    if (*bytes == 0) fail(node, key, "must be a positive size, got 0");
    return *bytes;
  }

  template <typename Enum>
  Enum enum_value(const toml::node& node, std::string_view key,
                  std::initializer_list<Choice<Enum>> choices) {
    std::string text = string_value(node, key);
    std::string names;
    for (const Choice<Enum>& choice : choices) {
      if (choice.name == text) return choice.value;
      names += (names.empty() ? "" : ", ") + in_quotes(choice.name);
    }
    fail(node, key, fmt::format("{} is not one of {}", in_quotes(text), names));
  }

  std::string identifier(const toml::node& node, std::string_view key) {
    std::string text = string_value(node, key);
    if (std::string problem = identifier_problem(text); !problem.empty()) {
      fail(node, key,
           fmt::format("{} is not a valid PostgreSQL identifier: {}", in_quotes(text), problem));
    }
    return text;
  }

  std::string table_name(const toml::node& node, std::string_view key) {
    std::string text = string_value(node, key);
    if (std::string problem = table_name_problem(text); !problem.empty()) {
      fail(node, key, fmt::format("{} is not a valid table name: {}", in_quotes(text), problem));
    }
    return normalize_table_name(text);
  }

  // The array at `node` (every element checked by the caller).
  const toml::array& array_value(const toml::node& node, std::string_view key,
                                 std::string_view expected) const {
    const toml::array* array = node.as_array();
    if (array == nullptr) fail_type(node, key, expected);
    return *array;
  }

  void load_source(const toml::table& root, SourceConfig& source) {
    const toml::node* node = root.get("source");
    if (node == nullptr) fail(root, "source", "required table [source] is missing");
    const toml::table* table = node->as_table();
    if (table == nullptr) fail_type(*node, "source", "a table ([source])");
    const std::vector<std::string> kinds = plugins_.source_kinds();
    if (kinds.empty()) throw Error::internal("no source kind is registered");
    source.kind = kinds.front();
    if (const toml::node* kind = table->get("kind")) {
      source.kind = string_value(*kind, "source.kind");
      if (plugins_.find_source(source.kind) == nullptr) {
        std::string names;
        for (const std::string& name : kinds) names += (names.empty() ? "" : ", ") + in_quotes(name);
        fail(*kind, "source.kind", fmt::format("{} is not supported yet (only {})", in_quotes(source.kind), names));
      }
    }
    source.plugin = plugins_.find_source(source.kind);
    KeyList known = kSourceKeys;
    for (const std::string& k : source.plugin->keys) known.push_back(k);
    reject_unknown_keys(*table, "source", known);

    const toml::node* tables = table->get("tables");
    if (tables == nullptr) fail_missing(*table, "source.tables");
    const toml::array& list = array_value(*tables, "source.tables", "an array of table names");
    if (list.empty()) fail(*tables, "source.tables", "must list at least one table");
    std::map<std::string, toml::source_position> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string key = fmt::format("source.tables[{}]", i);
      std::string name = table_name(list[i], key);
      auto [it, inserted] = seen.emplace(name, list[i].source().begin);
      if (!inserted) {
        fail(list[i], key,
             fmt::format("duplicate table {} (already listed at line {})", in_quotes(name),
                         it->second.line));
      }
      source.tables.push_back(std::move(name));
    }

    if (const toml::node* n = table->get("snapshot")) {
      source.snapshot = enum_value<SnapshotMode>(
          *n, "source.snapshot",
          {{"initial", SnapshotMode::kInitial}, {"never", SnapshotMode::kNever}});
    }
    if (const toml::node* n = table->get("snapshot_chunk_rows")) {
      source.snapshot_chunk_rows = positive_integer(*n, "source.snapshot_chunk_rows");
    }
    if (const toml::node* n = table->get("snapshot_workers")) {
      int64_t workers = integer_value(*n, "source.snapshot_workers");
      if (workers < 1 || workers > kMaxSnapshotWorkers) {
        fail(*n, "source.snapshot_workers",
             fmt::format("{} is out of range 1..{}", workers, kMaxSnapshotWorkers));
      }
      source.snapshot_workers = static_cast<size_t>(workers);
    }
    TableView view(*this, *table, "source");
    source.settings = source.plugin->parse(view, source);
    if (!source.settings) throw Error::internal("source kind '" + source.kind + "' parsed no settings");
  }

  void load_sinks(const toml::table& root, Config& config) {
    const toml::node* node = root.get("sinks");
    if (node == nullptr) fail(root, "sinks", "required: add at least one [[sinks]] table");
    const toml::array& sinks = array_value(*node, "sinks", "an array of tables ([[sinks]])");
    if (sinks.empty()) fail(*node, "sinks", "must contain at least one sink");

    std::map<std::string, toml::source_position> names;
    // state place -> line: two sinks must not keep their state in the same place.
    std::map<std::string, toml::source_position> state_places;
    for (size_t i = 0; i < sinks.size(); ++i) {
      std::string path = fmt::format("sinks[{}]", i);
      const toml::table* table = sinks[i].as_table();
      if (table == nullptr) fail_type(sinks[i], path, "a table ([[sinks]])");
      SinkConfig sink = load_sink(*table, path, config.source);

      const toml::node& name_node = *table->get("name");
      auto [it, inserted] = names.emplace(sink.name, name_node.source().begin);
      if (!inserted) {
        fail(name_node, path + ".name",
             fmt::format("duplicate sink name {} (first used at line {})", in_quotes(sink.name),
                         it->second.line));
      }
      const std::string place_text = sink.settings->state_place();
      if (!place_text.empty()) {
        auto [place, fresh] = state_places.emplace(place_text, name_node.source().begin);
        if (!fresh) {
          const std::string place_key(sink.settings->state_place_key());
          const toml::node* place_node = table->get(place_key);
          fail(place_node != nullptr ? *place_node : name_node, path + "." + place_key,
               fmt::format("the sink at line {} keeps its state in the same place ({}); "
                           "sinks sharing a store need different {}",
                           place->second.line, redact_secrets(place_text, secrets_), place_key));
        }
      }
      config.sinks.push_back(std::move(sink));
    }
  }

  // batch_max_changes, batch_max_bytes, queue_max_bytes.
  void load_bounds(const toml::table& table, const std::string& path, SinkConfig& sink) {
    auto key = [&](std::string_view name) { return join_key(path, name); };
    if (const toml::node* n = table.get("batch_max_changes")) {
      sink.bounds.batch_max_changes = positive_integer(*n, key("batch_max_changes"));
    }
    const toml::node* batch_bytes = table.get("batch_max_bytes");
    if (batch_bytes != nullptr)
      sink.bounds.batch_max_bytes = size_value(*batch_bytes, key("batch_max_bytes"));
    const toml::node* queue_bytes = table.get("queue_max_bytes");
    if (queue_bytes != nullptr)
      sink.bounds.queue_max_bytes = size_value(*queue_bytes, key("queue_max_bytes"));
    if (sink.bounds.batch_max_bytes > sink.bounds.queue_max_bytes) {
      // A batch is taken from the queue, so it can never be larger than the queue.
      bool at_batch = batch_bytes != nullptr;
      fail(at_batch ? *batch_bytes : *queue_bytes,
           key(at_batch ? "batch_max_bytes" : "queue_max_bytes"),
           fmt::format("batch_max_bytes ({} bytes) is larger than queue_max_bytes ({} bytes)",
                       sink.bounds.batch_max_bytes, sink.bounds.queue_max_bytes));
    }
  }

  SinkConfig load_sink(const toml::table& table, const std::string& path,
                       const SourceConfig& source) {
    auto key = [&](std::string_view name) { return join_key(path, name); };
    SinkConfig sink;

    const toml::node* name = table.get("name");
    if (name == nullptr) fail_missing(table, key("name"));
    sink.name = non_empty_string(*name, key("name"));
    for (char c : sink.name) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '.';
      if (!ok) {
        fail(*name, key("name"),
             fmt::format("{} may contain only letters, digits, '_', '-' and '.'",
                         in_quotes(sink.name)));
      }
    }
    // Without kind: the registry's first plugin (docs/configuration.md: "redis").
    const toml::node* kind = table.get("kind");
    if (plugins_.sink_kinds().empty()) throw Error::internal("no sink plugin is registered");
    sink.kind = kind != nullptr ? string_value(*kind, key("kind")) : plugins_.sink_kinds().front();
    sink.plugin = plugins_.find_sink(sink.kind);
    if (sink.plugin == nullptr) {
      std::string names;
      for (const std::string& k : plugins_.sink_kinds()) names += (names.empty() ? "" : ", ") + in_quotes(k);
      fail(*kind, key("kind"), fmt::format("{} is not supported yet (only {})", in_quotes(sink.kind), names));
    }
    reject_unknown_sink_keys(table, path, kSinkKeys, sink.plugin->keys, sink.kind, false);

    if (const toml::node* n = table.get("on_reset")) {
      sink.on_reset = enum_value<OnReset>(*n, key("on_reset"),
                                          {{"rebuild", OnReset::kRebuild}, {"stop", OnReset::kStop}});
    }
    load_bounds(table, path, sink);

    std::vector<std::unique_ptr<TableView>> table_views;
    if (const toml::node* n = table.get("tables")) {
      const toml::array& overrides =
          array_value(*n, key("tables"), "an array of tables ([[sinks.tables]])");
      std::map<std::string, toml::source_position> seen;
      for (size_t j = 0; j < overrides.size(); ++j) {
        std::string table_path = fmt::format("{}.tables[{}]", path, j);
        const toml::table* entry = overrides[j].as_table();
        if (entry == nullptr) fail_type(overrides[j], table_path, "a table ([[sinks.tables]])");
        reject_unknown_sink_keys(*entry, table_path, kSinkTableKeys, sink.plugin->table_keys, sink.kind, true);
        SinkTableConfig override_config = load_sink_table(*entry, table_path, source);
        const toml::node& table_node = *entry->get("table");
        auto [it, inserted] = seen.emplace(override_config.table, table_node.source().begin);
        if (!inserted) {
          fail(table_node, table_path + ".table",
               fmt::format("duplicate override for {} (first at line {})",
                           in_quotes(override_config.table), it->second.line));
        }
        sink.tables.push_back(std::move(override_config));
        table_views.push_back(std::make_unique<TableView>(*this, *entry, table_path));
      }
    }
    TableView view(*this, table, path);
    std::vector<ConfigTable*> views;
    for (auto& v : table_views) views.push_back(v.get());
    sink.settings = sink.plugin->parse(view, views, sink);
    if (sink.settings == nullptr) throw Error::internal("sink plugin '" + sink.kind + "' parsed no settings");
    return sink;
  }

  SinkTableConfig load_sink_table(const toml::table& table, const std::string& path, const SourceConfig& source) {
    auto key = [&](std::string_view name) { return join_key(path, name); };
    SinkTableConfig out;
    const toml::node* name = table.get("table");
    if (name == nullptr) fail_missing(table, key("table"));
    out.table = table_name(*name, key("table"));
    if (std::find(source.tables.begin(), source.tables.end(), out.table) == source.tables.end()) {
      std::string listed;
      for (const std::string& t : source.tables) listed += (listed.empty() ? "" : ", ") + t;
      fail(*name, key("table"),
           fmt::format("{} is not one of source.tables ({})", in_quotes(out.table), listed));
    }
    const toml::node* columns = table.get("columns");
    const toml::node* excluded = table.get("exclude_columns");
    if (columns != nullptr && excluded != nullptr) {
      fail(*excluded, key("exclude_columns"),
           "give either columns (the ones to keep) or exclude_columns (the ones to leave out), not both");
    }
    if (columns != nullptr) out.columns = identifier_list(*columns, key("columns"));
    if (excluded != nullptr) out.exclude_columns = identifier_list(*excluded, key("exclude_columns"));
    return out;
  }

  void load_retry(const toml::table& root, RetryConfig& retry) {
    const toml::node* node = root.get("retry");
    if (node == nullptr) return;
    const toml::table* table = node->as_table();
    if (table == nullptr) fail_type(*node, "retry", "a table ([retry])");
    reject_unknown_keys(*table, "retry", kRetryKeys);
    const toml::node* initial = table->get("initial_backoff_ms");
    if (initial != nullptr)
      retry.initial_backoff = positive_millis(*initial, "retry.initial_backoff_ms");
    const toml::node* max = table->get("max_backoff_ms");
    if (max != nullptr) retry.max_backoff = positive_millis(*max, "retry.max_backoff_ms");
    if (retry.max_backoff < retry.initial_backoff) {
      bool at_max = max != nullptr;
      fail(at_max ? *max : *initial, at_max ? "retry.max_backoff_ms" : "retry.initial_backoff_ms",
           fmt::format("max_backoff_ms ({}) is smaller than initial_backoff_ms ({})",
                       retry.max_backoff.count(), retry.initial_backoff.count()));
    }
  }

  void load_metrics(const toml::table& root, MetricsConfig& metrics) {
    const toml::node* node = root.get("metrics");
    if (node == nullptr) return;
    const toml::table* table = node->as_table();
    if (table == nullptr) fail_type(*node, "metrics", "a table ([metrics])");
    reject_unknown_keys(*table, "metrics", kMetricsKeys);
    const toml::node* listen = table->get("listen");
    if (listen == nullptr) fail_missing(*table, "metrics.listen");
    const std::string text = string_value(*listen, "metrics.listen");
    // HOST:PORT, HOST a name or an IPv4 address, or an IPv6 address in brackets.
    const size_t colon = text.rfind(':');
    std::string host = colon == std::string::npos ? std::string() : text.substr(0, colon);
    const std::string port = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);
    const bool port_digits = !port.empty() && port.size() <= 5 &&
                             std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    const char* forbidden = bracketed ? "[] /" : "[] /:";  // an IPv6 address needs its brackets
    if (host.empty() || !port_digits || std::stoi(port) > 65535 || host.find_first_of(forbidden) != std::string::npos) {
      fail(*listen, "metrics.listen",
           fmt::format("{} is not HOST:PORT (e.g. \"127.0.0.1:9187\", \"[::1]:9187\"; port 0 picks a free one)",
                       in_quotes(text)));
    }
    metrics.enabled = true;
    metrics.host = host;
    metrics.port = static_cast<uint16_t>(std::stoi(port));
    if (const toml::node* n = table->get("unhealthy_after_ms")) {
      metrics.unhealthy_after = positive_millis(*n, "metrics.unhealthy_after_ms");
    }
  }

  std::string path_;
  std::filesystem::path base_dir_;
  const PluginRegistry& plugins_;
  std::vector<std::string> secrets_;  // text that must not appear in any message
};

}  // namespace

void SinkConfig::throw_settings_mismatch() const {
  throw Error::internal("sink '" + name + "': its settings are not those of kind '" + kind + "'");
}

const SinkTableConfig* SinkConfig::table_override(const std::string& qualified_table) const {
  for (const SinkTableConfig& t : tables) {
    if (t.table == qualified_table) return &t;
  }
  return nullptr;
}

std::string normalize_table_name(std::string_view name) {
  if (std::string problem = table_name_problem(name); !problem.empty()) {
    throw Error::config(fmt::format("table name {}: {}", in_quotes(name), problem));
  }
  if (name.find('.') == std::string_view::npos) return "public." + std::string(name);
  return std::string(name);
}

Config parse_config(std::string_view text, const std::string& path, const PluginRegistry& plugins) {
  // ${file:...} paths are relative to the directory of the configuration file.
  return Loader(path, std::filesystem::path(path).parent_path(), plugins).load(text);
}

Config load_config(const std::string& path, const PluginRegistry& plugins) {
  std::string text, reason;
  if (!read_whole_file(path, text, reason)) {
    throw Error::config(fmt::format("cannot read config {}: {}", path, reason));
  }
  return parse_config(text, path, plugins);
}

}  // namespace sluice
