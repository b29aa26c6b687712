#include "archive/engine.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "archive/bound_check.hpp"
#include "core/archive_plan.hpp"
#include "core/errors.hpp"
#include "pg/guard.hpp"
#include "pg/module.hpp"
#include "pg/system_log.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace zc::archive {

using pg::Param;
using pg::SpiSession;
using Row = std::vector<std::optional<std::string>>;

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
Param null_oid_param()
{
    return Param{OIDOID, ObjectIdGetDatum(InvalidOid), true};
}
Param bool_param(bool value)
{
    return Param{BOOLOID, BoolGetDatum(value), false};
}

// SPI with a run-time number of parameters; returns the rows (as text).
// Never read_only: a read-only SPI call would not see the DDL we just ran.
std::vector<Row> query(SpiSession& spi, const std::string& sql, const std::vector<Param>& params, bool = false)
{
    const bool read_only = false;
    std::vector<Oid> types;
    std::vector<Datum> values;
    std::vector<char> nulls;
    for (const Param& p : params) {
        types.push_back(p.type);
        values.push_back(p.value);
        nulls.push_back(p.is_null ? 'n' : ' ');
    }
    const char* text = sql.c_str();
    int count = static_cast<int>(types.size());
    Oid* type_ptr = types.data();
    Datum* value_ptr = values.data();
    const char* null_ptr = nulls.data();
    int rc = pg::guard([=] {
        return count == 0 ? SPI_execute(text, read_only, 0)
                          : SPI_execute_with_args(text, count, type_ptr, value_ptr, null_ptr, read_only, 0);
    });
    if (rc < 0)
        throw Error(sqlstate::internal_error, "SPI failed (" + std::string(SPI_result_code_string(rc)) + ")",
                    "statement: " + sql.substr(0, 200));
    std::vector<Row> rows = spi.rows_text();
    SPITupleTable* table = SPI_tuptable;
    if (table != nullptr) pg::guard([=] { SPI_freetuptable(table); });
    return rows;
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
    bool partitioned() const { return kind == 'p'; }
};

Rel load_rel(SpiSession& spi, Oid oid, const char* argument)
{
    auto rows = query(spi,
                      "SELECT c.relkind, c.relispartition, pg_catalog.format('%I.%I', n.nspname, c.relname), "
                      "n.nspname, c.relname, CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, "
                      "GREATEST(c.reltuples, 0::pg_catalog.float4)::pg_catalog.int8 "
                      "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE c.oid = $1",
                      {oid_param(oid)}, true);
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
    return rel;
}

std::vector<Column> load_columns(SpiSession& spi, Oid oid)
{
    auto rows =
        query(spi,
              "SELECT a.attname, pg_catalog.quote_ident(a.attname), pg_catalog.format_type(a.atttypid, a.atttypmod), "
              "a.attgenerated <> '' FROM pg_catalog.pg_attribute a "
              "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
              {oid_param(oid)}, true);
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
              {oid_param(oid)}, true);
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
                "", "The archive target needs every column of the source, with the same types.");
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
                      {pg::text_param(literal)}, true);
    return int_of(rows.at(0), 0);
}

