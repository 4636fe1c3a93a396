#include "app/cli.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "app/check_command.h"
#include "app/logging.h"
#include "app/plugins.h"
#include "app/resync_command.h"
#include "app/run_command.h"
#include "app/status_command.h"
#include "app/verify_command.h"
#include "config/config.h"
#include "core/error.h"

namespace sluice {

int run_cli(int argc, char** argv) {
  CLI::App app{"sluice: streams every committed change of PostgreSQL tables into Redis, in commit order"};
  app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // --log-format is accepted after the subcommand too
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "text (default), or json: one JSON object per log line")
      ->check(CLI::IsMember({"text", "json"}));

  std::string config_path;
  RunOptions run_options;
  auto* run = app.add_subcommand("run", "stream changes (takes the initial snapshot first when configured)");
  run->add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  run->add_flag("--resnapshot", run_options.resnapshot,
                "drop and recreate the replication slot and rebuild every sink from a fresh snapshot");
  auto* check = app.add_subcommand("check", "validate the configuration and the servers; print what run would do");
  check->add_option("-c,--config", config_path, "configuration file (TOML)")->required();

  VerifyOptions verify_options;
  auto* verify = app.add_subcommand(
      "verify", "compare every captured table with each upsert sink; exit 1 when keys are missing, different or extra");
  verify->add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  verify->add_option("--table", verify_options.tables, "only this table (schema.table; repeatable)");
  verify->add_flag("--repair", verify_options.repair,
                   "rewrite what differs from the source, through the streaming version guard");

  StatusOptions status_options;
  auto* status = app.add_subcommand("status", "show the slot (lag, WAL held) and every sink's checkpoint; change nothing");
  status->add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  status->add_flag("--json", status_options.json, "print one JSON object instead of text");

  ResyncOptions resync_options;
  auto* resync = app.add_subcommand(
      "resync", "ask the running instance to read a table again while streaming goes on (safe under load)");
  resync->add_option("-c,--config", config_path, "configuration file (TOML)")->required();
  resync->add_option("--table", resync_options.tables, "the table (schema.table; repeatable)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  setup_logging(log_format == "json" ? LogFormat::kJson : LogFormat::kText);
  Config config;
  try {
    config = load_config(config_path, builtin_plugins());
    use_source_position_format(config);
  } catch (const Error& e) {
    std::cerr << "sluice: " << e.what() << "\n";
    return 1;
  }
  if (*run) return run_command(config, run_options);
  if (*verify) return verify_command(config, verify_options);
  if (*status) return status_command(config, status_options);
  if (*resync) return resync_command(config, resync_options);
  return check_command(config);
}

}  // namespace sluice
