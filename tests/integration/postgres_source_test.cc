// The libpq layer of the PostgreSQL source against a real server: connections and
// their error classes, the catalog, type resolution, slots, the exported-snapshot
// reader and the replication stream.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "harness/servers.h"
#include "source/postgres/catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_value_json.h"
#include "source/postgres/replication_stream.h"
#include "source/postgres/slot.h"
#include "source/postgres/snapshot_reader.h"
#include "source/postgres/type_resolver.h"

namespace sluice::pg {
namespace {

using namespace std::chrono_literals;
using test::PgClient;
using test::PostgresServer;

// One server for the whole file (started on first use, stopped after all tests):
// every test uses its own tables, slots and publications.
class SharedServer : public ::testing::Environment {
 public:
  static PostgresServer& get() {
    if (!server_) server_ = std::make_unique<PostgresServer>();
    return *server_;
  }
  void TearDown() override { server_.reset(); }

 private:
  static inline std::unique_ptr<PostgresServer> server_;
};
[[maybe_unused]] auto* const kSharedServerEnvironment = ::testing::AddGlobalTestEnvironment(new SharedServer);

class PostgresSourceTest : public ::testing::Test {
 protected:
  PostgresServer& pg() { return SharedServer::get(); }
  std::string dsn() { return pg().dsn() + " passfile=/dev/null"; }
  PgConnection connect(PgConnection::Mode mode = PgConnection::Mode::kNormal) {
    return PgConnection::connect(dsn(), mode);
  }
};

using PostgresConnectionTest = PostgresSourceTest;
using PostgresCatalogTest = PostgresSourceTest;
using PostgresTypeResolverTest = PostgresSourceTest;
using PostgresSlotTest = PostgresSourceTest;
using PostgresSnapshotReaderTest = PostgresSourceTest;
using PostgresReplicationStreamTest = PostgresSourceTest;

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// A TCP port nothing listens on: bind an ephemeral port, then close it.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

uint64_t be64(const std::vector<uint8_t>& data, size_t offset) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | data.at(offset + i);
  return v;
}

// ---------------------------------------------------------------------------------
// PgConnection

TEST_F(PostgresConnectionTest, WrongPasswordIsServerErrorThatNeverShowsThePassword) {
  std::string dsn = "host=127.0.0.1 port=" + std::to_string(pg().port()) +
                    " dbname=app user=app passfile=/dev/null password=Wr0ng-Pa55word";
  try {
    PgConnection::connect(dsn, PgConnection::Mode::kNormal);
    FAIL() << "connected with a wrong password";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::kServer) << message;
    EXPECT_FALSE(has(message, "Wr0ng-Pa55word")) << message;
    EXPECT_TRUE(has(message, "password authentication failed")) << message;
    EXPECT_TRUE(has(message, "127.0.0.1:" + std::to_string(pg().port()) + "/app")) << message;
  }
  // Same for a URI, and for a replication connection.
  std::string uri = "postgresql://app:Wr0ng-Pa55word@127.0.0.1:" + std::to_string(pg().port()) + "/app?passfile=/dev/null";
  try {
    PgConnection::connect(uri, PgConnection::Mode::kReplication);
    FAIL() << "connected with a wrong password";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kServer) << e.what();
    EXPECT_FALSE(has(e.what(), "Wr0ng-Pa55word")) << e.what();
  }
}

TEST_F(PostgresConnectionTest, ClosedPortIsTransient) {
  int port = closed_port();
  std::string dsn = "host=127.0.0.1 port=" + std::to_string(port) + " dbname=app user=app password=s3cr3t-value";
  try {
    PgConnection::connect(dsn, PgConnection::Mode::kNormal);
    FAIL() << "connected to a closed port";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTransient) << e.what();
    EXPECT_TRUE(e.retryable());
    EXPECT_TRUE(has(e.what(), "127.0.0.1:" + std::to_string(port) + "/app")) << e.what();
    EXPECT_FALSE(has(e.what(), "s3cr3t-value")) << e.what();
  }
}

TEST_F(PostgresConnectionTest, MissingDatabaseIsServerErrorAndBadDsnIsConfigError) {
  std::string dsn = "host=127.0.0.1 port=" + std::to_string(pg().port()) +
                    " dbname=no_such_db user=app password=app-secret passfile=/dev/null";
  try {
    PgConnection::connect(dsn, PgConnection::Mode::kNormal);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kServer) << e.what();
    EXPECT_TRUE(has(e.what(), "no_such_db")) << e.what();
  }
  try {
    // libpq's message would quote the fragment after the space: part of the password.
    PgConnection::connect("host=127.0.0.1 password=top secret-x", PgConnection::Mode::kNormal);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig) << e.what();
    EXPECT_FALSE(has(e.what(), "secret-x")) << e.what();
  }
}

