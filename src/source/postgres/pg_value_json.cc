#include "source/postgres/pg_value_json.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/error.h"
#include "format/json_writer.h"

namespace sluice::pg {
namespace {

// PostgreSQL's MAXDIM (src/include/utils/array.h): deeper literals cannot exist.
constexpr size_t kMaxArrayDims = 6;
// numeric_in() refuses exponents beyond NUMERIC_MAX_PRECISION (utils/numeric.c);
// the bound also keeps a garbled "1e999999999" from allocating gigabytes.
constexpr int kMaxExponent = 1000;
constexpr size_t kExcerptBytes = 48;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// array_in()/record_in() skip the same white space (scanner_isspace).
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

// The start of `text` for an error message, quoted and escaped so control bytes
// cannot reach a log line; cut on a UTF-8 character boundary.
std::string excerpt(std::string_view text) {
  if (text.size() <= kExcerptBytes) {
    std::string out;
    append_json_string(out, text);
    return out;
  }
  size_t cut = kExcerptBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  std::string out;
  append_json_string(out, text.substr(0, cut));
  out += "...";
  return out;
}

[[noreturn]] void fail(const TypeInfo& type, std::string_view text, std::string_view why) {
  throw Error::invalid_input(type.name + ": " + std::string(why) + ": " + excerpt(text));
}

// ---------------------------------------------------------------------------
// Numbers

// The JSON number grammar (RFC 8259 section 6), as PostgreSQL's json lexer checks it.
bool is_json_number(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i == n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i == n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i == n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  return i == n;
}

// Appends a valid JSON number the way numeric_out(numeric_in(text)) prints it:
// positional notation with display scale max(0, fraction digits - exponent),
// no sign on zero. Pure digit shuffling, no floating point.
void append_number(std::string& out, const TypeInfo& type, std::string_view text) {
  const bool negative = text.front() == '-';
  std::string_view body = negative ? text.substr(1) : text;
  const size_t e_pos = body.find_first_of("eE");
  std::string_view mantissa = body.substr(0, e_pos);
  const size_t dot = mantissa.find('.');
  std::string_view int_digits = mantissa.substr(0, dot);
  std::string_view frac_digits =
      dot == std::string_view::npos ? std::string_view() : mantissa.substr(dot + 1);
  const bool is_zero = mantissa.find_first_of("123456789") == std::string_view::npos;

  if (e_pos == std::string_view::npos) {
    // Already numeric_out's form; only a negative zero changes.
    out.append(negative && is_zero ? body : text);
    return;
  }

  std::string_view exp_text = body.substr(e_pos + 1);
  bool exp_negative = false;
  if (exp_text.front() == '+' || exp_text.front() == '-') {
    exp_negative = exp_text.front() == '-';
    exp_text.remove_prefix(1);
  }
  while (exp_text.size() > 1 && exp_text.front() == '0') exp_text.remove_prefix(1);
  if (exp_text.size() > 4) fail(type, text, "exponent out of range");
  int exponent = 0;
  for (char c : exp_text) exponent = exponent * 10 + (c - '0');
  if (exponent > kMaxExponent) fail(type, text, "exponent out of range");
  if (exp_negative) exponent = -exponent;

  std::string digits;
  digits.reserve(int_digits.size() + frac_digits.size());
  digits.append(int_digits).append(frac_digits);
  // Digits before the decimal point once the exponent is applied (may be <= 0).
  const long point = static_cast<long>(int_digits.size()) + exponent;
  const long scale = std::max(0L, static_cast<long>(frac_digits.size()) - exponent);

  if (negative && !is_zero) out.push_back('-');
  if (point <= 0) {
    out.push_back('0');
  } else {
    std::string int_part;
    for (long i = 0; i < point; ++i) {
      int_part.push_back(i < static_cast<long>(digits.size()) ? digits[i] : '0');
    }
    const size_t first = int_part.find_first_not_of('0');
    out.append(first == std::string::npos ? std::string_view("0")
                                          : std::string_view(int_part).substr(first));
  }
  if (scale > 0) {
    out.push_back('.');
    // Exactly `scale` digits follow the point (scale == digits.size() - point).
    for (long i = point; i < point + scale; ++i) {
      out.push_back(i >= 0 && i < static_cast<long>(digits.size()) ? digits[i] : '0');
    }
  }
}

void append_number_json(std::string& out, const TypeInfo& type, std::string_view text) {
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
    append_json_string(out, text);
    return;
  }
  if (!is_json_number(text)) fail(type, text, "not a number");
  append_number(out, type, text);
}

// ---------------------------------------------------------------------------
// Dates and timestamps

// Consumes exactly `count` digits at `pos`.
bool take_digits(std::string_view s, size_t& pos, size_t count) {
  if (s.size() - pos < count) return false;
  for (size_t i = 0; i < count; ++i) {
    if (!is_digit(s[pos + i])) return false;
  }
  pos += count;
  return true;
}

bool take_char(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

// The XSD form (JsonEncodeDateTime in src/backend/utils/adt/json.c) of a date,
// timestamp or timestamptz printed with DateStyle=ISO. ISO and XSD differ only in
// the 'T' separator and in the offset, which XSD always prints with minutes
// (EncodeTimezone); everything else, the " BC" suffix included, is the same.
std::string xsd_datetime(const TypeInfo& type, std::string_view text) {
  if (text == "infinity" || text == "-infinity") return std::string(text);

  const bool bc = text.size() > 3 && text.substr(text.size() - 3) == " BC";
  std::string_view s = bc ? text.substr(0, text.size() - 3) : text;
  std::string out;
  out.reserve(text.size() + 4);

  // Date: a year of 4 or more digits (up to 294276), month, day.
  size_t pos = 0;
  while (pos < s.size() && is_digit(s[pos])) ++pos;
  if (pos < 4 || !take_char(s, pos, '-') || !take_digits(s, pos, 2) ||
      !take_char(s, pos, '-') || !take_digits(s, pos, 2)) {
    fail(type, text, "not an ISO date");
  }
  if (type.category == ValueCategory::kDate) {
    if (pos != s.size()) fail(type, text, "not an ISO date");
    return std::string(text);
  }
  out.append(s.substr(0, pos));

  // Time: hh:mm:ss with an optional fraction.
  const size_t time_start = pos + 1;
  if (!take_char(s, pos, ' ') || !take_digits(s, pos, 2) || !take_char(s, pos, ':') ||
      !take_digits(s, pos, 2) || !take_char(s, pos, ':') || !take_digits(s, pos, 2)) {
    fail(type, text, "not an ISO timestamp");
  }
  if (take_char(s, pos, '.')) {
    if (!take_digits(s, pos, 1)) fail(type, text, "not an ISO timestamp");
    while (pos < s.size() && is_digit(s[pos])) ++pos;
  }
  out.push_back('T');
  out.append(s.substr(time_start, pos - time_start));

  if (type.category == ValueCategory::kTimestampTz) {
    // Offset: +hh, +hh:mm or +hh:mm:ss (seconds only for historical local mean time).
    const size_t tz_start = pos;
    if (pos == s.size() || (s[pos] != '+' && s[pos] != '-')) {
      fail(type, text, "no time zone offset");
    }
    ++pos;
    if (!take_digits(s, pos, 2)) fail(type, text, "bad time zone offset");
    bool has_minutes = false;
    if (take_char(s, pos, ':')) {
      if (!take_digits(s, pos, 2)) fail(type, text, "bad time zone offset");
      has_minutes = true;
      if (take_char(s, pos, ':') && !take_digits(s, pos, 2)) {
        fail(type, text, "bad time zone offset");
      }
    }
    out.append(s.substr(tz_start, pos - tz_start));
    if (!has_minutes) out += ":00";
  }
  if (pos != s.size()) fail(type, text, "not an ISO timestamp");
  if (bc) out += " BC";
  return out;
}

// ---------------------------------------------------------------------------
// Arrays: the array_out() literal, parsed with array_in()'s rules
// (src/backend/utils/adt/arrayfuncs.c).

class ArrayRenderer {
 public:
  ArrayRenderer(const TypeInfo& type, std::string_view text, std::string& out)
      : type_(type), text_(text), out_(out) {
    if (!type.element) fail(type_, text_, "array element type is not resolved");
    delimiter_ = type.array_delimiter;
  }

  void run() {
    std::vector<std::pair<long, long>> bounds = parse_bounds();
    skip_space();
    if (pos_ == text_.size() || text_[pos_] != '{') malformed("expected '{'");
    parse_level(0);
    skip_space();
    if (pos_ != text_.size()) malformed("junk after closing '}'");
    if (!bounds.empty()) check_bounds(bounds);
  }

 private:
  [[noreturn]] void malformed(std::string_view why) {
    fail(type_, text_, "malformed array literal (" + std::string(why) + ")");
  }

  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }

  // Optional "[lb:ub][lb:ub]=" decoration that array_out() prints when a lower
  // bound is not 1. JSON arrays have no bounds; they are only checked.
  std::vector<std::pair<long, long>> parse_bounds() {
    std::vector<std::pair<long, long>> bounds;
    skip_space();
    while (pos_ < text_.size() && text_[pos_] == '[') {
      ++pos_;
      long lower = parse_bound();
      if (pos_ >= text_.size() || text_[pos_] != ':') malformed("bad dimension bounds");
      ++pos_;
      long upper = parse_bound();
      if (pos_ >= text_.size() || text_[pos_] != ']') malformed("bad dimension bounds");
      ++pos_;
      if (upper < lower - 1) malformed("upper bound below lower bound");
      bounds.emplace_back(lower, upper);
      if (bounds.size() > kMaxArrayDims) malformed("too many dimensions");
    }
    if (!bounds.empty()) {
      if (pos_ >= text_.size() || text_[pos_] != '=') malformed("expected '=' after bounds");
      ++pos_;
    }
    return bounds;
  }

  long parse_bound() {
    bool negative = false;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) {
      negative = text_[pos_] == '-';
      ++pos_;
    }
    const size_t start = pos_;
    long value = 0;
    while (pos_ < text_.size() && is_digit(text_[pos_])) {
      if (pos_ - start >= 10) malformed("dimension bound out of range");
      value = value * 10 + (text_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == start) malformed("bad dimension bounds");
    return negative ? -value : value;
  }

  void check_bounds(const std::vector<std::pair<long, long>>& bounds) {
    if (bounds.size() != dim_lengths_.size()) {
      malformed("bounds do not match the number of dimensions");
    }
    for (size_t d = 0; d < bounds.size(); ++d) {
      if (bounds[d].second - bounds[d].first + 1 != static_cast<long>(dim_lengths_[d])) {
        malformed("bounds do not match the number of elements");
      }
    }
  }

  // At text_[pos_] == '{'. Renders one (sub-)array at nesting `depth`.
  void parse_level(size_t depth) {
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      // array_out() prints only a whole empty array as "{}".
      if (depth != 0) malformed("empty sub-array");
      ++pos_;
      out_ += "[]";
      return;
    }
    out_.push_back('[');
    size_t count = 0;
    for (;;) {
      skip_space();
      if (pos_ == text_.size()) malformed("unterminated");
      if (count > 0) out_.push_back(',');
      if (text_[pos_] == '{') {
        if (leaf_depth_ == static_cast<int>(depth)) malformed("mixed elements and sub-arrays");
        if (depth + 1 >= kMaxArrayDims) malformed("too many dimensions");
        parse_level(depth + 1);
      } else {
        if (leaf_depth_ < 0) leaf_depth_ = static_cast<int>(depth);
        if (leaf_depth_ != static_cast<int>(depth)) malformed("mixed elements and sub-arrays");
        parse_element();
      }
      ++count;
      skip_space();
      if (pos_ == text_.size()) malformed("unterminated");
      if (text_[pos_] == delimiter_) {
        ++pos_;
        continue;
      }
      if (text_[pos_] == '}') {
        ++pos_;
        break;
      }
      malformed("expected delimiter or '}'");
    }
    out_.push_back(']');
    if (dim_lengths_.size() <= depth) dim_lengths_.resize(depth + 1, 0);
    if (dim_lengths_[depth] == 0) {
      dim_lengths_[depth] = count;
    } else if (dim_lengths_[depth] != count) {
      malformed("sub-arrays of different lengths");
    }
  }

