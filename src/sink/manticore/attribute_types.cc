#include "sink/manticore/attribute_types.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "format/value_json.h"
#include "sink/manticore/sphinxql_literal.h"

namespace sluice {
namespace {

// rt_attr_timestamp is an unsigned 32-bit count of seconds.
constexpr int64_t kMaxTimestamp = 4294967295;

Error bad_value(std::string_view where, std::string_view text, std::string_view why) {
  return Error::invalid_input(std::string(where) + ": '" + std::string(text) + "' " + std::string(why));
}

// A strict reader of the digits and separators of a date/time text; every read
// is bounds-checked.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool take(char c) {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }
  // Between min and max digits (as many as there are, up to max).
  bool digits(size_t min, size_t max, int64_t& out) {
    size_t n = 0;
    int64_t value = 0;
    while (n < max && i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      value = value * 10 + (s_[i_] - '0');
      ++i_;
      ++n;
    }
    if (n < min) return false;
    out = value;
    return true;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

int64_t parse_bigint(std::string_view text, std::string_view where) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    throw bad_value(where, text, "is not a 64-bit integer");
  }
  return value;
}

// Whether a number text that from_chars found out of range is tiny (an
// underflow) rather than huge: its first significant digit sits below the units
// place once the exponent is applied. Only called on texts of digits, '.',
// sign and exponent.
bool below_one(std::string_view text) {
  const size_t e = text.find_first_of("eE");
  const std::string_view mantissa = text.substr(0, e);
  int64_t exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view exp_text = text.substr(e + 1);
    if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
    if (ec == std::errc::result_out_of_range) return !exp_text.empty() && exp_text.front() == '-';
    (void)ptr;
  }
  const size_t point = std::min(mantissa.find('.'), mantissa.size());
  const size_t first = mantissa.find_first_of("123456789");
  if (first == std::string_view::npos) return true;  // zero
  // Decimal order of the first significant digit: 0 for the units place.
  const int64_t order = first < point ? static_cast<int64_t>(point - first - 1) : -static_cast<int64_t>(first - point);
  return order + exponent < 0;
}

void append_float(std::string& out, std::string_view json, std::string_view where) {
  // The renderer's spellings of the IEEE specials (core/type_info.h); searchd
  // reads these quoted forms as the IEEE values.
  if (json == "\"NaN\"") return out.append("'nan'"), void();
  if (json == "\"Infinity\"") return out.append("'inf'"), void();
  if (json == "\"-Infinity\"") return out.append("'-inf'"), void();
  const std::string_view text = json;
  // from_chars would also take "inf" and "nan": only the characters of a
  // positional or exponent number are let through.
  for (char c : text) {
    const bool ok = (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
    if (!ok) throw bad_value(where, text, "is not a number");
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ptr != text.data() + text.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    throw bad_value(where, text, "is not a number");
  }
  if (ec == std::errc::result_out_of_range && below_one(text)) {
    out.append("0e+00");  // an underflow: as close to zero as a float gets
    return;
  }
  const float narrowed = static_cast<float>(value);
  if (ec == std::errc::result_out_of_range || std::isinf(narrowed)) {
    throw bad_value(where, text, "is beyond the range of a float attribute (32-bit, |x| <= 3.4028235e+38)");
  }
  // Exponent form: searchd reads a bare integer literal as an integer, and one
  // too long for int64 wraps (12345678901234567890123 became -1).
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, narrowed, std::chars_format::scientific);
  out.append(buf, res.ptr);
}

void append_json(std::string& out, std::string_view json, std::string_view where) {
  const size_t first = json.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || (json[first] != '{' && json[first] != '[')) {
    throw bad_value(where, json,
                    "is not a JSON object or array: a json attribute holds only those (searchd refuses the rest)");
  }
  try {
    append_quoted(out, json);
  } catch (const Error& e) {
    throw Error(e.kind(), std::string(where) + ": " + e.what());
  }
}

// The source's JSON rendering of a non-null value (core/type_info.h), errors
// prefixed with `where`.
std::string rendered(const TypeInfo& column_type, std::string_view text, std::string_view where) {
  std::string json;
  try {
    append_value_json(json, column_type, text);
  } catch (const Error& e) {
    throw Error(e.kind(), std::string(where) + ": " + e.what());
  }
  return json;
}

}  // namespace

std::string_view to_string(AttributeType type) {
  switch (type) {
    case AttributeType::kBigint: return "bigint";
    case AttributeType::kBool: return "bool";
    case AttributeType::kFloat: return "float";
    case AttributeType::kTimestamp: return "timestamp";
    case AttributeType::kJson: return "json";
    case AttributeType::kString: return "string";
  }
  return "?";
}

AttributeType attribute_type_of(const TypeInfo& type) {
  switch (type.category) {
    case ValueCategory::kBool: return AttributeType::kBool;
    case ValueCategory::kInteger: return AttributeType::kBigint;
    case ValueCategory::kNumber: return AttributeType::kFloat;
    case ValueCategory::kDate:
    case ValueCategory::kTimestamp:
    case ValueCategory::kTimestampTz: return AttributeType::kTimestamp;
    case ValueCategory::kJson:
    case ValueCategory::kArray: return AttributeType::kJson;
    case ValueCategory::kString:
    case ValueCategory::kComposite: return AttributeType::kString;
  }
  return AttributeType::kString;
}

AttributeType attribute_type_of(const Relation& relation, const Column& column) {
  return attribute_type_of(*resolve_column_type(relation, column));
}