TEST_F(PostgresConnectionTest, PinsSessionSettingsAndKeepsTheDsnOptions) {
  std::string uri = "postgresql://app:app-secret@127.0.0.1:" + std::to_string(pg().port()) +
                    "/app?passfile=/dev/null&options=-c%20search_path%3Dpg_catalog";
  for (const std::string& d : {dsn() + " options='-c search_path=pg_catalog'", uri}) {
    PgConnection conn = PgConnection::connect(d, PgConnection::Mode::kNormal);
    auto r = conn.exec(
        "SELECT current_setting('TimeZone'), current_setting('DateStyle'), current_setting('IntervalStyle'), "
        "current_setting('extra_float_digits'), current_setting('bytea_output'), "
        "current_setting('application_name'), current_setting('search_path'), "
        "'2024-01-02 03:04:05+02'::timestamptz::text, (1::float8 / 3)::text");
    ASSERT_EQ(r.rows(), 1);
    EXPECT_EQ(r.value(0, 0), "UTC");
    EXPECT_EQ(r.value(0, 1), "ISO, MDY");
    EXPECT_EQ(r.value(0, 2), "postgres");
    EXPECT_EQ(r.value(0, 3), "3");
    EXPECT_EQ(r.value(0, 4), "hex");
    EXPECT_EQ(r.value(0, 5), "sluice");
    EXPECT_EQ(r.value(0, 6), "pg_catalog");
    EXPECT_EQ(r.value(0, 7), "2024-01-02 01:04:05+00");
    EXPECT_EQ(r.value(0, 8), conn.server_version() >= 120000 ? "0.3333333333333333" : "0.333333333333333315");
    EXPECT_EQ(conn.where(), "127.0.0.1:" + std::to_string(pg().port()) + "/app");
    EXPECT_GE(conn.server_version(), 100000);
  }
  PgConnection named = PgConnection::connect(dsn() + " application_name=mine", PgConnection::Mode::kNormal);
  EXPECT_EQ(named.exec("SHOW application_name").value(0, 0), "mine");
}

TEST_F(PostgresConnectionTest, SqlErrorsCarrySqlstateAndParamsWork) {
  PgConnection conn = connect();
  try {
    conn.exec("SELECT * FROM no_such_table_anywhere");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kServer);
    EXPECT_TRUE(has(e.what(), "42P01")) << e.what();
    EXPECT_TRUE(has(e.what(), "no_such_table_anywhere")) << e.what();
  }
  // The connection is still usable after an SQL error.
  auto r = conn.exec_params("SELECT $1::text, $2::int + 1, $3::text IS NULL", {"a'b", "41", std::nullopt});
  ASSERT_EQ(r.rows(), 1);
  EXPECT_EQ(r.value(0, 0), "a'b");
  EXPECT_EQ(r.value(0, 1), "42");
  EXPECT_EQ(r.value(0, 2), "t");
  EXPECT_EQ(r.column_name(1), "?column?");
  EXPECT_EQ(r.column_type(1), 23u);  // int4
  EXPECT_FALSE(r.is_null(0, 0));
  EXPECT_THROW(r.value(1, 0), Error);
  EXPECT_THROW(r.value(0, 3), Error);

  EXPECT_EQ(conn.quote_identifier("Mixed \"Case\""), "\"Mixed \"\"Case\"\"\"");
  EXPECT_EQ(conn.quote_literal("it's"), "'it''s'");
  EXPECT_EQ(conn.exec("SELECT " + conn.quote_literal("x\\y'z")).value(0, 0), "x\\y'z");
  EXPECT_EQ(conn.quote_qualified("public", "t"), "\"public\".\"t\"");
}

TEST_F(PostgresConnectionTest, TerminatedBackendIsTransient) {
  PgConnection conn = connect();
  PgClient admin(dsn());
  admin.exec("SELECT pg_terminate_backend(" + std::to_string(conn.backend_pid()) + ")");
  std::optional<ErrorKind> kind;
  std::string message;
  EXPECT_TRUE(test::eventually([&] {
    try {
      conn.exec("SELECT 1");
      return false;
    } catch (const Error& e) {
      kind = e.kind();
      message = e.what();
      return true;
    }
  })) << "a terminated connection still answered";
  EXPECT_EQ(kind, ErrorKind::kTransient) << message;
}

// ---------------------------------------------------------------------------------
// Catalog