  // One element at text_[pos_] (white space skipped), rendered by element type.
  void parse_element() {
    scratch_.clear();
    if (text_[pos_] == '"') {
      ++pos_;
      for (;;) {
        if (pos_ == text_.size()) malformed("unterminated quoted element");
        char c = text_[pos_++];
        if (c == '"') break;
        if (c == '\\') {
          if (pos_ == text_.size()) malformed("unterminated quoted element");
          c = text_[pos_++];
        }
        scratch_.push_back(c);
      }
      append_to_jsonb(out_, *type_.element, scratch_);
      return;
    }
    // Unquoted: ends at the delimiter or '}'; backslash escapes one character;
    // trailing unescaped white space is not part of the element.
    size_t kept = 0;
    bool escaped = false;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == delimiter_ || c == '}') break;
      if (c == '{' || c == '"') malformed("unexpected character in element");
      ++pos_;
      if (c == '\\') {
        if (pos_ == text_.size()) malformed("unterminated");
        scratch_.push_back(text_[pos_++]);
        kept = scratch_.size();
        escaped = true;
        continue;
      }
      scratch_.push_back(c);
      if (!is_space(c)) kept = scratch_.size();
    }
    scratch_.resize(kept);
    if (scratch_.empty()) malformed("empty element");
    if (!escaped && iequals(scratch_, "NULL")) {
      out_ += "null";
      return;
    }
    append_to_jsonb(out_, *type_.element, scratch_);
  }

  const TypeInfo& type_;
  std::string_view text_;
  std::string& out_;
  char delimiter_ = ',';
  size_t pos_ = 0;
  int leaf_depth_ = -1;               // nesting depth of the scalar elements
  std::vector<size_t> dim_lengths_;   // elements per sub-array, by depth
  std::string scratch_;               // de-quoted element text
};

