// Load-time checks of the two connection strings in a configuration: the source
// dsn (libpq) and the sink url (redis://). Problems are described without echoing
// any value that could be a secret, so the loader can put them in error messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Why `dsn` is not a usable libpq connection string, or nullopt. Checks the
// keyword/value syntax and keyword names (against libpq's own list) or, for a
// postgresql:// URI, asks libpq to parse it. `has_inserted_text` adds a hint that
// a value inserted by ${env:}/${file:} may need quoting.
std::optional<std::string> dsn_problem(std::string_view dsn, bool has_inserted_text);

// Why `url` is not "redis://[user:password@]host[:port][/db]", or nullopt. The
// structure is checked by the sink's own parser (sink/redis/redis_url.h), so what
// loads is what the sink accepts; rediss:// gets its own explanation.
std::optional<std::string> redis_url_problem(std::string_view url);

// The secret values written in a dsn (passwords) or url (userinfo password), as
// they appear in the text, for redact_secrets().
std::vector<std::string> dsn_secret_values(std::string_view dsn);
std::vector<std::string> url_secret_values(std::string_view url);

}  // namespace sluice
