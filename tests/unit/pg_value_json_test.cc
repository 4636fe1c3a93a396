#include "format/value_json.h"
#include "source/postgres/pg_value_json.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "source/postgres/pg_builtin_types.h"

namespace sluice {
namespace {

// --- helpers ---------------------------------------------------------------

// A strict recursive-descent check of RFC 8259 JSON, so tests can assert that an
// output is one well-formed document and not only that it looks right.
class JsonChecker {
 public:
  explicit JsonChecker(std::string_view s) : s_(s) {}
  bool document() {
    if (!value(0)) return false;
    space();
    return pos_ == s_.size();
  }

 private:
  void space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool digits() {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }
  bool number() {
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return false;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return false;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return false;
    }
    return true;
  }
  bool string() {
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    ++pos_;
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (pos_ >= s_.size()) return false;
        char e = s_[pos_++];
        if (e == 'u') {
          for (int i = 0; i < 4; ++i) {
            if (pos_ >= s_.size() || !isxdigit(static_cast<unsigned char>(s_[pos_++]))) {
              return false;
            }
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool value(int depth) {
    if (depth > 64) return false;
    space();
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      space();
      if (pos_ < s_.size() && s_[pos_] == close) {
        ++pos_;
        return true;
      }
      for (;;) {
        if (c == '{') {
          space();
          if (!string()) return false;
          space();
          if (pos_ >= s_.size() || s_[pos_++] != ':') return false;
        }
        if (!value(depth + 1)) return false;
        space();
        if (pos_ >= s_.size()) return false;
        char d = s_[pos_++];
        if (d == close) return true;
        if (d != ',') return false;
      }
    }
    if (c == '"') return string();
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    return number();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

bool well_formed(std::string_view json) { return JsonChecker(json).document(); }

const TypeInfo& builtin(uint32_t oid) {
  TypeInfoPtr type = pg::builtin_type(oid);
  if (!type) throw std::logic_error("no builtin type " + std::to_string(oid));
  return *type;
}

std::string render(const TypeInfo& type, std::string_view text) {
  std::string out;
  append_value_json(out, type, text);
  EXPECT_TRUE(well_formed(out)) << out;
  return out;
}

std::string render(uint32_t oid, std::string_view text) { return render(builtin(oid), text); }

// The message of the Error that rendering throws; fails the test when none is
// thrown or the kind is not kInvalidInput.
std::string render_error(const TypeInfo& type, std::string_view text) {
  try {
    std::string out;
    append_value_json(out, type, text);
    ADD_FAILURE() << "no error for " << type.name << " '" << text << "', got " << out;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
    return e.what();
  }
  return {};
}

std::string render_error(uint32_t oid, std::string_view text) {
  return render_error(builtin(oid), text);
}

TypeInfoPtr make_type(std::string name, ValueCategory category) {
  auto type = std::make_shared<TypeInfo>();
  type->source_type_id = 90000;
  type->renderer = &pg::to_jsonb_renderer();
  type->name = std::move(name);
  type->category = category;
  return type;
}

TypeInfoPtr make_array(TypeInfoPtr element, char delimiter = ',') {
  auto type = std::make_shared<TypeInfo>();
  type->source_type_id = 90001;
  type->renderer = &pg::to_jsonb_renderer();
  type->name = element->name + "[]";
  type->category = ValueCategory::kArray;
  type->element = std::move(element);
  type->array_delimiter = delimiter;
  return type;
}

TypeInfoPtr make_composite(std::string name, std::vector<CompositeField> fields) {
  auto type = std::make_shared<TypeInfo>();
  type->source_type_id = 90002;
  type->renderer = &pg::to_jsonb_renderer();
  type->name = std::move(name);
  type->category = ValueCategory::kComposite;
  type->fields = std::move(fields);
  return type;
}

// OIDs used below (pg_type.dat).
constexpr uint32_t kBool = 16, kBytea = 17, kName = 19, kInt8 = 20, kInt2 = 21, kInt4 = 23,
                   kText = 25, kOid = 26, kJson = 114, kPoint = 600, kBox = 603,
                   kFloat4 = 700, kFloat8 = 701, kMoney = 790, kInet = 869, kBpchar = 1042,
                   kVarchar = 1043, kDate = 1082, kTime = 1083, kTimestamp = 1114,
                   kTimestampTz = 1184, kInterval = 1186, kTimeTz = 1266, kBit = 1560,
                   kNumeric = 1700, kUuid = 2950, kJsonb = 3802, kInt4Range = 3904;

// --- builtin types ---------------------------------------------------------

TEST(BuiltinTypesTest, ScalarsHaveToJsonbCategories) {
  EXPECT_EQ(builtin(kBool).category, ValueCategory::kBool);
  for (uint32_t oid : {kInt2, kInt4, kInt8}) {
    EXPECT_EQ(builtin(oid).category, ValueCategory::kInteger) << oid;
  }
  for (uint32_t oid : {kFloat4, kFloat8, kNumeric}) {
    EXPECT_EQ(builtin(oid).category, ValueCategory::kNumber) << oid;
  }
  EXPECT_EQ(builtin(kJson).category, ValueCategory::kJson);
  EXPECT_EQ(builtin(kJsonb).category, ValueCategory::kJson);
  EXPECT_EQ(builtin(kDate).category, ValueCategory::kDate);
  EXPECT_EQ(builtin(kTimestamp).category, ValueCategory::kTimestamp);
  EXPECT_EQ(builtin(kTimestampTz).category, ValueCategory::kTimestampTz);
  for (uint32_t oid : {kText, kVarchar, kBpchar, kName, kUuid, kTime, kTimeTz, kInterval, kInet,
                       kMoney, kBytea, kBit, kPoint, kBox, kOid, kInt4Range}) {
    EXPECT_EQ(builtin(oid).category, ValueCategory::kString) << oid;
  }
  EXPECT_EQ(builtin(kInt4).name, "int4");
  EXPECT_EQ(builtin(kInt4).source_type_id, kInt4);
}

TEST(BuiltinTypesTest, ArrayTypesPointAtTheirElement) {
  const std::pair<uint32_t, uint32_t> arrays[] = {
      {1000, kBool},       {1005, kInt2},     {1007, kInt4},      {1016, kInt8},
      {1021, kFloat4},     {1022, kFloat8},   {1231, kNumeric},   {1009, kText},
      {1015, kVarchar},    {1014, kBpchar},   {2951, kUuid},      {199, kJson},
      {3807, kJsonb},      {1182, kDate},     {1115, kTimestamp}, {1185, kTimestampTz},
      {1001, kBytea},      {1183, kTime},     {1187, kInterval},  {1041, kInet},
      {1020, kBox},        {1003, kName},     {1028, kOid},       {1270, kTimeTz},
      {1561, kBit},        {3905, kInt4Range}, {1017, kPoint},    {791, kMoney}};
  for (auto [array_oid, element_oid] : arrays) {
    TypeInfoPtr array = pg::builtin_type(array_oid);
    ASSERT_TRUE(array) << array_oid;
    EXPECT_EQ(array->source_type_id, array_oid);
    EXPECT_EQ(array->category, ValueCategory::kArray) << array_oid;
    ASSERT_TRUE(array->element) << array_oid;
    EXPECT_EQ(array->element->source_type_id, element_oid) << array_oid;
    EXPECT_EQ(array->array_delimiter, element_oid == kBox ? ';' : ',') << array_oid;
  }
  EXPECT_EQ(builtin(1007).name, "int4[]");
}

TEST(BuiltinTypesTest, UnknownOidsAreNotGuessed) {
  EXPECT_EQ(pg::builtin_type(0), nullptr);
  EXPECT_EQ(pg::builtin_type(22), nullptr);  // int2vector: text form is not an array literal
  EXPECT_EQ(pg::builtin_type(2249), nullptr);  // record pseudo-type
  EXPECT_EQ(pg::builtin_type(16384), nullptr);  // first user OID
  EXPECT_EQ(pg::builtin_type(kInt4), pg::builtin_type(kInt4));  // shared, built once
}

// --- scalars ---------------------------------------------------------------

TEST(ValueJsonTest, BoolIsTrueOrFalse) {
  EXPECT_EQ(render(kBool, "t"), "true");
  EXPECT_EQ(render(kBool, "f"), "false");
  for (const char* bad : {"", "true", "T", "1", "t "}) {
    EXPECT_NE(render_error(kBool, bad).find("bool"), std::string::npos) << bad;
  }
}

TEST(ValueJsonTest, IntegersAndNumericsKeepEveryDigit) {
  EXPECT_EQ(render(kInt2, "-32768"), "-32768");
  EXPECT_EQ(render(kInt4, "42"), "42");
  EXPECT_EQ(render(kInt4, "0"), "0");
  EXPECT_EQ(render(kInt8, "9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(render(kNumeric, "3.14159265358979323846264338327950288"),
            "3.14159265358979323846264338327950288");
  EXPECT_EQ(render(kNumeric, "0.50"), "0.50");  // the display scale stays
  EXPECT_EQ(render(kNumeric, "-0.000001"), "-0.000001");
  EXPECT_EQ(render(kNumeric, "123456789012345678901234567890"), "123456789012345678901234567890");
}

TEST(ValueJsonTest, FloatsAsNumericInPrintsThem) {
  EXPECT_EQ(render(kFloat8, "1.5"), "1.5");
  EXPECT_EQ(render(kFloat8, "0.1"), "0.1");
  EXPECT_EQ(render(kFloat8, "-1.25"), "-1.25");
  EXPECT_EQ(render(kFloat8, "3.141592653589793"), "3.141592653589793");
  EXPECT_EQ(render(kFloat4, "3.4028235e+38"), "340282350000000000000000000000000000000");
  // to_jsonb() passes float output through numeric_in(): exponents are written out.
  EXPECT_EQ(render(kFloat8, "1e+20"), "100000000000000000000");
  EXPECT_EQ(render(kFloat8, "1.2345678901234567e+19"), "12345678901234567000");
  EXPECT_EQ(render(kFloat8, "1.5e-07"), "0.00000015");
  EXPECT_EQ(render(kFloat8, "-2.5e-05"), "-0.000025");
  EXPECT_EQ(render(kFloat8, "1E3"), "1000");
  EXPECT_EQ(render(kFloat8, "1.50e1"), "15.0");  // scale = 2 - 1
  EXPECT_EQ(render(kFloat8, "5e-324"), "0." + std::string(323, '0') + "5");
  EXPECT_EQ(render(kFloat8, "-0"), "0");  // numeric has no negative zero
  EXPECT_EQ(render(kFloat8, "-0e+00"), "0");
}

TEST(ValueJsonTest, NonFiniteNumbersAreStrings) {
  EXPECT_EQ(render(kFloat8, "NaN"), "\"NaN\"");
  EXPECT_EQ(render(kFloat8, "Infinity"), "\"Infinity\"");
  EXPECT_EQ(render(kFloat4, "-Infinity"), "\"-Infinity\"");
  EXPECT_EQ(render(kNumeric, "NaN"), "\"NaN\"");
  EXPECT_EQ(render(kNumeric, "-Infinity"), "\"-Infinity\"");
}

TEST(ValueJsonTest, RejectsTextThatIsNotAJsonNumber) {
  for (const char* bad : {"", "-", "abc", "1.", ".5", "01", "-01", "+1", "1e", "1e+", "--1",
                          "1 ", " 1", "0x10", "nan", "inf", "1,5", "1.2.3", "1e5e5", "$1.00"}) {
    std::string message = render_error(kInt4, bad);
    EXPECT_NE(message.find("int4: not a number"), std::string::npos) << bad << ": " << message;
  }
  EXPECT_NE(render_error(kFloat8, "1e+99999").find("exponent out of range"), std::string::npos);
  EXPECT_NE(render_error(kFloat8, "1e1001").find("exponent out of range"), std::string::npos);
}

TEST(ValueJsonTest, JsonAndJsonbAreEmbedded) {
  EXPECT_EQ(render(kJsonb, R"({"a": [1, 2.5, null], "b": {"c": "d"}})"),
            R"({"a": [1, 2.5, null], "b": {"c": "d"}})");
  EXPECT_EQ(render(kJson, R"( {"k":"v"} )"), R"( {"k":"v"} )");
  EXPECT_EQ(render(kJsonb, "\"just a string\""), "\"just a string\"");
  EXPECT_EQ(render(kJsonb, "42"), "42");
  EXPECT_EQ(render(kJson, "null"), "null");
  render_error(kJson, "");
  render_error(kJsonb, "  \n");
}

TEST(ValueJsonTest, DatesInXsdForm) {
  EXPECT_EQ(render(kDate, "2024-01-02"), "\"2024-01-02\"");
  EXPECT_EQ(render(kDate, "0001-01-01"), "\"0001-01-01\"");
  EXPECT_EQ(render(kDate, "12345-06-07"), "\"12345-06-07\"");
  EXPECT_EQ(render(kDate, "infinity"), "\"infinity\"");
  EXPECT_EQ(render(kDate, "-infinity"), "\"-infinity\"");
  // EncodeDateOnly(USE_XSD_DATES) prints the BC suffix like ISO does.
  EXPECT_EQ(render(kDate, "0044-03-15 BC"), "\"0044-03-15 BC\"");
  for (const char* bad : {"", "01/02/2024", "2024-1-2", "24-01-02", "2024-01-02 00:00:00",
                          "2024-01-02 AD", "Infinity", "2024-01-02BC"}) {
    EXPECT_NE(render_error(kDate, bad).find("date: not an ISO date"), std::string::npos) << bad;
  }
}

TEST(ValueJsonTest, TimestampsInXsdForm) {
  EXPECT_EQ(render(kTimestamp, "2024-01-02 03:04:05.123"), "\"2024-01-02T03:04:05.123\"");
  EXPECT_EQ(render(kTimestamp, "2024-01-02 03:04:05"), "\"2024-01-02T03:04:05\"");
  EXPECT_EQ(render(kTimestamp, "1999-12-31 23:59:59.999999"), "\"1999-12-31T23:59:59.999999\"");
  EXPECT_EQ(render(kTimestamp, "0044-03-15 12:00:00 BC"), "\"0044-03-15T12:00:00 BC\"");
  EXPECT_EQ(render(kTimestamp, "infinity"), "\"infinity\"");
  EXPECT_EQ(render(kTimestamp, "-infinity"), "\"-infinity\"");
  for (const char* bad : {"2024-01-02", "2024-01-02T03:04:05", "2024-01-02 03:04",
                          "2024-01-02 03:04:05.", "2024-01-02 03:04:05+00",
                          "2024-01-02 3:04:05", "Tue Jan 02 03:04:05 2024"}) {
    EXPECT_NE(render_error(kTimestamp, bad).find("timestamp: "), std::string::npos) << bad;
  }
}

TEST(ValueJsonTest, TimestampTzOffsetsAlwaysHaveMinutes) {
  EXPECT_EQ(render(kTimestampTz, "2024-01-02 03:04:05.123+00"),
            "\"2024-01-02T03:04:05.123+00:00\"");
  EXPECT_EQ(render(kTimestampTz, "2024-01-02 03:04:05+05:30"), "\"2024-01-02T03:04:05+05:30\"");
  EXPECT_EQ(render(kTimestampTz, "2024-01-02 03:04:05-08"), "\"2024-01-02T03:04:05-08:00\"");
  // Local mean time offsets of historical zones have seconds.
  EXPECT_EQ(render(kTimestampTz, "1850-01-01 00:00:00-04:56:02"),
            "\"1850-01-01T00:00:00-04:56:02\"");
  EXPECT_EQ(render(kTimestampTz, "0044-03-15 12:00:00+00 BC"), "\"0044-03-15T12:00:00+00:00 BC\"");
  EXPECT_EQ(render(kTimestampTz, "infinity"), "\"infinity\"");
  EXPECT_EQ(render(kTimestampTz, "-infinity"), "\"-infinity\"");
  for (const char* bad : {"2024-01-02 03:04:05", "2024-01-02 03:04:05 UTC", "2024-01-02 03:04:05+0",
                          "2024-01-02 03:04:05+00:0", "2024-01-02 03:04:05+00:00:",
                          "2024-01-02 03:04:05+00x"}) {
    EXPECT_NE(render_error(kTimestampTz, bad).find("timestamptz: "), std::string::npos) << bad;
  }
}

TEST(ValueJsonTest, EverythingElseIsAJsonString) {
  EXPECT_EQ(render(kText, "hello"), "\"hello\"");
  EXPECT_EQ(render(kText, ""), "\"\"");
  EXPECT_EQ(render(kText, "a \"quoted\"\nline\\"), "\"a \\\"quoted\\\"\\nline\\\\\"");
  EXPECT_EQ(render(kText, "tab\there\x01"), "\"tab\\there\\u0001\"");
  EXPECT_EQ(render(kText, "caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(render(kVarchar, "v"), "\"v\"");
  EXPECT_EQ(render(kBpchar, "ab   "), "\"ab   \"");
  EXPECT_EQ(render(kName, "pg_class"), "\"pg_class\"");
  EXPECT_EQ(render(kUuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
  EXPECT_EQ(render(kTime, "03:04:05.5"), "\"03:04:05.5\"");
  EXPECT_EQ(render(kTimeTz, "03:04:05+02"), "\"03:04:05+02\"");  // no XSD for time
  EXPECT_EQ(render(kInterval, "1 year 2 mons 3 days 04:05:06"),
            "\"1 year 2 mons 3 days 04:05:06\"");
  EXPECT_EQ(render(kInet, "192.168.0.1/24"), "\"192.168.0.1/24\"");
  EXPECT_EQ(render(kMoney, "$1,000.00"), "\"$1,000.00\"");
  EXPECT_EQ(render(kBytea, "\\x0102ff"), "\"\\\\x0102ff\"");
  EXPECT_EQ(render(kBit, "1010"), "\"1010\"");
  EXPECT_EQ(render(kPoint, "(1,2)"), "\"(1,2)\"");
  EXPECT_EQ(render(kOid, "16384"), "\"16384\"");  // oid is not a number for to_jsonb
  EXPECT_EQ(render(kInt4Range, "[1,10)"), "\"[1,10)\"");
  EXPECT_EQ(render(*make_type("public.mood", ValueCategory::kString), "happy"), "\"happy\"");
}

// --- arrays ----------------------------------------------------------------

TEST(ValueJsonArrayTest, ScalarElementsByElementType) {
  EXPECT_EQ(render(1007, "{1,2,NULL}"), "[1,2,null]");
  EXPECT_EQ(render(1000, "{t,f,NULL}"), "[true,false,null]");
  EXPECT_EQ(render(1022, "{1.5,1e+20,NaN,-Infinity}"), "[1.5,100000000000000000000,\"NaN\",\"-Infinity\"]");
  EXPECT_EQ(render(1231, "{0.10,-3}"), "[0.10,-3]");
  EXPECT_EQ(render(1182, "{2024-01-02,infinity,\"0044-03-15 BC\"}"),
            "[\"2024-01-02\",\"infinity\",\"0044-03-15 BC\"]");
  EXPECT_EQ(render(1115, "{\"2024-01-02 03:04:05\"}"), "[\"2024-01-02T03:04:05\"]");
  EXPECT_EQ(render(1185, "{\"2024-01-02 03:04:05.5+00\",NULL}"),
            "[\"2024-01-02T03:04:05.5+00:00\",null]");
  EXPECT_EQ(render(2951, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"),
            "[\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"]");
  EXPECT_EQ(render(1001, "{\"\\\\x01ff\",NULL}"), "[\"\\\\x01ff\",null]");
  EXPECT_EQ(render(1187, "{\"1 day\",00:00:01}"), "[\"1 day\",\"00:00:01\"]");
  EXPECT_EQ(render(1041, "{10.0.0.1,::1/128}"), "[\"10.0.0.1\",\"::1/128\"]");
  EXPECT_EQ(render(1183, "{03:04:05}"), "[\"03:04:05\"]");
}

TEST(ValueJsonArrayTest, QuotedElementsAndNull) {
  EXPECT_EQ(render(1009, R"({"a b","c\"d","e\\f",NULL,"NULL",plain,"",null,"{x}"})"),
            R"(["a b","c\"d","e\\f",null,"NULL","plain","",null,"{x}"])");
  EXPECT_EQ(render(1009, "{\"line\nbreak\",\"caf\xc3\xa9\"}"),
            "[\"line\\nbreak\",\"caf\xc3\xa9\"]");
  // array_in() rules: white space around unquoted elements is dropped, a backslash
  // escapes the next character (an escaped NULL is the string).
  EXPECT_EQ(render(1009, "{ a , b c ,\\NULL,x\\ }"), "[\"a\",\"b c\",\"NULL\",\"x \"]");
  EXPECT_EQ(render(1007, "{ 1 ,\t2 }"), "[1,2]");
}

TEST(ValueJsonArrayTest, JsonElementsAreEmbedded) {
  EXPECT_EQ(render(3807, R"({"{\"a\": 1}","[1, 2]",NULL})"), R"([{"a": 1},[1, 2],null])");
  EXPECT_EQ(render(199, R"({"\"s\"",3})"), R"(["s",3])");
}

TEST(ValueJsonArrayTest, MultidimensionalArraysNest) {
  EXPECT_EQ(render(1007, "{{1,2},{3,4}}"), "[[1,2],[3,4]]");
  EXPECT_EQ(render(1007, "{{{1},{2}},{{3},{NULL}}}"), "[[[1],[2]],[[3],[null]]]");
  EXPECT_EQ(render(1009, "{{a,\"b c\"},{NULL,d}}"), "[[\"a\",\"b c\"],[null,\"d\"]]");
}

TEST(ValueJsonArrayTest, DimensionDecorationIsAccepted) {
  EXPECT_EQ(render(1007, "[0:1]={1,2}"), "[1,2]");
  EXPECT_EQ(render(1007, "[-2:-1]={1,2}"), "[1,2]");
  EXPECT_EQ(render(1007, "[0:1][1:3]={{1,2,3},{4,5,6}}"), "[[1,2,3],[4,5,6]]");
}

TEST(ValueJsonArrayTest, EmptyArray) {
  EXPECT_EQ(render(1007, "{}"), "[]");
  EXPECT_EQ(render(1009, "{}"), "[]");
}

TEST(ValueJsonArrayTest, BoxArraysUseSemicolons) {
  EXPECT_EQ(render(1020, "{(1,1),(0,0);(3,3),(2,2)}"), "[\"(1,1),(0,0)\",\"(3,3),(2,2)\"]");
  EXPECT_EQ(render(1020, "{(1,1),(0,0)}"), "[\"(1,1),(0,0)\"]");
  // A custom delimiter from the catalog works the same way.
  EXPECT_EQ(render(*make_array(pg::builtin_type(kInt4), '|'), "{1|2|NULL}"), "[1,2,null]");
}

TEST(ValueJsonArrayTest, ArraysOfEnumsAndComposites) {
  EXPECT_EQ(render(*make_array(make_type("mood", ValueCategory::kString)), "{happy,sad}"),
            "[\"happy\",\"sad\"]");
  TypeInfoPtr pair = make_composite("pair", {{"a", pg::builtin_type(kInt4)}, {"b", pg::builtin_type(kText)}});
  EXPECT_EQ(render(*make_array(pair), R"j({"(1,x)","(2,\"y z\")",NULL,"(,)"})j"),
            R"([{"a":1,"b":"x"},{"a":2,"b":"y z"},null,{"a":null,"b":null}])");
}

TEST(ValueJsonArrayTest, MalformedLiteralsAreRejected) {
  const char* bad[] = {
      "",               // nothing
      "1,2",            // no braces
      "{1,2",           // unterminated
      "{1,2}}",         // junk after the end
      "{1,2}x",         // junk after the end
      "{{1,2},{3}}",    // ragged
      "{1,{2}}",        // element then sub-array
      "{{1},2}",        // sub-array then element
      "{{1},{{2}}}",    // inconsistent depth
      "{1,,2}",         // empty element
      "{1,}",           // trailing delimiter
      "{,1}",           // leading delimiter
      "{\"1}",          // unterminated quoted element
      "{\"1\"2}",       // junk after a quoted element
      "{1\"2}",         // quote inside an unquoted element
      "{a{b}",          // brace inside an element
      "{{}}",           // empty sub-array
      "[0:1]{1,2}",     // no '='
      "[0:2]={1,2}",    // bounds do not match
      "[1:1][1:1]={1}", // bounds do not match the dimensions
      "[a:1]={1}",      // bad bound
      "[1:1={1}",       // unclosed bound
      "{{{{{{{1}}}}}}}",  // 7 dimensions; PostgreSQL allows 6
      "{1,2\\",         // dangling backslash
  };
  for (const char* text : bad) {
    std::string message = render_error(1007, text);
    EXPECT_EQ(message.rfind("int4[]: ", 0), 0u) << text << ": " << message;
  }
  // Element errors name the element type.
  EXPECT_NE(render_error(1007, "{1,x}").find("int4: not a number: \"x\""), std::string::npos);
  EXPECT_NE(render_error(1000, "{t,maybe}").find("bool: not a boolean"), std::string::npos);
  EXPECT_NE(render_error(1007, "{1 2}").find("int4: not a number: \"1 2\""), std::string::npos);
}

TEST(ValueJsonArrayTest, ErrorsQuoteAShortEscapedExcerpt) {
  std::string message = render_error(1007, "{1,2");
  EXPECT_EQ(message, "int4[]: malformed array literal (unterminated): \"{1,2\"");
  std::string long_text = "{\n" + std::string(200, '1');
  message = render_error(1007, long_text);
  EXPECT_LT(message.size(), 150u) << message;
  EXPECT_NE(message.find("...") , std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(ValueJsonArrayTest, UnresolvedElementTypeIsAnError) {
  auto type = std::make_shared<TypeInfo>();
  type->name = "mystery[]";
  type->category = ValueCategory::kArray;
  type->renderer = &pg::to_jsonb_renderer();
  EXPECT_NE(render_error(*type, "{1}").find("element type is not resolved"), std::string::npos);
}

// --- composites ------------------------------------------------------------

TypeInfoPtr row_type() {
  return make_composite("public.item",
                        {{"id", pg::builtin_type(kInt4)},
                         {"name", pg::builtin_type(kText)},
                         {"note", pg::builtin_type(kText)},
                         {"tags", pg::builtin_type(1009)},
                         {"at", pg::builtin_type(kTimestampTz)}});
}

TEST(ValueJsonCompositeTest, FieldsByName) {
  EXPECT_EQ(render(*row_type(), R"((1,abc,,"{a,b}","2024-01-02 03:04:05+00"))"),
            R"({"id":1,"name":"abc","note":null,"tags":["a","b"],"at":"2024-01-02T03:04:05+00:00"})");
}

TEST(ValueJsonCompositeTest, QuotingAndEscapes) {
  // record_out() doubles quotes and backslashes inside quotes; record_in() also
  // takes a backslash-escaped quote. "" is the empty string, nothing is NULL.
  EXPECT_EQ(render(*row_type(), R"((2,"x ""y"" \\ z","",,))"),
            R"({"id":2,"name":"x \"y\" \\ z","note":"","tags":null,"at":null})");
  EXPECT_EQ(render(*row_type(), R"((3,"a,b)c",\"q\",{},))"),
            R"({"id":3,"name":"a,b)c","note":"\"q\"","tags":[],"at":null})");
  EXPECT_EQ(render(*row_type(), "(4,\"two\nlines\",\" \",,)"),
            "{\"id\":4,\"name\":\"two\\nlines\",\"note\":\" \",\"tags\":null,\"at\":null}");
}

TEST(ValueJsonCompositeTest, InsideArraysAsArrayOutPrintsThem) {
  // array_out() of a record whose text[] field is {x,"y z"}: record_out() doubles
  // the quotes, array_out() then backslash-escapes quotes of the whole element.
  TypeInfoPtr pair = make_composite("pair", {{"a", pg::builtin_type(kInt4)}, {"b", pg::builtin_type(1009)}});
  EXPECT_EQ(render(*make_array(pair), R"j({"(1,\"{x,\"\"y z\"\"}\")"})j"),
            R"([{"a":1,"b":["x","y z"]}])");
}

TEST(ValueJsonCompositeTest, NestedComposites) {
  TypeInfoPtr inner = make_composite("inner", {{"a", pg::builtin_type(kInt4)}, {"b", pg::builtin_type(kText)}});
  TypeInfoPtr outer = make_composite("outer", {{"n", pg::builtin_type(kNumeric)}, {"in", inner}});
  EXPECT_EQ(render(*outer, R"j((1.50,"(2,""x y"")"))j"), R"({"n":1.50,"in":{"a":2,"b":"x y"}})");
  EXPECT_EQ(render(*outer, "(,)"), R"({"n":null,"in":null})");
  TypeInfoPtr single = make_composite("single", {{"only", pg::builtin_type(kText)}});
  EXPECT_EQ(render(*single, "()"), R"({"only":null})");
  EXPECT_EQ(render(*make_composite("empty", {}), "()"), "{}");
  TypeInfoPtr weird = make_composite("w", {{"we\"ird", pg::builtin_type(kBool)}});
  EXPECT_EQ(render(*weird, "(t)"), R"({"we\"ird":true})");
}

TEST(ValueJsonCompositeTest, MalformedLiteralsAreRejected) {
  const char* bad[] = {
      "",                       // nothing
      "1,abc,,,",               // no parentheses
      "(1,abc)",                // too few columns
      "(1,abc,,,,extra)",       // too many columns
      "(1,abc,,,",              // unterminated
      "(1,\"abc,,,)",           // unterminated quote
      "(1,abc,,,)x",            // junk after ')'
      "(1,abc,,,\\",            // dangling backslash
  };
  for (const char* text : bad) {
    std::string message = render_error(*row_type(), text);
    EXPECT_EQ(message.rfind("public.item: malformed record literal", 0), 0u)
        << text << ": " << message;
  }
  EXPECT_NE(render_error(*row_type(), "(x,abc,,,)").find("int4: not a number"), std::string::npos);
  EXPECT_NE(render_error(*make_composite("empty", {}), "(1)").find("too many columns"),
            std::string::npos);
  TypeInfoPtr unresolved = make_composite("u", {{"f", nullptr}});
  EXPECT_NE(render_error(*unresolved, "(1)").find("type of field \"f\" is not resolved"),
            std::string::npos);
}

// --- garbled input never crashes -----------------------------------------------

TEST(ValueJsonTest, EveryPrefixOfNestedLiteralsRendersOrThrows) {
  TypeInfoPtr pair = make_composite("pair", {{"a", pg::builtin_type(kInt4)}, {"b", pg::builtin_type(1009)}});
  TypeInfoPtr array = make_array(pair);
  const std::string full = R"j([0:1]={"(1,\"{x,\\\"y z\\\"}\")","(,)"})j";
  EXPECT_EQ(render(*array, full), R"([{"a":1,"b":["x","y z"]},{"a":null,"b":null}])");
  for (size_t n = 0; n <= full.size(); ++n) {
    for (const std::string& text : {full.substr(0, n), full.substr(n), full.substr(0, n) + "\""}) {
      std::string out;
      try {
        append_value_json(out, *array, text);
        EXPECT_TRUE(well_formed(out)) << text << " -> " << out;
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << text;
      }
    }
  }
}

// --- value_to_field ---------------------------------------------------------

TEST(ValueToFieldTest, StringsDatesAndTimestampsUnquoted) {
  EXPECT_EQ(value_to_field(builtin(kText), "he said \"hi\"\n"), "he said \"hi\"\n");
  EXPECT_EQ(value_to_field(builtin(kUuid), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(value_to_field(builtin(kDate), "2024-01-02"), "2024-01-02");
  EXPECT_EQ(value_to_field(builtin(kTimestamp), "2024-01-02 03:04:05"), "2024-01-02T03:04:05");
  EXPECT_EQ(value_to_field(builtin(kTimestampTz), "2024-01-02 03:04:05+00"),
            "2024-01-02T03:04:05+00:00");
  EXPECT_EQ(value_to_field(builtin(kFloat8), "NaN"), "NaN");
  EXPECT_EQ(value_to_field(builtin(kFloat8), "-Infinity"), "-Infinity");
}

TEST(ValueToFieldTest, OthersAsJsonText) {
  EXPECT_EQ(value_to_field(builtin(kInt8), "42"), "42");
  EXPECT_EQ(value_to_field(builtin(kFloat8), "1e+20"), "100000000000000000000");
  EXPECT_EQ(value_to_field(builtin(kBool), "t"), "true");
  EXPECT_EQ(value_to_field(builtin(kJsonb), R"({"a": 1})"), R"({"a": 1})");
  EXPECT_EQ(value_to_field(builtin(1009), R"({a,"b c"})"), R"(["a","b c"])");
  EXPECT_EQ(value_to_field(*row_type(), "(1,x,,,)"),
            R"({"id":1,"name":"x","note":null,"tags":null,"at":null})");
}

TEST(ValueToFieldTest, InvalidValuesThrow) {
  EXPECT_THROW(value_to_field(builtin(kInt4), "x"), Error);
  EXPECT_THROW(value_to_field(builtin(kDate), "01/02/2024"), Error);
  EXPECT_THROW(value_to_field(builtin(kBool), "yes"), Error);
}

// --- row_to_json ------------------------------------------------------------

Relation test_relation() {
  Relation r;
  r.source_id = 16385;
  r.schema = "public";
  r.name = "items";
  auto column = [](std::string name, uint32_t oid, TypeInfoPtr type) {
    Column c;
    c.name = std::move(name);
    c.source_type_id = oid;
    c.type = std::move(type);
    return c;
  };
  r.columns.push_back(column("id", kInt4, pg::builtin_type(kInt4)));
  r.columns.push_back(column("name", kText, pg::builtin_type(kText)));
  r.columns.push_back(column("data", kJsonb, pg::builtin_type(kJsonb)));
  r.columns.push_back(column("body", kText, pg::builtin_type(kText)));
  r.columns.push_back(column("at", kTimestampTz, pg::builtin_type(kTimestampTz)));
  r.columns.push_back(column("we\"ird", kBool, pg::builtin_type(kBool)));
  r.columns[0].in_primary_key = true;
  return r;
}

TEST(RowToJsonTest, ColumnsInOrderWithNulls) {
  Relation r = test_relation();
  std::vector<Value> values = {Value::of("7"), Value::of("A \"name\""), Value::of(R"({"k": [1]})"),
                               Value::null(), Value::of("2024-01-02 03:04:05+00"), Value::of("f")};
  EXPECT_EQ(row_to_json(r, values),
            R"({"id":7,"name":"A \"name\"","data":{"k": [1]},"body":null,)"
            R"("at":"2024-01-02T03:04:05+00:00","we\"ird":false})");
  EXPECT_TRUE(well_formed(row_to_json(r, values)));
}

TEST(RowToJsonTest, UnchangedToastColumnsAreLeftOut) {
  Relation r = test_relation();
  std::vector<Value> values = {Value::of("7"),    Value::unchanged_toast(), Value::of("[]"),
                               Value::unchanged_toast(), Value::null(),    Value::of("t")};
  EXPECT_EQ(row_to_json(r, values), R"({"id":7,"data":[],"at":null,"we\"ird":true})");
  std::vector<Value> only_toast(r.columns.size(), Value::unchanged_toast());
  EXPECT_EQ(row_to_json(r, only_toast), "{}");
}

TEST(RowToJsonTest, OnlyColumnsLimitsAndOrders) {
  Relation r = test_relation();
  std::vector<Value> values = {Value::of("7"), Value::of("n"), Value::of("1"),
                               Value::null(), Value::null(), Value::of("t")};
  std::vector<int> only = {1, 0};
  EXPECT_EQ(row_to_json(r, values, &only), R"({"name":"n","id":7})");
  std::vector<int> none;
  EXPECT_EQ(row_to_json(r, values, &none), "{}");
  std::vector<int> out_of_range = {6};
  EXPECT_THROW(row_to_json(r, values, &out_of_range), Error);
}

TEST(RowToJsonTest, ErrorsNameTheColumn) {
  Relation r = test_relation();
  std::vector<Value> values = {Value::of("seven"), Value::null(), Value::null(),
                               Value::null(),      Value::null(), Value::null()};
  try {
    row_to_json(r, values);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_STREQ(e.what(), "public.items.id: int4: not a number: \"seven\"");
  }
}

TEST(RowToJsonTest, UnresolvedTypeIsAnError) {
  Relation r = test_relation();
  r.columns[1].type = nullptr;
  r.columns[1].source_type_id = 99999;
  std::vector<Value> values(r.columns.size(), Value::null());
  EXPECT_NE(row_to_json(r, values).find("\"name\":null"), std::string::npos);  // no type needed
  values[1] = Value::of("x");
  try {
    row_to_json(r, values);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_STREQ(e.what(), "public.items.name: its type is not resolved");
  }
}

TEST(RowToJsonTest, ValueCountMustMatchColumns) {
  Relation r = test_relation();
  std::vector<Value> values = {Value::of("1")};
  EXPECT_THROW(row_to_json(r, values), Error);
}

TEST(ResolveColumnTypeTest, PrefersTheResolvedType) {
  Relation r = test_relation();
  EXPECT_EQ(resolve_column_type(r, r.columns[0]), pg::builtin_type(kInt4));
  EXPECT_EQ(resolve_column_type(r, r.columns[2]), pg::builtin_type(kJsonb));
  Column custom;
  custom.name = "mood";
  custom.source_type_id = 16400;
  custom.type = make_type("public.mood", ValueCategory::kString);
  EXPECT_EQ(resolve_column_type(r, custom)->name, "public.mood");
  custom.type = nullptr;
  EXPECT_THROW(resolve_column_type(r, custom), Error);
}

}  // namespace
}  // namespace sluice
