#include "app/resync_command.h"

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "core/error.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/table_resync.h"
#include "source/postgres/pg_source_config.h"

namespace sluice {

int resync_command(const Config& config, const ResyncOptions& options) {
  try {
    std::vector<std::string> tables;
    for (const auto& name : options.tables) {
      const std::string table = pg::parse_table_name(name).qualified();
      if (std::find(config.source.tables.begin(), config.source.tables.end(), table) == config.source.tables.end()) {
        std::cerr << fmt::format("sluice resync: {} is not captured (source.tables in {}: {})\n", table, config.path,
                                 fmt::join(config.source.tables, ", "));
        return 1;
      }
      tables.push_back(table);
    }
    auto connection = pg::PgConnection::connect(pg::settings_of(config.source).dsn, pg::PgConnection::Mode::kNormal);
    for (const auto& table : tables) {
      auto result = connection.exec_params(
          "SELECT pg_catalog.pg_logical_emit_message(true, $1, $2)::text",
          {std::string(pg::kResyncRequestPrefix), pg::format_resync_request(pg::settings_of(config.source).slot, table)});
      std::cout << fmt::format(
          "asked the instance streaming slot '{}' to re-sync {} (request at {}); it reads the table again while "
          "streaming goes on: follow it in its log and in sluice_resync_rows_total / sluice_resync_running\n",
          pg::settings_of(config.source).slot, table, result.value(0, 0));
    }
    return 0;
  } catch (const Error& e) {
    std::cerr << "sluice resync: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace sluice
