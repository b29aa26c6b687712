// zerocut.convert_to_partitioned(tbl regclass, control_column name,
//     granularity text DEFAULT 'month') RETURNS void
//
// Turns a plain table into a managed RANGE-partitioned table of the same
// name.  The rows are not copied: the old heap becomes the partition
// <table>_legacy covering every existing row.  Locks (docs/locking.md): the
// table's job lock, then ACCESS EXCLUSIVE on the table, both polled for at
// most zerocut.partition_lock_timeout, taken once and never upgraded.  Its
// bounds are then proved by one scan on a FRESH snapshot (the latest one,
// as core's VALIDATE CONSTRAINT does, not the transaction snapshot: under
// REPEATABLE READ that one misses rows committed before the lock); the
// matching CHECK constraint is added NOT VALID and marked validated from
// that scan, so ATTACH PARTITION skips a second scan.  Defaults, indexes (same names),
// constraints, foreign keys in both directions, grants, owner, comment,
// triggers and sequence ownership move to the new parent.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "partition/engine.hpp"
#include "pg/boundary.hpp"
#include "pg/guard.hpp"
#include "pg/job_lock.hpp"
#include "pg/run_as.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_constraint.h"
#include "executor/spi.h"
#include "storage/lmgr.h"
#include "utils/snapmgr.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace {

namespace core = zc::core;
using zc::Error;
using zc::pg::Param;
using zc::pg::SpiSession;
using Rows = std::vector<std::vector<std::optional<std::string>>>;

Param oid_param(Oid value)
{
    return Param{OIDOID, ObjectIdGetDatum(value), false};
}

struct Table {
    Oid oid = InvalidOid;
    std::string schema, name, qualified, owner, column;
    Oid type = InvalidOid;
    std::string comment;
    bool has_comment = false;
};

Table describe_plain_table(SpiSession& spi, Oid relid, const std::string& column)
{
    spi.execute(
        "SELECT n.nspname, c.relname, c.relkind::text, c.relispartition, pg_catalog.pg_get_userbyid(c.relowner), "
        "NULL, c.relrowsecurity, c.relpersistence::text, "
        "EXISTS (SELECT FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid), "
        "pg_catalog.obj_description(c.oid, 'pg_class') "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
        {oid_param(relid)});
    Rows rows = spi.rows_text();
    if (rows.empty())
        throw Error(zc::sqlstate::undefined_table,
                    fmt::format("argument \"tbl\": relation with OID {} does not exist", relid));
    const auto& row = rows[0];
    Table table;
    table.oid = relid;
    table.schema = row[0].value_or("");
    table.name = row[1].value_or("");
    table.qualified = zc::pg::quote_ident(table.schema) + "." + zc::pg::quote_ident(table.name);
    std::string kind = row[2].value_or("");
    if (kind == "p")
        throw Error(zc::sqlstate::wrong_object_type,
                    fmt::format("argument \"tbl\": {} is already partitioned", table.qualified), "",
                    "Register it with zerocut.manage_partitions() instead.");
    if (kind != "r" || row[3] == std::optional<std::string>("t"))
        throw Error(zc::sqlstate::wrong_object_type,
                    fmt::format("argument \"tbl\": {} is not a plain table", table.qualified));
    if (row[6] == std::optional<std::string>("t"))
        throw Error(zc::sqlstate::feature_not_supported,
                    fmt::format("argument \"tbl\": {} has row-level security enabled", table.qualified),
                    "policies are not moved; disable row security, convert, and re-create the policies");
    if (row[7] != std::optional<std::string>("p"))
        throw Error(zc::sqlstate::feature_not_supported,
                    fmt::format("argument \"tbl\": {} is a temporary or unlogged table", table.qualified));
    if (row[8] == std::optional<std::string>("t"))
        throw Error(zc::sqlstate::feature_not_supported,
                    fmt::format("argument \"tbl\": {} takes part in table inheritance", table.qualified));
    table.owner = row[4].value_or("");
    table.has_comment = row[9].has_value();
    table.comment = row[9].value_or("");

    spi.execute(
        "SELECT a.atttypid, a.attidentity::text FROM pg_catalog.pg_attribute a "
        "WHERE a.attrelid = $1 AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
        {oid_param(relid), zc::pg::text_param(column)});
    rows = spi.rows_text();
    if (rows.empty())
        throw Error(
            zc::sqlstate::undefined_column,
            fmt::format("argument \"control_column\": column \"{}\" of {} does not exist", column, table.qualified));
    table.column = column;
    table.type = static_cast<Oid>(std::stoul(rows[0][0].value_or("0")));
    if (table.type != DATEOID && table.type != TIMESTAMPOID && table.type != TIMESTAMPTZOID)
        throw Error(zc::sqlstate::feature_not_supported,
                    fmt::format("argument \"control_column\": column \"{}\" of {} is not a date, timestamp or "
                                "timestamptz column",
                                column, table.qualified));
    return table;
}

