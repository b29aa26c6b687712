// The online copy's engine (see online_copy_engine.hpp for the protocol and
// docs/online_copy.md for the design).
#include "migrate/online_copy_engine.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "partition/engine.hpp"
#include "pg/compat.hpp"
#include "pg/guard.hpp"
#include "pg/job_lock.hpp"
#include "pg/module.hpp"
#include "pg/run_as.hpp"
#include "pg/subtransaction.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "storage/latch.h"
#include "utils/lsyscache.h"
#include "access/xact.h"
#include "utils/wait_event.h"
}

namespace zc::migrate {

using pg::Param;
using pg::Row;
using pg::SpiSession;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* capture_trigger = "zc_online_copy_capture";
constexpr const char* truncate_trigger = "zc_online_copy_truncate";

int lock_timeout_setting = 100;
int lock_retries_setting = 30;

pg::OnLoad define_gucs([] {
    DefineCustomIntVariable(
        "zerocut.online_copy_lock_timeout",
        "How long one attempt of an online copy to take its short table lock may wait (lock_timeout).",
        "Sessions queue behind a waiting ACCESS EXCLUSIVE request: this bounds how long one attempt of "
        "online_copy_finish (or of setting up or removing the capture) can stall the table's readers and writers.",
        &lock_timeout_setting, 100, 1, 60000, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("zerocut.online_copy_lock_retries",
                            "Attempts an online copy makes to take its short table lock before it gives up (55P03).",
                            "Between attempts it waits with exponential back-off (25 ms doubling, at most 2 s).",
                            &lock_retries_setting, 30, 1, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
});

Param oid_param(Oid value)
{
    return Param{OIDOID, ObjectIdGetDatum(value), false};
}
Param null_param(Oid type)
{
    return Param{type, (Datum)0, true};
}
Param opt_text(const std::optional<std::string>& value)
{
    return value ? pg::text_param(*value) : null_param(TEXTOID);
}

std::string text_of(const Row& row, size_t i)
{
    return row.at(i).value_or("");
}
int64_t int_of(const Row& row, size_t i)
{
    return row.at(i) ? std::stoll(*row.at(i)) : 0;
}

std::string join(const std::vector<std::string>& items, const std::string& separator)
{
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
    return out;
}

std::string json_list(const std::vector<std::string>& items)
{
    std::vector<std::string> quoted;
    for (const auto& item : items) quoted.push_back(core::json_string(item));
    return "[" + join(quoted, ", ") + "]";
}

double elapsed_ms(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Rel {
    Oid oid = InvalidOid;
    Oid owner = InvalidOid;
    Oid nsp = InvalidOid;
    char kind = 0;
    std::string schema, name, qname;
};

Rel load_rel(SpiSession& spi, Oid oid, const char* argument)
{
    auto rows = query(spi,
                      "SELECT c.relkind::pg_catalog.text, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, "
                      "c.relowner::pg_catalog.int8, c.relnamespace::pg_catalog.int8 FROM pg_catalog.pg_class c "
                      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
                      {oid_param(oid)});
    if (rows.empty())
        throw Error(sqlstate::undefined_table, std::string("argument \"") + argument + "\": relation with OID " +
                                                   std::to_string(oid) + " does not exist");
    Rel rel;
    rel.oid = oid;
    rel.kind = text_of(rows[0], 0)[0];
    rel.schema = text_of(rows[0], 1);
    rel.name = text_of(rows[0], 2);
    rel.owner = static_cast<Oid>(int_of(rows[0], 3));
    rel.nsp = static_cast<Oid>(int_of(rows[0], 4));
    rel.qname = pg::quote_ident(rel.schema) + "." + pg::quote_ident(rel.name);
    if (rel.kind != RELKIND_RELATION && rel.kind != RELKIND_PARTITIONED_TABLE)
        throw Error(sqlstate::wrong_object_type,
                    std::string("argument \"") + argument + "\": " + rel.qname + " is not a table");
    return rel;
}

struct Col {
    std::string name;  // raw
    std::string type;  // format_type
    Oid type_oid = InvalidOid;
    bool generated = false;
};

std::vector<Col> columns_of(SpiSession& spi, Oid relid)
{
    std::vector<Col> cols;
    for (const auto& row : query(spi,
                                 "SELECT attname::pg_catalog.text, pg_catalog.format_type(atttypid, atttypmod), "
                                 "atttypid::pg_catalog.int8, attgenerated <> '' FROM pg_catalog.pg_attribute "
                                 "WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                                 {oid_param(relid)}))
        cols.push_back(Col{text_of(row, 0), text_of(row, 1), static_cast<Oid>(int_of(row, 2)), text_of(row, 3) == "t"});
    return cols;
}

const Col* find_col(const std::vector<Col>& cols, const std::string& name)
{
    for (const auto& col : cols)
        if (col.name == name) return &col;
    return nullptr;
}

// The primary key's columns of `relid`, in key order (empty without one).
std::vector<std::string> primary_key(SpiSession& spi, Oid relid)
{
    std::vector<std::string> key;
    for (const auto& row : query(
             spi,
             "SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_index i, "
             "pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, ord), pg_catalog.pg_attribute a "
             "WHERE i.indrelid = $1 AND i.indisprimary AND k.ord <= i.indnkeyatts AND a.attrelid = i.indrelid "
             "AND a.attnum = k.attnum ORDER BY k.ord",
             {oid_param(relid)}))
        key.push_back(text_of(row, 0));
    return key;
}

// Whether `relid` has a valid unique index (or constraint) on exactly the
// columns `names` (in any order), without predicate or expressions.
bool has_unique_on(SpiSession& spi, Oid relid, const std::vector<std::string>& names)
{
    auto rows =
        query(spi,
              "SELECT pg_catalog.count(*) FROM pg_catalog.pg_index i WHERE i.indrelid = $1 AND i.indisunique "
              "AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = $3 "
              "AND (SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY a.attname::pg_catalog.text) "
              "     FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, ord) "
              "     JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
              "     WHERE k.ord <= i.indnkeyatts) "
              "  = (SELECT pg_catalog.array_agg(x ORDER BY x) "
              "     FROM pg_catalog.jsonb_array_elements_text($2::pg_catalog.text::pg_catalog.jsonb) x)",
              {oid_param(relid), pg::text_param(json_list(names)), pg::int4_param(static_cast<int32>(names.size()))});
    return int_of(rows.at(0), 0) > 0;
}

// ---- the registry -----------------------------------------------------------

void set_progress(SpiSession& spi, int copy_id, const std::string& assignments, const std::vector<Param>& params)
{
    pg::AsExtensionOwner owner;
    std::vector<Param> all{pg::int4_param(copy_id)};
    all.insert(all.end(), params.begin(), params.end());
    query(spi,
          "UPDATE zerocut.online_copy SET " + assignments +
              ", updated_at = pg_catalog.clock_timestamp() WHERE copy_id = $1",
          all);
}

int64_t pending_count(SpiSession& spi, int copy_id)
{
    pg::AsExtensionOwner owner;
    return int_of(query(spi, "SELECT pg_catalog.count(*) FROM zerocut.online_copy_log WHERE copy_id = $1",
                        {pg::int4_param(copy_id)})
                      .at(0),
                  0);
}

void delete_copy(SpiSession& spi, int copy_id)
{
    pg::AsExtensionOwner owner;
    query(spi, "DELETE FROM zerocut.online_copy_log WHERE copy_id = $1", {pg::int4_param(copy_id)});
    query(spi, "DELETE FROM zerocut.online_copy WHERE copy_id = $1", {pg::int4_param(copy_id)});
}

// ---- column_map -------------------------------------------------------------

// One SQL expression, nothing else: `SELECT <expr>` must parse as a single
// SELECT with one unnamed target and no other clause.  The expression is
// then embedded as `(\n<expr>\n)` in our statements, so it can neither end
// them nor add clauses or statements (a trailing `--` comment ends at the
// newline).  It runs as the tables' owner, restricted: only what the owner
// could do itself.
void check_expression(const std::string& column, const std::string& expression)
{
    auto where = "argument \"column_map\": the expression for column \"" + column + "\"";
    if (expression.find_first_not_of(" \t\r\n") == std::string::npos)
        throw Error(sqlstate::invalid_parameter_value, where + " is empty");
    std::string sql = "SELECT " + expression + "\n";
    bool single = false;
    std::string state;
    auto failure = pg::in_subtransaction(
        [&] {
            const char* text = sql.c_str();
            single = pg::guard([=] {
                List* statements = raw_parser(text, RAW_PARSE_DEFAULT);
                if (list_length(statements) != 1) return false;
                Node* node = linitial_node(RawStmt, statements)->stmt;
                if (!IsA(node, SelectStmt)) return false;
                auto* select = reinterpret_cast<SelectStmt*>(node);
                if (select->op != SETOP_NONE || list_length(select->targetList) != 1) return false;
                auto* target = static_cast<ResTarget*>(linitial(select->targetList));
                return target->name == nullptr && select->distinctClause == NIL && select->intoClause == nullptr &&
                       select->fromClause == NIL && select->whereClause == nullptr && select->groupClause == NIL &&
                       select->havingClause == nullptr && select->windowClause == NIL && select->valuesLists == NIL &&
                       select->sortClause == NIL && select->limitOffset == nullptr && select->limitCount == nullptr &&
                       select->lockingClause == NIL && select->withClause == nullptr;
            });
        },
        &state);
    if (failure) throw Error("42601", where + " is not valid SQL: " + *failure, "expression: " + expression);
    if (!single)
        throw Error("42601", where + " must be one SQL expression",
                    "expression: " + expression + " (no FROM, WHERE, alias, second statement or other clause)",
                    "Write an expression over the source row's columns, e.g. "
                    "\"zerocut.encrypt(phone, 'default', 'schema.table.phone')\".");
}

std::map<std::string, std::string> parse_column_map(SpiSession& spi, const std::optional<std::string>& json)
{
    std::map<std::string, std::string> map;
    if (!json) return map;
    auto type = text_of(
        query(spi, "SELECT pg_catalog.jsonb_typeof($1::pg_catalog.text::pg_catalog.jsonb)", {pg::text_param(*json)})
            .at(0),
        0);
    if (type != "object")
        throw Error(
            sqlstate::invalid_parameter_value,
            "argument \"column_map\" must be a JSON object of target column names to SQL expressions, not " + type, "",
            "Example: '{\"phone_encrypted\": \"zerocut.encrypt(phone)\"}'");
    for (const auto& row : query(spi,
                                 "SELECT key, pg_catalog.jsonb_typeof(value), value OPERATOR(pg_catalog.#>>) '{}' "
                                 "FROM pg_catalog.jsonb_each($1::pg_catalog.text::pg_catalog.jsonb) ORDER BY key",
                                 {pg::text_param(*json)})) {
        if (text_of(row, 1) != "string")
            throw Error(sqlstate::invalid_parameter_value,
                        "argument \"column_map\": the value for column \"" + text_of(row, 0) +
                            "\" must be a string holding an SQL expression, not " + text_of(row, 1));
        map[text_of(row, 0)] = text_of(row, 2);
    }
    return map;
}

// ---- the statements -----------------------------------------------------------

struct Statements {
    std::string first_batch;            // $1 limit
    std::string next_batch;             // $1 limit, $2 last key (jsonb text)
    std::string replay;                 // $1 copy_id, $2 max log entries (NULL: all)
    std::string verify;                 // $1 copy_id
    std::vector<std::string> compared;  // columns copied by name
    std::vector<std::string> mapped;    // columns from column_map
    std::vector<std::string> key_types;
};

// The statements of `copy` for the tables' columns as they are now; checks
// column_map and the key against them.  Built in every transaction, so a
// column added meanwhile is copied from the next batch on.
Statements build_statements(SpiSession& spi, const Copy& copy, const Rel& src, const Rel& tgt)
{
    std::vector<Col> src_cols = columns_of(spi, src.oid), tgt_cols = columns_of(spi, tgt.oid);
    auto map = parse_column_map(spi, copy.column_map);
    std::set<std::string> key_set(copy.key.begin(), copy.key.end());
    for (const auto& [column, expression] : map) {
        const Col* col = find_col(tgt_cols, column);
        if (col == nullptr)
            throw Error(sqlstate::undefined_column, "argument \"column_map\": column \"" + column + "\" of target " +
                                                        tgt.qname + " does not exist");
        if (col->generated)
            throw Error("428C9", "argument \"column_map\": column \"" + column + "\" of target " + tgt.qname +
                                     " is a generated column");
        if (key_set.count(column))
            throw Error(sqlstate::invalid_parameter_value,
                        "argument \"column_map\": key column \"" + column + "\" cannot be mapped",
                        "The primary key is copied as it is: it is how captured changes find their rows.");
        check_expression(column, expression);
    }
    Statements st;
    std::vector<std::string> qk, cursor, from_log, join_t, join_s, order_desc;
    for (size_t i = 0; i < copy.key.size(); ++i) {
        const std::string& k = copy.key[i];
        const Col* s = find_col(src_cols, k);
        if (s == nullptr)
            throw Error(sqlstate::undefined_column,
                        "online copy: key column \"" + k + "\" of source " + src.qname + " no longer exists");
        if (s->type_oid == FLOAT4OID || s->type_oid == FLOAT8OID)
            throw Error(sqlstate::feature_not_supported,
                        "argument \"source\": primary key column \"" + k + "\" of " + src.qname + " is of type " +
                            s->type + ", which an online copy cannot key on",
                        "Floating-point values need not survive their text form exactly (extra_float_digits).");
        const Col* t = find_col(tgt_cols, k);
        if (t == nullptr || t->generated)
            throw Error(sqlstate::undefined_column, "argument \"target\": " + tgt.qname +
                                                        " has no (non-generated) column \"" + k +
                                                        "\", a primary key column of source " + src.qname);
        std::string q = pg::quote_ident(k), idx = std::to_string(i);
        qk.push_back(q);
        st.key_types.push_back(s->type);
        cursor.push_back("($2::pg_catalog.jsonb OPERATOR(pg_catalog.->>) " + idx + ")::" + s->type);
        from_log.push_back("(key OPERATOR(pg_catalog.->>) " + idx + ")::" + s->type + " AS zc_k" + idx);
        join_t.push_back("zc_t." + q + " = zc_k.zc_k" + idx);
        join_s.push_back("zc_s." + q + " = zc_k.zc_k" + idx);
        order_desc.push_back(q + " DESC");
    }
    std::vector<std::string> insert_cols, select_exprs, src_cmp, tgt_cmp;
    for (const auto& t : tgt_cols) {
        if (t.generated) continue;
        std::string q = pg::quote_ident(t.name);
        if (auto m = map.find(t.name); m != map.end()) {
            insert_cols.push_back(q);
            select_exprs.push_back("(\n" + m->second + "\n)");
            st.mapped.push_back(t.name);
            continue;
        }
        const Col* s = find_col(src_cols, t.name);
        if (s == nullptr) continue;  // not in the source: the target's default
        insert_cols.push_back(q);
        select_exprs.push_back("zc_b." + q);
        st.compared.push_back(t.name);
        src_cmp.push_back(s->type == t.type ? "zc_s." + q : "CAST(zc_s." + q + " AS " + t.type + ")");
        tgt_cmp.push_back("zc_t." + q);
    }
    std::string order = join(qk, ", ");
    std::string insert = "INSERT INTO " + tgt.qname + " (" + join(insert_cols, ", ") +
                         ") OVERRIDING SYSTEM VALUE SELECT " + join(select_exprs, ", ") + " FROM zc_b RETURNING 1";
    std::string batch_tail =
        " ORDER BY " + order + " LIMIT $1), zc_ins AS (" + insert +
        ") SELECT (SELECT pg_catalog.count(*) FROM zc_ins), (SELECT pg_catalog.jsonb_build_array(" + order +
        ")::pg_catalog.text FROM zc_b ORDER BY " + join(order_desc, ", ") + " LIMIT 1)";
    st.first_batch = "WITH zc_b AS MATERIALIZED (SELECT * FROM " + src.qname + batch_tail;
    st.next_batch = "WITH zc_b AS MATERIALIZED (SELECT * FROM " + src.qname + " WHERE (" + order + ") > (" +
                    join(cursor, ", ") + ")" + batch_tail;
    st.replay =
        "WITH zc_l AS MATERIALIZED (SELECT seq, key FROM zerocut.online_copy_pending($1, $2)), "
        "zc_k AS MATERIALIZED (SELECT DISTINCT " +
        join(from_log, ", ") +
        " FROM zc_l), "
        "zc_gone AS (DELETE FROM " +
        tgt.qname + " zc_t USING zc_k WHERE " + join(join_t, " AND ") +
        " RETURNING 1), "
        // The old rows go first: zc_b waits for zc_gone (a one-time filter).
        "zc_b AS MATERIALIZED (SELECT zc_s.* FROM " +
        src.qname + " zc_s JOIN zc_k ON " + join(join_s, " AND ") +
        " WHERE (SELECT pg_catalog.count(*) FROM zc_gone) >= 0), "
        "zc_ins AS (" +
        insert +
        ") SELECT (SELECT pg_catalog.count(*) FROM zc_l), (SELECT pg_catalog.count(*) FROM zc_gone), "
        "(SELECT pg_catalog.count(*) FROM zc_ins), (SELECT pg_catalog.array_agg(seq)::pg_catalog.text FROM zc_l)";
    std::string pending_join_s = join(join_s, " AND "), pending_join_t = join(join_t, " AND ");
    std::string src_hash = "pg_catalog.hashtextextended(ROW(" + join(src_cmp, ", ") + ")::pg_catalog.text, 0)";
    std::string tgt_hash = "pg_catalog.hashtextextended(ROW(" + join(tgt_cmp, ", ") + ")::pg_catalog.text, 0)";
    st.verify =
        "WITH zc_k AS MATERIALIZED (SELECT DISTINCT " + join(from_log, ", ") +
        " FROM zerocut.online_copy_pending($1)), "
        "zc_sv AS (SELECT pg_catalog.count(*) FILTER (WHERE zc_k.zc_k0 IS NULL) AS n, pg_catalog.sum(" +
        src_hash + ") FILTER (WHERE zc_k.zc_k0 IS NULL) AS h FROM " + src.qname + " zc_s LEFT JOIN zc_k ON " +
        pending_join_s +
        "), "
        "zc_tv AS (SELECT pg_catalog.count(*) AS total, pg_catalog.count(*) FILTER (WHERE zc_k.zc_k0 IS NULL) "
        "AS n, pg_catalog.sum(" +
        tgt_hash + ") FILTER (WHERE zc_k.zc_k0 IS NULL) AS h FROM " + tgt.qname + " zc_t LEFT JOIN zc_k ON " +
        pending_join_t +
        ") SELECT zc_sv.n, zc_tv.n, COALESCE(zc_sv.h, 0)::pg_catalog.text, COALESCE(zc_tv.h, 0)::pg_catalog.text, "
        "(SELECT pg_catalog.count(*) FROM zc_k), zc_tv.total FROM zc_sv, zc_tv";
    return st;
}

// ---- locks ----------------------------------------------------------------------

// docs/locking.md step 1: the source's job lock (shared with the archive
// mover and partition maintenance), polled, before any relation lock.
void take_job_lock(const Rel& src)
{
    if (!pg::lock_table_job_polling(src.oid, partition::lock_timeout_ms()))
        throw Error("55P03",
                    "online copy: another zerocut job (an online copy, archive or partition maintenance of " +
                        src.qname + ") holds its job lock",
                    "not obtained within zerocut.partition_lock_timeout (" +
                        std::to_string(partition::lock_timeout_ms()) + " ms)",
                    "Retry when that job is done.");
}

// Runs `work` in a subtransaction.  A lock not granted in time (55P03) or a
// deadlock (40P01) rolls it back and returns false with the message in
// `why`; any other error rolls it back and is raised again as it was.
bool lock_attempt(const std::function<void()>& work, std::string& why)
{
    std::optional<std::string> failure = pg::in_subtransaction_expecting(
        work, [](int code) { return code == ERRCODE_LOCK_NOT_AVAILABLE || code == ERRCODE_T_R_DEADLOCK_DETECTED; });
    if (failure) why = *failure;
    return !failure;
}

// Exponential back-off with jitter: 25 ms doubling, at most 2 s; wakes for
// a cancel.
void back_off(int attempt)
{
    static std::mt19937 random{std::random_device{}()};
    long ceiling = std::min(2000L, 25L << std::min(attempt - 1, 10));
    long wait = ceiling / 2 + static_cast<long>(random() % static_cast<unsigned long>(ceiling / 2 + 1));
    pg::guard([=] {
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    });
}

// Takes a lock (and does what must be done under it) in attempts of at most
// zerocut.online_copy_lock_timeout each, with back-off between; `between`
// runs after a failed attempt.  Throws 55P03 when every attempt failed.
struct LockStats {
    int attempts = 0;
    double wait_ms = 0;
    Clock::time_point granted_at;
};

void with_short_lock(const std::string& what, const std::string& lock_sql, const std::function<void()>& work,
                     SpiSession& spi, LockStats& stats, const std::function<void()>& between = {})
{
    std::string why;
    std::string timeout = std::to_string(lock_timeout_setting);
    for (int attempt = 1; attempt <= lock_retries_setting; ++attempt) {
        stats.attempts = attempt;
        bool granted = false;
        auto requested = Clock::now();
        bool done = lock_attempt(
            [&] {
                {
                    pg::PinnedSearchPath setting;
                    setting.set("lock_timeout", timeout.c_str());
                    query(spi, lock_sql);
                }
                granted = true;
                stats.wait_ms += elapsed_ms(requested);
                stats.granted_at = Clock::now();
                // Locks the work takes on other tables wait no longer.
                pg::PinnedSearchPath setting;
                setting.set("lock_timeout", timeout.c_str());
                work();
            },
            why);
        if (done) return;
        if (!granted) stats.wait_ms += elapsed_ms(requested);
        if (attempt == lock_retries_setting) break;
        back_off(attempt);
        if (between) between();
    }
    throw Error("55P03",
                "online copy: could not " + what + " in " + std::to_string(lock_retries_setting) +
                    " attempts of at most " + timeout + " ms",
                "last: " + why,
                "Nothing was changed.  Retry when the table is less busy, or raise zerocut.online_copy_lock_timeout "
                "or zerocut.online_copy_lock_retries.");
}

// ---- capture ----------------------------------------------------------------------

std::vector<std::string> capture_triggers_on(SpiSession& spi, Oid relid)
{
    std::vector<std::string> names;
    for (const auto& row : query(spi,
                                 "SELECT t.tgname::pg_catalog.text FROM pg_catalog.pg_trigger t WHERE t.tgrelid = $1 "
                                 "AND NOT t.tgisinternal AND t.tgfoid = 'zerocut.online_copy_capture()'::"
                                 "pg_catalog.regprocedure ORDER BY 1",
                                 {oid_param(relid)}))
        names.push_back(text_of(row, 0));
    return names;
}

// As the tables' owner, under the short lock: DROP TRIGGER takes ACCESS
// EXCLUSIVE (our lock already).
void drop_capture(SpiSession& spi, const Rel& src)
{
    for (const auto& name : capture_triggers_on(spi, src.oid))
        query(spi, "DROP TRIGGER " + pg::quote_ident(name) + " ON " + src.qname);
}

// ---- replay and verification ----------------------------------------------------------

struct ReplayCounts {
    int64_t logged = 0, gone = 0, inserted = 0;
};

// Replays up to `limit` (0: all) logged changes as the tables' owner and
// deletes exactly the entries replayed, as the extension's owner.
ReplayCounts replay_chunk(SpiSession& spi, const Copy& copy, const Statements& st, int limit)
{
    auto row =
        query(spi, st.replay, {pg::int4_param(copy.copy_id), limit > 0 ? pg::int4_param(limit) : null_param(INT4OID)})
            .at(0);
    ReplayCounts counts{int_of(row, 0), int_of(row, 1), int_of(row, 2)};
    if (counts.logged > 0) {
        pg::AsExtensionOwner owner;
        // A join with the replayed seqs, not `seq = ANY (array)`: the array
        // comes from text (not a constant), so ANY would be a linear search
        // per log row -- quadratic, 12 s for a chunk of 5000 in a log of
        // 90,000 entries when the log has no statistics (bench/online_copy).
        query(spi,
              "DELETE FROM zerocut.online_copy_log zc_l USING "
              "pg_catalog.unnest($2::pg_catalog.text::pg_catalog.int8[]) AS zc_d(seq) "
              "WHERE zc_l.copy_id = $1 AND zc_l.seq = zc_d.seq",
              {pg::int4_param(copy.copy_id), pg::text_param(text_of(row, 3))});
    }
    return counts;
}

// Catch-up in rounds.  A round replays, chunk by chunk, as many entries as
// the log held when it began (oldest first), so it ends even while writers
// keep logging; what they log meanwhile is the next round's.  Rounds go on
// while they shrink the log, and stop once a round began with at most
// `small` entries, or began with no fewer than the round before (the
// writers log as fast as it replays: the rest waits), or after 50 rounds.
// `chunk(limit)` replays at most `limit` entries (and commits, in a CALL).
struct CatchUp {
    int64_t replayed = 0, gone = 0, inserted = 0, pending = 0;
    int rounds = 0;
    bool converged = true;
};

CatchUp catch_up_rounds(SpiSession& spi, int copy_id, int batch_size, int64_t small,
                        const std::function<ReplayCounts(int limit)>& chunk)
{
    CatchUp result;
    int64_t previous = -1;
    for (;;) {
        int64_t at_start = 0;
        {
            pg::PinnedSearchPath pinned;
            at_start = pending_count(spi, copy_id);
        }
        result.pending = at_start;
        if (at_start == 0) return result;
        if (previous >= 0 && at_start >= previous) {
            result.converged = false;
            return result;
        }
        if (result.rounds == 50) {
            result.converged = at_start <= small;
            return result;
        }
        ++result.rounds;
        for (int64_t done = 0; done < at_start;) {
            int limit = static_cast<int>(std::min<int64_t>(batch_size, at_start - done));
            ReplayCounts counts = chunk(limit);
            result.replayed += counts.logged;
            result.gone += counts.gone;
            result.inserted += counts.inserted;
            done += counts.logged;
            if (counts.logged < limit) break;
        }
        if (at_start <= small) {
            pg::PinnedSearchPath pinned;
            result.pending = pending_count(spi, copy_id);
            return result;
        }
        previous = at_start;
    }
}

struct Verification {
    int64_t source_rows = 0, target_rows = 0, pending = 0, target_total = 0;
    std::string source_hash, target_hash;
};

Verification verify(SpiSession& spi, const Copy& copy, const Statements& st, const Rel& src, const Rel& tgt)
{
    auto row = query(spi, st.verify, {pg::int4_param(copy.copy_id)}).at(0);
    Verification v{int_of(row, 0), int_of(row, 1), int_of(row, 4), int_of(row, 5), text_of(row, 2), text_of(row, 3)};
    if (v.source_rows != v.target_rows || v.source_hash != v.target_hash)
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "online_copy_finish: " + tgt.qname + " does not match " + src.qname,
                    "rows without pending changes: " + std::to_string(v.source_rows) + " in the source, " +
                        std::to_string(v.target_rows) + " in the target; checksum of columns (" +
                        join(st.compared, ", ") + "): " + v.source_hash + " vs " + v.target_hash,
                    "Nothing was changed.  Was the target written to by something else?  "
                    "SELECT zerocut.online_copy_abandon(source), empty the target and copy again.");
    return v;
}

// ---- swap -----------------------------------------------------------------------------

struct SwapReport {
    std::vector<std::string> foreign_keys, views, triggers, grants, sequences, not_moved, to_validate;
    std::string source_now;
};

std::string old_name_of(const Rel& src)
{
    return src.name + "_old";
}

// What the swap needs, checked before any lock is taken.
void swap_prechecks(SpiSession& spi, const Rel& src, const Rel& tgt)
{
    if (src.nsp != tgt.nsp)
        throw Error(sqlstate::feature_not_supported,
                    "online_copy_finish: swap needs source and target in the same schema (" + src.qname + ", " +
                        tgt.qname + ")",
                    "", "Move the target first (ALTER TABLE ... SET SCHEMA), or finish without swap.");
    std::string old_name = old_name_of(src);
    if (old_name.size() >= NAMEDATALEN)
        throw Error("42622", "online_copy_finish: the source's new name \"" + old_name + "\" would exceed 63 bytes");
    if (!query(spi, "SELECT 1 FROM pg_catalog.pg_class WHERE relnamespace = $1 AND relname = $2::pg_catalog.name",
               {oid_param(src.nsp), pg::text_param(old_name)})
             .empty())
        throw Error("42P07",
                    "online_copy_finish: relation " + pg::quote_ident(src.schema) + "." + pg::quote_ident(old_name) +
                        " already exists",
                    "the swap renames the source to <name>_old", "Rename or drop it first.");
    // Row security: the target must already have it (policies do not act on
    // the copy, which runs as the owner), or the swap would open the table.
    auto rls = query(spi,
                     "SELECT s.relrowsecurity = t.relrowsecurity AND s.relforcerowsecurity = t.relforcerowsecurity, "
                     "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(p.polname), ', ' ORDER BY p.polname) "
                     " FROM pg_catalog.pg_policy p WHERE p.polrelid = s.oid AND NOT EXISTS "
                     " (SELECT 1 FROM pg_catalog.pg_policy q WHERE q.polrelid = t.oid AND q.polname = p.polname)) "
                     "FROM pg_catalog.pg_class s, pg_catalog.pg_class t WHERE s.oid = $1 AND t.oid = $2",
                     {oid_param(src.oid), oid_param(tgt.oid)});
    if (text_of(rls.at(0), 0) != "t" || rls[0][1])
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "online_copy_finish: target " + tgt.qname + " lacks the row-level security of source " + src.qname,
                    rls[0][1] ? "policies missing on the target: " + *rls[0][1]
                              : std::string("ENABLE/FORCE ROW LEVEL SECURITY differ"),
                    "Create the same policies and settings on the target first (they do not affect the copy), "
                    "or finish without swap.");
    // Objects the swap re-creates run as the tables' owner, so it must own them.
    auto foreign = query(
        spi,
        "SELECT pg_catalog.format('%s %s (owner %s)', CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, "
        "c.oid::pg_catalog.regclass, c.relowner::pg_catalog.regrole) FROM pg_catalog.pg_class c WHERE c.relowner <> $2 "
        "AND (c.oid IN (SELECT r.ev_class FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid "
        "  WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = "
        "  'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1) AND c.relkind = 'v' "
        " OR c.oid IN (SELECT conrelid FROM pg_catalog.pg_constraint WHERE contype = 'f' AND confrelid = $1 "
        "  AND conrelid <> $1 AND conparentid = 0)) ORDER BY 1",
        {oid_param(src.oid), oid_param(src.owner)});
    if (!foreign.empty()) {
        std::vector<std::string> names;
        for (const auto& row : foreign) names.push_back(text_of(row, 0));
        throw Error(sqlstate::insufficient_privilege,
                    "online_copy_finish: the swap must re-create objects that depend on " + src.qname +
                        " but belong to another role",
                    join(names, "; "), "Give them to the tables' owner (ALTER ... OWNER TO), or finish without swap.");
    }
    // Every foreign key referencing the source needs a unique key on the
    // same columns in the target.
    for (const auto& row :
         query(spi,
               "SELECT c.conname::pg_catalog.text, c.conrelid::pg_catalog.regclass::pg_catalog.text, "
               "pg_catalog.to_jsonb(ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.unnest(c.confkey) k(n) "
               "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n))::pg_catalog.text "
               "FROM pg_catalog.pg_constraint c WHERE c.contype = 'f' AND c.confrelid = $1 AND c.conrelid <> $1 "
               "AND c.conparentid = 0",
               {oid_param(src.oid)})) {
        auto names =
            query(spi, "SELECT x FROM pg_catalog.jsonb_array_elements_text($1::pg_catalog.text::pg_catalog.jsonb) x",
                  {pg::text_param(text_of(row, 2))});
        std::vector<std::string> cols;
        for (const auto& n : names) cols.push_back(text_of(n, 0));
        if (!has_unique_on(spi, tgt.oid, cols))
            throw Error("42830",
                        "online_copy_finish: foreign key " + pg::quote_ident(text_of(row, 0)) + " of " +
                            text_of(row, 1) + " references " + src.qname + " (" + join(cols, ", ") + "), but " +
                            tgt.qname + " has no unique constraint on those columns",
                        "", "Add one to the target, or finish without swap.");
    }
}

std::string strip_semicolon(std::string text)
{
    while (!text.empty() && (text.back() == ';' || std::isspace(static_cast<unsigned char>(text.back()))))
        text.pop_back();
    return text;
}

// Grants on `from` (other than its owner's own) given on `to` as well.
void copy_grants(SpiSession& spi, Oid from, const std::string& to, const char* kind, std::vector<std::string>& report)
{
    for (const auto& row :
         query(spi,
               "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END, "
               "a.privilege_type, a.is_grantable FROM pg_catalog.pg_class c "
               "CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a LEFT JOIN pg_catalog.pg_roles r ON r.oid = "
               "a.grantee "
               "WHERE c.oid = $1 AND a.grantee <> c.relowner ORDER BY 1, 2",
               {oid_param(from)})) {
        query(spi, "GRANT " + text_of(row, 1) + " ON " + kind + " " + to + " TO " + text_of(row, 0) +
                       (text_of(row, 2) == "t" ? " WITH GRANT OPTION" : ""));
        report.push_back(text_of(row, 1) + " to " + text_of(row, 0));
    }
}

// Under the lock, as the tables' owner: renames the source to <name>_old and
// the target to <name>; incoming foreign keys, dependent views, triggers,
// grants and sequences follow the name (docs/online_copy.md says what does
// not).  Definitions are read before the renames, as text that names the
// table: run after them, that text means the new table.
SwapReport do_swap(SpiSession& spi, const Rel& src, const Rel& tgt, const Copy& copy)
{
    SwapReport report;
    std::string old_q = pg::quote_ident(src.schema) + "." + pg::quote_ident(old_name_of(src));
    std::string new_q = src.qname;  // the target's name after the swap
    report.source_now = old_q;
    auto views = query(spi,
                       "SELECT DISTINCT v.oid::pg_catalog.regclass::pg_catalog.text, pg_catalog.pg_get_viewdef(v.oid), "
                       "COALESCE(pg_catalog.array_to_string(v.reloptions, ', '), ''), v.relkind::pg_catalog.text "
                       "FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid "
                       "JOIN pg_catalog.pg_class v ON v.oid = r.ev_class "
                       "WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
                       "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1 "
                       "AND v.oid <> $1 ORDER BY 1",
                       {oid_param(src.oid)});
    auto fks =
        query(spi,
              "SELECT c.conname::pg_catalog.text, c.conrelid::pg_catalog.regclass::pg_catalog.text, "
              "pg_catalog.pg_get_constraintdef(c.oid), r.relkind = 'p', c.convalidated "
              "FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = c.conrelid "
              "WHERE c.contype = 'f' AND c.confrelid = $1 AND c.conrelid <> $1 AND c.conparentid = 0 ORDER BY 2, 1",
              {oid_param(src.oid)});
    auto triggers =
        query(spi,
              "SELECT t.tgname::pg_catalog.text, pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled::pg_catalog.text, "
              "p.pronamespace = 'zerocut'::pg_catalog.regnamespace AND p.proname IN "
              "('audit_trigger_function', 'protect_column_trigger'), "
              "EXISTS (SELECT 1 FROM pg_catalog.pg_trigger x WHERE x.tgrelid = $2 AND x.tgname = t.tgname) "
              "FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid "
              "WHERE t.tgrelid = $1 AND NOT t.tgisinternal AND t.tgparentid = 0 "
              "AND t.tgfoid <> 'zerocut.online_copy_capture()'::pg_catalog.regprocedure ORDER BY 1",
              {oid_param(src.oid), oid_param(tgt.oid)});
    auto sequences = query(
        spi,
        "WITH seqdeps AS (SELECT d.refobjid AS rel, d.refobjsubid AS att, d.objid AS seq, d.deptype "
        "  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
        "  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')), "
        "defaults AS (SELECT ad.adrelid AS rel, ad.adnum AS att, d.refobjid AS seq FROM pg_catalog.pg_attrdef ad "
        "  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid = "
        "ad.oid "
        "  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
        "  JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S') "
        "SELECT sa.attname::pg_catalog.text, "
        " (SELECT seq FROM seqdeps WHERE rel = $1 AND att = sa.attnum AND deptype = 'a' LIMIT 1)::pg_catalog.int8, "
        " COALESCE((SELECT seq FROM defaults WHERE rel = $2 AND att = ta.attnum LIMIT 1), "
        "          (SELECT seq FROM seqdeps WHERE rel = $2 AND att = ta.attnum AND deptype = 'i' LIMIT "
        "1))::pg_catalog.int8, "
        " COALESCE((SELECT seq FROM defaults WHERE rel = $1 AND att = sa.attnum LIMIT 1), "
        "          (SELECT seq FROM seqdeps WHERE rel = $1 AND att = sa.attnum AND deptype = 'i' LIMIT "
        "1))::pg_catalog.int8 "
        "FROM pg_catalog.pg_attribute sa JOIN pg_catalog.pg_attribute ta ON ta.attrelid = $2 AND ta.attname = "
        "sa.attname "
        " AND ta.attnum > 0 AND NOT ta.attisdropped "
        "WHERE sa.attrelid = $1 AND sa.attnum > 0 AND NOT sa.attisdropped ORDER BY sa.attnum",
        {oid_param(src.oid), oid_param(tgt.oid)});
    // Not moved: listed for the WARNING.
    for (const auto& row : query(
             spi,
             "SELECT 'materialized view ' || v.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_depend d "
             "JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid JOIN pg_catalog.pg_class v ON v.oid = r.ev_class "
             "WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refobjid = $1 AND v.relkind = 'm' "
             "UNION SELECT 'rule ' || pg_catalog.quote_ident(rulename) FROM pg_catalog.pg_rewrite "
             "WHERE ev_class = $1 AND rulename <> '_RETURN' "
             "UNION SELECT 'publication ' || pg_catalog.quote_ident(p.pubname) FROM pg_catalog.pg_publication_rel pr "
             "JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid WHERE pr.prrelid = $1 "
             "UNION SELECT 'column privileges' FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attacl IS NOT NULL "
             "UNION SELECT 'foreign key ' || pg_catalog.quote_ident(conname) || ' of the source itself' "
             "FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype = 'f' AND conparentid = 0 "
             "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint x WHERE x.conrelid = $2 AND x.contype = 'f' "
             "AND x.confrelid = pg_catalog.pg_constraint.confrelid) ORDER BY 1",
             {oid_param(src.oid), oid_param(tgt.oid)}))
        report.not_moved.push_back(text_of(row, 0));
    {
        pg::AsExtensionOwner owner;
        for (const auto& row : query(spi,
                                     "SELECT 'protection of column ' || pg_catalog.quote_ident(column_name) || "
                                     "' (zerocut.protect_column)' FROM zerocut.protected_column WHERE "
                                     "relation::pg_catalog.oid = $1 ORDER BY 1",
                                     {oid_param(src.oid)}))
            report.not_moved.push_back(text_of(row, 0));
    }

    // The renames.
    query(spi, "ALTER TABLE " + src.qname + " RENAME TO " + pg::quote_ident(old_name_of(src)));
    query(spi, "ALTER TABLE " + tgt.qname + " RENAME TO " + pg::quote_ident(src.name));

    // Incoming foreign keys: dropped and added again, now meaning the new
    // table; NOT VALID (no scan under the lock; the rows were verified
    // equal), except on a partitioned table, where PostgreSQL before 18 has
    // no NOT VALID foreign keys.
    for (const auto& row : fks) {
        std::string name = pg::quote_ident(text_of(row, 0)), table = text_of(row, 1), def = text_of(row, 2);
        bool partitioned = text_of(row, 3) == "t", was_valid = text_of(row, 4) == "t";
        bool not_valid = !partitioned && def.find(" NOT VALID") == std::string::npos;
        query(spi, "ALTER TABLE " + table + " DROP CONSTRAINT " + name + ", ADD CONSTRAINT " + name + " " + def +
                       (not_valid ? " NOT VALID" : ""));
        report.foreign_keys.push_back(table + "." + text_of(row, 0));
        if (not_valid && was_valid)
            report.to_validate.push_back("ALTER TABLE " + table + " VALIDATE CONSTRAINT " + name);
    }
    for (const auto& row : views) {
        if (text_of(row, 3) != "v") continue;
        std::string options = text_of(row, 2);
        query(spi, "CREATE OR REPLACE VIEW " + text_of(row, 0) + (options.empty() ? "" : " WITH (" + options + ")") +
                       " AS " + strip_semicolon(text_of(row, 1)));
        report.views.push_back(text_of(row, 0));
    }
    for (const auto& row : triggers) {
        std::string name = text_of(row, 0);
        if (text_of(row, 3) == "t") {
            report.not_moved.push_back("trigger " + pg::quote_ident(name) +
                                       " (zerocut's: enable_audit / protect_column on the new table)");
            continue;
        }
        if (text_of(row, 4) == "t") {
            report.not_moved.push_back("trigger " + pg::quote_ident(name) + " (the target has one of that name)");
            continue;
        }
        query(spi, text_of(row, 1));
        std::string enabled = text_of(row, 2);
        if (enabled != "O")
            query(spi, "ALTER TABLE " + new_q +
                           (enabled == "D"   ? " DISABLE TRIGGER "
                            : enabled == "R" ? " ENABLE REPLICA TRIGGER "
                                             : " ENABLE ALWAYS TRIGGER ") +
                           pg::quote_ident(name));
        report.triggers.push_back(name);
    }
    copy_grants(spi, src.oid, new_q, "TABLE", report.grants);
    for (const auto& row : sequences) {
        std::string column = text_of(row, 0);
        Oid src_owned = static_cast<Oid>(int_of(row, 1)), tgt_seq = static_cast<Oid>(int_of(row, 2)),
            src_seq = static_cast<Oid>(int_of(row, 3));
        if (tgt_seq == InvalidOid) continue;
        std::string seq_q = pg::qualified_relation_name(tgt_seq);
        if (tgt_seq == src_owned) {
            query(spi, "ALTER SEQUENCE " + seq_q + " OWNED BY " + new_q + "." + pg::quote_ident(column));
            report.sequences.push_back(seq_q + " now owned by column " + pg::quote_ident(column));
        } else if (tgt_seq != src_seq) {
            bool is_key = std::find(copy.key.begin(), copy.key.end(), column) != copy.key.end();
            if (!is_key) {
                report.not_moved.push_back("sequence " + seq_q + " of column " + pg::quote_ident(column) +
                                           " (not advanced past the copied values: not a key column)");
                continue;
            }
            auto set = query(spi,
                             "SELECT pg_catalog.setval($1::pg_catalog.oid::pg_catalog.regclass, "
                             "GREATEST(x.m, COALESCE(pg_catalog.pg_sequence_last_value($1::pg_catalog.oid::"
                             "pg_catalog.regclass), x.m)))::pg_catalog.text FROM (SELECT pg_catalog.max(" +
                                 pg::quote_ident(column) + ")::pg_catalog.int8 AS m FROM " + new_q +
                                 ") x WHERE x.m IS NOT NULL",
                             {oid_param(tgt_seq)});
            if (!set.empty()) report.sequences.push_back(seq_q + " advanced to " + text_of(set[0], 0));
            if (src_seq != InvalidOid) copy_grants(spi, src_seq, seq_q, "SEQUENCE", report.grants);
        }
    }
    return report;
}

std::string swap_details(const SwapReport& report)
{
    return "{\"source_now\": " + core::json_string(report.source_now) +
           ", \"foreign_keys\": " + json_list(report.foreign_keys) + ", \"views\": " + json_list(report.views) +
           ", \"triggers\": " + json_list(report.triggers) + ", \"grants\": " + json_list(report.grants) +
           ", \"sequences\": " + json_list(report.sequences) + ", \"not_moved\": " + json_list(report.not_moved) +
           ", \"foreign_keys_to_validate\": " + json_list(report.to_validate) + "}";
}

// ---- registration -------------------------------------------------------------------

void check_pair(const Rel& src, const Rel& tgt)
{
    if (src.oid == tgt.oid)
        throw Error(sqlstate::invalid_parameter_value, "argument \"target\" must be another table than source");
    pg::require_table_owner(src.oid, "source");
    pg::require_table_owner(tgt.oid, "target");
    pg::refuse_zerocut_relation(src.oid, "source", "copied online");
    pg::refuse_zerocut_relation(tgt.oid, "target", "the target of an online copy");
    if (src.owner != tgt.owner)
        throw Error(sqlstate::insufficient_privilege,
                    "argument \"target\": " + tgt.qname + " must have the same owner as source " + src.qname,
                    "the copy runs as the tables' owner", "ALTER TABLE ... OWNER TO one role first.");
}

Copy register_copy(SpiSession& spi, const Rel& src, const Rel& tgt, const std::optional<std::string>& column_map,
                   int batch_size)
{
    Copy copy;
    copy.source = src.oid;
    copy.target = tgt.oid;
    copy.source_name = src.qname;
    copy.target_name = tgt.qname;
    copy.column_map = column_map;
    copy.batch_size = batch_size;
    copy.phase = "copying";
    copy.key = primary_key(spi, src.oid);
    if (copy.key.empty())
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "argument \"source\": " + src.qname + " has no primary key",
                    "an online copy reads the source in key order and finds changed rows by their key",
                    "ALTER TABLE " + src.qname + " ADD PRIMARY KEY (...) first.");
    if (!has_unique_on(spi, tgt.oid, copy.key))
        throw Error("42P10",
                    "argument \"target\": " + tgt.qname + " has no primary key or unique index on (" +
                        join(copy.key, ", ") + "), the primary key of source " + src.qname,
                    "", "ALTER TABLE " + tgt.qname + " ADD PRIMARY KEY (" + join(copy.key, ", ") + ") first.");
    // The owner runs our statements, which call zerocut.online_copy_pending().
    Oid zerocut_nsp = pg::guard([] { return get_namespace_oid("zerocut", false); });
    if (!pg::guard([=] { return pg::has_schema_usage(zerocut_nsp, src.owner); }))
        throw Error(sqlstate::insufficient_privilege,
                    "online copy: the owner of " + src.qname + " has no USAGE on schema zerocut",
                    "the copy runs as the tables' owner, and its statements call zerocut's functions",
                    "GRANT USAGE ON SCHEMA zerocut TO the owner.");
    auto referencing = query(spi,
                             "SELECT pg_catalog.string_agg(conrelid::pg_catalog.regclass::pg_catalog.text || '.' || "
                             "pg_catalog.quote_ident(conname), ', ') FROM pg_catalog.pg_constraint "
                             "WHERE contype = 'f' AND confrelid = $1",
                             {oid_param(tgt.oid)});
    if (referencing.at(0).at(0))
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "argument \"target\": " + tgt.qname + " is referenced by foreign keys",
                    "foreign keys: " + *referencing[0][0] +
                        "; replaying a change deletes and inserts the target's row, which would act on them",
                    "Drop them; finish with swap => true moves the source's foreign keys to the target.");
    // The statements must build (column_map checked) and plan (expressions
    // typed, functions found) before anything is recorded: a LIMIT 0 batch.
    {
        pg::AsTableOwner as_owner(src.oid);
        if (!query(spi, "SELECT 1 FROM " + tgt.qname + " LIMIT 1").empty())
            throw Error(sqlstate::object_not_in_prerequisite_state,
                        "argument \"target\": " + tgt.qname + " is not empty",
                        "an online copy starts into an empty table",
                        "TRUNCATE it first (a copy in progress is resumed by calling online_copy again).");
        Statements st = build_statements(spi, copy, src, tgt);
        std::string state;
        auto failure = pg::in_subtransaction([&] { query(spi, st.first_batch, {pg::int4_param(0)}); }, &state);
        if (failure) {
            static char code[6];  // zc::Error keeps the pointer
            std::memcpy(code, state.c_str(), sizeof code);
            throw Error(code,
                        "online copy: the rows of " + tgt.qname + " cannot be made from those of " + src.qname + ": " +
                            *failure,
                        "target columns come from column_map (expressions over the source row) or from the source "
                        "column of the same name",
                        "Check column_map: column names of the source, functions schema-qualified "
                        "(search_path is pg_catalog), types that fit the target's.");
        }
    }
    std::string caller = pg::guard([] { return GetUserNameFromId(GetUserId(), false); });
    {
        pg::AsExtensionOwner owner;
        auto row = query(spi,
                         "INSERT INTO zerocut.online_copy (source, target, source_name, target_name, key_columns, "
                         "column_map, batch_size, started_by) VALUES ($1::pg_catalog.oid::pg_catalog.regclass, "
                         "$2::pg_catalog.oid::pg_catalog.regclass, $3, $4, "
                         "ARRAY(SELECT x::pg_catalog.name FROM pg_catalog.jsonb_array_elements_text("
                         "$5::pg_catalog.text::pg_catalog.jsonb) WITH ORDINALITY e(x, o) ORDER BY o), "
                         "$6::pg_catalog.text::pg_catalog.jsonb, $7, $8) RETURNING copy_id",
                         {oid_param(src.oid), oid_param(tgt.oid), pg::text_param(src.qname), pg::text_param(tgt.qname),
                          pg::text_param(json_list(copy.key)), opt_text(column_map), pg::int4_param(batch_size),
                          pg::text_param(caller)})
                       .at(0);
        copy.copy_id = static_cast<int>(int_of(row, 0));
        // Partitions the owner adds later get the trigger cloned, which
        // PostgreSQL checks EXECUTE for (as for the protect trigger).
        pg::let_owner_execute(spi, "zerocut.online_copy_capture()", src.oid);
    }
    // The capture: CREATE TRIGGER takes SHARE ROW EXCLUSIVE, which waits for
    // the writers in flight (so every later change is captured) and holds
    // up writers while it waits: short attempts.  Made as the extension's
    // owner (the owner needs no EXECUTE on zerocut's functions), as
    // protect_column makes its trigger.
    std::string id = pg::quote_literal(std::to_string(copy.copy_id));
    LockStats stats;
    with_short_lock(
        "install the capture trigger on " + src.qname, "LOCK TABLE " + src.qname + " IN SHARE ROW EXCLUSIVE MODE",
        [&] {
            auto stale = capture_triggers_on(spi, src.oid);
            if (!stale.empty()) {
                // An earlier copy's (its target was dropped): ACCESS EXCLUSIVE.
                query(spi, "LOCK TABLE " + src.qname + " IN ACCESS EXCLUSIVE MODE");
                pg::AsTableOwner as_owner(src.oid);
                drop_capture(spi, src);
            }
            pg::AsExtensionOwner owner;
            query(spi, std::string("CREATE TRIGGER ") + capture_trigger + " AFTER INSERT OR UPDATE OR DELETE ON " +
                           src.qname + " FOR EACH ROW EXECUTE FUNCTION zerocut.online_copy_capture(" + id + ")");
            query(spi, std::string("CREATE TRIGGER ") + truncate_trigger + " BEFORE TRUNCATE ON " + src.qname +
                           " FOR EACH STATEMENT EXECUTE FUNCTION zerocut.online_copy_capture(" + id + ")");
        },
        spi, stats);
    return copy;
}

void commit(const char* who)
{
    try {
        pg::guard([] { SPI_commit(); });
    } catch (const pg::PgError& error) {
        // SPI_commit has aborted the failed transaction and started a new one.
        pg::clear_pg_error_in_flight();
        static char code[6];
        std::memcpy(code, unpack_sql_state(error.sqlerrcode()), sizeof code);
        throw Error(code, std::string(who) + ": commit failed: " + error.what());
    }
}

std::string rows_word(int64_t n)
{
    return std::to_string(n) + (n == 1 ? " row" : " rows");
}

void log_event(SpiSession& spi, const std::string& message, const std::string& json)
{
    pg::write_system_log(spi, "INFO", message, json);
}

}  // namespace

// ---- public -------------------------------------------------------------------------------

std::optional<Copy> copy_of(SpiSession& spi, Oid relid)
{
    std::vector<Row> rows, keys;
    {
        pg::AsExtensionOwner owner;
        rows =
            query(spi,
                  "SELECT copy_id, source::pg_catalog.oid::pg_catalog.int8, target::pg_catalog.oid::pg_catalog.int8, "
                  "source_name, target_name, column_map::pg_catalog.text, batch_size, phase, "
                  "last_key::pg_catalog.text, rows_copied, batches, changes_replayed FROM zerocut.online_copy "
                  "WHERE $1 IN (source::pg_catalog.oid, target::pg_catalog.oid)",
                  {oid_param(relid)});
        if (rows.empty()) return std::nullopt;
        keys = query(spi,
                     "SELECT k::pg_catalog.text FROM zerocut.online_copy, "
                     "pg_catalog.unnest(key_columns) WITH ORDINALITY u(k, o) WHERE copy_id = $1 ORDER BY o",
                     {pg::int4_param(static_cast<int32>(int_of(rows[0], 0)))});
    }
    const Row& r = rows[0];
    Copy copy;
    copy.copy_id = static_cast<int>(int_of(r, 0));
    copy.source = static_cast<Oid>(int_of(r, 1));
    copy.target = static_cast<Oid>(int_of(r, 2));
    copy.source_name = text_of(r, 3);
    copy.target_name = text_of(r, 4);
    copy.column_map = r.at(5);
    copy.batch_size = static_cast<int>(int_of(r, 6));
    copy.phase = text_of(r, 7);
    copy.last_key = r.at(8);
    copy.rows_copied = int_of(r, 9);
    copy.batches = int_of(r, 10);
    copy.replayed = int_of(r, 11);
    for (const auto& k : keys) copy.key.push_back(text_of(k, 0));
    return copy;
}

void run_online_copy(SpiSession& spi, Oid source, Oid target, const std::optional<std::string>& column_map,
                     int batch_size)
{
    Copy copy;
    std::string src_name, tgt_name;
    bool resumed = false;
    {
        pg::PinnedSearchPath pinned;
        Rel src = load_rel(spi, source, "source");
        Rel tgt = load_rel(spi, target, "target");
        check_pair(src, tgt);
        take_job_lock(src);
        src_name = src.qname;
        tgt_name = tgt.qname;
        auto of_source = copy_of(spi, source);
        auto of_target = copy_of(spi, target);
        if (of_source && of_source->source == source && of_source->target == target) {
            auto same = query(spi,
                              "SELECT $1::pg_catalog.text::pg_catalog.jsonb IS NOT DISTINCT FROM "
                              "$2::pg_catalog.text::pg_catalog.jsonb",
                              {opt_text(column_map), opt_text(of_source->column_map)});
            if (text_of(same.at(0), 0) != "t")
                throw Error(sqlstate::invalid_parameter_value,
                            "argument \"column_map\" differs from the one of the copy in progress of " + src.qname +
                                " into " + tgt.qname,
                            "recorded: " + of_source->column_map.value_or("NULL"),
                            "CALL it again with the same column_map, or SELECT zerocut.online_copy_abandon(source), "
                            "empty the target and start over.");
            copy = *of_source;
            if (copy.batch_size != batch_size) {
                set_progress(spi, copy.copy_id, "batch_size = $2", {pg::int4_param(batch_size)});
                copy.batch_size = batch_size;
            }
            resumed = true;
        } else if (of_source) {
            throw Error("55006",
                        "argument \"source\": " + src.qname + " is already " +
                            (of_source->source == source ? "being copied into " + of_source->target_name
                                                         : "the target of the copy of " + of_source->source_name),
                        "", "Finish or abandon that copy first.");
        } else if (of_target) {
            throw Error("55006",
                        "argument \"target\": " + tgt.qname + " is already " +
                            (of_target->target == target ? "the target of the copy of " + of_target->source_name
                                                         : "being copied into " + of_target->target_name),
                        "", "Finish or abandon that copy first.");
        } else {
            copy = register_copy(spi, src, tgt, column_map, batch_size);
        }
    }
    commit("online_copy");
    if (resumed)
        pg::notice("online_copy: resuming the copy of " + src_name + " into " + tgt_name + " (" +
                   rows_word(copy.rows_copied) + " copied so far" + (copy.phase == "copied" ? ", all" : "") + ")");
    else
        pg::notice("online_copy: copying " + src_name + " into " + tgt_name + " by (" + join(copy.key, ", ") +
                   ") in batches of " + std::to_string(batch_size) + "; changes to " + src_name + " are captured");

    // Unit of work: lock, read the copy's row again, work as the owner,
    // record, commit.  A cancel or crash loses only the unit in flight.
    auto unit = [&](const std::function<void(const Copy&, const Rel&, const Rel&, const Statements&)>& work) {
        pg::PinnedSearchPath pinned;
        Rel src = load_rel(spi, source, "source");
        Rel tgt = load_rel(spi, target, "target");
        take_job_lock(src);
        auto now = copy_of(spi, source);
        if (!now || now->copy_id != copy.copy_id)
            throw Error(
                sqlstate::object_not_in_prerequisite_state,
                "online_copy: the copy of " + src_name + " into " + tgt_name + " was finished or abandoned meanwhile");
        if (src.owner != tgt.owner)
            throw Error(sqlstate::object_not_in_prerequisite_state,
                        "online_copy: the owner of " + src.qname + " or " + tgt.qname + " changed during the copy");
        copy = *now;
        copy.batch_size = batch_size;
        pg::AsTableOwner as_owner(source);
        Statements st = build_statements(spi, copy, src, tgt);
        work(copy, src, tgt, st);
    };

    auto last_notice = Clock::now();
    bool first = true;
    while (copy.phase == "copying") {
        int64_t copied = 0;
        unit([&](const Copy& c, const Rel&, const Rel&, const Statements& st) {
            auto start = Clock::now();
            auto row =
                (c.last_key ? query(spi, st.next_batch, {pg::int4_param(batch_size), pg::text_param(*c.last_key)})
                            : query(spi, st.first_batch, {pg::int4_param(batch_size)}))
                    .at(0);
            copied = int_of(row, 0);
            double ms = elapsed_ms(start);
            bool done = copied < batch_size;
            set_progress(
                spi, c.copy_id,
                "last_key = COALESCE($2::pg_catalog.text::pg_catalog.jsonb, last_key), "
                "rows_copied = rows_copied + $3, batches = batches + 1, copy_ms = copy_ms + $4::pg_catalog.text::"
                "pg_catalog.float8, phase = CASE WHEN $5 THEN 'copied' ELSE phase END, "
                "copied_at = CASE WHEN $5 THEN pg_catalog.clock_timestamp() END",
                {opt_text(row.at(1)), pg::int8_param(copied), pg::text_param(std::to_string(ms)),
                 Param{BOOLOID, BoolGetDatum(done), false}});
            copy.rows_copied = c.rows_copied + copied;
            copy.batches = c.batches + 1;
            copy.phase = done ? "copied" : "copying";
        });
        commit("online_copy");
        if (first || elapsed_ms(last_notice) >= 5000) {
            pg::notice("online_copy: " + rows_word(copy.rows_copied) + " copied in " + std::to_string(copy.batches) +
                       (copy.batches == 1 ? " batch" : " batches") + " so far");
            last_notice = Clock::now();
            first = false;
        }
    }

    // Replay what was captured meanwhile, a batch of log entries per unit
    // (each committed), in rounds until the log is short (catch_up_rounds).
    CatchUp caught = catch_up_rounds(spi, copy.copy_id, batch_size, batch_size, [&](int limit) {
        ReplayCounts counts;
        unit([&](const Copy& c, const Rel&, const Rel&, const Statements& st) {
            counts = replay_chunk(spi, c, st, limit);
            if (counts.logged > 0)
                set_progress(spi, c.copy_id, "changes_replayed = changes_replayed + $2",
                             {pg::int8_param(counts.logged)});
        });
        commit("online_copy");
        return counts;
    });
    int64_t replayed = caught.replayed;
    if (!caught.converged)
        pg::notice("online_copy: the writers of " + src_name + " log changes about as fast as they are replayed (" +
                   std::to_string(caught.pending) + " pending after " + std::to_string(caught.rounds) +
                   " rounds); online_copy_finish replays the rest");
    int64_t pending = 0;
    {
        pg::PinnedSearchPath pinned;
        pending = pending_count(spi, copy.copy_id);
        log_event(spi, "Online copy: " + src_name + " copied into " + tgt_name,
                  "{\"capability\": \"migrate\", \"operation\": \"online_copy\", \"source\": " +
                      core::json_string(src_name) + ", \"target\": " + core::json_string(tgt_name) +
                      ", \"rows_copied\": " + std::to_string(copy.rows_copied) + ", \"batches\": " +
                      std::to_string(copy.batches) + ", \"changes_replayed\": " + std::to_string(replayed) + "}");
    }
    commit("online_copy");
    pg::notice("online_copy: " + src_name + " copied into " + tgt_name + ": " + rows_word(copy.rows_copied) + " in " +
               std::to_string(copy.batches) + (copy.batches == 1 ? " batch" : " batches") + ", " +
               std::to_string(replayed) + " captured changes replayed, " + std::to_string(pending) +
               " pending; SELECT * FROM zerocut.online_copy_finish(source, target) completes it");
}

FinishResult finish_online_copy(SpiSession& spi, Oid source, Oid target, bool swap)
{
    FinishResult r;
    pg::PinnedSearchPath pinned;
    Rel src = load_rel(spi, source, "source");
    Rel tgt = load_rel(spi, target, "target");
    pg::require_table_owner(source, "source");
    pg::require_table_owner(target, "target");
    auto found = copy_of(spi, source);
    if (!found || found->source != source || found->target != target)
        throw Error(sqlstate::undefined_object,
                    "online_copy_finish: there is no online copy of " + src.qname + " into " + tgt.qname, "",
                    "Start one with CALL zerocut.online_copy(source, target).");
    Copy copy = *found;
    if (copy.phase != "copied")
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "online_copy_finish: the copy of " + src.qname + " into " + tgt.qname + " is not complete (" +
                        rows_word(copy.rows_copied) + " copied so far)",
                    "", "CALL zerocut.online_copy(source, target, ...) again: it resumes where it stopped.");
    if (src.owner != tgt.owner)
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "online_copy_finish: " + src.qname + " and " + tgt.qname + " no longer have the same owner");
    // The last replay must read the log after the lock is granted: with a
    // transaction snapshot (taken before the lock) it would miss the changes
    // committed in between, and the copy would lose them.
    if (IsolationUsesXactSnapshot())
        throw Error("25000", "online_copy_finish cannot run in a REPEATABLE READ or SERIALIZABLE transaction",
                    "its last replay, under the lock, must see every change committed before the lock",
                    "Call it in a READ COMMITTED transaction (on its own, autocommit).");
    take_job_lock(src);
    r.source_name = src.qname;
    r.target_name = tgt.qname;
    SwapReport report;
    LockStats stats;
    {
        pg::AsTableOwner as_owner(source);
        Statements st = build_statements(spi, copy, src, tgt);
        r.compared = st.compared;
        if (swap) swap_prechecks(spi, src, tgt);
        int64_t target_total = 0;
        // Catch up in this transaction (rounds: it ends while writers go on).
        auto catch_up = [&] {
            CatchUp caught = catch_up_rounds(spi, copy.copy_id, copy.batch_size, copy.batch_size,
                                             [&](int limit) { return replay_chunk(spi, copy, st, limit); });
            r.replayed += caught.replayed;
            return caught;
        };
        catch_up();
        Verification v = verify(spi, copy, st, src, tgt);
        r.verified_rows = v.source_rows;
        r.pending_rows = v.pending;
        r.checksum = v.source_hash;
        target_total = v.target_total;
        // What was logged during the verification (a scan of both tables) is
        // replayed before the lock, so that the replay under it is short.  A
        // replay re-copies rows from the source whatever was verified: the
        // verified rows stay equal, the target's count follows the replays.
        auto catch_up_after_verify = [&] {
            CatchUp caught = catch_up();
            target_total += caught.inserted - caught.gone;
        };
        catch_up_after_verify();
        std::string lock_sql = "LOCK TABLE " + src.qname + (swap ? ", " + tgt.qname : "") + " IN ACCESS EXCLUSIVE MODE";
        with_short_lock(
            "lock " + src.qname + (swap ? " and " + tgt.qname : "") + " (ACCESS EXCLUSIVE)", lock_sql,
            [&] {
                // Writers are held off: the log is complete.  Everything
                // still pending is replayed here.
                auto counts = replay_chunk(spi, copy, st, 0);
                r.replayed += counts.logged;
                target_total += counts.inserted - counts.gone;
                drop_capture(spi, src);
                if (swap) report = do_swap(spi, src, tgt, copy);
                delete_copy(spi, copy.copy_id);
            },
            spi, stats,
            [&] {
                // Waited long: catch up again so that the replay under the
                // lock stays short.
                if (pending_count(spi, copy.copy_id) > copy.batch_size) catch_up_after_verify();
            });
        r.target_rows = target_total;
    }
    r.lock_attempts = stats.attempts;
    r.lock_wait_ms = stats.wait_ms;
    r.lock_held_ms = elapsed_ms(stats.granted_at);
    r.swapped = swap;
    r.to_validate = report.to_validate;
    r.details = swap ? swap_details(report) : "{\"capture_removed\": true}";
    if (swap && !report.not_moved.empty())
        pg::warning("online_copy_finish: not moved to the new " + src.qname + ": " + join(report.not_moved, "; "),
                    "They stay with " + report.source_now + "; see docs/online_copy.md.");
    log_event(spi, "Online copy finished: " + r.source_name + " into " + r.target_name + (swap ? " (swapped)" : ""),
              "{\"capability\": \"migrate\", \"operation\": \"online_copy_finish\", \"source\": " +
                  core::json_string(r.source_name) + ", \"target\": " + core::json_string(r.target_name) +
                  ", \"verified_rows\": " + std::to_string(r.verified_rows) + ", \"target_rows\": " +
                  std::to_string(r.target_rows) + ", \"replayed\": " + std::to_string(r.replayed) +
                  ", \"lock_attempts\": " + std::to_string(r.lock_attempts) +
                  ", \"swap\": " + (swap ? "true" : "false") + ", \"details\": " + r.details + "}");
    return r;
}

