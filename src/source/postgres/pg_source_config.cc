#include "source/postgres/pg_source_config.h"

#include <fmt/format.h>

#include "config/endpoint_check.h"
#include "core/error.h"

namespace sluice::pg {
namespace {

std::chrono::milliseconds millis(ConfigTable& source, std::string_view key, bool zero_allowed,
                                 std::string_view zero_means, std::chrono::milliseconds fallback) {
  if (!zero_allowed) {
    if (auto ms = source.positive_integer(key)) return std::chrono::milliseconds(*ms);
    return fallback;
  }
  const std::optional<int64_t> ms = source.integer(key);
  if (!ms) return fallback;
  if (*ms < 0) source.fail(key, fmt::format("must be 0 ({}) or positive, got {}", zero_means, *ms));
  return std::chrono::milliseconds(*ms);
}

}  // namespace

std::shared_ptr<const SourceSettings> parse_postgres_source(ConfigTable& source) {
  auto settings = std::make_shared<PostgresSourceSettings>();
  std::optional<ConfigTable::Secret> dsn = source.secret_string("dsn");
  if (!dsn) source.fail("dsn", "required key is missing");
  for (std::string& secret : dsn_secret_values(dsn->value)) source.hide(std::move(secret));
  if (auto problem = dsn_problem(dsn->value, dsn->inserted)) source.fail("dsn", *problem);
  settings->dsn = std::move(dsn->value);

  std::optional<std::string> slot = source.identifier("slot");
  if (!slot) source.fail("slot", "required key is missing");
  settings->slot = std::move(*slot);
  std::optional<std::string> publication = source.identifier("publication");
  if (!publication) source.fail("publication", "required key is missing");
  settings->publication = std::move(*publication);

  settings->status_interval = millis(source, "status_interval_ms", false, "", settings->status_interval);
  settings->heartbeat_interval = millis(source, "heartbeat_interval_ms", true, "off", settings->heartbeat_interval);
  settings->schema_check_interval =
      millis(source, "schema_check_interval_ms", true, "only at start", settings->schema_check_interval);
  return settings;
}

const PostgresSourceSettings& settings_of(const SourceConfig& source) {
  const auto* settings = dynamic_cast<const PostgresSourceSettings*>(source.settings.get());
  if (settings == nullptr) throw Error::internal("the source is not of kind \"postgres\" (kind = \"" + source.kind + "\")");
  return *settings;
}

}  // namespace sluice::pg