// What a partitioned table cannot carry, refused before anything changes.
void check_convertible(SpiSession& spi, const Table& table)
{
    auto bad = zc::partition::query_value(
        spi,
        "SELECT pg_catalog.string_agg(x.what, '; ') FROM ("
        "  SELECT 'unique index ' || i.indexrelid::pg_catalog.regclass::pg_catalog.text || ' lacks column ' || "
        "         pg_catalog.quote_ident($2) AS what "
        "  FROM pg_catalog.pg_index i WHERE i.indrelid = $1 AND i.indisunique AND NOT EXISTS ("
        "    SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attname = $2 "
        "    AND a.attnum = ANY (i.indkey::pg_catalog.int2[]))"
        "  UNION ALL SELECT 'exclusion constraint ' || conname FROM pg_catalog.pg_constraint "
        "  WHERE conrelid = $1 AND contype = 'x'"
        "  UNION ALL SELECT DISTINCT 'view or rule ' || r.ev_class::pg_catalog.regclass::pg_catalog.text || ' depends "
        "on it' "
        "  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid "
        "  WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refobjid = $1 AND r.ev_class <> $1"
        "  UNION ALL SELECT 'publication ' || p.pubname FROM pg_catalog.pg_publication_rel pr "
        "  JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid WHERE pr.prrelid = $1"
        ") x",
        {oid_param(table.oid), zc::pg::text_param(table.column)});
    if (bad)
        throw Error(zc::sqlstate::feature_not_supported,
                    fmt::format("argument \"tbl\": {} cannot become a partitioned table: {}", table.qualified, *bad),
                    "", "Every unique key must include the partition column; drop dependent views first.");
}

// Marks a NOT VALID constraint validated: our own scan, made under a lock
// that has kept every writer out since, proved it.
void mark_validated(Oid constraint, Oid relid)
{
    zc::pg::guard([=] {
        Relation catalog = table_open(ConstraintRelationId, RowExclusiveLock);
        HeapTuple tuple = SearchSysCacheCopy1(CONSTROID, ObjectIdGetDatum(constraint));
        if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for constraint %u", constraint);
        reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple))->convalidated = true;
        CatalogTupleUpdate(catalog, &tuple->t_self, tuple);
        heap_freetuple(tuple);
        table_close(catalog, RowExclusiveLock);
        CacheInvalidateRelcacheByRelid(relid);
        CommandCounterIncrement();
    });
}

