#include "config/expand.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace sluice {
namespace {

constexpr std::string_view kLiteralHint = " (write $${ for a literal ${)";

bool is_env_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (digit && i > 0))) return false;
  }
  return true;
}

std::string expand_env(std::string_view name) {
  if (!is_env_name(name)) {
    throw Error::config("${env:" + std::string(name) +
                        "}: not a valid environment variable name (letters, digits and "
                        "underscores, not starting with a digit)");
  }
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) {
    throw Error::config("environment variable " + std::string(name) +
                        " is not set (${env:" + std::string(name) + "})");
  }
  return value;
}

std::string expand_file(std::string_view path_text, const std::filesystem::path& base_dir) {
  if (path_text.empty()) throw Error::config("${file:}: the path is empty");
  std::filesystem::path path(path_text);
  std::filesystem::path resolved = path.is_absolute() ? path : base_dir / path;
  std::string contents, reason;
  if (!read_whole_file(resolved, contents, reason)) {
    std::string where = "${file:" + std::string(path_text) + "}";
    if (resolved != path) where += " (" + resolved.string() + ")";
    throw Error::config("cannot read " + where + ": " + reason);
  }
  // Files written by editors and `echo` end with a newline that is not part of the
  // secret; remove exactly one so a value that really ends in a newline survives.
  if (!contents.empty() && contents.back() == '\n') {
    contents.pop_back();
    if (!contents.empty() && contents.back() == '\r') contents.pop_back();
  }
  if (contents.find('\0') != std::string::npos) {
    throw Error::config("${file:" + std::string(path_text) + "}: the file contains a NUL byte");
  }
  return contents;
}

}  // namespace

bool read_whole_file(const std::filesystem::path& path, std::string& contents,
                     std::string& reason) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    reason = std::strerror(errno);
    return false;
  }
  contents.clear();
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      reason = std::strerror(errno);  // e.g. EISDIR for a directory
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

ExpandedString expand_references(std::string_view text, const std::filesystem::path& base_dir) {
  ExpandedString out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out.value += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.value += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      throw Error::config("unterminated ${" + std::string(kLiteralHint));
    }
    std::string_view body = text.substr(i + 2, close - (i + 2));
    std::string inserted;
    if (body.starts_with("env:")) {
      inserted = expand_env(body.substr(4));
    } else if (body.starts_with("file:")) {
      inserted = expand_file(body.substr(5), base_dir);
    } else {
      // Name only the part before ':' - the rest could be anything the user typed.
      std::string_view kind = body.substr(0, body.find(':'));
      throw Error::config("unknown reference ${" + std::string(kind) +
                          (body.find(':') == std::string_view::npos ? "" : ":...") +
                          "}: use ${env:NAME} or ${file:PATH}" + std::string(kLiteralHint));
    }
    out.value += inserted;
    out.inserted.push_back(std::move(inserted));
    i = close + 1;
  }
  return out;
}

}  // namespace sluice