TEST_F(PostgresCatalogTest, DescribesTableColumnsAndPrimaryKeyOrder) {
  PgClient c(dsn());
  c.exec(
      "CREATE TABLE cat_orders (b int NOT NULL, a text, gone int, g int GENERATED ALWAYS AS (b * 2) STORED, "
      "c numeric(10,2), PRIMARY KEY (a, b) INCLUDE (c));"
      "ALTER TABLE cat_orders DROP COLUMN gone;"
      "ALTER TABLE cat_orders ADD COLUMN d varchar(7)");
  PgConnection conn = connect();
  TableInfo t = describe_table(conn, "public.cat_orders");
  ASSERT_TRUE(t.exists);
  EXPECT_NE(t.oid, 0u);
  EXPECT_EQ(t.schema, "public");
  EXPECT_EQ(t.name, "cat_orders");
  EXPECT_EQ(t.kind, 'r');
  EXPECT_EQ(t.replica_identity, 'd');
  EXPECT_EQ(t.primary_key, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(t.columns.size(), 4u);
  EXPECT_EQ(t.columns[0], (ColumnInfo{"b", 23, -1, true}));
  EXPECT_EQ(t.columns[1], (ColumnInfo{"a", 25, -1, true}));  // PK implies NOT NULL
  EXPECT_EQ(t.columns[2].name, "c");
  EXPECT_EQ(t.columns[2].type_oid, 1700u);
  EXPECT_EQ(t.columns[2].type_modifier, ((10 << 16) | 2) + 4);
  EXPECT_EQ(t.columns[3].name, "d");
  EXPECT_EQ(t.column_index("d"), 3);
  EXPECT_EQ(t.column_index("g"), -1);
  EXPECT_EQ(t.estimated_rows, 0);

  // Unqualified names are in public; other schemas and exact (case-sensitive) names.
  c.exec("CREATE SCHEMA cat_s; CREATE TABLE cat_s.\"Mixed\" (id int); ALTER TABLE cat_s.\"Mixed\" REPLICA IDENTITY FULL");
  EXPECT_TRUE(describe_table(conn, "cat_orders").exists);
  TableInfo mixed = describe_table(conn, "cat_s.Mixed");
  ASSERT_TRUE(mixed.exists);
  EXPECT_TRUE(mixed.primary_key.empty());
  EXPECT_EQ(mixed.replica_identity, 'f');
  EXPECT_FALSE(describe_table(conn, "cat_s.mixed").exists);

  TableInfo missing = describe_table(conn, "public.cat_nothing_here");
  EXPECT_FALSE(missing.exists);
  EXPECT_EQ(missing.qualified_name(), "public.cat_nothing_here");
  EXPECT_THROW(describe_table(conn, "public."), Error);

  c.exec("INSERT INTO cat_orders (a, b) SELECT 'k' || i, i FROM generate_series(1, 500) i; ANALYZE cat_orders");
  EXPECT_EQ(describe_table(conn, "public.cat_orders").estimated_rows, 500);
}

TEST_F(PostgresCatalogTest, SettingsRolePrivilegesAndPublications) {
  PgClient c(dsn());
  c.exec(
      "CREATE TABLE cat_pub_a (id int PRIMARY KEY); CREATE TABLE cat_pub_b (id int PRIMARY KEY);"
      "CREATE TABLE cat_secret (id int PRIMARY KEY);"
      "CREATE ROLE cat_reader LOGIN PASSWORD 'reader-pw'; GRANT SELECT ON cat_pub_a TO cat_reader");
  PgConnection conn = connect();
  ServerSettings s = server_settings(conn);
  EXPECT_EQ(s.wal_level, "logical");
  EXPECT_EQ(s.server_version_num, conn.server_version());
  EXPECT_GE(s.max_replication_slots, 10);
  EXPECT_GE(s.max_wal_senders, 10);

  RoleInfo role = role_info(conn);
  EXPECT_EQ(role.rolname, "app");
  EXPECT_TRUE(role.rolsuper);
  EXPECT_TRUE(role.rolreplication);

  std::string reader_dsn = "host=127.0.0.1 port=" + std::to_string(pg().port()) +
                           " dbname=app user=cat_reader password=reader-pw passfile=/dev/null";
  PgConnection reader = PgConnection::connect(reader_dsn, PgConnection::Mode::kNormal);
  RoleInfo reader_role = role_info(reader);
  EXPECT_EQ(reader_role.rolname, "cat_reader");
  EXPECT_FALSE(reader_role.rolsuper);
  EXPECT_FALSE(reader_role.rolreplication);
  EXPECT_TRUE(table_privileges(reader, describe_table(reader, "public.cat_pub_a")).select);
  EXPECT_FALSE(table_privileges(reader, describe_table(reader, "public.cat_secret")).select);
  EXPECT_TRUE(can_select(reader, "public.cat_pub_a"));
  EXPECT_FALSE(can_select(reader, "public.cat_secret"));
  EXPECT_FALSE(can_select(reader, "public.cat_not_there"));

  EXPECT_FALSE(publication_exists(conn, "cat_pub"));
  EXPECT_FALSE(query_publication(conn, "cat_pub").has_value());
  create_publication(conn, "cat_pub", std::vector<std::string>{"public.cat_pub_b", "public.cat_pub_a"});
  EXPECT_TRUE(publication_exists(conn, "cat_pub"));
  auto info = query_publication(conn, "cat_pub");
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->all_tables);
  EXPECT_TRUE(info->publishes_insert && info->publishes_update && info->publishes_delete);
  EXPECT_EQ(publication_tables(conn, "cat_pub"),
            (std::vector<TableName>{{"public", "cat_pub_a"}, {"public", "cat_pub_b"}}));
  EXPECT_THROW(create_publication(conn, "cat_pub_empty", std::vector<TableName>{}), Error);

  c.exec("CREATE PUBLICATION cat_pub_all FOR ALL TABLES");
  auto all = query_publication(conn, "cat_pub_all");
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->all_tables);
  auto tables = publication_tables(conn, "cat_pub_all");
  EXPECT_NE(std::find(tables.begin(), tables.end(), TableName{"public", "cat_secret"}), tables.end());
  c.exec("DROP PUBLICATION cat_pub_all");
}

