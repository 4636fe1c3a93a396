#include "source/postgres/pg_builtin_types.h"

#include <unordered_map>

#include "source/postgres/pg_value_json.h"

namespace sluice::pg {
namespace {

// One row per builtin base type, in the shape of pg_type.dat: the type, its
// category (to_jsonb()'s, with the integers apart) and the OID of its array type (array_type_oid). OIDs are
// PostgreSQL's (src/include/catalog/pg_type.dat, unchanged since they were assigned).
//
// Left out on purpose:
//  - int2vector (22) and oidvector (30): to_jsonb() renders them as arrays, but their
//    text form is "1 2 3", not an array literal; they only appear in catalogs.
//  - pseudo-types (record, unknown, cstring, any*): never the type of a table column.
// Domains, enums, composites, user arrays and extension types come from the catalog
// (source/postgres/type_resolver.h).
struct BuiltinRow {
  uint32_t oid;
  const char* name;
  ValueCategory category;
  uint32_t array_oid;
  char delimiter;  // typdelim: ',' for every builtin but box
};

constexpr ValueCategory kB = ValueCategory::kBool;
constexpr ValueCategory kI = ValueCategory::kInteger;
constexpr ValueCategory kN = ValueCategory::kNumber;
constexpr ValueCategory kS = ValueCategory::kString;
constexpr ValueCategory kJ = ValueCategory::kJson;

constexpr BuiltinRow kBuiltins[] = {
    {16, "bool", kB, 1000, ','},
    {17, "bytea", kS, 1001, ','},
    {18, "char", kS, 1002, ','},
    {19, "name", kS, 1003, ','},
    {20, "int8", kI, 1016, ','},
    {21, "int2", kI, 1005, ','},
    {23, "int4", kI, 1007, ','},
    {24, "regproc", kS, 1008, ','},
    {25, "text", kS, 1009, ','},
    {26, "oid", kS, 1028, ','},  // not a number for to_jsonb (jsonb_categorize_type)
    {27, "tid", kS, 1010, ','},
    {28, "xid", kS, 1011, ','},
    {29, "cid", kS, 1012, ','},
    {114, "json", kJ, 199, ','},
    {142, "xml", kS, 143, ','},
    {5069, "xid8", kS, 271, ','},
    {600, "point", kS, 1017, ','},
    {601, "lseg", kS, 1018, ','},
    {602, "path", kS, 1019, ','},
    {603, "box", kS, 1020, ';'},
    {604, "polygon", kS, 1027, ','},
    {628, "line", kS, 629, ','},
    {700, "float4", kN, 1021, ','},
    {701, "float8", kN, 1022, ','},
    {718, "circle", kS, 719, ','},
    {790, "money", kS, 791, ','},
    {829, "macaddr", kS, 1040, ','},
    {869, "inet", kS, 1041, ','},
    {650, "cidr", kS, 651, ','},
    {774, "macaddr8", kS, 775, ','},
    {1033, "aclitem", kS, 1034, ','},
    {1042, "bpchar", kS, 1014, ','},
    {1043, "varchar", kS, 1015, ','},
    {1082, "date", ValueCategory::kDate, 1182, ','},
    {1083, "time", kS, 1183, ','},
    {1114, "timestamp", ValueCategory::kTimestamp, 1115, ','},
    {1184, "timestamptz", ValueCategory::kTimestampTz, 1185, ','},
    {1186, "interval", kS, 1187, ','},
    {1266, "timetz", kS, 1270, ','},
    {1560, "bit", kS, 1561, ','},
    {1562, "varbit", kS, 1563, ','},
    {1700, "numeric", kN, 1231, ','},
    {1790, "refcursor", kS, 2201, ','},
    {2202, "regprocedure", kS, 2207, ','},
    {2203, "regoper", kS, 2208, ','},
    {2204, "regoperator", kS, 2209, ','},
    {2205, "regclass", kS, 2210, ','},
    {2206, "regtype", kS, 2211, ','},
    {4191, "regcollation", kS, 4192, ','},
    {4096, "regrole", kS, 4097, ','},
    {4089, "regnamespace", kS, 4090, ','},
    {3734, "regconfig", kS, 3735, ','},
    {3769, "regdictionary", kS, 3770, ','},
    {2950, "uuid", kS, 2951, ','},
    {3220, "pg_lsn", kS, 3221, ','},
    {3614, "tsvector", kS, 3643, ','},
    {3642, "gtsvector", kS, 3644, ','},
    {3615, "tsquery", kS, 3645, ','},
    {3802, "jsonb", kJ, 3807, ','},
    {4072, "jsonpath", kS, 4073, ','},
    {2970, "txid_snapshot", kS, 2949, ','},
    {5038, "pg_snapshot", kS, 5039, ','},
    {3904, "int4range", kS, 3905, ','},
    {3906, "numrange", kS, 3907, ','},
    {3908, "tsrange", kS, 3909, ','},
    {3910, "tstzrange", kS, 3911, ','},
    {3912, "daterange", kS, 3913, ','},
    {3926, "int8range", kS, 3927, ','},
    {4451, "int4multirange", kS, 6150, ','},
    {4532, "nummultirange", kS, 6151, ','},
    {4533, "tsmultirange", kS, 6152, ','},
    {4534, "tstzmultirange", kS, 6153, ','},
    {4535, "datemultirange", kS, 6155, ','},
    {4536, "int8multirange", kS, 6157, ','},
};

using BuiltinMap = std::unordered_map<uint32_t, TypeInfoPtr>;

BuiltinMap build_builtins() {
  BuiltinMap map;
  for (const BuiltinRow& row : kBuiltins) {
    auto scalar = std::make_shared<TypeInfo>();
    scalar->source_type_id = row.oid;
    scalar->name = row.name;
    scalar->category = row.category;
    scalar->renderer = &to_jsonb_renderer();

    auto array = std::make_shared<TypeInfo>();
    array->source_type_id = row.array_oid;
    array->renderer = &to_jsonb_renderer();
    array->name = std::string(row.name) + "[]";
    array->category = ValueCategory::kArray;
    array->element = scalar;
    array->array_delimiter = row.delimiter;

    map.emplace(row.oid, std::move(scalar));
    map.emplace(row.array_oid, std::move(array));
  }
  return map;
}

}  // namespace

TypeInfoPtr builtin_type(uint32_t oid) {
  // Built once, on first use (thread-safe static initialisation), never modified and
  // never destroyed: builtin TypeInfos live for the whole program.
  static const BuiltinMap* const builtins = new BuiltinMap(build_builtins());
  auto it = builtins->find(oid);
  return it == builtins->end() ? nullptr : it->second;
}

}  // namespace sluice::pg