// Direct partitions of `parent` with their bounds (range on one column).
std::vector<Child> children_of(SpiSession& spi, Oid parent, const std::string& type)
{
    auto rows = query(spi,
                      "SELECT c.oid, c.relkind, pg_catalog.pg_get_expr(c.relpartbound, c.oid) "
                      "FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
                      "WHERE i.inhparent = $1 AND NOT i.inhdetachpending ORDER BY c.oid",
                      {oid_param(parent)}, true);
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

// The archive target of `source`: the policy's, or archive.<source>_archive,
// created like the source (columns, defaults but sequences, constraints,
// indexes; partitioned the same way) when missing.
Rel ensure_target(SpiSession& spi, const Rel& source, Oid policy_target)
{
    if (policy_target != InvalidOid) return load_rel(spi, policy_target, "archive target");
    std::string name = pg::quote_ident("archive") + "." + pg::quote_ident(source.name + "_archive");
    auto found = query(spi, "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid", {pg::text_param(name)}, true);
    if (found.at(0).at(0)) return load_rel(spi, oid_of(found[0], 0), "archive target");
    auto schema = query(spi, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'archive')", {});
    if (text_of(schema.at(0), 0) != "t") query(spi, "CREATE SCHEMA archive", {});
    query(spi,
          "CREATE TABLE " + name + " (LIKE " + source.qname +
              " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING STORAGE INCLUDING COMMENTS "
              "INCLUDING COMPRESSION INCLUDING GENERATED INCLUDING STATISTICS)" +
              (source.partitioned() ? " PARTITION BY " + source.partkey : ""),
          {});
    Oid created =
        oid_of(query(spi, "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid", {pg::text_param(name)}, true).at(0), 0);
    // A serial's nextval() default would tie the archive to the source's sequence.
    auto serials = query(spi,
                         "SELECT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_attrdef d "
                         "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
                         "WHERE d.adrelid = $1 AND pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%'",
                         {oid_param(created)}, true);
    for (const Row& row : serials)
        query(spi, "ALTER TABLE " + name + " ALTER COLUMN " + text_of(row, 0) + " DROP DEFAULT", {});
    query(spi, "COMMENT ON TABLE " + name + " IS " + pg::quote_literal("zerocut archive of " + source.qname), {});
    return load_rel(spi, created, "archive target");
}

int64_t count_rows(SpiSession& spi, const Rel& rel, bool* estimated)
{
    if (!exact_counts) {
        *estimated = true;
        return rel.reltuples;
    }
    return int_of(query(spi, "SELECT pg_catalog.count(*) FROM " + rel.qname, {}, true).at(0), 0);
}

// Detach `part` (a leaf range partition of `parent`) and attach it to `target`,
// with no scan; the bound CHECK makes ATTACH skip its validation.
void move_partition(SpiSession& spi, const Rel& part, const Rel& parent, const Rel& target,
                    const std::string& bound_text)
{
    auto existing = query(spi, "SELECT oid FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND conname = $2",
                          {oid_param(part.oid), pg::text_param(bound_constraint)}, true);
    if (!existing.empty()) query(spi, "ALTER TABLE " + part.qname + " DROP CONSTRAINT " + bound_constraint, {});
    std::string check = text_of(
        query(spi, "SELECT pg_catalog.pg_get_partition_constraintdef($1)", {oid_param(part.oid)}, true).at(0), 0);
    query(spi, "ALTER TABLE " + part.qname + " ADD CONSTRAINT " + bound_constraint + " CHECK (" + check + ") NOT VALID",
          {});
    Oid con = oid_of(query(spi, "SELECT oid FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND conname = $2",
                           {oid_param(part.oid), pg::text_param(bound_constraint)}, true)
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

// A free relation name in `schema`: `name`, else name_<suffix>.
std::string free_name(SpiSession& spi, const std::string& schema, const std::string& name, Oid suffix)
{
    std::string candidate = name;
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto taken = query(spi,
                           "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                           "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)",
                           {pg::text_param(schema), pg::text_param(candidate)}, true);
        if (text_of(taken.at(0), 0) == "f") return pg::quote_ident(schema) + "." + pg::quote_ident(candidate);
        candidate = name.substr(0, 40) + "_" + std::to_string(suffix);
    }
    throw Error(sqlstate::duplicate_object, "zerocut archive: no free name for an archive partition of " + name);
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

void lock_source(SpiSession& spi, Oid source)
{
    query(spi,
          "SELECT pg_catalog.pg_advisory_xact_lock((pg_catalog.hashtext('zerocut.archive')::pg_catalog.int8 << 32) "
          "+ $1::pg_catalog.int8)",
          {Param{INT8OID, Int64GetDatum(static_cast<int64>(source)), false}});
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

std::optional<Policy> find_policy(SpiSession& spi, Oid source)
{
    auto rows = query(spi,
                      "SELECT source::pg_catalog.oid, time_column, keep::pg_catalog.text, "
                      "COALESCE(target::pg_catalog.oid, 0), batch_size, whole_partitions "
                      "FROM zerocut.archive_policy WHERE source = $1::pg_catalog.regclass",
                      {oid_param(source)}, true);
    if (rows.empty()) return std::nullopt;
    const Row& r = rows[0];
    return Policy{oid_of(r, 0),        text_of(r, 1), text_of(r, 2), oid_of(r, 3), static_cast<int>(int_of(r, 4)),
                  text_of(r, 5) == "t"};
}

std::vector<Policy> load_policies(SpiSession& spi, std::optional<Oid> source)
{
    if (source) {
        auto policy = find_policy(spi, *source);
        if (!policy)
            throw Error(sqlstate::undefined_object,
                        "archive: source " + pg::qualified_relation_name(*source) + " has no archive policy", "",
                        "Create one with SELECT zerocut.set_archive_policy(source, time_column, keep);");
        return {*policy};
    }
    auto rows = query(spi,
                      "SELECT p.source::pg_catalog.oid FROM zerocut.archive_policy p "
                      "WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = p.source) ORDER BY 1",
                      {}, true);
    std::vector<Policy> policies;
    for (const Row& row : rows) policies.push_back(*find_policy(spi, oid_of(row, 0)));
    return policies;
}

Runner::Runner(SpiSession& spi, bool commit_per_batch, std::optional<int> max_batches)
    : spi_(spi), commit_(commit_per_batch), budget_(max_batches)
{
}

RunResult Runner::run(const Policy& policy, const std::string& log_message)
{
    auto start = std::chrono::steady_clock::now();
    RunResult result;
    result.source = policy.source;
    // In commit mode the pinned search_path must not span a commit: it is
    // re-established for every unit of work.
    std::optional<pg::PinnedSearchPath> pinned;
    pinned.emplace();
    bool stopped = false;
    auto commit_unit = [&](bool counts = true) {
        if (commit_) pinned.reset();
        if (counts && budget_) --*budget_;
        if (commit_) pg::guard([] { SPI_commit(); });
        if (commit_) pinned.emplace();
    };

    lock_source(spi_, policy.source);
    Rel source = load_rel(spi_, policy.source, "source");
    result.source_name = source.qname;
    std::vector<Column> columns = load_columns(spi_, source.oid);
    std::string type = time_type(columns, policy.time_column, source, "archive");
    Rel target = ensure_target(spi_, source, policy.target);
    result.target_name = target.qname;
    std::vector<Column> target_columns = load_columns(spi_, target.oid);
    check_compatible(columns, source, target_columns, target, "archive");
    if (commit_) commit_unit(false);  // the target now exists for everybody
    std::string time_col = pg::quote_ident(policy.time_column);
    std::string cols = insert_list(columns);

    auto cutoff_row = query(spi_,
                            "SELECT CAST(CURRENT_DATE - $1::pg_catalog.interval AS " + type +
                                ")::pg_catalog.text, "
                                "(EXTRACT(epoch FROM CAST(CURRENT_DATE - $1::pg_catalog.interval AS " +
                                type + ")) * 1000000)::pg_catalog.int8",
                            {pg::text_param(policy.keep)}, true);
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
                           pg::text_param(c.bound.upper.value_or("infinity"))},
                          true);
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
                       {oid_param(unit.rel)}, true))
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
                                 {pg::text_param(cutoff)}, true);
            if (text_of(any_old.at(0), 0) != "t") continue;
            // Make sure the archive can take these rows: in an archive
            // partitioned like the source, a partition with the source
            // partition's bounds (or a default one).  Another layout is the
            // owner's to cover; a row that fits nowhere fails the batch.
            if (target.partitioned() && target.partkey == source.partkey) {
                lock_source(spi_, source.oid);  // one creator at a time
                if (commit_) layout = layout_of(spi_, target, type);
                if (unit.is_default || unit.bound_text.empty()) {
                    if (!layout.default_partition) {
                        std::string name = free_name(spi_, target.schema, target.name + "_default", target.oid);
                        query(spi_, "CREATE TABLE " + name + " PARTITION OF " + target.qname + " DEFAULT", {});
                        layout = layout_of(spi_, target, type);
                    }
                } else if (!overlapping(layout, unit.span)) {
                    Rel part = load_rel(spi_, unit.rel, "source partition");
                    std::string name = free_name(spi_, target.schema, part.name, part.oid);
                    query(spi_, "CREATE TABLE " + name + " PARTITION OF " + target.qname + " " + unit.bound_text, {});
                    layout = layout_of(spi_, target, type);
                }
                if (commit_) commit_unit(false);
            }
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
                return "WITH batch AS MATERIALIZED (SELECT ctid AS zc_ctid, " + key_list + " FROM ONLY " + leaf.qname +
                       " WHERE " + time_col + " < CAST($1 AS " + type + ")" +
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
            std::string first_sql = statement(true);
            std::string next_sql = statement(false);
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
                commit_unit();
                // A short batch means the scan ran out of old rows (rows locked by
                // others were skipped; the next run takes them).
                if (locked < policy.batch_size) break;
            }
        }
    }

    // Partition path: whole partitions, metadata only.
    for (const Child& c : attach_units) {
        if (!budget_left()) {
            stopped = true;
            break;
        }
        lock_source(spi_, source.oid);
        auto still =
            query(spi_, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits WHERE inhrelid = $1 AND inhparent = $2)",
                  {oid_param(c.oid), oid_param(source.oid)}, true);
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
        commit_unit();
    }
    result.finished = !stopped;
    result.duration_ms = elapsed_ms(start);

    auto metadata =
        query(spi_,
              "SELECT pg_catalog.jsonb_build_object('archived_count', $1::pg_catalog.int8, 'cutoff_date', $2, "
              "'method', $3, 'duration_ms', pg_catalog.round($4::pg_catalog.numeric, 1), 'source', $5, 'target', $6, "
              "'partitions_moved', $7::pg_catalog.int4, 'rows_by_batch', $8::pg_catalog.int8, 'batches', "
              "$9::pg_catalog.int4, "
              "'finished', $10, 'counts', CASE WHEN $11 THEN 'estimated' ELSE 'exact' END)::pg_catalog.text",
              {pg::int8_param(result.rows_moved), pg::text_param(result.cutoff), pg::text_param(result.method()),
               pg::text_param(std::to_string(result.duration_ms)), pg::text_param(result.source_name),
               pg::text_param(result.target_name), pg::int4_param(result.partitions_moved),
               pg::int8_param(result.rows_by_batch), pg::int4_param(result.batches), bool_param(result.finished),
               bool_param(result.counts_estimated)},
              true);
    pg::write_system_log(spi_, "INFO", log_message, text_of(metadata.at(0), 0));
    pinned.reset();
    return result;
}