// Runs `sql` (one text parameter $1) on a fresh snapshot, as core's
// validateCheckConstraint() does, and returns its rows as text.  The
// SpiSession of the caller is connected.
Rows query_fresh_snapshot(const std::string& sql, const std::string& param)
{
    const char* text = sql.c_str();
    SPIPlanPtr plan = zc::pg::guard([=] {
        Oid types[1] = {TEXTOID};
        SPIPlanPtr prepared = SPI_prepare(text, 1, types);
        if (prepared == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        return prepared;
    });
    Datum value = zc::pg::text_param(param).value;
    zc::pg::guard([=] {
        Datum values[1] = {value};
        const char nulls[1] = {' '};
        PushActiveSnapshot(GetLatestSnapshot());
        int rc = SPI_execute_snapshot(plan, values, nulls, GetActiveSnapshot(), InvalidSnapshot, false, false, 0);
        PopActiveSnapshot();
        if (rc != SPI_OK_SELECT) elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(rc));
        SPI_freeplan(plan);
    });
    std::vector<std::vector<std::optional<std::string>>> rows;
    SPITupleTable* table = SPI_tuptable;
    uint64 count = SPI_processed;
    for (uint64 r = 0; r < count; ++r) {
        std::vector<std::optional<std::string>> row;
        for (int c = 1; c <= table->tupdesc->natts; ++c) {
            HeapTuple tuple = table->vals[r];
            char* cell = zc::pg::guard([=] { return SPI_getvalue(tuple, table->tupdesc, c); });
            row.push_back(cell ? std::optional<std::string>(cell) : std::nullopt);
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

double ms_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void convert(Oid relid, const std::string& column, core::Granularity granularity)
{
    SpiSession spi;
    zc::partition::EngineSettings settings;
    // docs/partitions.md, "Privileges": the owner (or a superuser), never
    // zerocut's own tables; the catalog work below runs as the owner.
    zc::partition::require_may_manage(relid, "tbl", "converted");
    Table table = describe_plain_table(spi, relid, column);
    check_convertible(spi, table);
    std::string time_zone = zc::partition::configured_time_zone();
    std::string col = zc::pg::quote_ident(column);

    // 1. Locks in the order of docs/locking.md: the table's job lock, then
    // ACCESS EXCLUSIVE (the catalog work needs it; taking it now means no
    // upgrade later, which could deadlock with a reader turning writer).
    auto scan_start = std::chrono::steady_clock::now();
    if (!zc::pg::lock_table_job_polling(table.oid, zc::partition::lock_timeout_ms()) ||
        !zc::partition::lock_relation_polling(table.oid, AccessExclusiveLock))
        throw Error("55P03",
                    fmt::format("argument \"tbl\": could not lock {} within zerocut.partition_lock_timeout ({} ms)",
                                table.qualified, zc::partition::lock_timeout_ms()),
                    "another session is using the table", "Retry later or raise zerocut.partition_lock_timeout.");
    std::string min_expr = fmt::format("(pg_catalog.min({}) {})::pg_catalog.date", col,
                                       table.type == TIMESTAMPTZOID ? "AT TIME ZONE $1" : "");
    std::string max_expr = fmt::format("(pg_catalog.max({}) {})::pg_catalog.date", col,
                                       table.type == TIMESTAMPTZOID ? "AT TIME ZONE $1" : "");
    // The scan runs on the latest snapshot: every writer has committed or
    // aborted before our lock was granted, so it sees every row the table
    // will ever attach with (our own earlier changes included).
    Rows rows = query_fresh_snapshot(
        fmt::format("SELECT {}, {}, pg_catalog.count(*) FILTER (WHERE {} IS NULL), pg_catalog.count(*), "
                    "(pg_catalog.now() AT TIME ZONE $1)::pg_catalog.date FROM {}",
                    min_expr, max_expr, col, table.qualified),
        time_zone);
    const auto& scan = rows.at(0);
    if (scan[2] != std::optional<std::string>("0"))
        throw Error("23502",
                    fmt::format("argument \"control_column\": {} rows of {} have NULL in \"{}\"", scan[2].value_or("?"),
                                table.qualified, column),
                    "", "A partition key cannot be NULL; fill or delete those rows first.");
    std::string row_count = scan[3].value_or("0");
    auto today = core::parse_iso_date(scan[4].value_or(""));
    auto oldest = scan[0] ? core::parse_iso_date(*scan[0]) : today;
    auto newest = scan[1] ? core::parse_iso_date(*scan[1]) : today;
    if (!today || !oldest || !newest || !core::in_supported_range(*oldest) || !core::in_supported_range(*newest))
        throw Error("22008", fmt::format("argument \"control_column\": values of \"{}\" in {} lie outside the years 1 "
                                         "to 9998",
                                         column, table.qualified));
    if (*newest < *today) newest = today;
    core::CivilDate first = core::period_start(*oldest, granularity);
    core::CivilDate last = core::period_start(*newest, granularity);
    zc::partition::ParentInfo shape;
    shape.name = table.name;
    shape.type = table.type;
    auto edges = zc::partition::period_bounds(spi, shape, time_zone, granularity, {first, last});
    std::string lower = edges.front().lower_text, upper = edges.back().upper_text;
    std::string type_name = table.type == DATEOID        ? "pg_catalog.date"
                            : table.type == TIMESTAMPOID ? "pg_catalog.timestamp"
                                                         : "pg_catalog.timestamptz";
    double scan_ms = ms_since(scan_start);

    // 2. Catalog work under ACCESS EXCLUSIVE from here to commit, as the
    // table's owner under SECURITY_RESTRICTED_OPERATION: the new parent and
    // its partitions are the owner's, and nothing of the owner's (a CHECK's
    // or an index's function, a trigger) runs with the caller's rights.
    auto catalog_start = std::chrono::steady_clock::now();
    std::optional<zc::pg::AsTableOwner> as_owner(std::in_place, table.oid);
    std::string legacy_name = core::partition_name(table.name, "legacy");
    std::string legacy = zc::pg::quote_ident(table.schema) + "." + zc::pg::quote_ident(legacy_name);
    auto taken =
        zc::partition::query_value(spi, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", {zc::pg::text_param(legacy)});
    if (taken == std::optional<std::string>("t"))
        throw Error("42P07", fmt::format("cannot convert {}: relation {} already exists", table.qualified, legacy));
    std::string check_name = core::partition_name(table.name, "legacy_bound");
    spi.execute(
        fmt::format("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} IS NOT NULL AND {} >= {}::{} AND {} < {}::{}) "
                    "NOT VALID",
                    table.qualified, zc::pg::quote_ident(check_name), col, col, zc::pg::quote_literal(lower), type_name,
                    col, zc::pg::quote_literal(upper), type_name));
    auto check_oid =
        zc::partition::query_value(spi, "SELECT oid FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND conname = $2",
                                   {oid_param(table.oid), zc::pg::text_param(check_name)});
    mark_validated(static_cast<Oid>(std::stoul(check_oid.value_or("0"))), table.oid);

    // Everything to re-create, read before any rename (names print as now).
    spi.execute(
        "SELECT pg_catalog.pg_get_triggerdef(t.oid), pg_catalog.quote_ident(t.tgname) "
        "FROM pg_catalog.pg_trigger t WHERE t.tgrelid = $1 AND NOT t.tgisinternal ORDER BY t.tgname",
        {oid_param(table.oid)});
    Rows triggers = spi.rows_text();
    // zerocut's trigger functions are revoked from PUBLIC and CREATE TRIGGER
    // asks for EXECUTE: grant the owner the ones it lacks (an owner changed
    // since enable_audit() or protect_column()) while the triggers exist.
    zc::partition::let_owner_clone_zerocut_triggers(spi, table.oid);
    spi.execute(
        "SELECT conrelid::pg_catalog.regclass::pg_catalog.text, pg_catalog.quote_ident(conname), "
        "pg_catalog.pg_get_constraintdef(oid), conrelid::pg_catalog.oid FROM pg_catalog.pg_constraint "
        "WHERE confrelid = $1 AND contype = 'f' AND conparentid = 0 AND conrelid <> $1 ORDER BY oid",
        {oid_param(table.oid)});
    Rows incoming = spi.rows_text();
    spi.execute(
        "SELECT pg_catalog.quote_ident(conname), pg_catalog.pg_get_constraintdef(oid) "
        "FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype = 'f' ORDER BY oid",
        {oid_param(table.oid)});
    Rows outgoing = spi.rows_text();
    spi.execute(
        "SELECT i.indexrelid::pg_catalog.regclass::pg_catalog.text, ic.relname::pg_catalog.text, "
        "k.conname IS NOT NULL, pg_catalog.quote_ident(k.conname), pg_catalog.pg_get_constraintdef(k.oid), "
        "pg_catalog.pg_get_indexdef(i.indexrelid) "
        "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
        "LEFT JOIN pg_catalog.pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid "
        "AND k.contype IN ('p', 'u') WHERE i.indrelid = $1 ORDER BY i.indexrelid",
        {oid_param(table.oid)});
    Rows indexes = spi.rows_text();
    spi.execute(
        "SELECT s.oid::pg_catalog.regclass::pg_catalog.text, pg_catalog.quote_ident(a.attname), d.deptype::text "
        "FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1 "
        "AND d.deptype IN ('a', 'i') ORDER BY 1",
        {oid_param(table.oid)});
    Rows sequences = spi.rows_text();
    spi.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE "
        "pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, "
        "a.privilege_type, a.is_grantable FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a "
        "WHERE c.oid = $1 AND a.grantee <> c.relowner ORDER BY 1, 2",
        {oid_param(table.oid)});
    Rows grants = spi.rows_text();

    // Off the old table: triggers and incoming keys (re-made on the new one),
    // index and table names (the new parent takes them).
    for (const auto& trigger : triggers)
        spi.execute(fmt::format("DROP TRIGGER {} ON {}", trigger[1].value_or(""), table.qualified));
    // A referencing table's constraint is its owner's to drop and re-add.
    auto referencing_table = [](const std::optional<std::string>& oid) { return Oid(std::stoul(oid.value_or("0"))); };
    for (const auto& key : incoming) {
        zc::pg::AsTableOwner as_referencing(referencing_table(key[3]));
        spi.execute(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", key[0].value_or(""), key[1].value_or("")));
    }
    for (const auto& index : indexes) {
        // The raw name (as pg_class stores it) plus the suffix, quoted once.
        std::string raw = index[1].value_or("");
        spi.execute(fmt::format("ALTER INDEX {} RENAME TO {}", index[0].value_or(""),
                                zc::pg::quote_ident(core::partition_name(raw, "legacy"))));
    }
    spi.execute(fmt::format("ALTER TABLE {} RENAME TO {}", table.qualified, zc::pg::quote_ident(legacy_name)));

    // The new parent, same name, same shape.
    spi.execute(
        fmt::format("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED "
                    "INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS "
                    "INCLUDING STATISTICS) PARTITION BY RANGE ({})",
                    table.qualified, legacy, col));
    spi.execute(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", table.qualified, zc::pg::quote_ident(check_name)));
    for (const auto& index : indexes) {
        if (index[2] == std::optional<std::string>("t"))
            spi.execute(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", table.qualified, index[3].value_or(""),
                                    index[4].value_or("")));
        else
            spi.execute(index[5].value_or(""));  // CREATE INDEX name ON <schema.table>: now the new parent
    }
    for (const auto& key : outgoing)
        spi.execute(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", table.qualified, key[0].value_or(""),
                                key[1].value_or("")));
    // Every trigger as the owner (zerocut's trigger functions granted to it
    // above), never as a superuser.
    for (const auto& trigger : triggers) spi.execute(trigger[0].value_or(""));
    // Identity columns: the new parent's own sequence continues the old one.
    for (const auto& sequence : sequences) {
        if (sequence[2] == std::optional<std::string>("i")) {
            spi.execute(fmt::format("SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence($1, $2), s.last_value, "
                                    "s.is_called) FROM {} s",
                                    sequence[0].value_or("")),
                        {zc::pg::text_param(table.qualified), zc::pg::text_param(sequence[1].value_or(""))});
            auto old_name = zc::partition::query_value(
                spi,
                "SELECT pg_catalog.quote_ident(relname) FROM pg_catalog.pg_class WHERE oid = $1::pg_catalog.regclass",
                {zc::pg::text_param(sequence[0].value_or(""))});
            spi.execute(fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP IDENTITY", legacy, sequence[1].value_or("")));
            // The new sequence takes the old one's name.
            auto new_sequence = zc::partition::query_value(
                spi, "SELECT pg_catalog.pg_get_serial_sequence($1, $2)",
                {zc::pg::text_param(table.qualified), zc::pg::text_param(sequence[1].value_or(""))});
            if (new_sequence && old_name)
                spi.execute(fmt::format("ALTER SEQUENCE {} RENAME TO {}", *new_sequence, *old_name));
        } else {
            spi.execute(fmt::format("ALTER SEQUENCE {} OWNED BY {}.{}", sequence[0].value_or(""), table.qualified,
                                    sequence[1].value_or("")));
        }
    }
    // As the extension's owner when zerocut's triggers are cloned onto it
    // (their functions are revoked from PUBLIC): engine.hpp.
    Oid new_parent =
        static_cast<Oid>(std::stoul(zc::partition::query_value(spi, "SELECT $1::pg_catalog.regclass::pg_catalog.oid",
                                                               {zc::pg::text_param(table.qualified)})
                                        .value_or("0")));
    zc::partition::attach_partition(
        spi, new_parent,
        fmt::format("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})", table.qualified, legacy,
                    zc::pg::quote_literal(lower), zc::pg::quote_literal(upper)));
    // The grants before the incoming keys: a referencing table of another
    // owner needs its REFERENCES grant on the new parent.  The new parent
    // is the owner's already (created as the owner).
    for (const auto& grant : grants)
        spi.execute(fmt::format("GRANT {} ON {} TO {}{}", grant[1].value_or(""), table.qualified, grant[0].value_or(""),
                                grant[2] == std::optional<std::string>("t") ? " WITH GRANT OPTION" : ""));
    for (const auto& key : incoming) {
        zc::pg::AsTableOwner as_referencing(referencing_table(key[3]));
        spi.execute(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", key[0].value_or(""), key[1].value_or(""),
                                key[2].value_or("")));
    }
    if (table.has_comment)
        spi.execute(fmt::format("COMMENT ON TABLE {} IS {}", table.qualified, zc::pg::quote_literal(table.comment)));
    as_owner.reset();

    // 3. Managed from now on: default partition and partitions ahead.
    auto new_oid = zc::partition::query_value(spi, "SELECT $1::pg_catalog.regclass::pg_catalog.oid",
                                              {zc::pg::text_param(table.qualified)});
    Oid parent = static_cast<Oid>(std::stoul(new_oid.value_or("0")));
    {
        zc::pg::AsExtensionOwner as_extension_owner;  // zerocut's own table: the caller needs no grant
        // Protected columns are recorded by OID: they move to the new parent
        // with the protect_column trigger (protect_column_trigger() accepts a
        // partition through its partitioned ancestors' records).
        auto registry =
            zc::partition::query_value(spi, "SELECT pg_catalog.to_regclass('zerocut.protected_column') IS NOT NULL");
        if (registry == std::optional<std::string>("t"))
            spi.execute(
                "UPDATE zerocut.protected_column SET relation = $2::pg_catalog.oid::pg_catalog.regclass "
                "WHERE relation = $1::pg_catalog.oid::pg_catalog.regclass",
                {oid_param(table.oid), oid_param(parent)});
        // So is the audit setting (audit_config.relation): it moves with the
        // audit triggers, under the table's name (the rename to _legacy just
        // made the event trigger zerocut_audit_config_follow rename the row).
        spi.execute(
            "UPDATE zerocut.audit_config SET relation = $2::pg_catalog.oid::pg_catalog.regclass, "
            "schema_name = $3, table_name = $4 WHERE relation = $1::pg_catalog.oid::pg_catalog.regclass",
            {oid_param(table.oid), oid_param(parent), zc::pg::text_param(table.schema),
             zc::pg::text_param(table.name)});
        spi.execute(
            "INSERT INTO zerocut.partition_config (parent, control_column, granularity, time_zone) "
            "VALUES ($1::pg_catalog.oid::pg_catalog.regclass, $2, $3, $4)",
            {oid_param(parent), zc::pg::text_param(column), zc::pg::text_param(core::granularity_name(granularity)),
             zc::pg::text_param(time_zone)});
    }
    // Default partition and partitions ahead: maintain() makes them as the
    // owner, with the new parent's grants.
    zc::partition::maintain(spi, zc::partition::MaintainOptions{parent, false, std::nullopt});
    double catalog_ms = ms_since(catalog_start);

    std::string detail = fmt::format(
        "{} rows kept in {} [{}, {}); bound scan {:.1f} ms and "
        "catalog work under ACCESS EXCLUSIVE {:.1f} ms",
        row_count, legacy, lower, upper, scan_ms, catalog_ms);
    zc::partition::log_action(spi, zc::partition::Action{parent, "convert", legacy, detail}, table.qualified);
    zc::pg::notice("zerocut: converted " + table.qualified + " to a partitioned table: " + detail);
}

}  // namespace

ZC_FUNCTION(zc_convert_to_partitioned)
{
    zc::pg::require_arg(fcinfo, 0, "tbl");
    zc::pg::require_arg(fcinfo, 1, "control_column");
    zc::pg::require_arg(fcinfo, 2, "granularity");
    Oid relid = PG_GETARG_OID(0);
    std::string column = NameStr(*PG_GETARG_NAME(1));
    std::string granularity = zc::pg::text_arg(fcinfo, 2);
    auto parsed = core::parse_granularity(granularity);
    if (!parsed)
        throw Error(
            zc::sqlstate::invalid_parameter_value,
            fmt::format("argument \"granularity\" must be day, week, month, quarter or year, not \"{}\"", granularity));
    if (zc::pg::in_recovery()) throw Error("25006", "convert_to_partitioned() cannot run on a hot standby");
    convert(relid, column, *parsed);
    PG_RETURN_VOID();
}