int64_t unix_seconds_of(ValueCategory category, std::string_view text, std::string_view where) {
  if (category != ValueCategory::kDate && category != ValueCategory::kTimestamp &&
      category != ValueCategory::kTimestampTz) {
    throw Error::internal(std::string(where) + ": not a date or timestamp type");
  }
  if (text == "infinity" || text == "-infinity") {
    throw bad_value(where, text, "has no Unix time: a timestamp attribute cannot hold it");
  }
  if (text.size() > 3 && text.substr(text.size() - 3) == " BC") {
    throw bad_value(where, text, "is before 1970-01-01: a timestamp attribute cannot hold it");
  }
  const char* expected = category == ValueCategory::kDate ? "YYYY-MM-DD"
                         : category == ValueCategory::kTimestamp
                             ? "YYYY-MM-DDTHH:MM:SS[.ffffff]"
                             : "YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM[:SS]";
  auto unparseable = [&] { return bad_value(where, text, std::string("is not a timestamp of the form ") + expected); };

  Cursor c(text);
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, fraction = 0;
  if (!c.digits(4, 7, year) || !c.take('-') || !c.digits(2, 2, month) || !c.take('-') || !c.digits(2, 2, day)) {
    throw unparseable();
  }
  int64_t offset_seconds = 0;
  if (category != ValueCategory::kDate) {
    if (!c.take('T') || !c.digits(2, 2, hour) || !c.take(':') || !c.digits(2, 2, minute) || !c.take(':') ||
        !c.digits(2, 2, second)) {
      throw unparseable();
    }
    if (c.take('.') && !c.digits(1, 6, fraction)) throw unparseable();
    if (category == ValueCategory::kTimestampTz) {
      const bool plus = c.take('+');
      if (!plus && !c.take('-')) throw unparseable();
      int64_t oh = 0, om = 0, os = 0;
      if (!c.digits(2, 2, oh) || !c.take(':') || !c.digits(2, 2, om)) throw unparseable();
      if (c.take(':') && !c.digits(2, 2, os)) throw unparseable();
      if (om > 59 || os > 59) throw unparseable();
      offset_seconds = (oh * 3600 + om * 60 + os) * (plus ? 1 : -1);
    }
  }
  if (!c.done()) throw unparseable();
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw bad_value(where, text, "is not a valid date and time");
  }
  // Years past 2106 are out of range whatever the rest says; std::chrono::year
  // stops at 32767.
  if (year > 2107) {
    throw bad_value(where, text, "is after 2106-02-07 06:28:15 UTC: a timestamp attribute (unsigned 32-bit) cannot hold it");
  }
  const std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(year)),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) throw bad_value(where, text, "is not a valid date");
  const int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  // Seconds only: the fraction is >= 0, so dropping it rounds toward minus infinity.
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  if (seconds < 0) {
    throw bad_value(where, text, "is before 1970-01-01 00:00:00 UTC: a timestamp attribute cannot hold it");
  }
  if (seconds > kMaxTimestamp) {
    throw bad_value(where, text, "is after 2106-02-07 06:28:15 UTC: a timestamp attribute (unsigned 32-bit) cannot hold it");
  }
  return seconds;
}

void append_attribute_literal(std::string& out, AttributeType type, const TypeInfo& column_type,
                              const Value& value, std::string_view where) {
  if (value.is_unchanged_toast()) {
    throw Error::internal(std::string(where) +
                          ": an unchanged TOAST value has no literal; the stored value must be supplied");
  }
  if (value.is_null()) {
    switch (type) {
      case AttributeType::kBigint:
      case AttributeType::kBool:
      case AttributeType::kTimestamp: out.push_back('0'); return;
      case AttributeType::kFloat: out.append("0e+00"); return;
      case AttributeType::kJson: out.append("'{}'"); return;
      case AttributeType::kString: out.append("''"); return;
    }
  }
  const std::string_view text = value.text;
  if (type == AttributeType::kString && column_type.category == ValueCategory::kString) {
    try {
      append_quoted(out, text);  // the text is the string (core/type_info.h)
    } catch (const Error& e) {
      throw Error(e.kind(), std::string(where) + ": " + e.what());
    }
    return;
  }
  // Every other value is read through the source's JSON rendering.
  const std::string json = rendered(column_type, text, where);
  switch (type) {
    case AttributeType::kBigint:
      out.append(std::to_string(parse_bigint(json, where)));
      return;
    case AttributeType::kBool:
      if (json == "true") return out.push_back('1');
      if (json == "false") return out.push_back('0');
      throw bad_value(where, json, "is not a boolean");
    case AttributeType::kFloat:
      append_float(out, json, where);
      return;
    case AttributeType::kTimestamp:
      if (json.size() < 2 || json.front() != '"') throw bad_value(where, json, "is not a date or timestamp");
      out.append(std::to_string(unix_seconds_of(column_type.category, json_string_content(json), where)));
      return;
    case AttributeType::kJson:
      append_json(out, json, where);
      return;
    case AttributeType::kString:
      try {
        append_quoted(out, json);  // a composite: its JSON object
      } catch (const Error& e) {
        throw Error(e.kind(), std::string(where) + ": " + e.what());
      }
      return;
  }
}

std::string attribute_literal(AttributeType type, const TypeInfo& column_type, const Value& value,
                              std::string_view where) {
  std::string out;
  append_attribute_literal(out, type, column_type, value, where);
  return out;
}

}  // namespace sluice
