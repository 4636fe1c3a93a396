// The search-index sink's foundations against a real Sphinx 2.2 searchd: the
// connection and its error classes, the literals of every attribute type, the
// generated sphinx.conf block and the DESCRIBE check, and what survives kill -9.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/position.h"
#include "source/postgres/pg_builtin_types.h"
#include "harness/sphinx_server.h"
#include "sink/manticore/attribute_types.h"
#include "sink/manticore/document_id.h"
#include "sink/manticore/index_definition.h"
#include "sink/manticore/sphinxql_connection.h"
#include "sink/manticore/sphinxql_literal.h"
#include "source/postgres/pg_position.h"

namespace sluice::test {
namespace {

constexpr uint32_t kBool = 16, kInt8 = 20, kText = 25, kFloat8 = 701, kTimestampTz = 1184, kDate = 1082,
                   kJsonb = 3802, kInt4Array = 1007;

using Result = SphinxqlConnection::Result;

IndexDefinition docs_definition() {
  return IndexDefinition("docs", {"title", "body"},
                         {{"title", AttributeType::kString},
                          {"n", AttributeType::kBigint},
                          {"ok", AttributeType::kBool},
                          {"f", AttributeType::kFloat},
                          {"ts", AttributeType::kTimestamp},
                          {"d", AttributeType::kTimestamp},
                          {"j", AttributeType::kJson},
                          {"arr", AttributeType::kJson},
                          {"s", AttributeType::kString}});
}

std::string lit(uint32_t oid, const Value& v) {
  TypeInfoPtr t = pg::builtin_type(oid);
  return attribute_literal(attribute_type_of(*t), *t, v, "public.docs.c");
}
std::string lit(uint32_t oid, const std::string& text) { return lit(oid, Value::of(text)); }

// Column name -> value of the single row a query returns.
std::map<std::string, std::optional<std::string>> one_row(const Result& r) {
  EXPECT_EQ(r.rows.size(), 1u);
  std::map<std::string, std::optional<std::string>> out;
  if (r.rows.empty()) return out;
  for (size_t i = 0; i < r.columns.size(); ++i) out[r.columns[i]] = r.rows[0][i];
  return out;
}

std::vector<std::string> ids_of(const Result& r) {
  std::vector<std::string> out;
  for (const auto& row : r.rows) out.push_back(row.at(0).value_or("NULL"));
  return out;
}

class SphinxqlConnectionTest : public ::testing::Test {
 protected:
  SphinxqlConnectionTest() : server_({docs_definition().sphinx_conf_block("{dir}/docs")}) {}

  SphinxqlConnection connect() {
    return SphinxqlConnection(SphinxqlUrl::parse(server_.url()), {}, "search sink 'test'");
  }

  size_t count(SphinxqlConnection& c) {
    return c.query("SELECT id FROM docs LIMIT 100000 OPTION max_matches=100000").rows.size();
  }