std::string archive_partition(SpiSession& spi, Oid partition)
{
    pg::PinnedSearchPath pinned;
    Rel part = load_rel(spi, partition, "archive_partition");
    if (!part.is_partition)
        throw Error(sqlstate::wrong_object_type,
                    "archive_partition: partition " + part.qname + " is not a partition of a partitioned table");
    if (part.kind != 'r')
        throw Error(sqlstate::feature_not_supported,
                    "archive_partition: partition " + part.qname + " is itself partitioned or not a plain table", "",
                    "Archive its leaf partitions, or use zerocut.archive() to move its rows.");
    auto parent_row =
        query(spi, "SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid = $1", {oid_param(partition)}, true);
    Rel parent = load_rel(spi, oid_of(parent_row.at(0), 0), "archive_partition");
    lock_source(spi, parent.oid);
    auto bound_row =
        query(spi, "SELECT pg_catalog.pg_get_expr(relpartbound, oid) FROM pg_catalog.pg_class WHERE oid = $1",
              {oid_param(partition)}, true);
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
                         {oid_param(parent.oid)}, true);
    if (key_row.empty() || !key_row[0][0])
        throw Error(sqlstate::feature_not_supported,
                    "archive_partition: " + parent.qname + " is not range-partitioned on a column");
    std::string time_column = text_of(key_row[0], 0);
    std::vector<Column> columns = load_columns(spi, parent.oid);
    std::string type = time_type(columns, time_column, parent, "archive_partition");
    auto policy = find_policy(spi, parent.oid);
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
        {pg::text_param(policy ? policy->keep : "0")}, true);
    if (!span.upper || *span.upper > int_of(limit_row.at(0), 0))
        throw Error(
            sqlstate::invalid_parameter_value,
            "archive_partition: partition " + part.qname + " is not entirely older than " + text_of(limit_row[0], 1),
            "bounds: " + bound_text,
            policy ? "The archive policy of " + parent.qname + " keeps rows newer than that."
                   : "Only partitions whose whole range lies in the past are archived.");
    Rel target = ensure_target(spi, parent, policy ? policy->target : InvalidOid);
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
    auto start = std::chrono::steady_clock::now();
    move_partition(spi, part, parent, target, bound_text);
    std::string moved = pg::qualified_relation_name(partition);
    auto metadata =
        query(spi,
              "SELECT pg_catalog.jsonb_build_object('partition', $1, 'source', $2, 'target', $3, 'bounds', $4, "
              "'method', 'partition', 'duration_ms', pg_catalog.round($5::pg_catalog.numeric, 1))::pg_catalog.text",
              {pg::text_param(moved), pg::text_param(parent.qname), pg::text_param(target.qname),
               pg::text_param(bound_text), pg::text_param(std::to_string(elapsed_ms(start)))},
              true);
    pg::write_system_log(spi, "INFO", "Archived partition " + moved, text_of(metadata.at(0), 0));
    return moved;
}