// ---------------------------------------------------------------------------
// Composites: the record_out() literal, parsed with record_in()'s rules
// (src/backend/utils/adt/rowtypes.c).

[[noreturn]] void record_malformed(const TypeInfo& type, std::string_view text,
                                   std::string_view why) {
  fail(type, text, "malformed record literal (" + std::string(why) + ")");
}

void append_composite_json(std::string& out, const TypeInfo& type, std::string_view text) {
  size_t pos = 0;
  while (pos < text.size() && is_space(text[pos])) ++pos;
  if (pos == text.size() || text[pos] != '(') record_malformed(type, text, "expected '('");
  ++pos;
  out.push_back('{');
  std::string field_text;
  if (type.fields.empty()) {
    if (pos == text.size() || text[pos] != ')') record_malformed(type, text, "too many columns");
    ++pos;
  }
  for (size_t i = 0; i < type.fields.size(); ++i) {
    const CompositeField& field = type.fields[i];
    if (i > 0) out.push_back(',');
    append_json_string(out, field.name);
    out.push_back(':');
    if (pos == text.size()) record_malformed(type, text, "unterminated");
    if (text[pos] == ',' || text[pos] == ')') {
      out += "null";  // an empty unquoted field is NULL; "" is the empty string
    } else {
      field_text.clear();
      bool in_quotes = false;
      for (;;) {
        if (pos == text.size()) record_malformed(type, text, "unterminated");
        char c = text[pos];
        if (!in_quotes && (c == ',' || c == ')')) break;
        ++pos;
        if (c == '\\') {
          if (pos == text.size()) record_malformed(type, text, "unterminated");
          field_text.push_back(text[pos++]);
        } else if (c == '"') {
          if (!in_quotes) {
            in_quotes = true;
          } else if (pos < text.size() && text[pos] == '"') {
            field_text.push_back('"');  // "" inside quotes is one quote
            ++pos;
          } else {
            in_quotes = false;
          }
        } else {
          field_text.push_back(c);
        }
      }
      if (!field.type) {
        fail(type, text, "type of field \"" + field.name + "\" is not resolved");
      }
      append_to_jsonb(out, *field.type, field_text);
    }
    const bool last = i + 1 == type.fields.size();
    if (text[pos] == ',') {
      if (last) record_malformed(type, text, "too many columns");
    } else if (!last) {
      record_malformed(type, text, "too few columns");
    }
    ++pos;
  }
  while (pos < text.size() && is_space(text[pos])) ++pos;
  if (pos != text.size()) record_malformed(type, text, "junk after closing ')'");
  out.push_back('}');
}

}  // namespace

