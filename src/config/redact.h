// Printing connection strings without their secrets. Every log line, error and
// status output that shows a dsn or url goes through these.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// libpq conninfo ("key=value ..." or postgres:// URI): password replaced by "********".
std::string redact_dsn(std::string_view dsn);
// redis://user:password@host:port/db -> redis://user:********@host:port/db
std::string redact_url(std::string_view url);
// Replaces every occurrence of each secret in `text` by "********" (used on
// messages that come back from servers and might echo a connection string).
std::string redact_secrets(std::string text, const std::vector<std::string>& secrets);

}  // namespace sluice
