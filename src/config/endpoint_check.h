// Load-time checks of connection strings: the source dsn (libpq), and the
// secret parts of a dsn or of a sink's URL. Problems are described without echoing
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

// The secret values written in a dsn (passwords) or url (userinfo password), as
// they appear in the text, for redact_secrets().
std::vector<std::string> dsn_secret_values(std::string_view dsn);
std::vector<std::string> url_secret_values(std::string_view url);

}  // namespace sluice