// ---------------------------------------------------------------------------------
// TypeResolver

TEST_F(PostgresTypeResolverTest, ResolvesDomainsEnumsCompositesAndArrays) {
  PgClient c(dsn());
  c.exec(
      "CREATE DOMAIN tr_posint AS int4 CHECK (VALUE > 0);"
      "CREATE DOMAIN tr_posint2 AS tr_posint;"
      "CREATE TYPE tr_mood AS ENUM ('sad', 'ok');"
      "CREATE TYPE tr_pair AS (x int4, m tr_mood, gone text, tags text[]);"
      "ALTER TYPE tr_pair DROP ATTRIBUTE gone;"
      "CREATE TYPE tr_box_range AS RANGE (subtype = float8);"
      "CREATE TABLE tr_t (moods tr_mood[], boxes box[], pairs tr_pair[], ints tr_posint[])");
  auto oid = [&](const std::string& type) { return static_cast<uint32_t>(std::stoul(c.scalar("SELECT '" + type + "'::regtype::oid"))); };

  PgConnection conn = connect();
  int lookups = 0;
  TypeResolver resolver([&]() -> PgConnection& {
    ++lookups;
    return conn;
  });

  TypeInfoPtr posint = resolver.resolve(oid("tr_posint"));
  EXPECT_EQ(posint->category, ValueCategory::kInteger);  // a domain over int4
  EXPECT_EQ(posint->renderer, &to_jsonb_renderer());
  EXPECT_EQ(posint->source_type_id, oid("tr_posint"));
  EXPECT_EQ(posint->name, "public.tr_posint");
  EXPECT_EQ(resolver.resolve(oid("tr_posint2"))->category, ValueCategory::kInteger);

  TypeInfoPtr mood = resolver.resolve(oid("tr_mood"));
  EXPECT_EQ(mood->category, ValueCategory::kString);
  EXPECT_EQ(mood->name, "public.tr_mood");
  EXPECT_EQ(mood->renderer, &to_jsonb_renderer());

  TypeInfoPtr pair = resolver.resolve(oid("tr_pair"));
  ASSERT_EQ(pair->category, ValueCategory::kComposite);
  ASSERT_EQ(pair->fields.size(), 3u);
  EXPECT_EQ(pair->fields[0].name, "x");
  EXPECT_EQ(pair->fields[0].type->category, ValueCategory::kInteger);
  EXPECT_EQ(pair->fields[1].name, "m");
  EXPECT_EQ(pair->fields[1].type->category, ValueCategory::kString);
  EXPECT_EQ(pair->fields[2].name, "tags");
  ASSERT_EQ(pair->fields[2].type->category, ValueCategory::kArray);
  EXPECT_EQ(pair->fields[2].type->element->category, ValueCategory::kString);

  TypeInfoPtr moods = resolver.resolve(oid("tr_mood[]"));
  ASSERT_EQ(moods->category, ValueCategory::kArray);
  EXPECT_EQ(moods->element->category, ValueCategory::kString);
  EXPECT_EQ(moods->element->source_type_id, oid("tr_mood"));
  EXPECT_EQ(moods->array_delimiter, ',');

  TypeInfoPtr pairs = resolver.resolve(oid("tr_pair[]"));
  ASSERT_EQ(pairs->category, ValueCategory::kArray);
  EXPECT_EQ(pairs->element->category, ValueCategory::kComposite);

  TypeInfoPtr ints = resolver.resolve(oid("tr_posint[]"));
  ASSERT_EQ(ints->category, ValueCategory::kArray);
  EXPECT_EQ(ints->element->category, ValueCategory::kInteger);

  TypeInfoPtr boxes = resolver.resolve(oid("box[]"));
  ASSERT_EQ(boxes->category, ValueCategory::kArray);
  EXPECT_EQ(boxes->array_delimiter, ';');

  EXPECT_EQ(resolver.resolve(oid("tr_box_range"))->category, ValueCategory::kString);
  EXPECT_EQ(resolver.resolve(23)->category, ValueCategory::kInteger);  // builtin int4

  // Cached: resolving again asks nothing of the server.
  int before = lookups;
  EXPECT_EQ(resolver.resolve(oid("tr_pair")), pair);
  EXPECT_EQ(resolver.resolve(oid("tr_mood[]")), moods);
  EXPECT_EQ(lookups, before);

  try {
    resolver.resolve(4000000000u);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kServer);
    EXPECT_TRUE(has(e.what(), "4000000000")) << e.what();
  }
}

