#include "sink/manticore/sphinxql_literal.h"

#include "core/error.h"

namespace sluice {

void append_quoted(std::string& out, std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    throw Error::invalid_input("text with a NUL byte (at offset " + std::to_string(text.find('\0')) +
                               ") has no SphinxQL literal: searchd refuses the statement");
  }
  out.reserve(out.size() + text.size() + 2);
  out.push_back('\'');
  for (char c : text) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
}

std::string quote_literal(std::string_view text) {
  std::string out;
  append_quoted(out, text);
  return out;
}

bool is_plain_identifier(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

std::string quote_identifier(std::string_view name) {
  if (!is_plain_identifier(name)) {
    throw Error::invalid_input("'" + std::string(name) +
                               "' is not a SphinxQL identifier (letters, digits and '_', not starting with a digit)");
  }
  return "`" + std::string(name) + "`";
}

}  // namespace sluice