bool abandon_online_copy(SpiSession& spi, Oid source)
{
    pg::PinnedSearchPath pinned;
    Rel src = load_rel(spi, source, "source");
    pg::require_table_owner(source, "source");
    auto copy = copy_of(spi, source);
    if (copy && copy->source != source)
        throw Error(sqlstate::invalid_parameter_value,
                    "argument \"source\": " + src.qname + " is the target of the copy of " + copy->source_name, "",
                    "Pass the copy's source.");
    auto triggers = capture_triggers_on(spi, source);
    if (!copy && triggers.empty()) {
        pg::notice("online_copy_abandon: " + src.qname + " has no online copy; nothing to do");
        return false;
    }
    take_job_lock(src);
    LockStats stats;
    {
        pg::AsTableOwner as_owner(source);
        if (!triggers.empty())
            with_short_lock(
                "lock " + src.qname + " (ACCESS EXCLUSIVE) to remove the capture",
                "LOCK TABLE " + src.qname + " IN ACCESS EXCLUSIVE MODE", [&] { drop_capture(spi, src); }, spi, stats);
        if (copy) delete_copy(spi, copy->copy_id);
    }
    std::string target = copy ? copy->target_name : std::string("(gone)");
    log_event(spi, "Online copy abandoned: " + src.qname,
              "{\"capability\": \"migrate\", \"operation\": \"online_copy_abandon\", \"source\": " +
                  core::json_string(src.qname) + ", \"target\": " + core::json_string(target) +
                  ", \"rows_copied\": " + std::to_string(copy ? copy->rows_copied : 0) + "}");
    pg::notice(copy ? "online_copy_abandon: the online copy of " + src.qname + " into " + target +
                          " is abandoned; the target keeps the " + rows_word(copy->rows_copied) + " copied so far"
                    : "online_copy_abandon: removed the capture triggers a finished or dropped copy left on " +
                          src.qname);
    return true;
}

void copy_policies(SpiSession& spi, Oid from, Oid to)
{
    std::string to_q = pg::qualified_relation_name(to);
    for (const auto& row : query(
             spi,
             "SELECT pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p.polname, $2, "
             "CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, "
             "CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' "
             "WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, "
             "(SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(a.rolname) END, "
             "', ') FROM pg_catalog.unnest(p.polroles) r LEFT JOIN pg_catalog.pg_roles a ON a.oid = r), "
             "' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', "
             "' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')') "
             "FROM pg_catalog.pg_policy p WHERE p.polrelid = $1 ORDER BY p.polname",
             {oid_param(from), pg::text_param(to_q)}))
        query(spi, text_of(row, 0));
    auto flags = query(spi, "SELECT relrowsecurity, relforcerowsecurity FROM pg_catalog.pg_class WHERE oid = $1",
                       {oid_param(from)});
    if (text_of(flags.at(0), 0) == "t") query(spi, "ALTER TABLE " + to_q + " ENABLE ROW LEVEL SECURITY");
    if (text_of(flags.at(0), 1) == "t") query(spi, "ALTER TABLE " + to_q + " FORCE ROW LEVEL SECURITY");
}

}  // namespace zc::migrate
