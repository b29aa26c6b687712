#include "archive/engine.hpp"

#include <chrono>
#include <cstring>
#include <map>
#include <tuple>
#include <string>
#include <vector>

#include "archive/bound_check.hpp"
#include "core/archive_plan.hpp"
#include "core/errors.hpp"
#include "partition/engine.hpp"
#include "pg/compat.hpp"
#include "pg/copy_access.hpp"
#include "pg/guard.hpp"
#include "pg/job_lock.hpp"
#include "pg/module.hpp"
#include "pg/subtransaction.hpp"
#include "pg/system_log.hpp"

extern "C" {
#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lockdefs.h"
#include "utils/guc.h"
#include "utils/resowner.h"
}

namespace zc::archive {

using pg::Param;
using pg::Row;
using pg::SpiSession;

namespace {

bool exact_counts = true;

pg::OnLoad define_gucs([] {
    DefineCustomBoolVariable("zerocut.archive_exact_counts",
                             "Count the rows of partitions the archive mover attaches (a scan of each).",
                             "When off, rows_moved takes pg_class.reltuples for attached partitions, which "
                             "keeps the partition path free of any scan.",
                             &exact_counts, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
});

constexpr const char* bound_constraint = "zc_archive_bound";

Param oid_param(Oid value)
{
    return Param{OIDOID, ObjectIdGetDatum(value), false};
}
Param bool_param(bool value)
{
    return Param{BOOLOID, BoolGetDatum(value), false};
}

std::string text_of(const Row& row, size_t i)
{
    return row.at(i).value_or("");
}
Oid oid_of(const Row& row, size_t i)
{
    return static_cast<Oid>(std::stoul(text_of(row, i)));
}
int64_t int_of(const Row& row, size_t i)
{
    return std::stoll(text_of(row, i));
}

struct Column {
    std::string name;  // raw
    std::string quoted;
    std::string type;  // format_type
    bool generated = false;
    bool operator==(const Column&) const = default;
};

struct Rel {
    Oid oid = InvalidOid;
    char kind = 0;
    bool is_partition = false;
    std::string qname;    // "schema"."name"
    std::string schema;   // raw
    std::string name;     // raw
    std::string partkey;  // pg_get_partkeydef, "" when not partitioned
    int64_t reltuples = 0;
    char persistence = 'p';
    std::string comment;  // obj_description
    bool partitioned() const { return kind == 'p'; }
};

Rel load_rel(SpiSession& spi, Oid oid, const char* argument)
{
    auto rows = query(spi,
                      "SELECT c.relkind, c.relispartition, pg_catalog.format('%I.%I', n.nspname, c.relname), "
                      "n.nspname, c.relname, CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, "
                      "GREATEST(c.reltuples, 0::pg_catalog.float4)::pg_catalog.int8, c.relpersistence, "
                      "pg_catalog.obj_description(c.oid, 'pg_class') "
                      "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE c.oid = $1",
                      {oid_param(oid)});
    if (rows.empty())
        throw Error(sqlstate::undefined_table,
                    std::string(argument) + ": relation with OID " + std::to_string(oid) + " does not exist");
    Rel rel;
    rel.oid = oid;
    rel.kind = text_of(rows[0], 0).empty() ? 0 : text_of(rows[0], 0)[0];
    rel.is_partition = text_of(rows[0], 1) == "t";
    rel.qname = text_of(rows[0], 2);
    rel.schema = text_of(rows[0], 3);
    rel.name = text_of(rows[0], 4);
    rel.partkey = text_of(rows[0], 5);
    rel.reltuples = int_of(rows[0], 6);
    rel.persistence = text_of(rows[0], 7).empty() ? 'p' : text_of(rows[0], 7)[0];
    rel.comment = text_of(rows[0], 8);
    return rel;
}

std::vector<Column> load_columns(SpiSession& spi, Oid oid)
{
    auto rows =
        query(spi,
              "SELECT a.attname, pg_catalog.quote_ident(a.attname), pg_catalog.format_type(a.atttypid, a.atttypmod), "
              "a.attgenerated <> '' FROM pg_catalog.pg_attribute a "
              "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
              {oid_param(oid)});
    std::vector<Column> columns;
    for (const Row& row : rows)
        columns.push_back({text_of(row, 0), text_of(row, 1), text_of(row, 2), text_of(row, 3) == "t"});
    return columns;
}

std::vector<Column> primary_key(SpiSession& spi, Oid oid)
{
    auto rows =
        query(spi,
              "SELECT a.attname, pg_catalog.quote_ident(a.attname), pg_catalog.format_type(a.atttypid, a.atttypmod) "
              "FROM pg_catalog.pg_index i "
              "CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY AS k(attnum, ord) "
              "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
              "WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord",
              {oid_param(oid)});
    std::vector<Column> key;
    for (const Row& row : rows) key.push_back({text_of(row, 0), text_of(row, 1), text_of(row, 2), false});
    return key;
}

const Column* find_column(const std::vector<Column>& columns, const std::string& name)
{
    for (const Column& c : columns)
        if (c.name == name) return &c;
    return nullptr;
}

// The time column's type; only date, timestamp and timestamptz.
std::string time_type(const std::vector<Column>& columns, const std::string& time_column, const Rel& rel,
                      const char* who)
{
    const Column* column = find_column(columns, time_column);
    if (column == nullptr)
        throw Error(sqlstate::undefined_column,
                    std::string(who) + ": time_column \"" + time_column + "\" is not a column of " + rel.qname);
    if (column->type != "date" && column->type != "timestamp without time zone" &&
        column->type != "timestamp with time zone")
        throw Error(
            "42804",
            std::string(who) + ": time_column \"" + time_column + "\" of " + rel.qname + " is of type " + column->type,
            "", "The time column must be a date, timestamp or timestamptz.");
    return column->type;
}

// Every insertable column of `source` must exist in `target` with the same type.
void check_compatible(const std::vector<Column>& source_columns, const Rel& source,
                      const std::vector<Column>& target_columns, const Rel& target, const char* who)
{
    for (const Column& c : source_columns) {
        if (c.generated) continue;
        const Column* t = find_column(target_columns, c.name);
        if (t == nullptr || t->generated)
            throw Error(
                sqlstate::undefined_column,
                std::string(who) + ": target " + target.qname + " has no column \"" + c.name + "\" of " + source.qname,
                "",
                "The archive target needs every column of the source, with the same types: ALTER TABLE " +
                    target.qname + " ADD COLUMN " + c.quoted + " " + c.type + ";");
        if (t->type != c.type)
            throw Error("42804", std::string(who) + ": column \"" + c.name + "\" is " + c.type + " in " + source.qname +
                                     " but " + t->type + " in target " + target.qname);
    }
}

std::string insert_list(const std::vector<Column>& columns)
{
    std::string list;
    for (const Column& c : columns)
        if (!c.generated) list += (list.empty() ? "" : ", ") + c.quoted;
    return list;
}

struct Child {
    Oid oid = InvalidOid;
    char kind = 0;
    std::string bound_text;  // FOR VALUES ... / DEFAULT
    core::RangeBoundText bound;
    core::Span span;
};

int64_t epoch_of(SpiSession& spi, const std::string& literal, const std::string& type)
{
    auto rows = query(spi, "SELECT (EXTRACT(epoch FROM CAST($1 AS " + type + ")) * 1000000)::pg_catalog.int8",
                      {pg::text_param(literal)});
    return int_of(rows.at(0), 0);
}

// Direct partitions of `parent` with their bounds (range on one column).
std::vector<Child> children_of(SpiSession& spi, Oid parent, const std::string& type)
{
    auto rows = query(spi,
                      "SELECT c.oid, c.relkind, pg_catalog.pg_get_expr(c.relpartbound, c.oid) "
                      "FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
                      "WHERE i.inhparent = $1 AND NOT i.inhdetachpending ORDER BY c.oid",
                      {oid_param(parent)});
    std::vector<Child> children;
    for (const Row& row : rows) {
        Child child;
        child.oid = oid_of(row, 0);
        child.kind = text_of(row, 1)[0];
        child.bound_text = text_of(row, 2);
        child.bound = core::parse_range_bound(child.bound_text);
        if (!child.bound.is_default) {
            if (child.bound.lower) child.span.lower = epoch_of(spi, *child.bound.lower, type);
            if (child.bound.upper) child.span.upper = epoch_of(spi, *child.bound.upper, type);
        }
        children.push_back(std::move(child));
    }
    return children;
}

bool range_partitioned_on(const Rel& rel, const std::string& time_column)
{
    return rel.partitioned() && rel.partkey == "RANGE (" + pg::quote_ident(time_column) + ")";
}

std::string archive_comment(const Rel& source)
{
    return "zerocut archive of " + source.qname;
}

std::optional<Oid> relation_named(SpiSession& spi, const std::string& schema, const std::string& table)
{
    auto found = query(spi,
                       "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                       {pg::text_param(schema), pg::text_param(table)});
    if (found.empty()) return std::nullopt;
    return oid_of(found[0], 0);
}

// A table a zerocut run made for another source is never shared: its rows
// would be restored into the wrong table.
void check_not_foreign(const Rel& target, const Rel& source, const std::string& who)
{
    const std::string prefix = "zerocut archive of ";
    if (target.comment.rfind(prefix, 0) == 0 && target.comment != archive_comment(source))
        throw Error("42P07",
                    who + ": archive table " + target.qname + " already archives " +
                        target.comment.substr(prefix.size()) + ", not " + source.qname,
                    "", "Give the policy its own target: zerocut.set_archive_policy(..., target => ...).");
}

std::string role_name(Oid role)
{
    return pg::guard([=] { return GetUserNameFromId(role, false); });
}

const char* kind_name(char kind)
{
    switch (kind) {
        case 'v':
            return "a view";
        case 'm':
            return "a materialized view";
        case 'S':
            return "a sequence";
        case 'f':
            return "a foreign table";
        case 'i':
        case 'I':
            return "an index";
        case 'c':
            return "a composite type";
        case 't':
            return "a TOAST table";
        default:
            return "not a table";
    }
}

// What every archive target must be, given (`label` "argument \"target\"")
// or found by name at run time ("archive target"): a plain or partitioned
// table (42809), not one of zerocut's own (42809), owned by the source's
// owner (42501: rows moved into it would change owner, and the owner's
// rights, used for the move, would reach another role's table).
void check_target(const Rel& target, const Rel& source, const std::string& who, const std::string& label)
{
    if (target.kind != 'r' && target.kind != 'p')
        throw Error(sqlstate::wrong_object_type,
                    who + ": " + label + " " + target.qname + " is " + kind_name(target.kind) +
                        ", not a table; rows are archived into a plain or partitioned table");
    pg::refuse_zerocut_relation(target.oid, "target", "an archive target");
    Oid source_owner = pg::relation_owner(source.oid);
    Oid target_owner = pg::relation_owner(target.oid);
    if (source_owner != target_owner)
        throw Error(sqlstate::insufficient_privilege,
                    who + ": " + label + " " + target.qname + " is owned by role \"" + role_name(target_owner) +
                        "\", not by \"" + role_name(source_owner) + "\", the owner of " + source.qname,
                    "Rows moved into it would change owner; the archive works with the rights of the source's owner "
                    "and archives only into a table of that same role.",
                    "ALTER TABLE " + target.qname + " OWNER TO " + pg::quote_ident(role_name(source_owner)) +
                        "; or give the policy another target.");
}

// The schema `schema` holding (or to hold) the archive table `table` of
// `source` must belong to the source's owner, to the owner of the source's
// schema (who may drop the source itself) or to a trusted role (superuser,
// the extension's owner): the owner of a schema may drop any table in it,
// archived rows included (42501).  pg_database_owner, public's owner, stands
// for the database's owner.  Nothing to check while the schema is missing
// (zerocut then makes it, for the owner of the source's schema).
void check_archive_schema(SpiSession& spi, const Rel& source, const std::string& schema, const std::string& table,
                          const std::string& who)
{
    auto rows = query(spi,
                      "SELECT CASE WHEN t.nspowner = 'pg_database_owner'::pg_catalog.regrole "
                      "THEN d.datdba ELSE t.nspowner END, "
                      "CASE WHEN s.nspowner = 'pg_database_owner'::pg_catalog.regrole "
                      "THEN d.datdba ELSE s.nspowner END "
                      "FROM pg_catalog.pg_namespace t, pg_catalog.pg_namespace s, pg_catalog.pg_database d "
                      "WHERE t.nspname = $1 AND s.nspname = $2 AND d.datname = pg_catalog.current_database()",
                      {pg::text_param(schema), pg::text_param(source.schema)});
    if (rows.empty()) return;
    Oid schema_owner = oid_of(rows[0], 0);
    Oid source_schema_owner = oid_of(rows[0], 1);
    Oid table_owner = pg::relation_owner(source.oid);
    if (schema_owner == table_owner || schema_owner == source_schema_owner || pg::is_trusted_role(schema_owner)) return;
    std::string quoted = pg::quote_ident(schema);
    throw Error(sqlstate::insufficient_privilege,
                who + ": archive schema " + quoted + " of " + source.qname + " (for " + quoted + "." +
                    pg::quote_ident(table) + ") is owned by role \"" + role_name(schema_owner) + "\"",
                "The owner of a schema may drop any table in it, archived rows included; an archive schema must "
                "belong to the source's owner (\"" +
                    role_name(table_owner) + "\"), to the owner of schema " + pg::quote_ident(source.schema) + " (\"" +
                    role_name(source_schema_owner) + "\") or to a superuser.",
                "As a superuser: ALTER SCHEMA " + quoted + " OWNER TO " + pg::quote_ident(role_name(table_owner)) +
                    "; or give the policy another target: zerocut.set_archive_policy(..., target => ...).");
}

// A source the caller may archive: its own table (42501 otherwise, naming
// `argument`) and not one of zerocut's (42809).
void check_source(Oid source, const char* argument, const char* what)
{
    pg::require_table_owner(source, argument);
    pg::refuse_zerocut_relation(source, argument, what);
}

// Creates the archive schema `schema` for `source`: owned like the source's
// schema (its owner; the database's owner for a schema of
// pg_database_owner, as public is) (CREATE SCHEMA ... AUTHORIZATION, as the extension's owner, since
// the table's owner need not have CREATE on the database), with the source
// schema's grants, so whoever reaches the source reaches its archive; and
// the source's owner may create its archive table there.
void create_archive_schema(SpiSession& spi, const Rel& source, const std::string& schema)
{
    Oid table_owner = pg::relation_owner(source.oid);
    // pg_database_owner (public's owner) stands for the database's owner.
    auto rows = query(spi,
                      "SELECT CASE WHEN n.nspowner = 'pg_database_owner'::pg_catalog.regrole "
                      "THEN d.datdba ELSE n.nspowner END FROM pg_catalog.pg_namespace n, pg_catalog.pg_database d "
                      "WHERE n.nspname = $1 AND d.datname = pg_catalog.current_database()",
                      {pg::text_param(source.schema)});
    Oid schema_owner = oid_of(rows.at(0), 0);
    std::string quoted = pg::quote_ident(schema);
    pg::AsExtensionOwner as_extension_owner;
    query(spi, "CREATE SCHEMA " + quoted + " AUTHORIZATION " + pg::quote_ident(role_name(schema_owner)), {});
    auto grants = query(spi,
                        "SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
                        "ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, a.is_grantable "
                        "FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a "
                        "WHERE n.nspname = $1 AND a.grantee <> n.nspowner ORDER BY 1, 2",
                        {pg::text_param(source.schema)});
    for (const Row& row : grants)
        query(spi,
              "GRANT " + text_of(row, 0) + " ON SCHEMA " + quoted + " TO " + text_of(row, 1) +
                  (text_of(row, 2) == "t" ? " WITH GRANT OPTION" : ""),
              {});
    auto may_create = query(spi, "SELECT pg_catalog.has_schema_privilege($1, $2, 'CREATE')",
                            {oid_param(table_owner), pg::text_param(schema)});
    if (text_of(may_create.at(0), 0) != "t")
        query(spi, "GRANT USAGE, CREATE ON SCHEMA " + quoted + " TO " + pg::quote_ident(role_name(table_owner)), {});
}

// The archive target `schema`.`table` of `source`, created like the source
// (columns, defaults but sequences, constraints, indexes; partitioned the
// same way) when missing.
// Archived rows are read-only to the application (docs/isolation.md): the
// source's workspace isolation policy, FOR ALL, is copied FOR SELECT, as
// enable_workspace_isolation() makes it on an archive table.
void make_isolation_policy_read_only(SpiSession& spi, Oid archive, const std::string& name)
{
    auto rows = query(spi,
                      "SELECT (SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC' "
                      "ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ') "
                      "FROM pg_catalog.unnest(p.polroles) r), pg_catalog.pg_get_expr(p.polqual, p.polrelid) "
                      "FROM pg_catalog.pg_policy p "
                      "WHERE p.polrelid = $1 AND p.polname = 'zerocut_isolation' AND p.polcmd = '*'",
                      {oid_param(archive)});
    if (rows.empty()) return;
    query(spi, "DROP POLICY zerocut_isolation ON " + name, {});
    query(spi,
          "CREATE POLICY zerocut_isolation ON " + name + " FOR SELECT TO " + text_of(rows[0], 0) + " USING (" +
              text_of(rows[0], 1) + ")",
          {});
}

Rel ensure_target(SpiSession& spi, const Rel& source, const std::string& schema, const std::string& table,
                  const std::string& who)
{
    std::string name = pg::quote_ident(schema) + "." + pg::quote_ident(table);
    if (auto found = relation_named(spi, schema, table)) {
        Rel target = load_rel(spi, *found, "archive target");
        check_target(target, source, who, "archive target");
        check_archive_schema(spi, source, schema, table, who);
        check_not_foreign(target, source, who);
        return target;
    }
    // Everything the archive table is made of is the source owner's: the
    // table, its grants and policies (docs/archive.md, Privileges).
    pg::AsTableOwner as_owner(source.oid);
    auto exists = query(spi, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
                        {pg::text_param(schema)});
    if (text_of(exists.at(0), 0) != "t") {
        create_archive_schema(spi, source, schema);
    } else {
        check_archive_schema(spi, source, schema, table, who);
        Oid owner = pg::relation_owner(source.oid);
        auto may_create = query(spi, "SELECT pg_catalog.has_schema_privilege($1, $2, 'CREATE')",
                                {oid_param(owner), pg::text_param(schema)});
        if (text_of(may_create.at(0), 0) != "t")
            throw Error(sqlstate::insufficient_privilege,
                        who + ": role \"" + role_name(owner) + "\", the owner of " + source.qname +
                            ", may not create its archive table " + name + " in schema " + pg::quote_ident(schema),
                        "The archive table is created by, and belongs to, the source's owner.",
                        "GRANT CREATE ON SCHEMA " + pg::quote_ident(schema) + " TO " +
                            pg::quote_ident(role_name(owner)) + "; or give the policy another target.");
    }
    query(spi,
          "CREATE TABLE " + name + " (LIKE " + source.qname +
              " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING STORAGE INCLUDING COMMENTS "
              "INCLUDING COMPRESSION INCLUDING GENERATED INCLUDING STATISTICS)" +
              (source.partitioned() ? " PARTITION BY " + source.partkey : "") + pg::tablespace_clause(source.oid),
          {});
    Oid created = *relation_named(spi, schema, table);
    // A serial's nextval() default would tie the archive to the source's sequence.
    auto serials = query(spi,
                         "SELECT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_attrdef d "
                         "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
                         "WHERE d.adrelid = $1 AND pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%'",
                         {oid_param(created)});
    for (const Row& row : serials)
        query(spi, "ALTER TABLE " + name + " ALTER COLUMN " + text_of(row, 0) + " DROP DEFAULT", {});
    query(spi, "COMMENT ON TABLE " + name + " IS " + pg::quote_literal(archive_comment(source)), {});
    pg::copy_access(spi, source.oid, created);
    make_isolation_policy_read_only(spi, created, name);
    return load_rel(spi, created, "archive target");
}

// A lock that did not come within zerocut.partition_lock_timeout: the
// table is skipped (run_isolated) or the call fails with 55P03.
struct Skipped {
    std::string reason;
};

std::string timeout_text()
{
    return "zerocut.partition_lock_timeout (" + std::to_string(partition::lock_timeout_ms()) + " ms)";
}

// docs/locking.md step 1: the table's job lock, shared with partition
// maintenance, polled (never queued) before any relation lock.
void take_job_lock(Oid table, const std::string& name)
{
    if (!pg::lock_table_job_polling(table, partition::lock_timeout_ms()))
        throw Skipped{"another zerocut job (archive or partition maintenance) holds the job lock of " + name +
                      "; not obtained within " + timeout_text()};
}

// docs/locking.md step 2: a strong lock, conditionally with bounded retry.
void take_strong_lock(Oid rel, const std::string& name, int mode = AccessExclusiveLock,
                      const char* purpose = "to move whole partitions")
{
    if (!partition::lock_relation_polling(rel, mode))
        throw Skipped{"could not lock " + name + " (" +
                      (mode == AccessExclusiveLock ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE") + ", " + purpose +
                      ") within " + timeout_text() + "; other sessions are using it"};
}

// A lock DML takes too (ROW EXCLUSIVE): queued like the application's own
// statements.  Held, it keeps the table's columns as they were read: ALTER
// TABLE needs ACCESS EXCLUSIVE.
void lock_for_dml(Oid rel)
{
    pg::guard([=] { LockRelationOid(rel, RowExclusiveLock); });
}

// Columns the source gained after its archive was made: an archive zerocut
// made for this source gets them too (nullable, no default: rows archived
// before read NULL); any other target is its owner's to change.
std::vector<Column> adapt_target(SpiSession& spi, const std::vector<Column>& source_columns, const Rel& source,
                                 const Rel& target, std::vector<Column> target_columns)
{
    if (target.comment != archive_comment(source)) return target_columns;
    bool changed = false;
    for (const Column& c : source_columns) {
        if (c.generated || find_column(target_columns, c.name) != nullptr) continue;
        // ADD COLUMN takes ACCESS EXCLUSIVE on the target (and its
        // partitions): polled, never queued behind the archive's readers.
        if (!changed)
            take_strong_lock(target.oid, target.qname, AccessExclusiveLock, "to add the source's new columns");
        query(spi, "ALTER TABLE " + target.qname + " ADD COLUMN " + c.quoted + " " + c.type, {});
        changed = true;
    }
    return changed ? load_columns(spi, target.oid) : target_columns;
}

int64_t count_rows(SpiSession& spi, const Rel& rel, bool* estimated)
{
    if (!exact_counts) {
        *estimated = true;
        return rel.reltuples;
    }
    return int_of(query(spi, "SELECT pg_catalog.count(*) FROM " + rel.qname, {}).at(0), 0);
}

// Detach `part` (a leaf range partition of `parent`) and attach it to `target`,
// with no scan; the bound CHECK makes ATTACH skip its validation.
void move_partition(SpiSession& spi, const Rel& part, const Rel& parent, const Rel& target,
                    const std::string& bound_text)
{
    auto existing = query(spi, "SELECT oid FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND conname = $2",
                          {oid_param(part.oid), pg::text_param(bound_constraint)});
    if (!existing.empty()) query(spi, "ALTER TABLE " + part.qname + " DROP CONSTRAINT " + bound_constraint, {});
    std::string check =
        text_of(query(spi, "SELECT pg_catalog.pg_get_partition_constraintdef($1)", {oid_param(part.oid)}).at(0), 0);
    query(spi, "ALTER TABLE " + part.qname + " ADD CONSTRAINT " + bound_constraint + " CHECK (" + check + ") NOT VALID",
          {});
    Oid con = oid_of(query(spi, "SELECT oid FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND conname = $2",
                           {oid_param(part.oid), pg::text_param(bound_constraint)})
                         .at(0),
                     0);
    validate_check_by_partition_bound(part.oid, con);
    query(spi, "ALTER TABLE " + parent.qname + " DETACH PARTITION " + part.qname, {});
    query(spi, "ALTER TABLE " + target.qname + " ATTACH PARTITION " + part.qname + " " + bound_text, {});
}

// The target's partitions as spans, and its default partition if any.
struct TargetLayout {
    std::vector<Child> children;
    std::optional<Oid> default_partition;
};

TargetLayout layout_of(SpiSession& spi, const Rel& target, const std::string& type)
{
    TargetLayout layout;
    if (!target.partitioned()) return layout;
    layout.children = children_of(spi, target.oid, type);
    for (const Child& c : layout.children)
        if (c.bound.is_default) layout.default_partition = c.oid;
    return layout;
}

std::optional<Oid> overlapping(const TargetLayout& layout, const core::Span& span)
{
    for (const Child& c : layout.children)
        if (!c.bound.is_default && core::spans_overlap(c.span, span)) return c.oid;
    return std::nullopt;
}

// base + suffix, or when that exceeds NAMEDATALEN - 1 bytes: base cut (at a
// character boundary) + "_" + 8 hex digits of FNV-1a over the whole base +
// suffix, so long names stay apart, are never truncated by PostgreSQL into
// another name, and are the same on every run and machine.
std::string fit_name(const std::string& base, const std::string& suffix)
{
    const size_t max_bytes = NAMEDATALEN - 1;
    if (base.size() + suffix.size() <= max_bytes) return base + suffix;
    uint32_t hash = 2166136261u;
    for (unsigned char c : base) {
        hash ^= c;
        hash *= 16777619u;
    }
    std::string hex(8, '0');
    for (int i = 7; i >= 0; --i, hash >>= 4) hex[i] = "0123456789abcdef"[hash & 0xF];
    const char* text = base.c_str();
    int length = static_cast<int>(base.size());
    int limit = static_cast<int>(max_bytes) - static_cast<int>(suffix.size()) - 1 - static_cast<int>(hex.size());
    if (limit < 0) limit = 0;
    int cut = pg::guard([=] { return pg_mbcliplen(text, length, limit); });
    return base.substr(0, static_cast<size_t>(cut)) + "_" + hex + suffix;
}

// A free relation name in `schema` (quoted, qualified): base + suffix, else
// base + suffix + "_" + oid; both fitted into NAMEDATALEN - 1 bytes.
std::string free_name(SpiSession& spi, const std::string& schema, const std::string& base, const std::string& suffix,
                      Oid oid)
{
    std::string candidate = fit_name(base, suffix);
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto taken = query(spi,
                           "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                           "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)",
                           {pg::text_param(schema), pg::text_param(candidate)});
        if (text_of(taken.at(0), 0) == "f") return pg::quote_ident(schema) + "." + pg::quote_ident(candidate);
        candidate = fit_name(base, suffix + "_" + std::to_string(oid));
    }
    throw Error(sqlstate::duplicate_object, "zerocut archive: no free name for an archive partition of " + base);
}

// The OID of the relation `qualified` (quoted, as free_name returns it).
Oid oid_of_name(SpiSession& spi, const std::string& qualified)
{
    return oid_of(query(spi, "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid", {pg::text_param(qualified)}).at(0),
                  0);
}

// True when a valid, non-partial btree index of `rel` starts with `column`.
bool time_indexed(SpiSession& spi, Oid rel, const std::string& column)
{
    auto rows = query(spi,
                      "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i "
                      "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_am am ON am.oid = c.relam "
                      "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                      "WHERE i.indrelid = $1 AND am.amname = 'btree' AND i.indisvalid AND i.indpred IS NULL "
                      "AND a.attname = $2)",
                      {oid_param(rel), pg::text_param(column)});
    return text_of(rows.at(0), 0) == "t";
}

std::optional<Oid> default_partition_of(SpiSession& spi, Oid parent)
{
    auto rows =
        query(spi, "SELECT partdefid FROM pg_catalog.pg_partitioned_table WHERE partrelid = $1", {oid_param(parent)});
    if (rows.empty() || oid_of(rows[0], 0) == InvalidOid) return std::nullopt;
    return oid_of(rows[0], 0);
}

// Every lock DETACH `part` from `parent` and ATTACH to `target` take, in
// the order of docs/locking.md, none of them queued: the parent, the
// partition, the parent's default partition (DETACH changes its
// constraint), then the target (ATTACH) and its default partition.
void lock_for_move(SpiSession& spi, Oid parent, Oid part, Oid target)
{
    take_strong_lock(parent, pg::qualified_relation_name(parent));
    take_strong_lock(part, pg::qualified_relation_name(part));
    if (auto def = default_partition_of(spi, parent)) take_strong_lock(*def, pg::qualified_relation_name(*def));
    take_strong_lock(target, pg::qualified_relation_name(target), ShareUpdateExclusiveLock);
    if (auto def = default_partition_of(spi, target)) take_strong_lock(*def, pg::qualified_relation_name(*def));
}

[[noreturn]] void lock_not_available(const Skipped& skipped, const std::string& who)
{
    throw Error("55P03", who + ": " + skipped.reason, "", "Retry later or raise zerocut.partition_lock_timeout.");
}

double elapsed_ms(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string RunResult::method() const
{
    if (partitions_moved > 0 && rows_by_batch > 0) return "partition+rows";
    if (partitions_moved > 0) return "partition";
    if (rows_by_batch > 0) return "rows";
    return "none";
}

std::string Policy::source_display() const
{
    return pg::quote_ident(source_schema) + "." + pg::quote_ident(source_table);
}

namespace {

// name + "_archive", or when that exceeds NAMEDATALEN - 1 bytes: name cut
// (at a character boundary) + "_" + 8 hex digits of FNV-1a over the whole
// name + "_archive", so long names stay apart and the result is the same on
// every run and machine.
std::string with_archive_suffix(const std::string& name)
{
    return fit_name(name, "_archive");
}

Policy policy_of(SpiSession& spi, const Row& r)
{
    Policy p;
    p.source_schema = text_of(r, 0);
    p.source_table = text_of(r, 1);
    p.time_column = text_of(r, 2);
    p.keep = text_of(r, 3);
    p.target_schema = text_of(r, 4);
    p.target_table = text_of(r, 5);
    p.batch_size = static_cast<int>(int_of(r, 6));
    p.whole_partitions = text_of(r, 7) == "t";
    p.owner = r.at(8);
    p.source = relation_named(spi, p.source_schema, p.source_table).value_or(InvalidOid);
    return p;
}

constexpr const char* policy_columns =
    "SELECT source_schema, source_table, time_column, keep::pg_catalog.text, target_schema, target_table, "
    "batch_size, whole_partitions, source_owner FROM zerocut.archive_policy ";

// Whether `policy` was set for the role that owns `table` now (a policy
// without a recorded owner applies to any).
bool same_owner(const Policy& policy, Oid table)
{
    return !policy.owner || *policy.owner == role_name(pg::relation_owner(table));
}

// A policy is stored by name: the table of that name may since belong to
// another role (its own table renamed away, another role's made under the
// name, or the table given away).  Its policy applies only to the owner it
// was set for (42501).
void check_policy_owner(const Policy& policy, Oid table, const std::string& who)
{
    if (same_owner(policy, table)) return;
    std::string name = pg::qualified_relation_name(table);
    std::string owner = role_name(pg::relation_owner(table));
    throw Error(sqlstate::insufficient_privilege,
                who + ": the archive policy of " + name + " was set for role \"" + *policy.owner + "\", but " + name +
                    " belongs to role \"" + owner + "\"",
                "Policies are stored by table name; one set for another owner (maybe for another table that had "
                "the name) is not applied.",
                "Set the policy again as " + owner + " (or a superuser): SELECT zerocut.set_archive_policy(" +
                    pg::quote_literal(name) + ", ...);");
}

}  // namespace

std::pair<std::string, std::string> default_target(const std::string& schema, const std::string& table)
{
    return {schema == "public" ? std::string("archive") : with_archive_suffix(schema), with_archive_suffix(table)};
}

std::optional<Policy> find_policy(SpiSession& spi, Oid source)
{
    auto names = query(spi,
                       "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE c.oid = $1",
                       {oid_param(source)});
    if (names.empty()) return std::nullopt;
    std::vector<Row> rows;
    {
        pg::AsExtensionOwner as_extension_owner;  // zerocut's table: no grant on it needed
        rows = query(spi, std::string(policy_columns) + "WHERE source_schema = $1 AND source_table = $2",
                     {pg::text_param(text_of(names[0], 0)), pg::text_param(text_of(names[0], 1))});
    }
    if (rows.empty()) return std::nullopt;
    return policy_of(spi, rows[0]);
}

std::vector<Policy> load_policies(SpiSession& spi, std::optional<Oid> source)
{
    if (source) {
        check_source(*source, "source", "archived");
        auto policy = find_policy(spi, *source);
        if (!policy)
            throw Error(sqlstate::undefined_object,
                        "archive: source " + pg::qualified_relation_name(*source) + " has no archive policy", "",
                        "Create one with SELECT zerocut.set_archive_policy(source, time_column, keep);");
        return {*policy};
    }
    std::vector<Row> rows;
    {
        pg::AsExtensionOwner as_extension_owner;
        rows = query(spi, std::string(policy_columns) + "ORDER BY source_schema, source_table", {});
    }
    // A caller who is not superuser runs the policies of the tables it owns
    // (or whose owner role it is a member of); a policy whose table is gone
    // belongs to nobody it could prove, and is left to a superuser.
    Oid caller = pg::guard([] { return GetUserId(); });
    bool all = pg::guard([] { return superuser(); });
    std::vector<Policy> policies;
    for (const Row& row : rows) {
        Policy policy = policy_of(spi, row);
        if (!all) {
            Oid table = policy.source;
            if (table == InvalidOid || !pg::guard([=] { return pg::owns_relation(table, caller); })) continue;
        }
        policies.push_back(std::move(policy));
    }
    return policies;
}

// One internal subtransaction, as a PL/pgSQL block with an EXCEPTION clause
// runs its body (see src/pg/subtransaction.cpp, whose all-in-one form
// cannot span the commits of archive_proc).
struct Segment {
    MemoryContext caller = nullptr;
    ResourceOwner owner = nullptr;
    bool active = false;

    void begin()
    {
        caller = CurrentMemoryContext;
        owner = CurrentResourceOwner;
        pg::guard([] { BeginInternalSubTransaction(nullptr); });
        MemoryContextSwitchTo(caller);
        active = true;
    }
    void release()
    {
        pg::guard([] { ReleaseCurrentSubTransaction(); });
        MemoryContextSwitchTo(caller);
        CurrentResourceOwner = owner;
        active = false;
    }
    void roll_back()
    {
        pg::clear_pg_error_in_flight();  // this rollback is the abort it was waiting for
        MemoryContextSwitchTo(caller);
        pg::guard([] { RollbackAndReleaseCurrentSubTransaction(); });
        MemoryContextSwitchTo(caller);
        CurrentResourceOwner = owner;
        active = false;
    }
};

Runner::Runner(SpiSession& spi, bool commit_per_batch, std::optional<int> max_batches)
    : spi_(spi), commit_(commit_per_batch), budget_(max_batches)
{
}

// Ends a unit of work: in commit mode commits it (closing and reopening the
// policy's subtransaction around the commit) and takes the job lock again,
// which the commit released.
void Runner::commit_unit(bool counts)
{
    if (counts && budget_) --*budget_;
    if (!commit_) return;
    // The user is the caller again before the commit (a transaction never
    // starts in a security-restricted operation).
    if (as_owner_) as_owner_->reset();
    pinned_->reset();
    if (segmented_) segment_->release();
    try {
        pg::guard([] { SPI_commit(); });
    } catch (const pg::PgError& error) {
        // SPI_commit has aborted the failed transaction and started a new
        // one before rethrowing: nothing is left for an abort to clean up.
        pg::clear_pg_error_in_flight();
        static char code[6];  // zc::Error keeps the pointer
        std::memcpy(code, unpack_sql_state(error.sqlerrcode()), sizeof code);
        throw Error(code, std::string("archive: commit failed: ") + error.what());
    }
    committed_ = result_;  // what stays whatever happens next
    if (segmented_) segment_->begin();
    pinned_->emplace();
    take_job_lock(result_.source, result_.source_name);
    lock_for_dml(result_.source);
    if (!as_owner_) return;
    // Locked again: its owner cannot change under us from here on; it must
    // be the one the run started with (its target belongs to that role).
    if (pg::relation_owner(result_.source) != owner_)
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "archive: the owner of " + result_.source_name + " changed during the run", "",
                    "Run the archive again.");
    as_owner_->emplace(result_.source);
}

RunResult Runner::run(const Policy& policy, const std::string& log_message)
{
    segmented_ = false;
    try {
        run_unit(policy, log_message);
    } catch (const Skipped& skipped) {
        lock_not_available(skipped, "archive");
    }
    return result_;
}

RunResult Runner::run_isolated(const Policy& policy, const std::string& log_message)
{
    Segment segment;
    segment_ = &segment;
    segmented_ = true;
    std::string sqlstate;
    std::string detail;
    bool cancelled = false;
    segment.begin();
    try {
        run_unit(policy, log_message);
        segment.release();
        segmented_ = false;
        return result_;
    } catch (const Skipped& skipped) {
        result_.status = "skipped";
        result_.error = skipped.reason;
        sqlstate = "55P03";
    } catch (const pg::PgError& error) {
        // Raised while no subtransaction was open (between the segments of
        // a commit): nothing here can clean it up; the caller's abort must.
        if (!segment.active) {
            segmented_ = false;
            throw;
        }
        result_.status = "error";
        result_.error = error.what();  // copied: its ErrorData may go with the subtransaction
        sqlstate = unpack_sql_state(error.sqlerrcode());
        if (error.data()->detail) detail = error.data()->detail;
        cancelled = error.sqlerrcode() == ERRCODE_QUERY_CANCELED;
    } catch (const Error& error) {
        // A failed commit (or anything else between two segments) stops the
        // call: the policy's subtransaction is not there to roll back.
        if (!segment.active) {
            segmented_ = false;
            throw;
        }
        result_.status = "error";
        result_.error = error.what();
        sqlstate = error.sqlstate();
        detail = error.detail();
        cancelled = sqlstate == "57014";
    } catch (...) {
        if (segment.active) segment.roll_back();
        segmented_ = false;
        throw;
    }
    if (segment.active) segment.roll_back();
    segmented_ = false;
    if (cancelled) throw Error("57014", result_.error);
    // Only what stayed: the units committed before (archive_proc); in
    // archive() the policy's whole work was rolled back.
    result_.rows_moved = committed_.rows_moved;
    result_.rows_by_batch = committed_.rows_by_batch;
    result_.partitions_moved = committed_.partitions_moved;
    result_.batches = committed_.batches;
    if (result_.source_name.empty()) result_.source_name = policy.source_display();
    // Outside the rolled-back work: the failure itself is logged, in a
    // subtransaction of its own (a log that cannot take the row must not
    // stop the other policies).
    auto failure = pg::in_subtransaction([&] {
        pg::PinnedSearchPath pinned;
        auto metadata =
            query(spi_,
                  "SELECT pg_catalog.jsonb_build_object('capability', 'archive', 'source', $1, 'status', $2, "
                  "'error', $3, 'sqlstate', $4, 'detail', NULLIF($5, ''), 'archived_count', "
                  "$6::pg_catalog.int8)::pg_catalog.text",
                  {pg::text_param(result_.source_name), pg::text_param(result_.status), pg::text_param(result_.error),
                   pg::text_param(sqlstate), pg::text_param(detail), pg::int8_param(result_.rows_moved)});
        pg::write_system_log(
            spi_, result_.status == "error" ? "ERROR" : "WARNING",
            (result_.status == "error" ? "Archive policy failed: " : "Archive policy skipped: ") + result_.source_name,
            text_of(metadata.at(0), 0));
    });
    if (failure)
        pg::warning("archive: could not log the " + result_.status + " of the policy of " + result_.source_name +
                    " to audit_log.system_log: " + *failure);
    return result_;
}

void Runner::run_unit(const Policy& policy, const std::string& log_message)
{
    auto start = std::chrono::steady_clock::now();
    result_ = RunResult{};
    committed_ = RunResult{};
    RunResult& result = result_;
    result.source = policy.source;
    result.source_name = policy.source_display();
    // In commit mode the pinned search_path must not span a commit: it is
    // re-established for every unit of work.
    std::optional<pg::PinnedSearchPath> pinned;
    std::optional<pg::AsTableOwner> as_owner;
    // commit_unit reaches these two locals through pinned_ and as_owner_:
    // forgotten however this function ends (an exception included), so no
    // pointer to them outlives them.
    struct Forget {
        Runner& runner;
        ~Forget()
        {
            runner.as_owner_ = nullptr;
            runner.pinned_ = nullptr;
        }
    } forget{*this};
    pinned_ = &pinned;
    pinned.emplace();
    bool stopped = false;

    if (policy.source == InvalidOid)
        throw Error(sqlstate::undefined_table,
                    "archive: source " + policy.source_display() + " of an archive policy does not exist",
                    "the table was renamed, or dropped while event triggers were off",
                    "Set the policy again under the table's new name and delete the old row from "
                    "zerocut.archive_policy.");
    // Only a table the caller owns (archive() without a source lists only
    // those for a caller who is not superuser), never one of zerocut's.
    check_source(policy.source, "source", "archived");
    // docs/locking.md: the job lock before any relation lock.
    take_job_lock(policy.source, result.source_name);
    // The lock the batches take anyway, before the columns are read: no
    // ALTER TABLE can change them between here and the DELETE (commit mode
    // takes it again after every commit and reads them again).
    lock_for_dml(policy.source);
    // Locked: its owner is the one the policy must have been set for.
    check_policy_owner(policy, policy.source, "archive");
    // From here on the work runs as the source's owner, restricted: its
    // triggers (and the target's) never run with the caller's rights.
    // commit_unit closes the switch around every commit.
    as_owner_ = &as_owner;
    owner_ = pg::relation_owner(policy.source);
    as_owner.emplace(policy.source);
    Rel source = load_rel(spi_, policy.source, "source");
    result.source_name = source.qname;
    std::vector<Column> columns = load_columns(spi_, source.oid);
    std::string type = time_type(columns, policy.time_column, source, "archive");
    std::string target_schema = policy.target_schema, target_table = policy.target_table;
    if (target_schema.empty()) std::tie(target_schema, target_table) = default_target(source.schema, source.name);
    Rel target = ensure_target(spi_, source, target_schema, target_table, "archive");
    result.target_name = target.qname;
    std::vector<Column> target_columns = adapt_target(spi_, columns, source, target, load_columns(spi_, target.oid));
    check_compatible(columns, source, target_columns, target, "archive");
    std::string time_col = pg::quote_ident(policy.time_column);
    std::string cols = insert_list(columns);
    // After a commit (which released every lock) the source may have
    // changed: commit_unit locks it again (ROW EXCLUSIVE); its columns are
    // read again and, if ALTER TABLE changed them, the target is adapted and
    // checked again and the caller rebuilds its statements (true).  A batch
    // never runs with a column list older than the table.
    auto refresh = [&]() -> bool {
        std::vector<Column> now = load_columns(spi_, source.oid);
        if (now == columns) return false;
        if (time_type(now, policy.time_column, source, "archive") != type)
            throw Error(sqlstate::object_not_in_prerequisite_state,
                        "archive: the type of time column \"" + policy.time_column + "\" of " + source.qname +
                            " changed during the run",
                        "", "Run the archive again.");
        columns = std::move(now);
        target_columns = adapt_target(spi_, columns, source, target, load_columns(spi_, target.oid));
        check_compatible(columns, source, target_columns, target, "archive");
        cols = insert_list(columns);
        return true;
    };
    auto commit = [&](bool counts) -> bool {
        commit_unit(counts);
        return commit_ && refresh();
    };
    commit(false);  // the target now exists for everybody

    auto cutoff_row = query(spi_,
                            "SELECT CAST(CURRENT_DATE - $1::pg_catalog.interval AS " + type +
                                ")::pg_catalog.text, "
                                "(EXTRACT(epoch FROM CAST(CURRENT_DATE - $1::pg_catalog.interval AS " +
                                type + ")) * 1000000)::pg_catalog.int8",
                            {pg::text_param(policy.keep)});
    std::string cutoff = text_of(cutoff_row.at(0), 0);
    int64_t cutoff_epoch = int_of(cutoff_row.at(0), 1);
    bool nothing_moves = false;

    // What moves how.
    struct RowsUnit {
        Oid rel;
        std::string bound_text;  // to create a matching archive partition; "" = none needed
        core::Span span;
        bool is_default = false;
    };
    std::vector<RowsUnit> rows_units;
    std::vector<Child> attach_units;
    TargetLayout layout = layout_of(spi_, target, type);
    bool partition_path = range_partitioned_on(source, policy.time_column) && target.partkey == source.partkey;
    if (source.partitioned()) {
        std::vector<Child> children = children_of(spi_, source.oid, type);
        if (policy.whole_partitions && range_partitioned_on(source, policy.time_column)) {
            std::vector<core::Span> spans;
            for (const Child& c : children)
                if (!c.bound.is_default) spans.push_back(c.span);
            auto rounded = core::round_cutoff_to_partitions(spans, cutoff_epoch);
            if (!rounded) {
                nothing_moves = true;
            } else if (*rounded != cutoff_epoch) {
                for (const Child& c : children)
                    if (!c.bound.is_default && c.span.lower == rounded) cutoff = *c.bound.lower;
                cutoff_epoch = *rounded;
            }
        }
        for (const Child& c : children) {
            if (nothing_moves) break;
            bool leaf = c.kind == 'r';
            if (c.bound.is_default || !range_partitioned_on(source, policy.time_column)) {
                rows_units.push_back({c.oid, "", {}, c.bound.is_default});
                continue;
            }
            core::PartitionMove move = core::classify_partition(c.span, cutoff_epoch);
            if (move == core::PartitionMove::keep) continue;
            bool can_attach =
                move == core::PartitionMove::attach && partition_path && leaf && !overlapping(layout, c.span);
            if (can_attach && layout.default_partition) {
                Rel def = load_rel(spi_, *layout.default_partition, "archive target");
                auto conflict =
                    query(spi_,
                          "SELECT EXISTS (SELECT 1 FROM " + def.qname + " WHERE " + time_col + " >= CAST($1 AS " +
                              type + ") AND " + time_col + " < CAST($2 AS " + type + "))",
                          {pg::text_param(c.bound.lower.value_or("-infinity")),
                           pg::text_param(c.bound.upper.value_or("infinity"))});
                can_attach = text_of(conflict.at(0), 0) == "f";
            }
            if (can_attach)
                attach_units.push_back(c);
            else
                rows_units.push_back({c.oid, c.bound_text, c.span, false});
        }
    } else {
        rows_units.push_back({source.oid, "", {}, true});
    }
    result.cutoff = nothing_moves ? "-infinity" : cutoff;

    // Batch path: leaves only (a sub-partitioned child is walked to its leaves).
    for (const RowsUnit& unit : rows_units) {
        if (!budget_left()) {
            stopped = true;
            break;
        }
        std::vector<Oid> leaves;
        if (unit.rel == source.oid && !source.partitioned()) {
            leaves.push_back(unit.rel);
        } else {
            for (const Row& row :
                 query(spi_,
                       "SELECT t.relid::pg_catalog.oid FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass) t "
                       "JOIN pg_catalog.pg_class c ON c.oid = t.relid WHERE t.isleaf AND c.relkind = 'r'",
                       {oid_param(unit.rel)}))
                leaves.push_back(oid_of(row, 0));
        }
        for (Oid leaf_oid : leaves) {
            if (!budget_left()) {
                stopped = true;
                break;
            }
            Rel leaf = load_rel(spi_, leaf_oid, "source partition");
            auto any_old = query(spi_,
                                 "SELECT EXISTS (SELECT 1 FROM ONLY " + leaf.qname + " WHERE " + time_col +
                                     " < CAST($1 AS " + type + "))",
                                 {pg::text_param(cutoff)});
            if (text_of(any_old.at(0), 0) != "t") continue;
            // Make sure the archive can take these rows: in an archive
            // partitioned like the source, a partition with the source
            // partition's bounds (or a default one).  Another layout is the
            // owner's to cover; a row that fits nowhere fails the batch.
            if (target.partitioned() && target.partkey == source.partkey) {
                if (commit_) layout = layout_of(spi_, target, type);
                // CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE on the
                // target (and on its default partition, which it scans):
                // polled, never queued behind the archive's readers.
                const char* purpose = "to create an archive partition";
                if (unit.is_default || unit.bound_text.empty()) {
                    if (!layout.default_partition) {
                        std::string name = free_name(spi_, target.schema, target.name, "_default", target.oid);
                        take_strong_lock(target.oid, target.qname, AccessExclusiveLock, purpose);
                        query(spi_, "CREATE TABLE " + name + " PARTITION OF " + target.qname + " DEFAULT", {});
                        pg::copy_access(spi_, target.oid, oid_of_name(spi_, name));
                        layout = layout_of(spi_, target, type);
                    }
                } else if (!overlapping(layout, unit.span)) {
                    Rel part = load_rel(spi_, unit.rel, "source partition");
                    std::string name = free_name(spi_, target.schema, part.name, "", part.oid);
                    take_strong_lock(target.oid, target.qname, AccessExclusiveLock, purpose);
                    if (layout.default_partition)
                        take_strong_lock(*layout.default_partition,
                                         pg::qualified_relation_name(*layout.default_partition), AccessExclusiveLock,
                                         purpose);
                    query(spi_, "CREATE TABLE " + name + " PARTITION OF " + target.qname + " " + unit.bound_text, {});
                    pg::copy_access(spi_, target.oid, oid_of_name(spi_, name));
                    layout = layout_of(spi_, target, type);
                }
                commit(false);
            }
            // The keyset and the statements, from the columns as they are now.
            std::string first_sql, next_sql;
            auto build = [&] {
                std::vector<Column> key = primary_key(spi_, leaf.oid);
                if (key.empty())
                    throw Error(sqlstate::object_not_in_prerequisite_state,
                                "archive: " + leaf.qname + " has no primary key; the batch path needs one", "",
                                "Add a primary key (for a partitioned table, one that includes the partition key).");
                // Keyset order: the primary key, led by the time column when a
                // btree index starts with it; then each batch's scan stops at the
                // cutoff instead of reading the newer rows after the last old one.
                if (time_indexed(spi_, leaf.oid, policy.time_column)) {
                    std::vector<Column> ordered{*find_column(columns, policy.time_column)};
                    for (const Column& k : key)
                        if (k.name != policy.time_column) ordered.push_back(k);
                    key = ordered;
                }
                std::string key_list, key_desc, key_text, key_params;
                for (size_t i = 0; i < key.size(); ++i) {
                    key_list += (i ? ", " : "") + key[i].quoted;
                    key_desc += (i ? ", " : "") + std::string("batch.") + key[i].quoted + " DESC";
                    key_text += ", last_row." + key[i].quoted + "::pg_catalog.text";
                    // A scalar subquery: cast once per batch, not once per row
                    // (the row comparison is also a filter, and casts from text
                    // to a date/time type are only stable, so never folded).
                    key_params += (i ? ", " : "") + std::string("(SELECT CAST($") + std::to_string(i + 3) + " AS " +
                                  key[i].type + "))";
                }
                auto statement = [&](bool first) {
                    return "WITH batch AS MATERIALIZED (SELECT ctid AS zc_ctid, " + key_list + " FROM ONLY " +
                           leaf.qname + " WHERE " + time_col + " < CAST($1 AS " + type + ")" +
                           (first ? "" : " AND (" + key_list + ") > (" + key_params + ")") + " ORDER BY " + key_list +
                           " LIMIT $2 FOR UPDATE SKIP LOCKED), "
                           "moved AS (DELETE FROM ONLY " +
                           leaf.qname + " WHERE ctid = ANY (ARRAY(SELECT zc_ctid FROM batch)) RETURNING " + cols +
                           "), "
                           "ins AS (INSERT INTO " +
                           target.qname + " (" + cols + ") OVERRIDING SYSTEM VALUE SELECT " + cols +
                           " FROM moved RETURNING 1) "
                           "SELECT (SELECT pg_catalog.count(*) FROM ins), (SELECT pg_catalog.count(*) FROM batch)" +
                           key_text + " FROM (SELECT " + key_list + " FROM batch ORDER BY " + key_desc +
                           " LIMIT 1) last_row";  // the last key as text: one row converted, not the batch
                };
                first_sql = statement(true);
                next_sql = statement(false);
            };
            build();
            std::vector<std::string> last_key;
            for (;;) {
                if (!budget_left()) {
                    stopped = true;
                    break;
                }
                std::vector<Param> params{pg::text_param(cutoff), pg::int4_param(policy.batch_size)};
                for (const std::string& k : last_key) params.push_back(pg::text_param(k));
                auto rows = query(spi_, last_key.empty() ? first_sql : next_sql, params);
                if (rows.empty()) break;
                int64_t moved = int_of(rows[0], 0);
                last_key.clear();
                int64_t locked = int_of(rows[0], 1);
                for (size_t i = 2; i < rows[0].size(); ++i) last_key.push_back(text_of(rows[0], i));
                result.rows_by_batch += moved;
                result.rows_moved += moved;
                ++result.batches;
                if (commit_) {
                    pg::notice("archive_proc: " + source.qname + ": batch " + std::to_string(result.batches) +
                               " moved " + std::to_string(moved) + " rows from " + leaf.qname + " (" +
                               std::to_string(result.rows_moved) + " so far), committed");
                }
                if (commit(true)) {
                    // The table changed: statements from its new columns.  The
                    // keyset starts over (the rows moved so far are gone).
                    build();
                    last_key.clear();
                    continue;
                }
                // A short batch means the scan ran out of old rows (rows locked by
                // others were skipped; the next run takes them).
                if (locked < policy.batch_size) break;
            }
        }
    }

    // Partition path: whole partitions, metadata only.  docs/locking.md: the
    // parent's ACCESS EXCLUSIVE (which DETACH needs) before the partition's
    // (which ADD CONSTRAINT needs), both conditional with bounded retry; a
    // parent busy with the application's transactions is skipped this run.
    for (const Child& c : attach_units) {
        if (!budget_left()) {
            stopped = true;
            break;
        }
        // The locks are taken in a subtransaction of their own: when one
        // does not come, those already taken (the parent's ACCESS
        // EXCLUSIVE...) are released at once, not held until the caller
        // commits.
        Segment locks;
        locks.begin();
        try {
            lock_for_move(spi_, source.oid, c.oid, target.oid);
        } catch (const Skipped& skipped) {
            locks.roll_back();
            result.status = "skipped";
            result.error = skipped.reason;
            stopped = true;
            break;
        } catch (...) {
            locks.roll_back();
            throw;
        }
        locks.release();
        auto still =
            query(spi_, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits WHERE inhrelid = $1 AND inhparent = $2)",
                  {oid_param(c.oid), oid_param(source.oid)});
        if (text_of(still.at(0), 0) != "t") continue;  // somebody else moved it
        Rel part = load_rel(spi_, c.oid, "source partition");
        bool estimated = false;
        int64_t rows = count_rows(spi_, part, &estimated);
        result.counts_estimated = result.counts_estimated || estimated;
        move_partition(spi_, part, source, target, c.bound_text);
        result.rows_moved += rows;
        ++result.partitions_moved;
        ++result.batches;
        if (commit_)
            pg::notice("archive_proc: " + source.qname + ": partition " + part.qname + " (" + std::to_string(rows) +
                       " rows) attached to " + target.qname + ", committed");
        commit(true);
    }
    result.finished = !stopped;
    result.duration_ms = elapsed_ms(start);
    as_owner.reset();
    as_owner_ = nullptr;  // the user is the caller again: commit_unit has nothing to switch

    auto metadata =
        query(spi_,
              "SELECT pg_catalog.jsonb_build_object('archived_count', $1::pg_catalog.int8, 'cutoff_date', $2, "
              "'method', $3, 'duration_ms', pg_catalog.round($4::pg_catalog.numeric, 1), 'source', $5, 'target', $6, "
              "'partitions_moved', $7::pg_catalog.int4, 'rows_by_batch', $8::pg_catalog.int8, 'batches', "
              "$9::pg_catalog.int4, "
              "'finished', $10, 'counts', CASE WHEN $11 THEN 'estimated' ELSE 'exact' END, 'status', $12, "
              "'skipped', NULLIF($13, ''))::pg_catalog.text",
              {pg::int8_param(result.rows_moved), pg::text_param(result.cutoff), pg::text_param(result.method()),
               pg::text_param(std::to_string(result.duration_ms)), pg::text_param(result.source_name),
               pg::text_param(result.target_name), pg::int4_param(result.partitions_moved),
               pg::int8_param(result.rows_by_batch), pg::int4_param(result.batches), bool_param(result.finished),
               bool_param(result.counts_estimated), pg::text_param(result.status), pg::text_param(result.error)});
    pg::write_system_log(spi_, "INFO", log_message, text_of(metadata.at(0), 0));
}

std::string archive_partition(SpiSession& spi, Oid partition)
{
    pg::PinnedSearchPath pinned;
    Rel part = load_rel(spi, partition, "archive_partition");
    check_source(partition, "partition", "archived");
    if (!part.is_partition)
        throw Error(sqlstate::wrong_object_type,
                    "archive_partition: partition " + part.qname + " is not a partition of a partitioned table");
    if (part.kind != 'r')
        throw Error(sqlstate::feature_not_supported,
                    "archive_partition: partition " + part.qname + " is itself partitioned or not a plain table", "",
                    "Archive its leaf partitions, or use zerocut.archive() to move its rows.");
    auto parent_row =
        query(spi, "SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid = $1", {oid_param(partition)});
    // docs/locking.md: job lock, then the parent, then the partition (the
    // partition manager's retention calls this holding all three already).
    Oid parent_oid = oid_of(parent_row.at(0), 0);
    // Its parent loses it: the caller must own the parent too.
    check_source(parent_oid, "partition", "archived");
    try {
        take_job_lock(parent_oid, pg::qualified_relation_name(parent_oid));
        take_strong_lock(parent_oid, pg::qualified_relation_name(parent_oid));
        take_strong_lock(partition, part.qname);
        if (auto def = default_partition_of(spi, parent_oid)) take_strong_lock(*def, pg::qualified_relation_name(*def));
    } catch (const Skipped& skipped) {
        lock_not_available(skipped, "archive_partition");
    }
    Rel parent = load_rel(spi, parent_oid, "archive_partition");
    auto bound_row =
        query(spi, "SELECT pg_catalog.pg_get_expr(relpartbound, oid) FROM pg_catalog.pg_class WHERE oid = $1",
              {oid_param(partition)});
    std::string bound_text = text_of(bound_row.at(0), 0);
    if (bound_text == "DEFAULT")
        throw Error(sqlstate::feature_not_supported,
                    "archive_partition: partition " + part.qname + " is the default partition of " + parent.qname, "",
                    "Its old rows move row by row with zerocut.archive().");
    core::RangeBoundText bound = core::parse_range_bound(bound_text);
    // The time column is the partition key column.
    auto key_row = query(spi,
                         "SELECT a.attname FROM pg_catalog.pg_partitioned_table p JOIN pg_catalog.pg_attribute a "
                         "ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] WHERE p.partrelid = $1",
                         {oid_param(parent.oid)});
    if (key_row.empty() || !key_row[0][0])
        throw Error(sqlstate::feature_not_supported,
                    "archive_partition: " + parent.qname + " is not range-partitioned on a column");
    std::string time_column = text_of(key_row[0], 0);
    std::vector<Column> columns = load_columns(spi, parent.oid);
    std::string type = time_type(columns, time_column, parent, "archive_partition");
    auto policy = find_policy(spi, parent.oid);
    if (policy) check_policy_owner(*policy, parent.oid, "archive_partition");
    core::Span span;
    if (bound.lower) span.lower = epoch_of(spi, *bound.lower, type);
    if (bound.upper) span.upper = epoch_of(spi, *bound.upper, type);
    // Only rows that can no longer arrive: the whole range lies in the past
    // (and before the policy's cutoff, when the parent has a policy).
    std::string limit_sql = policy ? "CAST(CURRENT_DATE - $1::pg_catalog.interval AS " + type + ")"
                                   : "CAST(pg_catalog.now() AS " + type + ")";
    auto limit_row = query(
        spi,
        "SELECT (EXTRACT(epoch FROM " + limit_sql + ") * 1000000)::pg_catalog.int8, " + limit_sql + "::pg_catalog.text",
        {pg::text_param(policy ? policy->keep : "0")});
    if (!span.upper || *span.upper > int_of(limit_row.at(0), 0))
        throw Error(
            sqlstate::invalid_parameter_value,
            "archive_partition: partition " + part.qname + " is not entirely older than " + text_of(limit_row[0], 1),
            "bounds: " + bound_text,
            policy ? "The archive policy of " + parent.qname + " keeps rows newer than that."
                   : "Only partitions whose whole range lies in the past are archived.");
    auto [target_schema, target_table] = default_target(parent.schema, parent.name);
    if (policy && !policy->target_schema.empty()) {
        target_schema = policy->target_schema;
        target_table = policy->target_table;
    }
    // DETACH, ATTACH and the archive table: as the parent's owner, restricted.
    pg::AsTableOwner as_owner(parent.oid);
    Rel target = ensure_target(spi, parent, target_schema, target_table, "archive_partition");
    if (!target.partitioned() || target.partkey != parent.partkey)
        throw Error(
            sqlstate::wrong_object_type,
            "archive_partition: archive target " + target.qname + " is not partitioned like " + parent.qname,
            "source: " + parent.partkey + "; target: " + (target.partkey.empty() ? "not partitioned" : target.partkey),
            "Use zerocut.archive() to move the rows instead.");
    check_compatible(columns, parent, load_columns(spi, target.oid), target, "archive_partition");
    TargetLayout layout = layout_of(spi, target, type);
    if (auto other = overlapping(layout, span))
        throw Error("42P17",
                    "archive_partition: archive target " + target.qname + " already has partition " +
                        pg::qualified_relation_name(*other) + " overlapping " + part.qname,
                    "bounds: " + bound_text, "Use zerocut.archive() to move the rows instead.");
    try {
        take_strong_lock(target.oid, target.qname, ShareUpdateExclusiveLock);
        if (auto def = default_partition_of(spi, target.oid)) take_strong_lock(*def, pg::qualified_relation_name(*def));
    } catch (const Skipped& skipped) {
        lock_not_available(skipped, "archive_partition");
    }
    auto start = std::chrono::steady_clock::now();
    move_partition(spi, part, parent, target, bound_text);
    std::string moved = pg::qualified_relation_name(partition);
    auto metadata =
        query(spi,
              "SELECT pg_catalog.jsonb_build_object('partition', $1, 'source', $2, 'target', $3, 'bounds', $4, "
              "'method', 'partition', 'duration_ms', pg_catalog.round($5::pg_catalog.numeric, 1))::pg_catalog.text",
              {pg::text_param(moved), pg::text_param(parent.qname), pg::text_param(target.qname),
               pg::text_param(bound_text), pg::text_param(std::to_string(elapsed_ms(start)))});
    pg::write_system_log(spi, "INFO", "Archived partition " + moved, text_of(metadata.at(0), 0));
    return moved;
}

int64_t restore_archived(SpiSession& spi, Oid source_oid, const std::string& from_ts, const std::string& to_ts)
{
    pg::PinnedSearchPath pinned;
    check_source(source_oid, "source", "restored");
    auto policy = find_policy(spi, source_oid);
    Rel source = load_rel(spi, source_oid, "source");
    if (!policy)
        throw Error(sqlstate::undefined_object, "restore_archived: source " + source.qname + " has no archive policy",
                    "", "The policy names the time column and the archive target.");
    try {
        take_job_lock(source.oid, source.qname);
    } catch (const Skipped& skipped) {
        lock_not_available(skipped, "restore_archived");
    }
    // docs/locking.md step 3: the source before the target (the statement
    // below deletes from the target first, which would lock it first), and
    // before its columns are read.
    lock_for_dml(source.oid);
    check_policy_owner(*policy, source.oid, "restore_archived");
    std::vector<Column> columns = load_columns(spi, source.oid);
    std::string type = time_type(columns, policy->time_column, source, "restore_archived");
    auto found = relation_named(spi, policy->target_schema, policy->target_table);
    if (!found)
        throw Error(sqlstate::undefined_table, "restore_archived: " + source.qname + " has no archive table yet (" +
                                                   pg::quote_ident(policy->target_schema) + "." +
                                                   pg::quote_ident(policy->target_table) + ")");
    Rel target = load_rel(spi, *found, "restore_archived");
    check_target(target, source, "restore_archived", "archive target");
    check_not_foreign(target, source, "restore_archived");
    std::vector<Column> target_columns = load_columns(spi, target.oid);
    check_compatible(columns, source, target_columns, target, "restore_archived");
    std::string cols = insert_list(columns);
    std::string time_col = pg::quote_ident(policy->time_column);
    auto start = std::chrono::steady_clock::now();
    // The move, as the source's owner, restricted: the triggers of the
    // archive and the source never run with the caller's rights.
    std::optional<pg::AsTableOwner> as_owner;
    as_owner.emplace(source.oid);
    auto rows = query(spi,
                      "WITH moved AS (DELETE FROM " + target.qname + " WHERE " + time_col +
                          " >= $1::pg_catalog.timestamptz AND ($2::pg_catalog.timestamptz = 'infinity' OR " + time_col +
                          " < $2::pg_catalog.timestamptz) RETURNING " + cols +
                          "), "
                          "ins AS (INSERT INTO " +
                          source.qname + " (" + cols + ") OVERRIDING SYSTEM VALUE SELECT " + cols +
                          " FROM moved RETURNING 1) SELECT pg_catalog.count(*) FROM ins",
                      {pg::text_param(from_ts), pg::text_param(to_ts)});
    int64_t moved = int_of(rows.at(0), 0);
    as_owner.reset();
    auto metadata = query(
        spi,
        "SELECT pg_catalog.jsonb_build_object('restored_count', $1::pg_catalog.int8, 'source', $2, 'archive', $3, "
        "'from', $4, 'to', $5, 'duration_ms', pg_catalog.round($6::pg_catalog.numeric, 1))::pg_catalog.text",
        {pg::int8_param(moved), pg::text_param(source.qname), pg::text_param(target.qname), pg::text_param(from_ts),
         pg::text_param(to_ts), pg::text_param(std::to_string(elapsed_ms(start)))});
    pg::write_system_log(spi, "INFO", "Restored archived rows of " + source.qname, text_of(metadata.at(0), 0));
    return moved;
}

// The partition manager's retention of `source` must not take partitions
// out of the table before `keep` lets the archive move their rows: the one
// rule of docs/partitions.md ("Retention and the archive policy"), the
// mirror of manage_partitions' check, on today's UTC date with a day's
// margin for a partition time zone that is not UTC all year.
void check_keep_against_retention(SpiSession& spi, const Rel& source, const std::string& keep)
{
    pg::AsExtensionOwner as_extension_owner;  // reads zerocut.partition_config
    auto rows =
        query(spi,
              "SELECT c.retention::pg_catalog.text, m.margin::pg_catalog.text, "
              "       (x.d - c.retention) > (x.d - $1::pg_catalog.interval - m.margin) "
              "FROM zerocut.partition_config c, LATERAL "
              "     (SELECT (pg_catalog.now() AT TIME ZONE 'UTC')::pg_catalog.date::pg_catalog.timestamp AS d, "
              "             (pg_catalog.now() AT TIME ZONE c.time_zone) = (pg_catalog.now() AT TIME ZONE 'UTC') "
              "             AND ((pg_catalog.now() + pg_catalog.interval '6 months') AT TIME ZONE c.time_zone) "
              "               = ((pg_catalog.now() + pg_catalog.interval '6 months') AT TIME ZONE 'UTC') AS utc) x, "
              // A time of day in either interval: a day's margin too.
              "     LATERAL (SELECT CASE WHEN x.utc AND (x.d - c.retention)::pg_catalog.time = '00:00' "
              "                           AND (x.d - $1::pg_catalog.interval)::pg_catalog.time = '00:00' "
              "                      THEN pg_catalog.interval '0' ELSE pg_catalog.interval '1 day' END AS margin) m "
              "WHERE c.parent = $2::pg_catalog.regclass AND c.retention IS NOT NULL",
              {pg::text_param(keep), oid_param(source.oid)});
    if (rows.empty() || text_of(rows[0], 2) != "t") return;
    bool utc = text_of(rows[0], 1) == "00:00:00";
    throw Error(sqlstate::invalid_parameter_value,
                "set_archive_policy: argument \"keep\" (" + keep + (utc ? "" : " plus 1 day") +
                    ") is longer than the partition retention (" + text_of(rows[0], 0) + ") of " + source.qname,
                "Partitions older than the retention would leave " + source.qname +
                    " before zerocut.archive() may move their rows (compared on today's UTC date" +
                    (utc ? ""
                         : "; one more day is needed when the partition time zone is not UTC all year or an "
                           "interval has a time of day") +
                    ").",
                "Choose a shorter keep, or a longer retention with zerocut.manage_partitions().");
}

void store_policy(SpiSession& spi, const Policy& policy, Oid given_target)
{
    pg::PinnedSearchPath pinned;
    Rel source = load_rel(spi, policy.source, "set_archive_policy");
    check_source(source.oid, "source", "given an archive policy");
    if (source.kind != 'r' && source.kind != 'p')
        throw Error(sqlstate::wrong_object_type, "set_archive_policy: source " + source.qname + " is not a table");
    if (source.is_partition)
        throw Error(sqlstate::wrong_object_type, "set_archive_policy: source " + source.qname + " is a partition", "",
                    "Give the policy to its partitioned parent.");
    if (source.persistence == 't')
        throw Error(sqlstate::feature_not_supported,
                    "set_archive_policy: source " + source.qname + " is a temporary table", "",
                    "Other sessions, and pg_cron, cannot see it; archive a permanent table.");
    // The job lock before the checks: manage_partitions checks the other
    // side of the retention-vs-keep rule under the same lock.
    if (!pg::lock_table_job_polling(source.oid, partition::lock_timeout_ms()))
        throw Error("55P03",
                    "set_archive_policy: could not lock " + source.qname +
                        " within zerocut.partition_lock_timeout: another zerocut job is working on it",
                    "", "Retry later or raise zerocut.partition_lock_timeout.");
    std::vector<Column> columns = load_columns(spi, source.oid);
    time_type(columns, policy.time_column, source, "set_archive_policy");
    // keep: positive and at most 1000 years, so CURRENT_DATE - keep is a
    // date every time type holds (PostgreSQL's dates start 4713 BC).  Each
    // field (months, days, time) on its own must stay within 1000 years
    // too: interval comparison adds the fields up, so '-300000 years
    // 108000001 days' compares as one day, and CURRENT_DATE minus it
    // overflows on the way (22008 at every run).
    auto keep_ok = query(spi,
                         "SELECT i > pg_catalog.interval '0' AND i <= pg_catalog.interval '1000 years', "
                         "pg_catalog.abs(pg_catalog.date_part('year', i) * 12 + pg_catalog.date_part('month', i)) "
                         "<= 12000 AND pg_catalog.abs(pg_catalog.date_part('day', i)) <= 366000 "
                         "AND pg_catalog.abs(pg_catalog.date_part('hour', i)) <= 8784000 "
                         "FROM (SELECT $1::pg_catalog.interval AS i) k",
                         {pg::text_param(policy.keep)});
    if (text_of(keep_ok.at(0), 0) != "t")
        throw Error(sqlstate::invalid_parameter_value,
                    "set_archive_policy: keep must be a positive interval of at most 1000 years, not " + policy.keep);
    if (text_of(keep_ok.at(0), 1) != "t")
        throw Error(sqlstate::invalid_parameter_value,
                    "set_archive_policy: keep must not have a field (months, days or time) beyond 1000 years, not " +
                        policy.keep,
                    "", "Interval comparison adds the fields up; CURRENT_DATE - keep computes them one by one.");
    if (policy.batch_size <= 0 || policy.batch_size > 1000000)
        throw Error(
            sqlstate::invalid_parameter_value,
            "set_archive_policy: batch_size must be between 1 and 1000000, not " + std::to_string(policy.batch_size));
    check_keep_against_retention(spi, source, policy.keep);
    if (primary_key(spi, source.oid).empty())
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "set_archive_policy: source " + source.qname + " has no primary key; the batch path needs one", "",
                    "Add a primary key (for a partitioned table, one that includes the partition key).");
    std::string target_schema, target_table;
    if (given_target != InvalidOid) {
        Rel target = load_rel(spi, given_target, "set_archive_policy");
        pg::require_table_owner(target.oid, "target");
        check_target(target, source, "set_archive_policy", "argument \"target\":");
        if (target.persistence == 't')
            throw Error(sqlstate::feature_not_supported,
                        "set_archive_policy: target " + target.qname + " is a temporary table", "",
                        "Other sessions, and pg_cron, cannot see it; archive into a permanent table.");
        auto related = query(
            spi,
            "SELECT $1 = $2 OR EXISTS (SELECT 1 FROM pg_catalog.pg_partition_ancestors($2::pg_catalog.regclass) a "
            "WHERE a.relid = $1::pg_catalog.regclass) OR EXISTS (SELECT 1 FROM "
            "pg_catalog.pg_partition_ancestors($1::pg_catalog.regclass) a WHERE a.relid = $2::pg_catalog.regclass)",
            {oid_param(source.oid), oid_param(target.oid)});
        if (text_of(related.at(0), 0) == "t")
            throw Error(sqlstate::invalid_parameter_value,
                        "set_archive_policy: target " + target.qname + " is the source or one of its partitions");
        check_not_foreign(target, source, "set_archive_policy");
        check_compatible(columns, source, load_columns(spi, target.oid), target, "set_archive_policy");
        target_schema = target.schema;
        target_table = target.name;
        check_archive_schema(spi, source, target_schema, target_table, "set_archive_policy");
    } else {
        // A stored target is kept, unless the policy was set for another
        // owner (the name's previous table, maybe another role's).
        auto existing = find_policy(spi, source.oid);
        if (existing && same_owner(*existing, source.oid)) {
            target_schema = existing->target_schema;
            target_table = existing->target_table;
        } else {
            std::tie(target_schema, target_table) = default_target(source.schema, source.name);
        }
        if (auto found = relation_named(spi, target_schema, target_table)) {
            Rel target = load_rel(spi, *found, "set_archive_policy");
            check_target(target, source, "set_archive_policy", "archive target");
            check_not_foreign(target, source, "set_archive_policy");
        }
        check_archive_schema(spi, source, target_schema, target_table, "set_archive_policy");
    }
    // The policy is for the table's owner of now (not the caller's).
    std::string owner_name = role_name(pg::relation_owner(source.oid));
    // zerocut's table, written as the extension's owner: the table's owner
    // needs EXECUTE only.
    pg::AsExtensionOwner as_extension_owner;
    query(spi,
          "INSERT INTO zerocut.archive_policy AS p (source_schema, source_table, time_column, keep, target_schema, "
          "target_table, batch_size, whole_partitions, source_owner) "
          "VALUES ($1, $2, $3, $4::pg_catalog.interval, $5, $6, $7, $8, $9) "
          "ON CONFLICT (source_schema, source_table) DO UPDATE SET time_column = EXCLUDED.time_column, "
          "keep = EXCLUDED.keep, target_schema = EXCLUDED.target_schema, target_table = EXCLUDED.target_table, "
          "batch_size = EXCLUDED.batch_size, whole_partitions = EXCLUDED.whole_partitions, "
          "source_owner = EXCLUDED.source_owner, updated_at = pg_catalog.now()",
          {pg::text_param(source.schema), pg::text_param(source.name), pg::text_param(policy.time_column),
           pg::text_param(policy.keep), pg::text_param(target_schema), pg::text_param(target_table),
           pg::int4_param(policy.batch_size), bool_param(policy.whole_partitions), pg::text_param(owner_name)});
}

}  // namespace zc::archive