TEST_F(PostgresTypeResolverTest, ExtensionTypesAreStringsUnlessTheyCastToJson) {
  PgClient c(dsn());
  auto available = [&](const std::string& ext) {
    return c.scalar("SELECT count(*) FROM pg_available_extensions WHERE name = '" + ext + "'") == "1";
  };
  auto oid = [&](const std::string& type) { return static_cast<uint32_t>(std::stoul(c.scalar("SELECT '" + type + "'::regtype::oid"))); };
  PgConnection conn = connect();
  TypeResolver resolver([&]() -> PgConnection& { return conn; });

  // A user type with a function cast to json: to_jsonb() would call it.
  c.exec(
      "CREATE TYPE tr_color AS ENUM ('red');"
      "CREATE FUNCTION tr_color_json(tr_color) RETURNS json LANGUAGE sql AS $$ SELECT to_json($1::text || '!') $$;"
      "CREATE CAST (tr_color AS json) WITH FUNCTION tr_color_json(tr_color);"
      "CREATE DOMAIN tr_color_d AS tr_color");
  for (const char* type : {"tr_color", "tr_color_d", "tr_color[]"}) {
    try {
      resolver.resolve(oid(type));
      FAIL() << type;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
      EXPECT_TRUE(has(e.what(), "public.tr_color has a cast to json")) << e.what();
    }
  }

  if (available("citext")) {
    c.exec("CREATE EXTENSION IF NOT EXISTS citext");
    EXPECT_EQ(resolver.resolve(oid("citext"))->category, ValueCategory::kString);
    EXPECT_EQ(resolver.resolve(oid("citext[]"))->element->category, ValueCategory::kString);
  } else {
    std::cout << "citext is not available; skipped\n";
  }
  if (available("hstore")) {
    c.exec("CREATE EXTENSION IF NOT EXISTS hstore");
    EXPECT_THROW(resolver.resolve(oid("hstore")), Error);
  }
}

// ---------------------------------------------------------------------------------
// Slots

TEST_F(PostgresSlotTest, CreatesQueriesAndDropsALogicalSlot) {
  EXPECT_THROW(validate_slot_name("Bad-Name"), Error);
  EXPECT_THROW(validate_slot_name(""), Error);
  EXPECT_NO_THROW(validate_slot_name("sluice_01"));

  PgConnection conn = connect();
  EXPECT_FALSE(query_slot(conn, "slot_basic").has_value());
  CreatedSlot created;
  {
    PgConnection repl = connect(PgConnection::Mode::kReplication);
    created = create_logical_slot(repl, "slot_basic");
    EXPECT_FALSE(created.consistent_point.is_zero());
    EXPECT_FALSE(created.snapshot_name.empty());
    // A second slot of the same name is refused (42710), as a server error.
    try {
      PgConnection repl2 = connect(PgConnection::Mode::kReplication);
      create_logical_slot(repl2, "slot_basic");
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kServer) << e.what();
      EXPECT_TRUE(has(e.what(), "42710")) << e.what();
    }
  }
  auto slot = query_slot(conn, "slot_basic");
  ASSERT_TRUE(slot.has_value());
  EXPECT_EQ(slot->slot_name, "slot_basic");
  EXPECT_EQ(slot->plugin, "pgoutput");
  EXPECT_EQ(slot->slot_type, "logical");
  EXPECT_EQ(slot->database, "app");
  EXPECT_FALSE(slot->temporary);
  EXPECT_EQ(slot->confirmed_flush_lsn, created.consistent_point);
  EXPECT_FALSE(slot->restart_lsn.is_zero());
  EXPECT_LE(slot->restart_lsn, slot->confirmed_flush_lsn);
  if (conn.server_version() >= 130000) {
    EXPECT_EQ(slot->wal_status.value_or("?"), "reserved");
  }

  // A normal connection cannot create a slot.
  EXPECT_THROW(create_logical_slot(conn, "slot_other"), Error);

  EXPECT_TRUE(drop_slot(conn, "slot_basic"));
  EXPECT_FALSE(query_slot(conn, "slot_basic").has_value());
  EXPECT_FALSE(drop_slot(conn, "slot_basic"));
}

TEST_F(PostgresSlotTest, DropWaitsForAClosedStreamButNotForAnActiveOne) {
  PgClient c(dsn());
  c.exec("CREATE TABLE slot_t (id int PRIMARY KEY); CREATE PUBLICATION slot_pub FOR TABLE slot_t");
  {
    PgConnection repl = connect(PgConnection::Mode::kReplication);
    create_logical_slot(repl, "slot_active");
  }
  PgConnection conn = connect();
  {
    ReplicationStream stream(dsn());
    stream.start("slot_active", Lsn(), "slot_pub", 1, false);
    ASSERT_TRUE(test::eventually([&] { return query_slot(conn, "slot_active")->active; }));
    try {
      drop_slot(conn, "slot_active", 300ms);
      FAIL() << "dropped an active slot";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
      EXPECT_TRUE(has(e.what(), "slot_active")) << e.what();
      EXPECT_TRUE(has(e.what(), "PID")) << e.what();
    }
  }
  // The stream is closed; its walsender may still hold the slot for a moment.
  EXPECT_TRUE(drop_slot(conn, "slot_active", 10s));
}