void append_to_jsonb(std::string& out, const TypeInfo& type, std::string_view text) {
  switch (type.category) {
    case ValueCategory::kBool:
      if (text == "t") {
        out += "true";
      } else if (text == "f") {
        out += "false";
      } else {
        fail(type, text, "not a boolean");
      }
      return;
    case ValueCategory::kInteger:
    case ValueCategory::kNumber:
      append_number_json(out, type, text);
      return;
    case ValueCategory::kString:
      append_json_string(out, text);
      return;
    case ValueCategory::kJson:
      // Valid JSON by construction (json_in/jsonb_in checked it); an empty text
      // would break the document, so it means the value did not come from them.
      if (text.find_first_not_of(" \t\n\r") == std::string_view::npos) {
        fail(type, text, "empty JSON value");
      }
      out.append(text);
      return;
    case ValueCategory::kDate:
    case ValueCategory::kTimestamp:
    case ValueCategory::kTimestampTz:
      append_json_string(out, xsd_datetime(type, text));
      return;
    case ValueCategory::kArray:
      ArrayRenderer(type, text, out).run();
      return;
    case ValueCategory::kComposite:
      append_composite_json(out, type, text);
      return;
  }
  throw Error::internal(type.name + ": unknown value category");
}

namespace {

class ToJsonbRenderer final : public ValueRenderer {
 public:
  void append_json(std::string& out, const TypeInfo& type, std::string_view text) const override {
    append_to_jsonb(out, type, text);
  }
};

}  // namespace

const ValueRenderer& to_jsonb_renderer() {
  static const ToJsonbRenderer renderer;
  return renderer;
}

}  // namespace sluice::pg
