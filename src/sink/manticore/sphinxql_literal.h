// SphinxQL literals and identifiers, as Sphinx 2.2.11's parser reads them
// (checked against searchd here; NOTES-search.md):
//   - a string literal is '...' with '\' as the escape character: "\\" is a
//     backslash, "\'" a quote. The SQL doubling ('') is a syntax error. Other
//     escapes are searchd's own ("\n" is a newline, "\0" is the letter 0), so
//     every backslash of the text is escaped and nothing else is;
//   - a NUL byte anywhere in a statement is a syntax error, so text with one has
//     no literal; PostgreSQL text never holds one;
//   - other bytes, invalid UTF-8 included, pass through unchanged;
//   - identifiers are case-insensitive; `backticks` let a name that is also a
//     keyword (order, select, ...) be used as a column.
// There are no prepared statements in SphinxQL: every value reaches searchd as a
// literal built here.
//
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

// Appends 'text' as a quoted SphinxQL string literal. Throws
// Error::invalid_input("... a NUL byte ...") when text holds a NUL byte.
void append_quoted(std::string& out, std::string_view text);
std::string quote_literal(std::string_view text);

// [A-Za-z_][A-Za-z0-9_]*: a name that is the same in sphinx.conf, in DESCRIBE
// and in a statement (up to case).
bool is_plain_identifier(std::string_view name);

// `name` in backticks. Throws Error::invalid_input naming it when it is not a
// plain identifier (a backtick cannot be escaped inside one).
std::string quote_identifier(std::string_view name);

}  // namespace sluice
