#include "format/json_writer.h"

namespace sluice {

// Mirrors escape_json() in PostgreSQL's src/backend/utils/adt/json.c: the five
// short escapes, other control characters as \u00xx (lower-case hex, as PostgreSQL
// prints them with "\\u%04x"), everything else (DEL, non-ASCII UTF-8) verbatim.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  size_t run_start = 0;  // copy runs of plain bytes in one append
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text, run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
        break;
    }
  }
  out.append(text, run_start, text.size() - run_start);
  out.push_back('"');
}

}  // namespace sluice
