// sphinxql_floor: the floor of writing the benchmark's documents into a search
// index (bench/run.sh, issue 13). A plain SphinxQL client, MariaDB Connector/C
// and nothing else: no PostgreSQL, no sluice, no reads. It empties an RT index
// (TRUNCATE RTINDEX), then writes DOCS documents of the shape sluice writes for
// the benchmark's tables (id, n bigint, payload: 180 bytes, a full-text field
// also stored as a string attribute, and sluice's four reserved string
// attributes with values of the same sizes) as multi-row
//   BEGIN; REPLACE INTO idx (id, ...) VALUES (...), (...) ...; COMMIT
// of BATCH documents each, one statement per batch unless it would exceed
// searchd's max_allowed_packet (split as the sink splits it). Document k (from
// 0) has id k % ROWS + 1 and n = k / ROWS + 1: with ROWS = DOCS every document
// is new (a snapshot), with fewer ROWS later passes replace earlier documents
// (a catch-up of updates). The values are generated here, deterministically.
// Prints the seconds from the first BEGIN to the last COMMIT; checks the
// document count afterwards.
//
// What sluice does on top of this per batch (src/sink/manticore/): read the
// index's checkpoint document, read the version and identity of every document
// the batch writes (SELECT ... WHERE id IN, 1000 ids at a time), and write the
// checkpoint document in the same transaction.
//
//   sphinxql_floor PORT INDEX DOCS BATCH ROWS [PAYLOAD_CHAR]
//   sphinxql_floor --query PORT STATEMENT   # prints the rows, tab-separated
//                                           # (run.sh's readiness check, counts)
// Connects to 127.0.0.1:PORT (searchd's mysql41 listener). Exits 1 on any error.
#include <mysql.h>

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

MYSQL* conn = nullptr;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sphinxql_floor: %s: %s\n", what.c_str(), conn ? mysql_error(conn) : "");
  std::exit(1);
}

void connect(unsigned port) {
  conn = mysql_init(nullptr);
  const unsigned protocol = MYSQL_PROTOCOL_TCP;
  mysql_options(conn, MYSQL_OPT_PROTOCOL, &protocol);
  if (mysql_real_connect(conn, "127.0.0.1", nullptr, nullptr, nullptr, port, nullptr, 0) == nullptr) die("connect");
}

void execute(const std::string& sql) {
  if (mysql_real_query(conn, sql.data(), sql.size()) != 0) die(sql.substr(0, 120));
  if (MYSQL_RES* r = mysql_store_result(conn)) mysql_free_result(r);
  if (mysql_warning_count(conn) != 0) die("warnings after " + sql.substr(0, 120));
}

// The first column of the first row, "" when none.
std::string query_one(const std::string& sql) {
  if (mysql_real_query(conn, sql.data(), sql.size()) != 0) die(sql);
  MYSQL_RES* r = mysql_store_result(conn);
  std::string out;
  if (r != nullptr) {
    if (MYSQL_ROW row = mysql_fetch_row(r); row != nullptr && row[0] != nullptr) out = row[0];
    mysql_free_result(r);
  }
  return out;
}

// One document as a VALUES tuple, sizes as sluice writes them: version
// "%016X:%08X" (a WAL position), identity "<length>:<id>", digest 16 hex digits.
void append_document(std::string& out, uint64_t k, uint64_t rows, const std::string& payload) {
  const uint64_t id = k % rows + 1;
  const uint64_t n = k / rows + 1;
  const std::string id_text = std::to_string(id);
  char version[32], digest[24];
  std::snprintf(version, sizeof version, "%016" PRIX64 ":%08X", uint64_t{0x16B374D848} + k * 120, 0u);
  std::snprintf(digest, sizeof digest, "%016" PRIx64, (id * uint64_t{0x9E3779B97F4A7C15}) ^ n);
  out += '(' + id_text + ", '" + payload + "', " + std::to_string(n) + ", '" + version + "', '" +
         std::to_string(id_text.size()) + ':' + id_text + "', '" + digest + "', '')";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--query") {
    connect(static_cast<unsigned>(std::atoi(argv[2])));
    if (mysql_query(conn, argv[3]) != 0) die(argv[3]);
    if (MYSQL_RES* r = mysql_store_result(conn)) {
      const unsigned fields = mysql_num_fields(r);
      while (MYSQL_ROW row = mysql_fetch_row(r)) {
        for (unsigned i = 0; i < fields; ++i) std::printf("%s%s", i ? "\t" : "", row[i] ? row[i] : "NULL");
        std::printf("\n");
      }
      mysql_free_result(r);
    }
    mysql_close(conn);
    return 0;
  }
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr,
                 "usage: sphinxql_floor PORT INDEX DOCS BATCH ROWS [PAYLOAD_CHAR]\n"
                 "       sphinxql_floor --query PORT STATEMENT\n");
    return 2;
  }
  const std::string index = argv[2];
  const uint64_t docs = std::strtoull(argv[3], nullptr, 10);
  const uint64_t batch = std::strtoull(argv[4], nullptr, 10);
  const uint64_t rows = std::strtoull(argv[5], nullptr, 10);
  const std::string payload(180, argc == 7 ? argv[6][0] : 'x');
  if (docs == 0 || batch == 0 || rows == 0) die("DOCS, BATCH and ROWS must be positive");
  connect(static_cast<unsigned>(std::atoi(argv[1])));

  uint64_t limit = 8388608;  // Sphinx 2.2's default max_allowed_packet, unless searchd says
  if (mysql_query(conn, "SHOW VARIABLES LIKE 'max_allowed_packet'") != 0) die("SHOW VARIABLES");
  if (MYSQL_RES* r = mysql_store_result(conn)) {
    if (MYSQL_ROW row = mysql_fetch_row(r); row != nullptr && row[1] != nullptr) limit = std::strtoull(row[1], nullptr, 10);
    mysql_free_result(r);
  }
  limit -= 1024;  // as the sink leaves room
  execute("TRUNCATE RTINDEX " + index);
  const std::string head = "REPLACE INTO " + index +
                           " (id, payload, n, _sluice_version, _sluice_identity, _sluice_digest, _sluice_checkpoint)"
                           " VALUES ";

  const auto start = std::chrono::steady_clock::now();
  std::string statement, document;
  for (uint64_t first = 0; first < docs; first += batch) {
    execute("BEGIN");
    statement = head;
    for (uint64_t k = first; k < first + batch && k < docs; ++k) {
      document.clear();
      append_document(document, k, rows, payload);
      if (statement.size() > head.size() && statement.size() + document.size() + 2 > limit) {
        execute(statement);
        statement = head;
      }
      if (statement.size() > head.size()) statement += ", ";
      statement += document;
    }
    execute(statement);
    execute("COMMIT");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const std::string found = query_one("SELECT COUNT(*) FROM " + index);
  const uint64_t expected = docs < rows ? docs : rows;
  if (std::strtoull(found.c_str(), nullptr, 10) != expected) {
    std::fprintf(stderr, "sphinxql_floor: %s holds %s documents, not %" PRIu64 "\n", index.c_str(), found.c_str(),
                 expected);
    return 1;
  }
  std::printf("%.3f\n", seconds);
  mysql_close(conn);
  return 0;
}
