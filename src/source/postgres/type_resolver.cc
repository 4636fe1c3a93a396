#include "source/postgres/type_resolver.h"

#include <charconv>
#include <utility>

#include <fmt/format.h>

#include "source/postgres/pg_builtin_types.h"
#include "source/postgres/pg_value_json.h"

namespace sluice::pg {

namespace {

// Nesting deeper than this (domain over array of composite of ...) is not a real
// schema; it would only come from a catalog loop.
constexpr int kMaxDepth = 32;
// PostgreSQL's FirstNormalObjectId: to_jsonb() consults casts only above it.
constexpr uint32_t kFirstNormalObjectId = 16384;

uint32_t to_oid(std::string_view text) {
  uint32_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw Error::protocol(fmt::format("PostgreSQL returned '{}' where a type OID was expected", text));
  }
  return value;
}

char first_char(std::string_view text, char fallback) { return text.empty() ? fallback : text[0]; }

}  // namespace

TypeResolver::TypeResolver(std::function<PgConnection&()> catalog_connection)
    : catalog_connection_(std::move(catalog_connection)) {}

TypeInfoPtr TypeResolver::resolve(uint32_t oid) { return resolve(oid, 0); }

TypeInfoPtr TypeResolver::resolve(uint32_t oid, int depth) {
  if (auto it = cache_.find(oid); it != cache_.end()) return it->second;
  if (TypeInfoPtr builtin = builtin_type(oid)) return builtin;
  if (depth > kMaxDepth) {
    throw Error::invalid_input(fmt::format("type {} nests more than {} levels deep", oid, kMaxDepth));
  }
  TypeInfoPtr info = lookup(oid, depth);
  cache_.emplace(oid, info);
  return info;
}

TypeInfoPtr TypeResolver::lookup(uint32_t oid, int depth) {
  PgConnection& conn = catalog_connection_();
  // Casts: to_jsonb() (jsonb_categorize_type) uses a function cast to json; a cast
  // to jsonb is refused too, to be safe with to_json()/jsonb_build_object users.
  PgResult r = conn.exec_params(
      "SELECT t.typname, n.nspname, t.typtype, t.typcategory, t.typelem, t.typbasetype, "
      "       t.typrelid, (SELECT e.typdelim FROM pg_catalog.pg_type e WHERE e.oid = t.typelem), "
      "       EXISTS (SELECT 1 FROM pg_catalog.pg_cast c WHERE c.castsource = t.oid "
      "               AND c.casttarget IN (114, 3802) AND c.castmethod = 'f') "
      "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
      "WHERE t.oid = $1",
      {std::to_string(oid)}, {26 /* oid */});
  if (r.rows() == 0) {
    throw Error::server(fmt::format("PostgreSQL {}: type OID {} is not in pg_type", conn.where(), oid));
  }
  auto info = std::make_shared<TypeInfo>();
  info->source_type_id = oid;
  info->renderer = &to_jsonb_renderer();
  std::string typname(r.value(0, 0));
  std::string nspname(r.value(0, 1));
  info->name = nspname == "pg_catalog" ? typname : nspname + "." + typname;
  const char typtype = first_char(r.value(0, 2), 'b');
  const char typcategory = first_char(r.value(0, 3), 'U');
  const uint32_t typelem = to_oid(r.value(0, 4));
  const uint32_t typbasetype = to_oid(r.value(0, 5));
  const uint32_t typrelid = to_oid(r.value(0, 6));
  const char element_delim = r.is_null(0, 7) ? ',' : first_char(r.value(0, 7), ',');
  const bool json_cast = r.value(0, 8) == "t";

  if (typtype == 'd') {
    // A domain renders as its base type (to_jsonb calls getBaseType first).
    TypeInfoPtr base = resolve(typbasetype, depth + 1);
    auto domain = std::make_shared<TypeInfo>(*base);
    domain->source_type_id = oid;
    domain->name = info->name;
    return domain;
  }
  if (typcategory == 'A' && typelem != 0) {
    info->category = ValueCategory::kArray;
    info->element = resolve(typelem, depth + 1);
    info->array_delimiter = element_delim;
    return info;
  }
  if (typtype == 'c') {
    info->category = ValueCategory::kComposite;
    PgResult fields = conn.exec_params(
        "SELECT a.attname, a.atttypid FROM pg_catalog.pg_attribute a "
        "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        {std::to_string(typrelid)}, {26});
    // Copy the rows out first: resolving a field may run queries on `conn`.
    std::vector<std::pair<std::string, uint32_t>> rows;
    for (int i = 0; i < fields.rows(); ++i) {
      rows.emplace_back(std::string(fields.value(i, 0)), to_oid(fields.value(i, 1)));
    }
    for (auto& [name, type_oid] : rows) {
      info->fields.push_back(CompositeField{std::move(name), resolve(type_oid, depth + 1)});
    }
    return info;
  }
  // Base (extension) types, enums, ranges, multiranges, pseudo types: the text
  // output as a JSON string -- unless to_jsonb() would call a cast to json.
  if (json_cast && oid >= kFirstNormalObjectId) {
    throw Error::invalid_input(fmt::format(
        "type {} has a cast to json that sluice does not reproduce; to_jsonb() would render its "
        "values through that cast. Leave the column out of the publication (column lists, "
        "PostgreSQL 15+) or store it as a type sluice renders",
        info->name));
  }
  info->category = ValueCategory::kString;
  return info;
}

}  // namespace sluice::pg