  SphinxServer server_;
};

TEST_F(SphinxqlConnectionTest, GeneratedBlockIsAcceptedAndDescribeMatchesIt) {
  SphinxqlConnection c = connect();
  Result described = c.query("DESCRIBE docs");
  ASSERT_EQ(described.columns, (std::vector<std::string>{"Field", "Type"}));
  // What Sphinx 2.2.11 prints: id, the fields in config order, then the
  // attributes grouped by type (bigint, float, timestamp, string, json, bool),
  // each group in config order.
  std::vector<std::string> lines;
  for (const auto& row : described.rows) lines.push_back(row.at(0).value_or("NULL") + " " + row.at(1).value_or("NULL"));
  EXPECT_EQ(lines, (std::vector<std::string>{"id bigint", "title field", "body field", "n bigint", "f float",
                                             "ts timestamp", "d timestamp", "title string", "s string",
                                             "_sluice_version string", "_sluice_identity string",
                                             "_sluice_digest string", "_sluice_checkpoint string", "j json",
                                             "arr json", "ok bool"}));
  std::vector<SchemaProblem> problems = compare_schema(docs_definition(), parse_describe(described));
  for (const SchemaProblem& p : problems) ADD_FAILURE() << p.message("docs");
  Result tables = c.query("SHOW TABLES");
  ASSERT_EQ(tables.rows.size(), 1u);
  EXPECT_EQ(tables.rows[0][0], "docs");
  EXPECT_EQ(tables.rows[0][1], "rt");
}

TEST_F(SphinxqlConnectionTest, DescribeOfAnIndexMissingAttributesNamesTheLinesAndAlterFixesIt) {
  // The live index lacks what a wider definition needs; the ALTER each problem
  // names is accepted, and afterwards nothing but the TIMESTAMP (no ALTER in
  // Sphinx 2.2) is missing.
  IndexDefinition wider("docs", {"title", "body"},
                        {{"title", AttributeType::kString},
                         {"n", AttributeType::kBigint},
                         {"price", AttributeType::kBigint},
                         {"flag", AttributeType::kBool},
                         {"w", AttributeType::kFloat},
                         {"meta", AttributeType::kJson},
                         {"label", AttributeType::kString},
                         {"seen_at", AttributeType::kTimestamp}});
  SphinxqlConnection c = connect();
  std::vector<SchemaProblem> problems = compare_schema(wider, parse_describe(c.query("DESCRIBE docs")));
  std::vector<std::string> lines;
  for (const SchemaProblem& p : problems) {
    lines.push_back(p.config_line);
    if (p.alter) c.execute(*p.alter);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"rt_attr_bigint = price", "rt_attr_bool = flag", "rt_attr_float = w",
                                             "rt_attr_json = meta", "rt_attr_string = label",
                                             "rt_attr_timestamp = seen_at"}));
  std::vector<SchemaProblem> after = compare_schema(wider, parse_describe(c.query("DESCRIBE docs")));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].config_line, "rt_attr_timestamp = seen_at");
}