// ---------------------------------------------------------------------------------
// SnapshotReader

std::vector<std::vector<Value>> read_all(SnapshotReader& reader, size_t chunk_limit, size_t* chunks = nullptr) {
  std::vector<std::vector<Value>> all, rows;
  size_t n = 0;
  while (reader.next_chunk(rows)) {
    EXPECT_LE(rows.size(), chunk_limit);
    EXPECT_FALSE(rows.empty());
    ++n;
    for (auto& r : rows) all.push_back(std::move(r));
  }
  EXPECT_TRUE(rows.empty());
  if (chunks) *chunks = n;
  return all;
}

// A large table is read in parts (parallel snapshot workers): the parts between
// split points cover it exactly, under the same exported snapshot, for a
// composite key whose first column repeats and for a text key.
TEST_F(PostgresSnapshotReaderTest, PartsBetweenSplitPointsCoverTheTableExactly) {
  PgClient c(dsn());
  c.exec(
      "CREATE TABLE parted (tenant int, id int, v text, PRIMARY KEY (tenant, id));"
      "INSERT INTO parted SELECT t, i, 'v' || i FROM generate_series(1, 40) t, generate_series(1, 50) i;"
      "CREATE TABLE parted_text (k text PRIMARY KEY, n int);"
      "INSERT INTO parted_text SELECT 'key ''' || lpad(g::text, 5, '0'), g FROM generate_series(1, 1000) g;"
      "ANALYZE parted; ANALYZE parted_text");
  PgConnection repl = connect(PgConnection::Mode::kReplication);
  CreatedSlot created = create_logical_slot(repl, "slot_parts");
  c.exec("INSERT INTO parted VALUES (0, 1, 'late'), (41, 1, 'late'); DELETE FROM parted WHERE tenant = 20 AND id = 7");

  PgConnection conn = connect();
  for (const std::string name : {"public.parted", "public.parted_text"}) {
    TableInfo table = describe_table(conn, name);
    std::vector<std::string> points = split_points(conn, table, 4);
    ASSERT_EQ(points.size(), 3u) << name;
    SnapshotReader reader(dsn(), created.snapshot_name);
    std::vector<std::string> seen;  // the rows' keys, in read order
    std::optional<std::string> from;
    for (size_t i = 0; i <= points.size(); ++i) {
      std::optional<std::string> to = i < points.size() ? std::optional(points[i]) : std::nullopt;
      reader.begin_table(table, 97, {}, {from, to});
      for (auto& row : read_all(reader, 97)) seen.push_back(row[0].text + "/" + row[1].text);
      from = to;
    }
    reader.close();
    SnapshotReader whole(dsn(), created.snapshot_name);
    whole.begin_table(table, 1000);
    std::vector<std::string> all;
    for (auto& row : read_all(whole, 1000)) all.push_back(row[0].text + "/" + row[1].text);
    whole.close();
    EXPECT_EQ(seen, all) << name;  // every row once, in key order
    EXPECT_EQ(all.size(), name == "public.parted" ? 2000u : 1000u) << name;
  }
  EXPECT_TRUE(split_points(conn, describe_table(conn, "public.parted"), 1).empty());
}

