// ${env:NAME} and ${file:PATH} references in configuration strings.
//
//   ${env:NAME}   the value of environment variable NAME ([A-Za-z_][A-Za-z0-9_]*);
//                 unset is an error, set-but-empty is the empty string.
//   ${file:PATH}  the contents of PATH with one trailing newline ("\n" or "\r\n")
//                 removed; a relative PATH is relative to `base_dir` (the directory
//                 of the configuration file).
//   $${           a literal "${".
//
// Inserted text is never expanded again, so a secret that happens to contain "${"
// stays as it is.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

struct ExpandedString {
  std::string value;
  // Every piece of text a reference inserted, in order. Callers treat these as
  // secrets when the string is a dsn or url (see config/redact.h).
  std::vector<std::string> inserted;
};

// Expands the references in `text`. Throws Error::config with a message that names
// the reference (variable name or path) but never an inserted value, and has no
// "file:line: key:" prefix: the caller knows where the string came from.
ExpandedString expand_references(std::string_view text, const std::filesystem::path& base_dir);

// Reads the whole file at `path`. On failure returns false and sets `reason`
// (strerror text); `contents` is then unspecified.
bool read_whole_file(const std::filesystem::path& path, std::string& contents, std::string& reason);

}  // namespace sluice