TEST_F(SphinxqlConnectionTest, EveryAttributeTypeRoundTrips) {
  SphinxqlConnection c = connect();
  const std::string text = "it's a \\ \"test\"\nwith a tab\t, caf\xc3\xa9 and \\n";
  const std::string sql =
      "REPLACE INTO docs (id, title, body, n, ok, f, ts, d, j, arr, s, _sluice_version) VALUES (7, " +
      lit(kText, "hello world") + ", " + lit(kText, "body words") + ", " + lit(kInt8, "-9223372036854775808") + ", " +
      lit(kBool, "t") + ", " + lit(kFloat8, "1.5") + ", " + lit(kTimestampTz, "2024-05-01 12:34:56.5+00") + ", " +
      lit(kDate, "2024-05-01") + ", " + lit(kJsonb, R"({"a": [1, 2], "q": "it's \"x\"", "p": "C:\\dir"})") + ", " +
      lit(kInt4Array, "{1,2,NULL}") + ", " + lit(kText, text) + ", " +
      quote_literal(pg::position(pg::Lsn(0x16B374D848), 42).encode()) + ")";
  EXPECT_EQ(c.execute(sql), 1u);
  auto row = one_row(c.query("SELECT * FROM docs WHERE id = 7"));
  EXPECT_EQ(row["id"], "7");
  EXPECT_EQ(row["title"], "hello world");
  EXPECT_EQ(row["n"], "-9223372036854775808");
  EXPECT_EQ(row["ok"], "1");
  EXPECT_EQ(row["f"], "1.500000");
  EXPECT_EQ(row["ts"], "1714566896");
  EXPECT_EQ(row["d"], "1714521600");
  EXPECT_EQ(row["j"], R"({"a":[1,2],"q":"it's \"x\"","p":"C:\\dir"})");
  EXPECT_EQ(row["arr"], "[1,2,null]");
  EXPECT_EQ(row["s"], text);
  EXPECT_EQ(row["_sluice_version"], "00000016B374D848:0000002A");
  EXPECT_EQ(row["_sluice_checkpoint"], "");
  // A json attribute is queryable as such.
  auto inner = one_row(c.query("SELECT id, j.q FROM docs WHERE id = 7"));
  EXPECT_EQ(inner["j.q"], "it's \"x\"");
}

TEST_F(SphinxqlConnectionTest, NullDefaultsAndFloatSpecialsAreStored) {
  SphinxqlConnection c = connect();
  c.execute("REPLACE INTO docs (id, title, n, ok, f, ts, j, arr, s) VALUES (1, 'x', " + lit(kInt8, Value::null()) +
            ", " + lit(kBool, Value::null()) + ", " + lit(kFloat8, Value::null()) + ", " +
            lit(kTimestampTz, Value::null()) + ", " + lit(kJsonb, Value::null()) + ", " +
            lit(kInt4Array, Value::null()) + ", " + lit(kText, Value::null()) + ")");
  auto row = one_row(c.query("SELECT n, ok, f, ts, j, arr, s FROM docs WHERE id = 1"));
  EXPECT_EQ(row["n"], "0");
  EXPECT_EQ(row["ok"], "0");
  EXPECT_EQ(row["f"], "0.000000");
  EXPECT_EQ(row["ts"], "0");
  EXPECT_EQ(row["j"], "{}");
  EXPECT_EQ(row["arr"], "{}");
  EXPECT_EQ(row["s"], "");

  // -0 is 0: values go through to_jsonb()'s rendering, which has no negative zero.
  const std::vector<std::pair<std::string, std::string>> floats = {
      {"NaN", "nan"}, {"Infinity", "inf"}, {"-Infinity", "-inf"}, {"-0", "0.000000"},
      {"12345678901234567890123", "12345679377913908035584.000000"}, {"1e-300", "0.000000"},
      {"0.001", "0.001000"}};
  for (size_t i = 0; i < floats.size(); ++i) {
    const std::string id = std::to_string(100 + i);
    c.execute("REPLACE INTO docs (id, title, f) VALUES (" + id + ", 'x', " + lit(kFloat8, floats[i].first) + ")");
    EXPECT_EQ(one_row(c.query("SELECT f FROM docs WHERE id = " + id))["f"], floats[i].second) << floats[i].first;
  }
  c.execute("REPLACE INTO docs (id, title, ts) VALUES (200, 'x', " + lit(kTimestampTz, "2106-02-07 06:28:15+00") + ")");
  EXPECT_EQ(one_row(c.query("SELECT ts FROM docs WHERE id = 200"))["ts"], "4294967295");
}

TEST_F(SphinxqlConnectionTest, EveryByteButNulRoundTripsInAString) {
  SphinxqlConnection c = connect();
  std::string all;
  for (int b = 1; b < 256; ++b) all.push_back(static_cast<char>(b));
  c.execute("REPLACE INTO docs (id, title, s) VALUES (3, 'bytes', " + quote_literal(all) + ")");
  EXPECT_EQ(one_row(c.query("SELECT s FROM docs WHERE id = 3"))["s"], all);
  EXPECT_THROW(quote_literal(std::string("a\0b", 3)), Error);
}

TEST_F(SphinxqlConnectionTest, TransactionsCommitAndRollBack) {
  SphinxqlConnection c = connect();
  c.execute("BEGIN");
  c.execute("REPLACE INTO docs (id, title) VALUES (1, 'one'), (2, 'two')");
  c.execute("REPLACE INTO docs (id, title) VALUES (3, 'three')");
  {
    SphinxqlConnection other = connect();
    EXPECT_EQ(count(other), 0u) << "an open transaction is visible to another connection";
  }
  c.execute("COMMIT");
  EXPECT_EQ(count(c), 3u);

  c.execute("BEGIN");
  c.execute("REPLACE INTO docs (id, title) VALUES (4, 'four')");
  c.execute("ROLLBACK");
  EXPECT_EQ(count(c), 3u);

  // REPLACE of an existing id replaces it: still three documents.
  c.execute("REPLACE INTO docs (id, title, n) VALUES (2, 'two again', 22)");
  EXPECT_EQ(count(c), 3u);
  EXPECT_EQ(one_row(c.query("SELECT n FROM docs WHERE id = 2"))["n"], "22");
}

TEST_F(SphinxqlConnectionTest, DeleteByIdList) {
  SphinxqlConnection c = connect();
  c.execute("REPLACE INTO docs (id, title) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')");
  // The affected count is the documents removed (5 does not exist).
  EXPECT_EQ(c.execute("DELETE FROM docs WHERE id IN (1, 3, 5)"), 2u);
  EXPECT_EQ(ids_of(c.query("SELECT id FROM docs ORDER BY id ASC")), (std::vector<std::string>{"2", "4"}));
  EXPECT_EQ(c.execute("DELETE FROM docs WHERE id IN (1, 3)"), 0u);
}

TEST_F(SphinxqlConnectionTest, SelectNeedsLimitAndMaxMatchesForManyRows) {
  SphinxqlConnection c = connect();
  for (int batch = 0; batch < 3; ++batch) {
    std::string sql = "REPLACE INTO docs (id, title) VALUES ";
    for (int i = 1; i <= 500; ++i) {
      if (i > 1) sql += ", ";
      sql += "(" + std::to_string(batch * 500 + i) + ", 'doc')";
    }
    c.execute(sql);
  }
  EXPECT_EQ(c.query("SELECT id FROM docs").rows.size(), 20u);  // the implicit LIMIT 20
  auto meta = [&] {
    std::map<std::string, std::string> m;
    for (const auto& row : c.query("SHOW META").rows) m[row.at(0).value_or("")] = row.at(1).value_or("");
    return m;
  };
  EXPECT_EQ(meta()["total_found"], "1500");
  // total: the matches kept (at most max_matches), not the rows returned;
  // total_found: all of them.
  EXPECT_EQ(meta()["total"], "1000");
  EXPECT_EQ(c.query("SELECT id FROM docs LIMIT 1500").rows.size(), 1000u);  // max_matches 1000
  EXPECT_EQ(meta()["total"], "1000");
  EXPECT_EQ(c.query("SELECT id FROM docs LIMIT 1500 OPTION max_matches=1500").rows.size(), 1500u);
  EXPECT_EQ(meta()["total"], "1500");
  EXPECT_EQ(ids_of(c.query("SELECT id FROM docs ORDER BY id DESC LIMIT 2")), (std::vector<std::string>{"1500", "1499"}));
}

TEST_F(SphinxqlConnectionTest, MatchSearchesTheFields) {
  SphinxqlConnection c = connect();
  c.execute("REPLACE INTO docs (id, title, body) VALUES (1, 'red apple', 'fruit'), (2, 'green pear', 'fruit'), "
            "(3, 'red car', 'vehicle')");
  EXPECT_EQ(ids_of(c.query("SELECT id FROM docs WHERE MATCH('red') ORDER BY id ASC")),
            (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(ids_of(c.query("SELECT id FROM docs WHERE MATCH('@body fruit') ORDER BY id ASC")),
            (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(ids_of(c.query("SELECT id FROM docs WHERE MATCH(" + quote_literal("@title red -car") + ")")),
            (std::vector<std::string>{"1"}));
  // A field's text cannot be read back (hence _sluice_digest): only the
  // string attribute of the same name returns it.
  auto row = one_row(c.query("SELECT * FROM docs WHERE id = 2"));
  EXPECT_EQ(row["title"], "green pear");
  EXPECT_EQ(row.count("body"), 0u);
}

TEST_F(SphinxqlConnectionTest, TheCheckpointDocumentLivesAboveEveryRowId) {
  SphinxqlConnection c = connect();
  const std::string id = std::to_string(kCheckpointDocumentId);
  c.execute("REPLACE INTO docs (id, title, _sluice_checkpoint) VALUES (" + id + ", '', " +
            quote_literal(pg::position(pg::Lsn(0x1234), 0).encode()) + "), (9223372036854775807, 'last row', '')");
  auto row = one_row(c.query("SELECT id, _sluice_checkpoint FROM docs WHERE id = " + id));
  EXPECT_EQ(row["id"], "9223372036854775808");
  EXPECT_EQ(row["_sluice_checkpoint"], "0000000000001234:00000000");
  EXPECT_EQ(ids_of(c.query("SELECT id FROM docs WHERE id < " + id)), (std::vector<std::string>{"9223372036854775807"}));
}

TEST_F(SphinxqlConnectionTest, VersionStringsCompareInPositionOrder) {
  SphinxqlConnection c = connect();
  const Position older = pg::position(pg::Lsn(0x9FFFFFFF), 7), newer = pg::position(pg::Lsn(0xA0000000), 1);
  c.execute("REPLACE INTO docs (id, title, _sluice_version) VALUES (1, 'a', " + quote_literal(older.encode()) + "), (2, 'b', " +
            quote_literal(newer.encode()) + ")");
  EXPECT_EQ(ids_of(c.query("SELECT id FROM docs ORDER BY _sluice_version DESC")), (std::vector<std::string>{"2", "1"}));
}

TEST_F(SphinxqlConnectionTest, BadStatementsAreServerErrorsNamingThem) {
  SphinxqlConnection c = connect();
  auto error_of = [&](const std::string& sql) {
    try {
      c.query(sql);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kServer) << e.what();
      return std::string(e.what());
    }
    ADD_FAILURE() << sql << " did not fail";
    return std::string();
  };
  std::string syntax = error_of("SELEC id FROM docs");
  EXPECT_NE(syntax.find("search sink 'test': searchd refused 'SELEC id FROM docs': sphinxql: syntax error"),
            std::string::npos)
      << syntax;
  EXPECT_NE(error_of("SELECT * FROM nosuch").find("unknown local index 'nosuch'"), std::string::npos);
  EXPECT_NE(error_of("REPLACE INTO docs (id, nosuch) VALUES (1, 2)").find("unknown column: 'nosuch'"),
            std::string::npos);
  EXPECT_NE(error_of("REPLACE INTO docs (id, s) VALUES (1, 'it''s')").find("syntax error"), std::string::npos);
  EXPECT_NE(error_of("REPLACE INTO docs (id, s) VALUES (1, NULL)").find("syntax error"), std::string::npos);
  c.execute("INSERT INTO docs (id, title) VALUES (1, 'x')");
  EXPECT_NE(error_of("INSERT INTO docs (id, title) VALUES (1, 'x')").find("duplicate id '1'"), std::string::npos);
  // A long statement is named by its start and its size.
  std::string long_sql = "SELEC " + std::string(1000, 'x');
  EXPECT_NE(error_of(long_sql).find("...' (1006 bytes)"), std::string::npos);
  // The connection is still good.
  EXPECT_FALSE(c.broken());
  EXPECT_EQ(count(c), 1u);
}

TEST_F(SphinxqlConnectionTest, ValuesSearchdWouldMangleAreWarningsThatThrow) {
  SphinxqlConnection c = connect();
  c.execute("BEGIN");
  try {
    c.execute("REPLACE INTO docs (id, title, j) VALUES (1, 'x', 'not json')");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("with a warning: column j: JSON error"), std::string::npos) << e.what();
  }
  c.execute("ROLLBACK");
  EXPECT_EQ(count(c), 0u);
  EXPECT_THROW(c.execute("REPLACE INTO docs (id, title, j) VALUES (1, 'x', '12')"), Error);
  EXPECT_FALSE(c.broken());
}

TEST_F(SphinxqlConnectionTest, StatementsOverMaxAllowedPacketAreRefusedBeforeSending) {
  SphinxqlConnection c = connect();
  EXPECT_EQ(c.max_allowed_packet(), 8u * 1024 * 1024);
  const size_t limit = c.max_allowed_packet();
  auto statement_of = [](size_t size) {
    const std::string head = "REPLACE INTO docs (id, title) VALUES (1, '";
    return head + std::string(size - head.size() - 2, 'a') + "')";
  };
  try {
    c.execute(statement_of(limit));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("over searchd's max_allowed_packet of 8388608"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(c.broken());
  // One byte less fits, and searchd takes it.
  EXPECT_EQ(c.execute(statement_of(limit - 1)), 1u);
  EXPECT_EQ(count(c), 1u);
}

TEST_F(SphinxqlConnectionTest, RefusedConnectionIsTransient) {
  const std::string url = server_.url();
  server_.stop();
  try {
    SphinxqlConnection c(SphinxqlUrl::parse(url), {}, "search sink 'test'");
    FAIL() << "connected to a stopped searchd";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTransient) << e.what();
    EXPECT_NE(std::string(e.what()).find("search sink 'test': cannot connect to " + url), std::string::npos)
        << e.what();
  }
}

TEST_F(SphinxqlConnectionTest, LostConnectionIsTransientAndBroken) {
  SphinxqlConnection c = connect();
  c.execute("REPLACE INTO docs (id, title) VALUES (1, 'x')");
  server_.kill();
  try {
    c.query("SELECT id FROM docs");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTransient) << e.what();
    EXPECT_NE(std::string(e.what()).find("'SELECT id FROM docs'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(c.broken());
  server_.start();
  // A broken connection stays broken: the owner reconnects.
  EXPECT_THROW(c.query("SELECT id FROM docs"), Error);
  SphinxqlConnection fresh = connect();
  EXPECT_EQ(count(fresh), 1u);
}

TEST_F(SphinxqlConnectionTest, CommittedDocumentsSurviveKill9) {
  {
    SphinxqlConnection c = connect();
    for (int t = 0; t < 10; ++t) {
      c.execute("BEGIN");
      for (int i = 1; i <= 10; ++i) {
        const int id = t * 10 + i;
        c.execute("REPLACE INTO docs (id, title, n, s) VALUES (" + std::to_string(id) + ", 'doc', " +
                  std::to_string(id * 3) + ", " + quote_literal("value " + std::to_string(id)) + ")");
      }
      c.execute("COMMIT");
    }
    c.execute("DELETE FROM docs WHERE id IN (5, 50)");
    c.execute("BEGIN");
    c.execute("REPLACE INTO docs (id, title) VALUES (1000, 'never committed')");
    server_.kill();
  }
  server_.start();
  SphinxqlConnection c = connect();
  EXPECT_EQ(count(c), 98u);
  EXPECT_TRUE(c.query("SELECT id FROM docs WHERE id IN (5, 50, 1000)").rows.empty());
  auto row = one_row(c.query("SELECT n, s FROM docs WHERE id = 77"));
  EXPECT_EQ(row["n"], "231");
  EXPECT_EQ(row["s"], "value 77");
  // And the replayed index still has the generated schema.
  EXPECT_TRUE(compare_schema(docs_definition(), parse_describe(c.query("DESCRIBE docs"))).empty());
}

TEST(SphinxServerTest, StartsWithADefaultIndexAndRestartsOnTheSamePort) {
  SphinxServer server;
  const int port = server.port();
  EXPECT_EQ(server.url(), "mysql://127.0.0.1:" + std::to_string(port));
  {
    SphinxqlConnection c(SphinxqlUrl::parse(server.url()), {}, "t");
    EXPECT_EQ(c.query("SHOW TABLES").rows.at(0).at(0), "sluice_default");
  }
  server.stop();
  server.start();
  EXPECT_EQ(server.port(), port);
  SphinxqlConnection c(SphinxqlUrl::parse(server.url()), {}, "t");
  EXPECT_EQ(c.query("SHOW TABLES").rows.size(), 1u);
}

}  // namespace
}  // namespace sluice::test