TEST_F(PostgresSnapshotReaderTest, ReadsExactlyTheRowsOfTheExportedSnapshot) {
  PgClient c(dsn());
  c.exec(
      "CREATE TABLE snap_items (tenant int, id int, name text, at timestamptz, PRIMARY KEY (tenant, id));"
      "INSERT INTO snap_items SELECT t, i, CASE WHEN i = 2 THEN NULL ELSE 'n' || t || '-' || i END, "
      "  '2024-05-06 07:08:09.5+02' FROM generate_series(1, 3) t, generate_series(1, 7) i;"
      "CREATE TABLE snap_nokey (v text, n int); ALTER TABLE snap_nokey REPLICA IDENTITY FULL;"
      "INSERT INTO snap_nokey SELECT 'v' || i, i FROM generate_series(1, 10) i");

  PgConnection repl = connect(PgConnection::Mode::kReplication);
  CreatedSlot created = create_logical_slot(repl, "slot_snapshot");

  // Changes after the consistent point: they belong to the stream, not the snapshot.
  c.exec(
      "INSERT INTO snap_items VALUES (0, 1, 'new', now()), (2, 100, 'new', now()), (9, 9, 'new', now());"
      "UPDATE snap_items SET name = 'changed' WHERE tenant = 1 AND id = 1;"
      "DELETE FROM snap_items WHERE tenant = 3 AND id = 7;"
      "INSERT INTO snap_nokey VALUES ('late', 11)");

  PgConnection conn = connect();
  TableInfo items = describe_table(conn, "public.snap_items");
  TableInfo nokey = describe_table(conn, "public.snap_nokey");

  SnapshotReader reader(dsn(), created.snapshot_name);
  reader.begin_table(items, 4);
  size_t chunks = 0;
  auto rows = read_all(reader, 4, &chunks);
  ASSERT_EQ(rows.size(), 21u);
  EXPECT_EQ(chunks, 6u);  // 4+4+4+4+4+1
  EXPECT_EQ(reader.rows_read(), 21u);
  size_t k = 0;
  for (int t = 1; t <= 3; ++t) {
    for (int i = 1; i <= 7; ++i, ++k) {
      ASSERT_EQ(rows[k].size(), 4u);
      EXPECT_EQ(rows[k][0], Value::of(std::to_string(t)));
      EXPECT_EQ(rows[k][1], Value::of(std::to_string(i)));
      if (i == 2) {
        EXPECT_TRUE(rows[k][2].is_null());
      } else {
        EXPECT_EQ(rows[k][2], Value::of("n" + std::to_string(t) + "-" + std::to_string(i)));
      }
      EXPECT_EQ(rows[k][3], Value::of("2024-05-06 05:08:09.5+00"));
    }
  }
  EXPECT_EQ(reader.last_key(), (std::vector<std::string>{"3", "7"}));

  // Resuming after a key; a chunk size that divides the table exactly.
  reader.begin_table(items, 7, {"2", "7"});
  size_t resumed_chunks = 0;
  auto rest = read_all(reader, 7, &resumed_chunks);
  ASSERT_EQ(rest.size(), 7u);
  EXPECT_EQ(resumed_chunks, 1u);
  EXPECT_EQ(rest.front()[0], Value::of("3"));
  EXPECT_EQ(rest.front()[1], Value::of("1"));

  // No primary key: one pass through a cursor, same snapshot.
  reader.begin_table(nokey, 3);
  auto plain = read_all(reader, 3);
  ASSERT_EQ(plain.size(), 10u);
  std::vector<std::string> values;
  for (auto& r : plain) values.push_back(r[0].text);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(std::count(values.begin(), values.end(), "late"), 0);
  EXPECT_TRUE(reader.last_key().empty());
  reader.close();

  // A second reader imports the same snapshot while `repl` is still idle.
  SnapshotReader second(dsn(), created.snapshot_name);
  second.begin_table(items, 100);
  EXPECT_EQ(read_all(second, 100).size(), 21u);
  second.close();

  // Once the creating connection is gone (its backend exits asynchronously), the
  // snapshot cannot be imported.
  repl.close();
  std::optional<ErrorKind> kind;
  std::string message;
  EXPECT_TRUE(test::eventually([&] {
    try {
      SnapshotReader late(dsn(), created.snapshot_name);
      return false;
    } catch (const Error& e) {
      kind = e.kind();
      message = e.what();
      return true;
    }
  })) << "imported a snapshot whose exporter is gone";
  EXPECT_EQ(kind, ErrorKind::kServer) << message;
  EXPECT_TRUE(drop_slot(conn, "slot_snapshot"));
}

TEST_F(PostgresSnapshotReaderTest, MissingTableIsAnError) {
  PgConnection repl = connect(PgConnection::Mode::kReplication);
  CreatedSlot created = create_logical_slot(repl, "slot_snapshot_missing");
  SnapshotReader reader(dsn(), created.snapshot_name);
  TableInfo missing;
  missing.schema = "public";
  missing.name = "snap_nothing";
  EXPECT_THROW(reader.begin_table(missing, 10), Error);
  std::vector<std::vector<Value>> rows;
  EXPECT_FALSE(reader.next_chunk(rows));
  reader.close();
  repl.close();
  PgConnection conn = connect();
  EXPECT_TRUE(drop_slot(conn, "slot_snapshot_missing"));
}

// ---------------------------------------------------------------------------------
// ReplicationStream