int64_t restore_archived(SpiSession& spi, Oid source_oid, const std::string& from_ts, const std::string& to_ts)
{
    pg::PinnedSearchPath pinned;
    auto policy = find_policy(spi, source_oid);
    Rel source = load_rel(spi, source_oid, "source");
    if (!policy)
        throw Error(sqlstate::undefined_object, "restore_archived: source " + source.qname + " has no archive policy",
                    "", "The policy names the time column and the archive target.");
    lock_source(spi, source.oid);
    std::vector<Column> columns = load_columns(spi, source.oid);
    std::string type = time_type(columns, policy->time_column, source, "restore_archived");
    Rel target;
    if (policy->target != InvalidOid) {
        target = load_rel(spi, policy->target, "restore_archived");
    } else {
        auto found =
            query(spi, "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid",
                  {pg::text_param(pg::quote_ident("archive") + "." + pg::quote_ident(source.name + "_archive"))}, true);
        if (!found.at(0).at(0))
            throw Error(sqlstate::undefined_table, "restore_archived: " + source.qname + " has no archive table yet");
        target = load_rel(spi, oid_of(found[0], 0), "restore_archived");
    }
    std::vector<Column> target_columns = load_columns(spi, target.oid);
    check_compatible(columns, source, target_columns, target, "restore_archived");
    std::string cols = insert_list(columns);
    std::string time_col = pg::quote_ident(policy->time_column);
    auto start = std::chrono::steady_clock::now();
    auto rows =
        query(spi,
              "WITH moved AS (DELETE FROM " + target.qname + " WHERE " + time_col +
                  " >= $1::pg_catalog.timestamptz AND " + time_col + " < $2::pg_catalog.timestamptz RETURNING " + cols +
                  "), "
                  "ins AS (INSERT INTO " +
                  source.qname + " (" + cols + ") OVERRIDING SYSTEM VALUE SELECT " + cols +
                  " FROM moved RETURNING 1) SELECT pg_catalog.count(*) FROM ins",
              {pg::text_param(from_ts), pg::text_param(to_ts)});
    int64_t moved = int_of(rows.at(0), 0);
    auto metadata = query(
        spi,
        "SELECT pg_catalog.jsonb_build_object('restored_count', $1::pg_catalog.int8, 'source', $2, 'archive', $3, "
        "'from', $4, 'to', $5, 'duration_ms', pg_catalog.round($6::pg_catalog.numeric, 1))::pg_catalog.text",
        {pg::int8_param(moved), pg::text_param(source.qname), pg::text_param(target.qname), pg::text_param(from_ts),
         pg::text_param(to_ts), pg::text_param(std::to_string(elapsed_ms(start)))},
        true);
    pg::write_system_log(spi, "INFO", "Restored archived rows of " + source.qname, text_of(metadata.at(0), 0));
    return moved;
}

