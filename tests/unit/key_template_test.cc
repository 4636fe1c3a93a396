#include "format/key_template.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "source/postgres/pg_builtin_types.h"

namespace sluice {
namespace {

constexpr uint32_t kInt4 = 23, kInt8 = 20, kText = 25, kTimestampTz = 1184, kFloat8 = 701;

Column make_column(std::string name, uint32_t oid, bool pk = false) {
  Column c;
  c.name = std::move(name);
  c.source_type_id = oid;
  c.type = pg::builtin_type(oid);
  c.in_primary_key = pk;
  c.in_identity = pk;
  return c;
}

// public.users (id int4, org int8, email text, note text, created timestamptz,
// score float8), primary key (id, org).
Relation users() {
  Relation r;
  r.source_id = 16390;
  r.schema = "public";
  r.name = "users";
  r.columns = {make_column("id", kInt4, true),    make_column("org", kInt8, true),
               make_column("email", kText),       make_column("note", kText),
               make_column("created", kTimestampTz), make_column("score", kFloat8)};
  return r;
}

std::vector<Value> user_row() {
  return {Value::of("7"),    Value::of("42"),
          Value::of("a@b.c"), Value::null(),
          Value::of("2024-01-02 03:04:05+00"), Value::of("1e+20")};
}

// The message of the Error `fn` throws, checking its kind.
template <typename Fn>
std::string error_of(Fn fn, ErrorKind kind) {
  try {
    fn();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- parse ------------------------------------------------------------------

TEST(KeyTemplateTest, ParsesPlaceholdersAndLiterals) {
  KeyTemplate t = KeyTemplate::parse("{table}:{pk}");
  EXPECT_EQ(t.text(), "{table}:{pk}");
  EXPECT_TRUE(t.uses_pk());
  EXPECT_FALSE(KeyTemplate::parse("m:{email}").uses_pk());
  EXPECT_FALSE(KeyTemplate::parse("constant").uses_pk());
}

TEST(KeyTemplateTest, RejectsUnbalancedBraces) {
  for (const char* bad : {"{table", "table}", "{table}}", "a{b{c}}", "{{pk}", "x}y{z}", "{"}) {
    std::string message =
        error_of([&] { KeyTemplate::parse(bad); }, ErrorKind::kConfig);
    EXPECT_TRUE(contains(message, std::string("key template '") + bad + "': ")) << message;
    EXPECT_TRUE(contains(message, "brace")) << message;
  }
}

TEST(KeyTemplateTest, RejectsEmptyPlaceholderAndEmptyTemplate) {
  EXPECT_TRUE(contains(error_of([] { KeyTemplate::parse("a:{}"); }, ErrorKind::kConfig),
                       "empty placeholder"));
  EXPECT_TRUE(contains(error_of([] { KeyTemplate::parse(""); }, ErrorKind::kConfig), "empty"));
}

TEST(KeyTemplateTest, WherePrefixesParseErrors) {
  std::string message = error_of(
      [] { KeyTemplate::parse("{table", "sluice.toml:12: sinks[0].key"); }, ErrorKind::kConfig);
  EXPECT_EQ(message.rfind("sluice.toml:12: sinks[0].key: key template '{table': ", 0), 0u)
      << message;
}

// --- check / columns ---------------------------------------------------------

TEST(KeyTemplateTest, CheckAcceptsExistingColumns) {
  Relation r = users();
  EXPECT_NO_THROW(KeyTemplate::parse("{schema}.{table}:{pk}").check(r));
  EXPECT_NO_THROW(KeyTemplate::parse("u:{email}:{created}").check(r));
}

TEST(KeyTemplateTest, CheckNamesTemplateTableAndUnknownColumn) {
  Relation r = users();
  KeyTemplate t = KeyTemplate::parse("u:{nope}", "sinks[1].key");
  std::string message = error_of([&] { t.check(r); }, ErrorKind::kConfig);
  EXPECT_EQ(message, "sinks[1].key: key template 'u:{nope}': table public.users has no column 'nope'");
}

TEST(KeyTemplateTest, PkFallsBackToReplicaIdentityThenFails) {
  Relation r = users();
  for (Column& c : r.columns) c.in_primary_key = false;  // e.g. REPLICA IDENTITY USING INDEX
  KeyTemplate t = KeyTemplate::parse("{table}:{pk}");
  EXPECT_NO_THROW(t.check(r));
  EXPECT_EQ(t.render(r, user_row()), "users:7:42");

  for (Column& c : r.columns) c.in_identity = false;
  std::string message = error_of([&] { t.check(r); }, ErrorKind::kConfig);
  EXPECT_TRUE(contains(message, "public.users")) << message;
  EXPECT_TRUE(contains(message, "{table}:{pk}")) << message;
  EXPECT_THROW(t.columns(r), Error);
  EXPECT_THROW(t.render(r, user_row()), Error);
}

TEST(KeyTemplateTest, PrimaryKeyWinsOverReplicaIdentity) {
  Relation r = users();
  r.columns[1].in_primary_key = false;     // pk = (id)
  r.columns[2].in_identity = true;  // identity also has email
  EXPECT_EQ(KeyTemplate::parse("{pk}").render(r, user_row()), "7");
}

TEST(KeyTemplateTest, ColumnsExpandPkOnceInFirstUseOrder) {
  Relation r = users();
  EXPECT_EQ(KeyTemplate::parse("{table}:{pk}").columns(r), (std::vector<std::string>{"id", "org"}));
  EXPECT_EQ(KeyTemplate::parse("{email}:{pk}:{id}").columns(r),
            (std::vector<std::string>{"email", "id", "org"}));
  EXPECT_EQ(KeyTemplate::parse("{schema}:{table}").columns(r), std::vector<std::string>{});
  EXPECT_THROW(KeyTemplate::parse("{nope}").columns(r), Error);
}

// public.payment (payment_id int4, customer_id int4, payment_date timestamptz),
// PRIMARY KEY (payment_date, payment_id): key order differs from column order.
Relation payment() {
  Relation r;
  r.source_id = 16500;
  r.schema = "public";
  r.name = "payment";
  r.columns = {make_column("payment_id", kInt4, true), make_column("customer_id", kInt4),
               make_column("payment_date", kTimestampTz, true)};
  r.primary_key = {2, 0};
  return r;
}

TEST(KeyTemplateTest, PkFollowsKeyOrderNotColumnOrder) {
  Relation r = payment();
  std::vector<Value> row = {Value::of("16050"), Value::of("341"), Value::of("2022-06-21 12:30:00+00")};
  EXPECT_EQ(KeyTemplate::parse("{table}:{pk}").render(r, row),
            "payment:2022-06-21T12\\:30\\:00+00\\:00:16050");
  EXPECT_EQ(KeyTemplate::parse("{table}:{pk}").columns(r),
            (std::vector<std::string>{"payment_date", "payment_id"}));
  EXPECT_EQ(KeyTemplate::parse("{customer_id}:{pk}").columns(r),
            (std::vector<std::string>{"customer_id", "payment_date", "payment_id"}));

  // Without Relation::primary_key (a Relation built by hand) the marked columns
  // are the key, in column order.
  r.primary_key.clear();
  EXPECT_EQ(KeyTemplate::parse("{table}:{pk}").render(r, row),
            "payment:16050:2022-06-21T12\\:30\\:00+00\\:00");
  EXPECT_EQ(KeyTemplate::parse("{pk}").columns(r),
            (std::vector<std::string>{"payment_id", "payment_date"}));
}

TEST(KeyTemplateTest, PrimaryKeyOrderWinsOverReplicaIdentity) {
  Relation r = users();
  r.primary_key = {1, 0};  // PRIMARY KEY (org, id)
  r.columns[2].in_identity = true;
  EXPECT_EQ(KeyTemplate::parse("{pk}").render(r, user_row()), "42:7");
}

TEST(KeyTemplateTest, PrimaryKeyIndexOutOfRangeIsAnInternalError) {
  Relation r = users();
  r.primary_key = {0, 6};
  std::string message =
      error_of([&] { KeyTemplate::parse("{pk}").render(r, user_row()); }, ErrorKind::kInternal);
  EXPECT_TRUE(contains(message, "public.users")) << message;
  r.primary_key = {-1};
  error_of([&] { KeyTemplate::parse("{pk}").check(r); }, ErrorKind::kInternal);
}

// --- render ------------------------------------------------------------------

TEST(KeyTemplateTest, RendersPkJoinedByColon) {
  Relation r = users();
  EXPECT_EQ(KeyTemplate::parse("{table}:{pk}").render(r, user_row()), "users:7:42");
  EXPECT_EQ(KeyTemplate::parse("{schema}.{table}/{pk}").render(r, user_row()), "public.users/7:42");
}

TEST(KeyTemplateTest, RendersColumnsInFieldForm) {
  Relation r = users();
  EXPECT_EQ(KeyTemplate::parse("m:{email}:{id}").render(r, user_row()), "m:a@b.c:7");
  // The ':' of a value is escaped (issue 12): see the escaping tests below.
  EXPECT_EQ(KeyTemplate::parse("at:{created}").render(r, user_row()), "at:2024-01-02T03\\:04\\:05+00\\:00");
  EXPECT_EQ(KeyTemplate::parse("s:{score}").render(r, user_row()), "s:100000000000000000000");
  EXPECT_EQ(KeyTemplate::parse("{{literal}}:{id}}}").render(r, user_row()), "{literal}:7}");
  EXPECT_EQ(KeyTemplate::parse("no placeholders").render(r, user_row()), "no placeholders");
}

TEST(KeyTemplateTest, AColumnWithoutItsTypeIsNamed) {
  Relation r = users();
  r.columns[4].type = nullptr;  // the source did not resolve it
  std::string message =
      error_of([&] { KeyTemplate::parse("{created}").render(r, user_row()); },
               ErrorKind::kInvalidInput);
  EXPECT_TRUE(contains(message, "public.users.created: its type is not resolved")) << message;
}

TEST(KeyTemplateTest, NullKeyPartIsAnError) {
  Relation r = users();
  KeyTemplate t = KeyTemplate::parse("n:{note}");
  std::string message = error_of([&] { t.render(r, user_row()); }, ErrorKind::kInvalidInput);
  EXPECT_EQ(message, "key template 'n:{note}': public.users.note is null; a key cannot contain null");

  std::vector<Value> row = user_row();
  row[1] = Value::null();
  message = error_of([&] { KeyTemplate::parse("{pk}").render(r, row); }, ErrorKind::kInvalidInput);
  EXPECT_TRUE(contains(message, "public.users.org is null")) << message;
  EXPECT_TRUE(contains(message, "'{pk}'")) << message;
}

TEST(KeyTemplateTest, UnchangedToastKeyPartIsAnError) {
  Relation r = users();
  std::vector<Value> row = user_row();
  row[2] = Value::unchanged_toast();
  std::string message =
      error_of([&] { KeyTemplate::parse("{email}").render(r, row); }, ErrorKind::kInvalidInput);
  EXPECT_TRUE(contains(message, "public.users.email")) << message;
  EXPECT_TRUE(contains(message, "unchanged TOAST")) << message;
  EXPECT_TRUE(contains(message, "'{email}'")) << message;
}

TEST(KeyTemplateTest, BadValuesAndShapesAreErrors) {
  Relation r = users();
  std::vector<Value> row = user_row();
  row[0] = Value::of("seven");
  std::string message =
      error_of([&] { KeyTemplate::parse("{pk}").render(r, row); }, ErrorKind::kInvalidInput);
  EXPECT_TRUE(contains(message, "public.users.id: int4: not a number")) << message;

  row.pop_back();
  error_of([&] { KeyTemplate::parse("{pk}").render(r, row); }, ErrorKind::kInvalidInput);
  error_of([&] { KeyTemplate::parse("{nope}").render(r, user_row()); }, ErrorKind::kConfig);
}

// --- escaping (issue 12: one row, one key) -----------------------------------

// public.kk (a text, b text, c text), primary key (a, b).
Relation kk() {
  Relation r;
  r.source_id = 16600;
  r.schema = "public";
  r.name = "kk";
  r.columns = {make_column("a", kText, true), make_column("b", kText, true), make_column("c", kText)};
  r.primary_key = {0, 1};
  return r;
}

TEST(KeyTemplateTest, CompositeKeyValuesWithColonsDoNotCollide) {
  Relation r = kk();
  KeyTemplate t = KeyTemplate::parse("kk:{pk}");
  const std::string first = t.render(r, {Value::of("x:y"), Value::of("z"), Value::null()});
  const std::string second = t.render(r, {Value::of("x"), Value::of("y:z"), Value::null()});
  EXPECT_EQ(first, "kk:x\\:y:z");
  EXPECT_EQ(second, "kk:x:y\\:z");
  EXPECT_NE(first, second);
}

TEST(KeyTemplateTest, BackslashesInValuesAreEscaped) {
  Relation r = kk();
  KeyTemplate t = KeyTemplate::parse("kk:{pk}");
  EXPECT_EQ(t.render(r, {Value::of("a\\"), Value::of("b"), Value::null()}), "kk:a\\\\:b");
  EXPECT_EQ(t.render(r, {Value::of("\\:"), Value::of(""), Value::null()}), "kk:\\\\\\::");
  // Were only ':' escaped, ('a\', 'b:c') and ('a:b\', 'c') would both be "kk:a\:b\:c".
  EXPECT_EQ(t.render(r, {Value::of("a\\"), Value::of("b:c"), Value::null()}), "kk:a\\\\:b\\:c");
  EXPECT_EQ(t.render(r, {Value::of("a:b\\"), Value::of("c"), Value::null()}), "kk:a\\:b\\\\:c");
}

TEST(KeyTemplateTest, ColumnValuesWithColonsAreEscaped) {
  Relation r;
  r.schema = "public";
  r.name = "media";
  r.columns = {make_column("channel_id", kText, true), make_column("media_id", kText, true)};
  r.primary_key = {0, 1};
  KeyTemplate t = KeyTemplate::parse("m:{channel_id}:{media_id}");
  EXPECT_EQ(t.render(r, {Value::of("7"), Value::of("19")}), "m:7:19");  // unchanged
  EXPECT_EQ(t.render(r, {Value::of("a:b"), Value::of("c")}), "m:a\\:b:c");
  EXPECT_EQ(t.render(r, {Value::of("a"), Value::of("b:c")}), "m:a:b\\:c");
}

TEST(KeyTemplateTest, OrdinaryKeysAreUnchanged) {
  Relation r = users();
  r.name = "user_account";
  EXPECT_EQ(KeyTemplate::parse("{table}:{id}").render(r, user_row()), "user_account:7");
  EXPECT_EQ(KeyTemplate::parse("{table}:{org}").render(r, user_row()), "user_account:42");
  EXPECT_EQ(KeyTemplate::parse("{schema}.{table}/{pk}").render(r, user_row()), "public.user_account/7:42");
  EXPECT_EQ(KeyTemplate::parse("u:{email}").render(r, user_row()), "u:a@b.c");
  // Only values are escaped, never the template's own text.
  EXPECT_EQ(KeyTemplate::parse("a:\\:{id}").render(r, user_row()), "a:\\:7");
}

TEST(KeyTemplateTest, SchemaAndTableNamesAreEscaped) {
  Relation r = kk();
  r.schema = "s:1";
  r.name = "t\\x";
  EXPECT_EQ(KeyTemplate::parse("{schema}:{table}:{pk}").render(r, {Value::of("p"), Value::of("q"), Value::null()}),
            "s\\:1:t\\\\x:p:q");
}

// --- ambiguity ---------------------------------------------------------------

TEST(KeyTemplateTest, AmbiguityAcceptsSeparatedPlaceholders) {
  for (const char* ok : {"{table}:{pk}", "m:{a}:{b}", "{schema}.{table}/{pk}", "{a}-x:y-{b}",
                         "{pk}", "constant", "{schema}{table}{a}", "{a}:{schema}{table}{b}",
                         "{{x}}:{a}:{b}", "{a}:{b}:{pk}"}) {
    EXPECT_EQ(KeyTemplate::parse(ok).ambiguity(), std::nullopt) << ok;
  }
}

TEST(KeyTemplateTest, AmbiguityNamesUnseparatedPlaceholders) {
  EXPECT_EQ(KeyTemplate::parse("{a}-{b}").ambiguity(),
            "key template '{a}-{b}': {a} and {b} are not separated by ':' so two rows could share a "
            "key; write e.g. '{a}:{b}'");
  EXPECT_EQ(KeyTemplate::parse("{a}{b}").ambiguity(),
            "key template '{a}{b}': {a} and {b} are not separated by ':' so two rows could share a "
            "key; write e.g. '{a}:{b}'");
  // {schema} and {table} are fixed per table: they neither separate nor count.
  std::optional<std::string> reason = KeyTemplate::parse("x:{pk}.{table}.{email}").ambiguity();
  ASSERT_TRUE(reason.has_value());
  EXPECT_TRUE(contains(*reason, "{pk} and {email}")) << *reason;
  reason = KeyTemplate::parse("{a}:{b}/{c}", "sinks[0].key").ambiguity();
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(reason->rfind("sinks[0].key: key template '{a}:{b}/{c}': {b} and {c}", 0), 0u) << *reason;
}

TEST(KeyTemplateTest, AmbiguityRefusesLiteralBackslash) {
  for (const char* bad : {"a\\{x}", "{a}\\:{b}", "k:{pk}\\"}) {
    std::optional<std::string> reason = KeyTemplate::parse(bad).ambiguity();
    ASSERT_TRUE(reason.has_value()) << bad;
    EXPECT_TRUE(contains(*reason, std::string("key template '") + bad + "'")) << *reason;
    EXPECT_TRUE(contains(*reason, "'\\'")) << *reason;
  }
}

// --- glob --------------------------------------------------------------------

TEST(KeyTemplateTest, GlobReplacesValuesWithStars) {
  Relation r = users();
  EXPECT_EQ(KeyTemplate::parse("{table}:{pk}").glob(r), "users:*");
  EXPECT_EQ(KeyTemplate::parse("{schema}.{table}:{email}:{id}").glob(r), "public.users:*:*");
  EXPECT_EQ(KeyTemplate::parse("x:{id}{org}").glob(r), "x:*");  // one star covers both
  EXPECT_EQ(KeyTemplate::parse("{{x}}").glob(r), "{x}");
}

TEST(KeyTemplateTest, GlobEscapesMetacharacters) {
  Relation r = users();
  EXPECT_EQ(KeyTemplate::parse("k*?[]\\^-:{pk}").glob(r), "k\\*\\?\\[\\]\\\\^-:*");
  r.schema = "we*rd";
  r.name = "t[1]?";
  EXPECT_EQ(KeyTemplate::parse("{schema}:{table}:{pk}").glob(r), "we\\*rd:t\\[1\\]\\?:*");
  // A literal '*' next to a placeholder stays escaped and the placeholder still adds one.
  EXPECT_EQ(KeyTemplate::parse("*{id}").glob(r), "\\**");
}

TEST(KeyTemplateTest, GlobMatchesEscapedNames) {
  Relation r = kk();
  r.schema = "s:1";
  r.name = "t\\x*";
  // The key starts "s\:1:t\\x*:"; in the glob each key '\' is itself escaped.
  EXPECT_EQ(KeyTemplate::parse("{schema}:{table}:{pk}").glob(r), "s\\\\:1:t\\\\\\\\x\\*:*");
  r.schema = "public";
  r.name = "kk";
  EXPECT_EQ(KeyTemplate::parse("kk:{pk}").glob(r), "kk:*");  // '*' covers "x\:y:z"
}

// --- fixed prefix and match ---------------------------------------------------

TEST(KeyTemplateTest, FixedPrefixStopsAtTheFirstRowVaryingPlaceholder) {
  Relation r = users();
  EXPECT_EQ(KeyTemplate::parse("{table}:{pk}").fixed_prefix(r), "users:");
  EXPECT_EQ(KeyTemplate::parse("{schema}.{table}:{email}:{id}").fixed_prefix(r), "public.users:");
  EXPECT_EQ(KeyTemplate::parse("{pk}").fixed_prefix(r), "");
  EXPECT_EQ(KeyTemplate::parse("{email}:{id}").fixed_prefix(r), "");
  EXPECT_EQ(KeyTemplate::parse("const").fixed_prefix(r), "const");
  EXPECT_EQ(KeyTemplate::parse("{pk}").prefix_glob(r), "*");
  r.schema = "s:1";
  r.name = "t*";
  // Escaped as render() writes it, then glob-escaped.
  EXPECT_EQ(KeyTemplate::parse("{schema}:{table}:{pk}").fixed_prefix(r), "s\\:1:t*:");
  EXPECT_EQ(KeyTemplate::parse("{schema}:{table}:{pk}").prefix_glob(r), "s\\\\:1:t\\*:*");
}

TEST(KeyTemplateTest, MatchReadsRenderedKeysBack) {
  Relation r = users();
  auto tmpl = KeyTemplate::parse("{table}:{pk}");
  auto values = tmpl.match(r, "users:7:42");
  ASSERT_TRUE(values);
  EXPECT_EQ(*values, (std::vector<std::string>{"7", "42"}));
  // Every rendered key reads back to its values, escapes undone.
  auto mixed = KeyTemplate::parse("u:{email}:{pk}:x");
  std::vector<Value> row = user_row();
  for (std::string email : {"a@b.c", "a:b", "a\\:b", "", "::", "\\", "a\\\\b:"}) {
    row[2] = Value::of(email);
    std::string key = mixed.render(r, row);
    auto back = mixed.match(r, key);
    ASSERT_TRUE(back) << key;
    EXPECT_EQ(*back, (std::vector<std::string>{email, "7", "42"})) << key;
  }
}

TEST(KeyTemplateTest, MatchRefusesKeysNoValuesRenderTo) {
  Relation r = users();
  auto tmpl = KeyTemplate::parse("{table}:{pk}");
  EXPECT_FALSE(tmpl.match(r, "users:7"));          // one value short
  EXPECT_FALSE(tmpl.match(r, "users:7:42:1"));     // a bare ':' inside a value
  EXPECT_FALSE(tmpl.match(r, "other:7:42"));       // wrong literal text
  EXPECT_FALSE(tmpl.match(r, "users:7\\x:42"));    // '\' escapes only '\' and ':'
  EXPECT_FALSE(tmpl.match(r, "users:7:42\\"));     // a lone '\' at the end
  EXPECT_TRUE(tmpl.match(r, "users:7\\:1:42"));     // id "7:1": the caller decides if a row can have it
  // A column used twice must read the same value both times.
  auto twice = KeyTemplate::parse("{id}:x:{id}");
  EXPECT_TRUE(twice.match(r, "3:x:3"));
  EXPECT_FALSE(twice.match(r, "3:x:4"));
  // An ambiguous template has no unique answer.
  error_of([&] { KeyTemplate::parse("{id}{org}").match(r, "12"); }, ErrorKind::kConfig);
}

}  // namespace
}  // namespace sluice
