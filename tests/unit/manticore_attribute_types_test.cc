#include "sink/manticore/attribute_types.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/error.h"
#include "source/postgres/pg_builtin_types.h"

namespace sluice {
namespace {

constexpr uint32_t kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kJson = 114, kFloat4 = 700,
                   kFloat8 = 701, kVarchar = 1043, kDate = 1082, kTime = 1083, kTimestamp = 1114,
                   kTimestampTz = 1184, kNumeric = 1700, kUuid = 2950, kJsonb = 3802, kInt4Array = 1007,
                   kTextArray = 1009, kBytea = 17, kInt4Range = 3904;

const TypeInfo& type(uint32_t oid) {
  TypeInfoPtr t = pg::builtin_type(oid);
  if (!t) throw std::runtime_error("no builtin type " + std::to_string(oid));
  static std::vector<TypeInfoPtr> keep;
  keep.push_back(t);
  return *t;
}

std::string literal(uint32_t oid, const Value& v) {
  const TypeInfo& t = type(oid);
  return attribute_literal(attribute_type_of(t), t, v, "public.t.c");
}
std::string literal(uint32_t oid, const std::string& text) { return literal(oid, Value::of(text)); }

// The Error for a literal that must fail; checks its kind and that it names the column.
std::string failure(uint32_t oid, const std::string& text, ErrorKind kind = ErrorKind::kInvalidInput) {
  try {
    std::string got = literal(oid, text);
    ADD_FAILURE() << "'" << text << "' gave " << got;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("public.t.c: ", 0), 0u) << e.what();
    return e.what();
  }
  return "";
}

TEST(AttributeTypesTest, MapsEveryCategory) {
  EXPECT_EQ(attribute_type_of(type(kInt2)), AttributeType::kBigint);
  EXPECT_EQ(attribute_type_of(type(kInt4)), AttributeType::kBigint);
  EXPECT_EQ(attribute_type_of(type(kInt8)), AttributeType::kBigint);
  EXPECT_EQ(attribute_type_of(type(kBool)), AttributeType::kBool);
  EXPECT_EQ(attribute_type_of(type(kFloat4)), AttributeType::kFloat);
  EXPECT_EQ(attribute_type_of(type(kFloat8)), AttributeType::kFloat);
  EXPECT_EQ(attribute_type_of(type(kNumeric)), AttributeType::kFloat);
  EXPECT_EQ(attribute_type_of(type(kTimestamp)), AttributeType::kTimestamp);
  EXPECT_EQ(attribute_type_of(type(kTimestampTz)), AttributeType::kTimestamp);
  EXPECT_EQ(attribute_type_of(type(kDate)), AttributeType::kTimestamp);
  EXPECT_EQ(attribute_type_of(type(kJson)), AttributeType::kJson);
  EXPECT_EQ(attribute_type_of(type(kJsonb)), AttributeType::kJson);
  EXPECT_EQ(attribute_type_of(type(kInt4Array)), AttributeType::kJson);
  EXPECT_EQ(attribute_type_of(type(kTextArray)), AttributeType::kJson);
  for (uint32_t oid : {kText, kVarchar, kUuid, kTime, kBytea, kInt4Range}) {
    EXPECT_EQ(attribute_type_of(type(oid)), AttributeType::kString) << oid;
  }
  TypeInfo composite;
  composite.category = ValueCategory::kComposite;
  EXPECT_EQ(attribute_type_of(composite), AttributeType::kString);
}

TEST(AttributeTypesTest, ADomainOverAnIntegerIsABigint) {
  TypeInfo domain = type(kInt4);
  domain.source_type_id = 90001;  // what the type resolver builds: the base's category, the domain's oid
  domain.name = "public.positive_int";
  EXPECT_EQ(attribute_type_of(domain), AttributeType::kBigint);
}

TEST(AttributeTypesTest, ColumnTypeComesFromTheColumn) {
  Relation r;
  r.schema = "public";
  r.name = "t";
  Column c;
  c.name = "n";
  c.source_type_id = kInt8;
  EXPECT_THROW(attribute_type_of(r, c), Error);  // the source did not resolve it
  c.type = pg::builtin_type(kInt8);
  EXPECT_EQ(attribute_type_of(r, c), AttributeType::kBigint);
}

TEST(AttributeTypesTest, NamesAreDescribesWords) {
  EXPECT_EQ(to_string(AttributeType::kBigint), "bigint");
  EXPECT_EQ(to_string(AttributeType::kBool), "bool");
  EXPECT_EQ(to_string(AttributeType::kFloat), "float");
  EXPECT_EQ(to_string(AttributeType::kTimestamp), "timestamp");
  EXPECT_EQ(to_string(AttributeType::kJson), "json");
  EXPECT_EQ(to_string(AttributeType::kString), "string");
}

TEST(AttributeTypesTest, Integers) {
  EXPECT_EQ(literal(kInt4, "42"), "42");
  EXPECT_EQ(literal(kInt2, "-32768"), "-32768");
  EXPECT_EQ(literal(kInt8, "9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(literal(kInt8, "-9223372036854775808"), "-9223372036854775808");
  EXPECT_NE(failure(kInt8, "9223372036854775808").find("'9223372036854775808' is not a 64-bit integer"),
            std::string::npos);
  failure(kInt4, "");
  failure(kInt4, "12a");
  failure(kInt4, " 1");
  failure(kInt4, "+1");
  failure(kInt4, "1.0");
}

TEST(AttributeTypesTest, Booleans) {
  EXPECT_EQ(literal(kBool, "t"), "1");
  EXPECT_EQ(literal(kBool, "f"), "0");
  EXPECT_NE(failure(kBool, "true").find("not a boolean"), std::string::npos);
  failure(kBool, "");
  failure(kBool, "1");
}

TEST(AttributeTypesTest, FloatsAreFloat32InExponentForm) {
  EXPECT_EQ(literal(kFloat8, "1.5"), "1.5e+00");
  EXPECT_EQ(literal(kFloat8, "0"), "0e+00");
  EXPECT_EQ(literal(kFloat8, "-0"), "0e+00");  // to_jsonb() gives 0
  EXPECT_EQ(literal(kFloat4, "1.17549435e-38"), "1.1754944e-38");
  EXPECT_EQ(literal(kFloat8, "1e+20"), "1e+20");
  EXPECT_EQ(literal(kFloat8, "0.1"), "1e-01");
  // numeric: long digit strings, kept to float32's precision and never an
  // integer literal (searchd wraps one too long for int64).
  EXPECT_EQ(literal(kNumeric, "12345678901234567890123"), "1.2345679e+22");
  EXPECT_EQ(literal(kNumeric, "123.4500"), "1.2345e+02");
  EXPECT_EQ(literal(kFloat8, "3.4028234663852886e+38"), "3.4028235e+38");
}

TEST(AttributeTypesTest, FloatSpecialValues) {
  EXPECT_EQ(literal(kFloat8, "NaN"), "'nan'");
  EXPECT_EQ(literal(kFloat8, "Infinity"), "'inf'");
  EXPECT_EQ(literal(kFloat8, "-Infinity"), "'-inf'");
  EXPECT_EQ(literal(kNumeric, "NaN"), "'nan'");
}

TEST(AttributeTypesTest, FloatsOutOfRangeAreNamedUnderflowIsZero) {
  EXPECT_NE(failure(kFloat8, "1e+300").find("beyond the range of a float attribute"), std::string::npos);
  failure(kFloat8, "-1e+39");
  failure(kNumeric, "1" + std::string(400, '0'));
  failure(kFloat8, "1e99999999999999999999");
  EXPECT_EQ(literal(kFloat8, "1e-300"), "0e+00");
  EXPECT_EQ(literal(kNumeric, "0." + std::string(400, '0') + "1"), "0e+00");
  // PostgreSQL never prints such an exponent; to_jsonb() (numeric_in) refuses it.
  failure(kFloat8, "1e-99999999999999999999");
}

TEST(AttributeTypesTest, FloatGarbageIsNamed) {
  EXPECT_NE(failure(kFloat8, "inf").find("float8: not a number: \"inf\""), std::string::npos);
  failure(kFloat8, "nan");
  failure(kFloat8, "");
  failure(kFloat8, "1.5x");
  failure(kFloat8, "1,5");
  failure(kFloat8, "--1");
  failure(kFloat8, "e5");
}

TEST(AttributeTypesTest, TimestampsAreUnixSecondsUtc) {
  EXPECT_EQ(literal(kTimestampTz, "1970-01-01 00:00:00+00"), "0");
  EXPECT_EQ(literal(kTimestampTz, "2024-05-01 12:34:56.123456+00"), "1714566896");
  EXPECT_EQ(literal(kTimestampTz, "2024-05-01 12:34:56+05:30"), "1714547096");
  EXPECT_EQ(literal(kTimestampTz, "2024-05-01 12:34:56-03:00:30"), "1714577726");
  EXPECT_EQ(literal(kTimestamp, "2024-05-01 12:34:56"), "1714566896");
  EXPECT_EQ(literal(kTimestamp, "2024-05-01 12:34:56.999999"), "1714566896");
  EXPECT_EQ(literal(kTimestamp, "2000-02-29 23:59:59"), "951868799");
  EXPECT_EQ(literal(kDate, "2024-05-01"), "1714521600");
  EXPECT_EQ(literal(kDate, "1970-01-01"), "0");
  EXPECT_EQ(literal(kTimestampTz, "2106-02-07 06:28:15+00"), "4294967295");
}

TEST(AttributeTypesTest, TimestampsOutsideUnsigned32BitsAreNamed) {
  EXPECT_NE(failure(kTimestampTz, "2106-02-07 06:28:16+00").find("after 2106-02-07 06:28:15 UTC"), std::string::npos);
  EXPECT_NE(failure(kTimestampTz, "1969-12-31 23:59:59.5+00").find("before 1970-01-01"), std::string::npos);
  failure(kTimestampTz, "1970-01-01 00:30:00+01");
  failure(kDate, "1969-12-31");
  failure(kDate, "9999-12-31");
  failure(kDate, "294276-12-31");
  EXPECT_NE(failure(kDate, "0044-03-15 BC").find("before 1970-01-01"), std::string::npos);
  EXPECT_NE(failure(kTimestampTz, "infinity").find("has no Unix time"), std::string::npos);
  failure(kTimestamp, "-infinity");
}

TEST(AttributeTypesTest, UnparseableTimestampsAreInvalidInputNamingTheColumn) {
  const std::string message = failure(kTimestampTz, "yesterday");
  EXPECT_NE(message.find("public.t.c: timestamptz: not an ISO date: \"yesterday\""), std::string::npos) << message;
  failure(kTimestampTz, "2024-05-01 12:34:56");       // no offset
  failure(kTimestamp, "2024-05-01 12:34:56+00");      // an offset where none belongs
  failure(kTimestamp, "2024-05-01T12:34:56");
  failure(kTimestamp, "2024-05-01 12:34");
  failure(kTimestamp, "2024-05-01 12:34:56.");
  failure(kTimestamp, "2024-05-01 12:34:56.1234567");
  failure(kTimestamp, "2024-5-01 12:34:56");
  failure(kTimestamp, "");
  failure(kDate, "2024-05-01 00:00:00");
  failure(kDate, "2024-05");
  failure(kDate, "2024-02-30");
  failure(kDate, "2023-02-29");
  failure(kDate, "2024-13-01");
  failure(kDate, "2024-00-10");
  failure(kTimestamp, "2024-05-01 24:00:00");
  failure(kTimestamp, "2024-05-01 12:60:00");
  failure(kTimestamp, "2024-05-01 12:00:60");
  failure(kTimestampTz, "2024-05-01 12:00:00+1");
  failure(kTimestampTz, "2024-05-01 12:00:00+01:7");
  failure(kTimestampTz, "2024-05-01 12:00:00+01:60");
  failure(kTimestampTz, "2024-05-01 12:00:00+01:00x");
  // Every truncation of a good value fails cleanly.
  const std::string good = "2024-05-01 12:34:56.123456+05:30";
  for (size_t n = 0; n < good.size(); ++n) {
    const std::string cut = good.substr(0, n);
    if (cut == "2024-05-01 12:34:56.123456+05" || cut == "2024-05-01 12:34:56.123456+05:30") continue;  // valid
    try {
      literal(kTimestampTz, cut);
      ADD_FAILURE() << "'" << cut << "' parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    }
  }
}

TEST(AttributeTypesTest, JsonIsQuotedJsonText) {
  EXPECT_EQ(literal(kJsonb, R"({"a": 1, "s": "it's"})"), R"('{"a": 1, "s": "it\'s"}')");
  EXPECT_EQ(literal(kJson, R"({"p": "C:\\dir"})"), R"('{"p": "C:\\\\dir"}')");
  EXPECT_EQ(literal(kJsonb, "[1, 2]"), "'[1, 2]'");
  EXPECT_EQ(literal(kJsonb, "  {}"), "'  {}'");
}

TEST(AttributeTypesTest, ArraysBecomeJsonArrays) {
  EXPECT_EQ(literal(kInt4Array, "{1,2,NULL}"), "'[1,2,null]'");
  EXPECT_EQ(literal(kTextArray, R"({"it's","b\\c"})"), R"('["it\'s","b\\\\c"]')");
  EXPECT_EQ(literal(kInt4Array, "{}"), "'[]'");
  failure(kInt4Array, "{1,2");
}

TEST(AttributeTypesTest, JsonScalarsAreRefused) {
  EXPECT_NE(failure(kJsonb, "12").find("is not a JSON object or array"), std::string::npos);
  failure(kJsonb, "\"text\"");
  failure(kJsonb, "null");
  failure(kJsonb, "true");
  failure(kJson, "");
}

TEST(AttributeTypesTest, StringsAreQuotedText) {
  EXPECT_EQ(literal(kText, "it's a \\ test"), "'it\\'s a \\\\ test'");
  EXPECT_EQ(literal(kUuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'");
  EXPECT_EQ(literal(kBytea, "\\x0001ff"), "'\\\\x0001ff'");
  EXPECT_EQ(literal(kText, ""), "''");
  EXPECT_NE(failure(kText, std::string("a\0b", 3)).find("NUL byte"), std::string::npos);
}

TEST(AttributeTypesTest, NullIsTheDocumentedDefault) {
  EXPECT_EQ(literal(kInt8, Value::null()), "0");
  EXPECT_EQ(literal(kBool, Value::null()), "0");
  EXPECT_EQ(literal(kFloat8, Value::null()), "0e+00");
  EXPECT_EQ(literal(kTimestampTz, Value::null()), "0");
  EXPECT_EQ(literal(kDate, Value::null()), "0");
  EXPECT_EQ(literal(kJsonb, Value::null()), "'{}'");
  EXPECT_EQ(literal(kInt4Array, Value::null()), "'{}'");
  EXPECT_EQ(literal(kText, Value::null()), "''");
}

TEST(AttributeTypesTest, UnchangedToastIsAnInternalError) {
  try {
    literal(kText, Value::unchanged_toast());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
    EXPECT_NE(std::string(e.what()).find("public.t.c: an unchanged TOAST value"), std::string::npos);
  }
}

TEST(AttributeTypesTest, AppendKeepsWhatWasThere) {
  std::string out = "(1, ";
  append_attribute_literal(out, AttributeType::kBool, type(kBool), Value::of("t"), "x");
  EXPECT_EQ(out, "(1, 1");
}

}  // namespace
}  // namespace sluice