void store_policy(SpiSession& spi, const Policy& policy)
{
    pg::PinnedSearchPath pinned;
    Rel source = load_rel(spi, policy.source, "set_archive_policy");
    if (source.kind != 'r' && source.kind != 'p')
        throw Error(sqlstate::wrong_object_type, "set_archive_policy: source " + source.qname + " is not a table");
    if (source.is_partition)
        throw Error(sqlstate::wrong_object_type, "set_archive_policy: source " + source.qname + " is a partition", "",
                    "Give the policy to its partitioned parent.");
    std::vector<Column> columns = load_columns(spi, source.oid);
    time_type(columns, policy.time_column, source, "set_archive_policy");
    auto keep_ok =
        query(spi, "SELECT $1::pg_catalog.interval > pg_catalog.interval '0'", {pg::text_param(policy.keep)}, true);
    if (text_of(keep_ok.at(0), 0) != "t")
        throw Error(sqlstate::invalid_parameter_value,
                    "set_archive_policy: keep must be a positive interval, not " + policy.keep);
    if (policy.batch_size <= 0 || policy.batch_size > 1000000)
        throw Error(
            sqlstate::invalid_parameter_value,
            "set_archive_policy: batch_size must be between 1 and 1000000, not " + std::to_string(policy.batch_size));
    if (primary_key(spi, source.oid).empty())
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "set_archive_policy: source " + source.qname + " has no primary key; the batch path needs one", "",
                    "Add a primary key (for a partitioned table, one that includes the partition key).");
    if (policy.target != InvalidOid) {
        Rel target = load_rel(spi, policy.target, "set_archive_policy");
        if (target.kind != 'r' && target.kind != 'p')
            throw Error(sqlstate::wrong_object_type, "set_archive_policy: target " + target.qname + " is not a table");
        auto related = query(
            spi,
            "SELECT $1 = $2 OR EXISTS (SELECT 1 FROM pg_catalog.pg_partition_ancestors($2::pg_catalog.regclass) a "
            "WHERE a.relid = $1::pg_catalog.regclass) OR EXISTS (SELECT 1 FROM "
            "pg_catalog.pg_partition_ancestors($1::pg_catalog.regclass) a WHERE a.relid = $2::pg_catalog.regclass)",
            {oid_param(source.oid), oid_param(target.oid)}, true);
        if (text_of(related.at(0), 0) == "t")
            throw Error(sqlstate::invalid_parameter_value,
                        "set_archive_policy: target " + target.qname + " is the source or one of its partitions");
        check_compatible(columns, source, load_columns(spi, target.oid), target, "set_archive_policy");
    }
    query(spi,
          "INSERT INTO zerocut.archive_policy AS p (source, time_column, keep, target, batch_size, whole_partitions) "
          "VALUES ($1::pg_catalog.regclass, $2, $3::pg_catalog.interval, $4::pg_catalog.regclass, $5, $6) "
          "ON CONFLICT (source) DO UPDATE SET time_column = EXCLUDED.time_column, keep = EXCLUDED.keep, "
          "target = EXCLUDED.target, batch_size = EXCLUDED.batch_size, whole_partitions = EXCLUDED.whole_partitions, "
          "updated_at = pg_catalog.now()",
          {oid_param(policy.source), pg::text_param(policy.time_column), pg::text_param(policy.keep),
           policy.target != InvalidOid ? oid_param(policy.target) : null_oid_param(), pg::int4_param(policy.batch_size),
           bool_param(policy.whole_partitions)});
}

}  // namespace zc::archive