TEST_F(PostgresReplicationStreamTest, StreamsChangesAnswersStatusAndMovesTheSlot) {
  PgClient c(dsn());
  c.exec("CREATE TABLE rs_t (id int PRIMARY KEY, v text); CREATE PUBLICATION rs_pub FOR TABLE rs_t");
  PgConnection conn = connect();

  ReplicationStream stream(dsn());
  SystemIdentity id = stream.identify_system();
  EXPECT_EQ(id.dbname, "app");
  EXPECT_GE(id.timeline, 1);
  EXPECT_FALSE(id.xlogpos.is_zero());
  EXPECT_FALSE(id.system_id.empty());

  create_logical_slot(stream.connection(), "slot_stream");
  Lsn start = query_slot(conn, "slot_stream")->confirmed_flush_lsn;
  stream.start("slot_stream", Lsn(), "rs_pub", 1, true);
  EXPECT_TRUE(stream.streaming());
  EXPECT_THROW(stream.identify_system(), Error);

  c.exec("INSERT INTO rs_t VALUES (1, 'one')");
  c.exec("SELECT pg_logical_emit_message(true, 'rs', 'hello')");

  // pgoutput: Begin, Relation, Insert, Commit, then Begin, Message, Commit.
  std::vector<char> kinds;
  Lsn wal_end;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  int commits = 0;
  while (commits < 2 && std::chrono::steady_clock::now() < deadline) {
    auto data = stream.read(200ms);
    if (!data) continue;
    ASSERT_FALSE(data->empty());
    if ((*data)[0] == 'w') {
      ASSERT_GE(data->size(), 26u);
      char kind = static_cast<char>((*data)[25]);
      kinds.push_back(kind);
      wal_end = std::max(wal_end, Lsn(be64(*data, 9)));
      if (kind == 'C') ++commits;
    } else {
      ASSERT_EQ((*data)[0], 'k');
    }
  }
  EXPECT_EQ(kinds, (std::vector<char>{'B', 'R', 'I', 'C', 'B', 'M', 'C'}));
  ASSERT_GT(wal_end, start);

  // Nothing more to read: a timeout, not an error.
  auto before = std::chrono::steady_clock::now();
  std::optional<std::vector<uint8_t>> nothing;
  do {
    nothing = stream.read(100ms);
  } while (nothing && (*nothing)[0] == 'k');
  EXPECT_FALSE(nothing.has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - before, 90ms);

  // A status update asking for a reply gets a keepalive; flush moves the slot.
  stream.send_status(wal_end, wal_end, wal_end, true);
  bool keepalive = false;
  deadline = std::chrono::steady_clock::now() + 10s;
  while (!keepalive && std::chrono::steady_clock::now() < deadline) {
    auto data = stream.read(200ms);
    if (data && (*data)[0] == 'k') {
      ASSERT_EQ(data->size(), 18u);
      EXPECT_GE(Lsn(be64(*data, 1)), wal_end);
      keepalive = true;
    }
  }
  EXPECT_TRUE(keepalive);
  EXPECT_TRUE(test::eventually([&] { return query_slot(conn, "slot_stream")->confirmed_flush_lsn >= wal_end; }));
  EXPECT_TRUE(query_slot(conn, "slot_stream")->active);

  stream.close();
  EXPECT_TRUE(drop_slot(conn, "slot_stream"));
}

TEST_F(PostgresReplicationStreamTest, SlotProblemsAreClassified) {
  PgClient c(dsn());
  c.exec("CREATE TABLE rs_err (id int PRIMARY KEY); CREATE PUBLICATION rs_err_pub FOR TABLE rs_err");
  {
    ReplicationStream stream(dsn());
    try {
      stream.start("slot_never_created", Lsn(), "rs_err_pub", 1, false);
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kState) << e.what();
      EXPECT_TRUE(has(e.what(), "slot_never_created")) << e.what();
    }
  }
  {
    PgConnection repl = connect(PgConnection::Mode::kReplication);
    create_logical_slot(repl, "slot_busy");
  }
  ReplicationStream first(dsn());
  first.start("slot_busy", Lsn(), "rs_err_pub", 1, false);
  {
    ReplicationStream second(dsn());
    try {
      second.start("slot_busy", Lsn(), "rs_err_pub", 1, false);
      FAIL() << "two streams on one slot";
    } catch (const Error& e) {
      // Active for another PID: retryable (often a previous connection not yet reaped).
      EXPECT_EQ(e.kind(), ErrorKind::kTransient) << e.what();
      EXPECT_TRUE(has(e.what(), "55006")) << e.what();
    }
  }
  // The walsender is terminated: the stream reports a transient error.
  PgConnection conn = connect();
  conn.exec("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'slot_busy'");
  try {
    for (int i = 0; i < 100; ++i) first.read(100ms);
    FAIL() << "the stream outlived its walsender";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTransient) << e.what();
  }
  EXPECT_FALSE(first.streaming());
  EXPECT_TRUE(drop_slot(conn, "slot_busy"));
}

TEST_F(PostgresReplicationStreamTest, ServerShutdownIsTransient) {
  PostgresServer own;  // stopped by this test
  std::string own_dsn = own.dsn() + " passfile=/dev/null";
  PgClient c(own_dsn);
  c.exec("CREATE TABLE rs_down (id int PRIMARY KEY); CREATE PUBLICATION rs_down_pub FOR TABLE rs_down");
  {
    PgConnection repl = PgConnection::connect(own_dsn, PgConnection::Mode::kReplication);
    create_logical_slot(repl, "slot_down");
  }
  ReplicationStream stream(own_dsn);
  stream.start("slot_down", Lsn(), "rs_down_pub", 1, false);
  stream.read(100ms);
  // A logical walsender shuts down only once the client has confirmed everything
  // it sent (else it waits for wal_sender_timeout): answer keepalives like sluice.
  std::thread stopper([&] { own.stop(); });
  try {
    for (int i = 0; i < 300; ++i) {
      auto data = stream.read(100ms);
      if (data && (*data)[0] == 'k') {
        Lsn end(be64(*data, 1));
        stream.send_status(end, end, end, false);
      }
    }
    ADD_FAILURE() << "the stream outlived the server";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTransient) << e.what();
    std::cout << "stream ended with: " << e.what() << "\n";
  }
  stopper.join();
  try {
    PgConnection::connect(own_dsn, PgConnection::Mode::kNormal);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTransient) << e.what();
  }
}

}  // namespace
}  // namespace sluice::pg
