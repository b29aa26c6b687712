#include "partition/engine.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/errors.hpp"
#include "pg/compat.hpp"
#include "pg/copy_access.hpp"
#include "pg/guard.hpp"
#include "pg/job_lock.hpp"
#include "pg/module.hpp"
#include "pg/run_as.hpp"
#include "pg/subtransaction.hpp"
#include "pg/system_log.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgtime.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "storage/lmgr.h"
#include "access/relation.h"
#include "utils/timestamp.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "partitioning/partdesc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace zc::partition {

namespace core = zc::core;
using zc::Error;
using zc::pg::Param;
using zc::pg::SpiSession;

namespace {

char* partition_timezone_setting = nullptr;
int partition_lock_timeout_setting = 2000;

bool check_partition_timezone(char** newval, void**, GucSource)
{
    return *newval != nullptr && pg_tzset(*newval) != nullptr;
}

zc::pg::OnLoad define_partition_gucs([] {
    DefineCustomStringVariable(
        "zerocut.partition_timezone", "Time zone in which partition boundaries of timestamptz columns are computed.",
        "Stored with each managed parent when it is registered; later changes affect only "
        "parents registered afterwards and create_monthly_partition on unmanaged tables.",
        &partition_timezone_setting, "UTC", PGC_USERSET, 0, check_partition_timezone, nullptr, nullptr);
    DefineCustomIntVariable("zerocut.partition_lock_timeout",
                            "How long partition maintenance tries to take a parent's locks before skipping it.",
                            nullptr, &partition_lock_timeout_setting, 2000, 0, 3600 * 1000, PGC_USERSET, GUC_UNIT_MS,
                            nullptr, nullptr, nullptr);
});

Param oid_param(Oid value)
{
    return Param{OIDOID, ObjectIdGetDatum(value), false};
}

Oid parse_oid(const std::optional<std::string>& text)
{
    return text ? static_cast<Oid>(std::stoul(*text)) : InvalidOid;
}

std::string array_literal(const std::vector<std::string>& items)
{
    std::string out = "{";
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

template <typename TryOnce>
bool poll_until_timeout(TryOnce try_once)
{
    int timeout = lock_timeout_ms();
    TimestampTz start = GetCurrentTimestamp();
    for (;;) {
        if (try_once()) return true;
        if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout)) return false;
        zc::pg::guard([] {
            CHECK_FOR_INTERRUPTS();
            pg_usleep(5000L);
        });
    }
}

// After the parent: its default partition in the strongest mode the work
// may need (CREATE ... PARTITION OF and ATTACH next to a default partition
// take ACCESS EXCLUSIVE on it, the rescue deletes from it), so that no lock
// is upgraded later.  Polled like the parent's; true when held or absent.
bool lock_default_partition(Oid parent)
{
    Oid def = zc::pg::guard([=] { return get_default_partition_oid(parent); });
    return !OidIsValid(def) || lock_relation_polling(def, AccessExclusiveLock);
}

// docs/partitions.md, "Privileges": the job works on a partition (reads and
// moves the default partition's rows, drops a retired one) as the parent's
// owner, who must therefore own it.  A partition of another role (one
// zerocut 0.1.0 made as whoever called it, often a superuser) fails the
// parent with 42501 naming it and its owner, instead of a bare "permission
// denied" (or, for a drop, the partition's owner's rights).
void require_owned_by_parent_owner(const ParentInfo& parent, const Child& child, const char* work)
{
    Oid parent_owner = zc::pg::relation_owner(parent.oid);
    Oid child_oid = child.oid;
    if (zc::pg::guard([=] { return zc::pg::owns_relation(child_oid, parent_owner); })) return;
    Oid child_owner = zc::pg::relation_owner(child.oid);
    std::string child_owner_name = zc::pg::guard([=] { return GetUserNameFromId(child_owner, false); });
    std::string parent_owner_name = zc::pg::guard([=] { return GetUserNameFromId(parent_owner, false); });
    throw Error(
        zc::sqlstate::insufficient_privilege,
        fmt::format("partition {} of {} is owned by role {}, not by the parent's owner {}", child.qualified,
                    parent.qualified, zc::pg::quote_ident(child_owner_name), zc::pg::quote_ident(parent_owner_name)),
        fmt::format("partition maintenance {} as the parent's owner", work),
        fmt::format("Give the partition to the parent's owner: ALTER TABLE {} OWNER TO {};", child.qualified,
                    zc::pg::quote_ident(parent_owner_name)));
}

const Child* find_default(const std::vector<Child>& children)
{
    for (const Child& child : children)
        if (child.bound.is_default) return &child;
    return nullptr;
}

// Midnights of dates in time zones, read once per maintenance run:
// (zone, "YYYY-MM-DD") -> (timestamptz text, internal value).
using EdgeCache = std::map<std::pair<std::string, std::string>, std::pair<std::string, int64_t>>;
const EdgeCache* active_edges = nullptr;  // set while maintain() runs

struct Config {
    Oid parent = InvalidOid;
    bool parent_exists = false;
    core::Granularity granularity = core::Granularity::month;
    int premake = 3;
    bool has_retention = false;
    core::RetentionAction retention_action = core::RetentionAction::detach;
    std::string time_zone;
    core::CivilDate today;
    int64_t cutoff_date = 0;       // now - retention, floored to a date (date keys)
    int64_t cutoff_timestamp = 0;  // now - retention as local time (timestamp keys)
    int64_t cutoff_instant = 0;    // the same instant (timestamptz keys)
    std::optional<ParentInfo> parent_info;
    std::string parent_problem;  // why parent_info is missing
};

// The columns describe_parent() reads, for one parent `p` (pg_class c, pg_namespace n).
constexpr const char* parent_columns =
    "n.nspname, c.relname, c.relkind::pg_catalog.text, p.partstrat::pg_catalog.text, p.partnatts, "
    "a.attname, a.atttypid::pg_catalog.oid, c.relowner::pg_catalog.oid";
constexpr const char* parent_joins =
    "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_partitioned_table p ON p.partrelid = c.oid "
    "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0] ";

using TextRow = std::vector<std::optional<std::string>>;

ParentInfo parent_from_row(const TextRow& row, size_t at, Oid relid, const char* argument);

int64_t to_int64(const std::optional<std::string>& text)
{
    return text ? std::stoll(*text) : 0;
}

// Every managed parent (or one) with its settings, its catalog description
// and the retention cutoffs, in one query.
std::vector<Config> read_configs(SpiSession& spi, std::optional<Oid> parent)
{
    zc::pg::AsExtensionOwner as_extension_owner;  // zerocut's own table, our SQL only
    spi.execute_cached(
        std::string("SELECT ") + parent_columns +
            ", x.parent::pg_catalog.oid, x.granularity, x.premake, x.retention IS NOT NULL, x.retention_action, "
            "x.time_zone, (pg_catalog.now() AT TIME ZONE x.time_zone)::pg_catalog.date, "
            "((pg_catalog.now() AT TIME ZONE x.time_zone) - x.retention)::pg_catalog.date - pg_catalog.date "
            "'2000-01-01', "
            "(EXTRACT(EPOCH FROM (pg_catalog.now() AT TIME ZONE x.time_zone) - x.retention) * "
            "1000000)::pg_catalog.int8 "
            "  - 946684800000000, "
            "(EXTRACT(EPOCH FROM ((pg_catalog.now() AT TIME ZONE x.time_zone) - x.retention) AT TIME ZONE x.time_zone) "
            "  * 1000000)::pg_catalog.int8 - 946684800000000, "
            "c.oid IS NOT NULL "
            "FROM zerocut.partition_config x LEFT JOIN pg_catalog.pg_class c ON c.oid = x.parent::pg_catalog.oid " +
            parent_joins + "WHERE $1 IS NULL OR x.parent::pg_catalog.oid = $1 ORDER BY x.parent::pg_catalog.oid",
        {parent ? oid_param(*parent) : Param{OIDOID, 0, true}});
    std::vector<Config> configs;
    for (const auto& row : spi.rows_text()) {
        Config config;
        config.parent = parse_oid(row[8]);
        config.granularity = core::parse_granularity(row[9].value_or("month")).value_or(core::Granularity::month);
        config.premake = std::stoi(row[10].value_or("0"));
        config.has_retention = row[11] == std::optional<std::string>("t");
        config.retention_action =
            core::parse_retention_action(row[12].value_or("detach")).value_or(core::RetentionAction::detach);
        config.time_zone = row[13].value_or("UTC");
        auto today = core::parse_iso_date(row[14].value_or(""));
        if (!today)
            throw Error(zc::sqlstate::internal_error, "cannot read today's date in time zone " + config.time_zone);
        config.today = *today;
        config.cutoff_date = to_int64(row[15]);
        config.cutoff_timestamp = to_int64(row[16]);
        config.cutoff_instant = to_int64(row[17]);
        config.parent_exists = row[18] == std::optional<std::string>("t");
        if (config.parent_exists) {
            try {
                config.parent_info = parent_from_row(row, 0, config.parent, "parent");
            } catch (const Error& error) {
                config.parent_problem = error.what();
            }
        }
        configs.push_back(std::move(config));
    }
    return configs;
}

// Children of every managed parent (or of one), grouped by parent.  To keep
// the idle run cheap, a parent without retention gets only its default
// partition and the partitions named as its premade periods would be; the
// rest is read (list_children) only when that survey finds work.
std::map<Oid, std::vector<Child>> read_all_children(SpiSession& spi, std::optional<Oid> parent,
                                                    const std::vector<struct Config>& configs);

// Whether a child's upper bound lies at or before the retention cutoff.
bool entirely_older(const ParentInfo& parent, const Config& config, const Child& child)
{
    if (!config.has_retention || child.bound.is_default || !child.bound.upper) return false;
    int64_t upper = *child.bound.upper;
    if (parent.type == DATEOID) return upper <= config.cutoff_date;
    if (parent.type == TIMESTAMPOID) return upper <= config.cutoff_timestamp;
    return upper <= config.cutoff_instant;
}

struct Plan {
    bool create_default = false;
    bool default_busy = false;
    std::vector<PeriodBounds> creates;
    std::set<core::CivilDate> rescue_starts;  // periods with rows in the default partition
    std::vector<Child> retire;
    std::vector<Action> conflicts;
    bool has_work() const { return create_default || default_busy || !creates.empty() || !retire.empty(); }
};

// The periods of rows sitting in the default partition.
std::vector<core::CivilDate> default_row_periods(SpiSession& spi, const ParentInfo& parent, const Child& def,
                                                 const Config& config, std::vector<Action>& conflicts)
{
    // An empty heap has no blocks: no query needed (the usual case).  The
    // caller holds a lock on the default partition.
    // The size comes from the storage manager, so no relcache entry has to
    // be built for a default partition that is (as usual) empty.
    Oid def_oid = def.oid;
    BlockNumber blocks = zc::pg::guard([=] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(def_oid));
        if (!HeapTupleIsValid(tuple)) return static_cast<BlockNumber>(1);
        Form_pg_class form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        bool plain = form->relkind == RELKIND_RELATION && form->relpersistence != RELPERSISTENCE_TEMP &&
                     OidIsValid(form->relfilenode);
        Oid tablespace = OidIsValid(form->reltablespace) ? form->reltablespace : MyDatabaseTableSpace;
        Oid file = form->relfilenode;
        ReleaseSysCache(tuple);
        if (!plain) {
            Relation rel = relation_open(def_oid, NoLock);
            BlockNumber count = rel->rd_rel->relkind == RELKIND_RELATION ? RelationGetNumberOfBlocks(rel) : 1;
            relation_close(rel, NoLock);
            return count;
        }
        return zc::pg::main_fork_blocks(tablespace, file);
    });
    if (blocks == 0) return {};
    std::string column = zc::pg::quote_ident(parent.column);
    spi.execute_cached(fmt::format("SELECT EXISTS (SELECT FROM ONLY {} WHERE {} IS NOT NULL)", def.qualified, column),
                       {});
    if (spi.first_text() != std::optional<std::string>("t")) return {};
    std::string local = parent.type == TIMESTAMPTZOID ? fmt::format("({} AT TIME ZONE $2)", column)
                                                      : fmt::format("{}::pg_catalog.timestamp", column);
    spi.execute(fmt::format("SELECT DISTINCT pg_catalog.date_trunc($1, {})::pg_catalog.date FROM ONLY {} "
                            "WHERE {} IS NOT NULL ORDER BY 1",
                            local, def.qualified, column),
                {zc::pg::text_param(core::granularity_name(config.granularity)), zc::pg::text_param(config.time_zone)});
    std::vector<core::CivilDate> periods;
    for (const auto& row : spi.rows_text()) {
        auto date = row[0] ? core::parse_iso_date(*row[0]) : std::nullopt;
        if (date && core::in_supported_range(*date))
            periods.push_back(*date);
        else
            conflicts.push_back(Action{parent.oid, "conflict", def.qualified,
                                       "rows in the default partition at " + row[0].value_or("NULL") +
                                           " are outside the range partitions can be made for (years 1 to 9998)"});
    }
    return periods;
}

Plan make_plan(SpiSession& spi, const ParentInfo& parent, const Config& config, const MaintainOptions& options,
               bool locked, const std::vector<Child>& children)
{
    Plan plan;
    const Child* def = find_default(children);
    plan.create_default = def == nullptr;

    std::set<core::CivilDate> starts;
    core::CivilDate current = core::period_start(config.today, config.granularity);
    for (int k = 0; k <= config.premake; ++k) starts.insert(core::add_periods(current, config.granularity, k));
    if (options.from) {
        core::CivilDate from = core::period_start(*options.from, config.granularity);
        for (core::CivilDate d = from; d < current; d = core::add_periods(d, config.granularity, 1)) {
            starts.insert(d);
            if (starts.size() > 10000)
                throw Error("54000", "argument \"start_date\": more than 10000 partitions would be created",
                            "from " + core::format_iso_date(from) + " by " + core::granularity_name(config.granularity),
                            "Choose a later start_date or a coarser granularity.");
        }
    }
    if (def != nullptr) {
        require_owned_by_parent_owner(parent, *def, "reads and moves the rows of the default partition");
        Oid def_oid = def->oid;
        bool can_read = zc::pg::guard([=] {
            if (!locked) return ConditionalLockRelationOid(def_oid, AccessShareLock);
            LockRelationOid(def_oid, AccessShareLock);  // the parent's lock is held
            return true;
        });
        if (!can_read)
            plan.default_busy = true;
        else {
            std::vector<core::CivilDate> found;
            // Read as the owner (no-force RLS): its own forced policies must
            // not hide waiting rows from a non-superuser owner's run.
            auto survey = [&] {
                zc::pg::AsTableOwner as_owner(parent.oid);
                found = default_row_periods(spi, parent, *def, config, plan.conflicts);
            };
            // Before the job lock the survey only peeks: in a subtransaction
            // rolled back at once, which also releases the lock its query's
            // executor took, so no relation lock is held when the job lock
            // is taken (docs/locking.md: job lock first, parent before
            // partition).
            if (locked) {
                survey();
            } else {
                zc::pg::in_rolled_back_subtransaction(survey);
                zc::pg::guard([=] { UnlockRelationOid(def_oid, AccessShareLock); });  // the peek's own lock
            }
            for (const core::CivilDate& d : found) {
                starts.insert(d);
                plan.rescue_starts.insert(d);
            }
        }
    }
    std::vector<PeriodBounds> periods = period_bounds(spi, parent, config.time_zone, config.granularity,
                                                      std::vector<core::CivilDate>(starts.begin(), starts.end()));
    for (const PeriodBounds& period : periods) {
        core::RangeBound wanted{false, period.lower, period.upper};
        bool exact = false;
        const Child* overlapping = nullptr;
        for (const Child& child : children) {
            if (child.bound.is_default) continue;
            // Exactly this period, or inside one bigger partition (a legacy
            // partition from convert_to_partitioned, say): nothing to make.
            bool covers = (!child.bound.lower || *child.bound.lower <= *wanted.lower) &&
                          (!child.bound.upper || *child.bound.upper >= *wanted.upper);
            if (covers) {
                exact = true;
                break;
            }
            if (!overlapping && core::ranges_overlap(child.bound, wanted)) overlapping = &child;
        }
        if (exact) continue;
        if (overlapping)
            plan.conflicts.push_back(Action{parent.oid, "conflict", period.name,
                                            fmt::format("[{}, {}) overlaps existing partition {}", period.lower_text,
                                                        period.upper_text, overlapping->qualified)});
        else
            plan.creates.push_back(period);
    }
    if (options.apply_retention)
        for (const Child& child : children)
            if (entirely_older(parent, config, child)) plan.retire.push_back(child);
    return plan;
}

std::string retire_partition(SpiSession& spi, const ParentInfo& parent, const Config& config, const Child& child)
{
    switch (config.retention_action) {
        case core::RetentionAction::detach: {
            zc::pg::AsTableOwner as_owner(parent.oid);
            spi.execute(fmt::format("ALTER TABLE {} DETACH PARTITION {}", parent.qualified, child.qualified));
            return "detached; kept as a standalone table";
        }
        case core::RetentionAction::drop: {
            // As the parent's owner, who must own the partition too (one made
            // by zerocut 0.1.0 may belong to the role that ran it: never run
            // as that role).
            require_owned_by_parent_owner(parent, child, "drops a partition older than the retention");
            zc::pg::AsTableOwner as_owner(parent.oid);
            spi.execute(fmt::format("DROP TABLE {}", child.qualified));
            return "dropped";
        }
        case core::RetentionAction::archive: {
            auto present = query_value(
                spi, "SELECT pg_catalog.to_regprocedure('zerocut.archive_partition(regclass)') IS NOT NULL");
            if (present != std::optional<std::string>("t"))
                throw Error(zc::sqlstate::object_not_in_prerequisite_state,
                            "partition " + child.qualified +
                                " is due for archiving but zerocut.archive_partition(regclass) does not exist",
                            "parent " + parent.qualified + " has retention_action 'archive'",
                            "Install a zerocut version with the archive capability, or change the retention with "
                            "zerocut.manage_partitions(..., retention_action => 'detach').");
            // archive_partition() checks the caller and switches roles itself.
            spi.execute("SELECT zerocut.archive_partition($1::pg_catalog.oid::pg_catalog.regclass)",
                        {oid_param(child.oid)});
            return "archived: " + spi.first_text().value_or("");
        }
    }
    return {};
}

std::vector<Action> maintain_parent(SpiSession& spi, const Config& config, const MaintainOptions& options,
                                    const std::vector<Child>& surveyed, std::string& outcome)
{
    std::vector<Action> actions;
    if (!config.parent_exists) {
        // The parent was dropped: forget its configuration.
        zc::pg::AsExtensionOwner as_extension_owner;
        spi.execute("DELETE FROM zerocut.partition_config WHERE parent::pg_catalog.oid = $1",
                    {oid_param(config.parent)});
        Action forget{config.parent, "forget", "", "the parent table no longer exists; its configuration was removed"};
        log_action(spi, forget, std::to_string(config.parent));
        actions.push_back(forget);
        return actions;
    }
    if (!config.parent_info) {
        outcome = "skipped: " + config.parent_problem;
        actions.push_back(Action{config.parent, "skip", "", config.parent_problem});
        return actions;
    }
    ParentInfo parent = *config.parent_info;
    Plan plan = make_plan(spi, parent, config, options, false, surveyed);
    if (plan.has_work() && !config.has_retention)  // the survey saw only some children
        plan = make_plan(spi, parent, config, options, false, list_children(spi, parent.oid));
    if (!plan.has_work()) {
        for (const Action& conflict : plan.conflicts) log_action(spi, conflict, parent.qualified);
        outcome = plan.conflicts.empty() ? "ok: nothing to do" : "conflict: see audit_log.system_log";
        return plan.conflicts;
    }
    // docs/locking.md: the table's job lock (shared with the archive mover)
    // before any relation lock, then the parent (its partitions after it).
    bool job_locked = zc::pg::lock_table_job_polling(parent.oid, lock_timeout_ms());
    // Rows waiting in the default partition: moved before the parent's
    // ACCESS EXCLUSIVE lock, into standalone tables attached below.
    std::map<std::string, PreparedRescue> prepared;
    std::vector<PeriodBounds> prepared_periods;
    bool locked = false;
    if (job_locked) {
        // In a subtransaction: if the parent cannot be locked afterwards, the
        // rows moved into tables nobody sees yet go back (and the parent is
        // skipped like any busy one); other errors propagate.
        bool busy = false;
        std::string sqlstate = "XX000";
        auto failure = zc::pg::in_subtransaction(
            [&] {
                for (const PeriodBounds& period : plan.creates)
                    if (plan.rescue_starts.count(period.start))
                        if (auto rescue = prepare_rescue(spi, parent, period)) {
                            prepared[period.name] = *rescue;
                            prepared_periods.push_back(period);
                        }
                if (!lock_relation_polling(parent.oid, AccessExclusiveLock) || !lock_default_partition(parent.oid)) {
                    busy = true;
                    throw Error("55P03", "lock not available");
                }
            },
            &sqlstate);
        if (failure && !busy) {
            // zc::Error keeps a pointer to its SQLSTATE: give it storage that
            // outlives this frame (one error is in flight at a time).
            static char rethrown_sqlstate[6];
            std::strncpy(rethrown_sqlstate, sqlstate.c_str(), 5);
            rethrown_sqlstate[5] = '\0';
            throw Error(rethrown_sqlstate, *failure);
        }
        locked = !failure;
        if (failure) {
            prepared.clear();
            prepared_periods.clear();
        }
    }
    if (!locked) {
        std::string detail = fmt::format(
            "could not lock {} within zerocut.partition_lock_timeout ({} ms); "
            "another session holds it; the next run will retry",
            parent.qualified, lock_timeout_ms());
        zc::pg::notice("zerocut: skipped partition maintenance of " + parent.qualified + ": " + detail);
        Action skip{parent.oid, "skip", "", detail};
        log_action(spi, skip, parent.qualified);
        outcome = "skipped: lock not available";
        actions.push_back(skip);
        return actions;
    }
    // Locked: read everything again, another run may have done the work.
    try {
        parent = describe_parent(spi, config.parent, "parent");
    } catch (const Error& error) {
        outcome = std::string("skipped: ") + error.what();
        actions.push_back(Action{config.parent, "skip", "", error.what()});
        return actions;
    }
    plan = make_plan(spi, parent, config, options, true, list_children(spi, parent.oid));
    // The prepared periods' rows have left the default partition, so the
    // new plan may not list them: they are attached all the same.
    for (const PeriodBounds& period : prepared_periods) {
        bool listed = false;
        for (const PeriodBounds& create : plan.creates) listed = listed || create.name == period.name;
        if (!listed) plan.creates.push_back(period);
    }
    if (plan.create_default) {
        auto made = ensure_default_partition(spi, parent);
        if (made) actions.push_back(Action{parent.oid, "create_default", *made, "DEFAULT partition"});
    }
    for (const PeriodBounds& period : plan.creates) {
        auto rescue = prepared.find(period.name);
        CreateOutcome created =
            create_partition(spi, parent, period, rescue == prepared.end() ? nullptr : &rescue->second);
        if (created.kind == CreateOutcome::created)
            actions.push_back(Action{parent.oid, "create", created.partition, created.detail});
        else if (created.kind == CreateOutcome::conflict)
            actions.push_back(Action{parent.oid, "conflict", created.partition, created.detail});
    }
    for (const Child& child : plan.retire) {
        std::string detail = retire_partition(spi, parent, config, child);
        actions.push_back(Action{parent.oid, core::retention_action_name(config.retention_action), child.qualified,
                                 "older than the retention; " + detail});
    }
    actions.insert(actions.end(), plan.conflicts.begin(), plan.conflicts.end());
    for (const Action& action : actions) log_action(spi, action, parent.qualified);
    size_t done = 0, conflicts = 0;
    for (const Action& action : actions) (action.action == "conflict" ? conflicts : done)++;
    outcome = conflicts ? fmt::format("conflict: {} actions, {} conflicts", done, conflicts)
                        : fmt::format("ok: {} actions", done);
    return actions;
}

void record_outcomes(SpiSession& spi, const std::vector<std::string>& parents, const std::vector<std::string>& outcomes)
{
    if (parents.empty()) return;
    zc::pg::AsExtensionOwner as_extension_owner;
    spi.execute_cached(
        "UPDATE zerocut.partition_config c SET last_maintenance_at = pg_catalog.now(), last_outcome = u.outcome "
        "FROM (SELECT p.parent, o.outcome FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.oid[]), "
        "pg_catalog.unnest($2::pg_catalog.text[])) "
        "AS o(parent, outcome) JOIN zerocut.partition_config p ON p.parent = o.parent::pg_catalog.regclass "
        "ORDER BY p.parent::pg_catalog.oid FOR UPDATE OF p SKIP LOCKED) u WHERE c.parent = u.parent",
        {zc::pg::text_param(array_literal(parents)), zc::pg::text_param(array_literal(outcomes))});
}

}  // namespace

namespace {

// Whether `relid` is in schema audit_log: among zerocut's own relations
// (zc::pg::is_zerocut_relation) that is the audit log's partition tree only.
bool in_audit_log_schema(Oid relid)
{
    return zc::pg::guard([=] {
        char* schema = get_namespace_name(get_rel_namespace(relid));
        return schema != nullptr && std::strcmp(schema, "audit_log") == 0;
    });
}

}  // namespace

Refusal refusal_for(Oid relid)
{
    // zerocut's own tables are never managed; the audit log, which the
    // domain installer (domain/25_partitions.sql) registers with this
    // engine, only by
    // a superuser or the extension's owner: its partitions and retention are
    // zerocut's business, not its owner's (an ordinary role that made the
    // log first owns it, and zerocut does not even write to such a log).
    Oid user = GetUserId();
    if (zc::pg::is_zerocut_relation(relid)) {
        if (!in_audit_log_schema(relid)) return Refusal::zerocut_own;
        if (!zc::pg::is_trusted_role(user)) return Refusal::audit_log;
    }
    if (!zc::pg::guard([=] { return zc::pg::owns_relation(relid, user); })) return Refusal::not_owner;
    return Refusal::none;
}

void require_may_manage(Oid relid, const char* argument, const char* what)
{
    switch (refusal_for(relid)) {
        case Refusal::zerocut_own:
            zc::pg::refuse_zerocut_relation(relid, argument, what);
            break;
        case Refusal::audit_log:
            throw Error(zc::sqlstate::insufficient_privilege,
                        fmt::format("argument \"{}\": {} is zerocut's audit log; only a superuser or the owner of "
                                    "extension zerocut may have its partitions managed",
                                    argument, zc::pg::qualified_relation_name(relid)),
                        "zerocut's installer registers the audit log's monthly partitions itself");
        case Refusal::not_owner:
        case Refusal::none:
            break;
    }
    zc::pg::require_table_owner(relid, argument);
}

bool may_manage(Oid relid)
{
    return refusal_for(relid) == Refusal::none;
}

EngineSettings::EngineSettings()
{
    pinned_.set("TimeZone", "UTC");
    pinned_.set("DateStyle", "ISO, YMD");
    pinned_.set("IntervalStyle", "postgres");
}

std::optional<std::string> query_value(SpiSession& spi, const std::string& sql, std::initializer_list<Param> params)
{
    spi.execute(sql, params);
    return spi.first_text();
}

int lock_timeout_ms()
{
    return partition_lock_timeout_setting;
}

std::string configured_time_zone()
{
    return partition_timezone_setting ? partition_timezone_setting : "UTC";
}

bool lock_relation_polling(Oid relid, int lockmode)
{
    return poll_until_timeout([=] {
        return zc::pg::guard([=] { return ConditionalLockRelationOid(relid, static_cast<LOCKMODE>(lockmode)); });
    });
}

Oid resolve_table_name(const std::string& text, const char* argument)
{
    auto parsed = core::parse_qualified_name(text);
    if (!parsed)
        throw Error("42602", fmt::format("argument \"{}\" is not a valid table name: {}", argument, text), "",
                    "Write table or schema.table; double-quote names with unusual characters.");
    const char* schema = parsed->schema ? parsed->schema->c_str() : nullptr;
    const char* name = parsed->name.c_str();
    Oid relid = zc::pg::guard([=] {
        RangeVar* range_var = makeRangeVar(schema ? pstrdup(schema) : nullptr, pstrdup(name), -1);
        return RangeVarGetRelid(range_var, NoLock, true);
    });
    if (!OidIsValid(relid))
        throw Error(zc::sqlstate::undefined_table,
                    fmt::format("argument \"{}\": relation \"{}\" does not exist", argument, text));
    return relid;
}

ParentInfo describe_parent(SpiSession& spi, Oid relid, const char* argument)
{
    spi.execute_cached(
        std::string("SELECT ") + parent_columns + " FROM pg_catalog.pg_class c " + parent_joins + "WHERE c.oid = $1",
        {oid_param(relid)});
    auto rows = spi.rows_text();
    if (rows.empty())
        throw Error(zc::sqlstate::undefined_table,
                    fmt::format("argument \"{}\": relation with OID {} does not exist", argument, relid));
    return parent_from_row(rows[0], 0, relid, argument);
}

namespace {

ParentInfo parent_from_row(const TextRow& all, size_t at, Oid relid, const char* argument)
{
    auto row = [&](size_t i) -> const std::optional<std::string>& { return all.at(at + i); };
    ParentInfo info;
    info.oid = relid;
    info.schema = row(0).value_or("");
    info.name = row(1).value_or("");
    info.qualified = zc::pg::quote_ident(info.schema) + "." + zc::pg::quote_ident(info.name);
    std::string kind = row(2).value_or("");
    if (kind != "p")
        throw Error(zc::sqlstate::wrong_object_type,
                    fmt::format("argument \"{}\": {} is not a partitioned table", argument, info.qualified), "",
                    kind == "r"
                        ? "Turn a plain table into a managed partitioned one with zerocut.convert_to_partitioned()."
                        : "");
    if (row(3) != std::optional<std::string>("r"))
        throw Error(zc::sqlstate::feature_not_supported,
                    fmt::format("argument \"{}\": {} is not RANGE-partitioned", argument, info.qualified),
                    "zerocut manages RANGE partitions on one date, timestamp or timestamptz column.");
    if (row(4) != std::optional<std::string>("1") || !row(5))
        throw Error(
            zc::sqlstate::feature_not_supported,
            fmt::format("argument \"{}\": {} must be partitioned on exactly one column", argument, info.qualified),
            "multi-column and expression partition keys are not managed");
    info.column = *row(5);
    info.type = parse_oid(row(6));
    if (info.type == DATEOID)
        info.type_name = "pg_catalog.date";
    else if (info.type == TIMESTAMPOID)
        info.type_name = "pg_catalog.timestamp";
    else if (info.type == TIMESTAMPTZOID)
        info.type_name = "pg_catalog.timestamptz";
    else
        throw Error(zc::sqlstate::feature_not_supported,
                    fmt::format("argument \"{}\": partition key column \"{}\" of {} is not a date, timestamp or "
                                "timestamptz column",
                                argument, info.column, info.qualified));
    return info;
}

}  // namespace

namespace {

constexpr const char* child_select =
    "SELECT i.inhparent, c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), "
    "c.relname, c.relpartbound::pg_catalog.text "
    "FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ";

Child child_from_row(const TextRow& row)
{
    Child child;
    child.oid = parse_oid(row[1]);
    child.qualified = row[2].value_or("");
    child.relname = row[3].value_or("");
    auto bound = core::parse_partition_bound_node(row[4].value_or(""));
    // A bound we cannot read is treated as covering everything: we never
    // create next to what we do not understand.
    child.bound = bound ? *bound : core::RangeBound{false, std::nullopt, std::nullopt};
    return child;
}

// The default partition and the children named `names` of `parent`, read
// from the syscache (no SQL, no deparsing).
std::vector<Child> named_children(const ParentInfo& parent, const std::vector<std::string>& names)
{
    std::vector<Child> children;
    Oid parent_oid = parent.oid;
    Oid namespace_oid = zc::pg::guard([=] { return get_rel_namespace(parent_oid); });
    auto add = [&](Oid relid) {
        char* bound_text = zc::pg::guard([=]() -> char* {
            HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
            if (!HeapTupleIsValid(tuple)) return nullptr;
            bool is_null = true;
            Datum bound = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relpartbound, &is_null);
            char* cstring = is_null ? nullptr : TextDatumGetCString(bound);
            ReleaseSysCache(tuple);
            return cstring;
        });
        if (bound_text == nullptr) return;
        char* relname = zc::pg::guard([=] { return get_rel_name(relid); });
        if (relname == nullptr) return;
        Child child;
        child.oid = relid;
        child.relname = relname;
        child.qualified = zc::pg::quote_ident(parent.schema) + "." + zc::pg::quote_ident(child.relname);
        auto bound = core::parse_partition_bound_node(bound_text);
        child.bound = bound ? *bound : core::RangeBound{false, std::nullopt, std::nullopt};
        children.push_back(std::move(child));
    };
    Oid default_oid = zc::pg::guard([=] { return get_default_partition_oid(parent_oid); });
    if (OidIsValid(default_oid)) add(default_oid);
    for (const std::string& name : names) {
        const char* raw = name.c_str();
        Oid relid = zc::pg::guard([=] { return get_relname_relid(raw, namespace_oid); });
        if (!OidIsValid(relid) || relid == default_oid) continue;
        Oid owner = zc::pg::guard([=] { return get_partition_parent(relid, true); });
        if (owner == parent_oid) add(relid);
    }
    return children;
}

std::map<Oid, std::vector<Child>> read_all_children(SpiSession& spi, std::optional<Oid> parent,
                                                    const std::vector<Config>& configs)
{
    std::map<Oid, std::vector<Child>> children;
    bool any_retention = false;
    for (const Config& config : configs) {
        if (!config.parent_info) continue;
        if (config.has_retention) {
            any_retention = true;
            continue;
        }
        std::vector<std::string> names;
        core::CivilDate current = core::period_start(config.today, config.granularity);
        for (int k = 0; k <= config.premake; ++k)
            names.push_back(core::partition_name(
                config.parent_info->name,
                core::period_suffix(core::add_periods(current, config.granularity, k), config.granularity)));
        children[config.parent] = named_children(*config.parent_info, names);
    }
    if (!any_retention) return children;
    // Parents with retention need every child's bounds.
    zc::pg::AsExtensionOwner as_extension_owner;  // joins zerocut's own table
    spi.execute_cached(std::string(child_select) +
                           "JOIN zerocut.partition_config x ON x.parent::pg_catalog.oid = i.inhparent "
                           "WHERE x.retention IS NOT NULL AND ($1 IS NULL OR i.inhparent = $1) "
                           "ORDER BY i.inhparent, c.oid",
                       {parent ? oid_param(*parent) : Param{OIDOID, 0, true}});
    for (const auto& row : spi.rows_text()) children[parse_oid(row[0])].push_back(child_from_row(row));
    return children;
}

}  // namespace

std::vector<Child> list_children(SpiSession& spi, Oid parent)
{
    spi.execute_cached(std::string(child_select) + "WHERE i.inhparent = $1 ORDER BY c.oid", {oid_param(parent)});
    std::vector<Child> children;
    for (const auto& row : spi.rows_text()) children.push_back(child_from_row(row));
    return children;
}

std::vector<PeriodBounds> period_bounds(SpiSession& spi, const ParentInfo& parent, const std::string& time_zone,
                                        core::Granularity granularity, const std::vector<core::CivilDate>& starts)
{
    std::vector<PeriodBounds> periods;
    std::vector<std::string> edges;
    for (const core::CivilDate& start : starts) {
        core::CivilDate next = core::add_periods(start, granularity, 1);
        // Periods start in the years 1 to 9998; the last one ends at the
        // latest on 9999-01-01 (an upper bound is exclusive).
        if (!core::in_supported_range(start) || next.year > 9999 ||
            (next.year == 9999 && (next.month != 1 || next.day != 1)))
            throw Error("22008",
                        fmt::format("partition periods must start in the years 1 to 9998 and end by 9999-01-01; "
                                    "the period starting {} ends {}",
                                    core::format_iso_date(start), core::format_iso_date(next)));
        PeriodBounds period;
        period.start = start;
        period.lower_text = core::format_iso_date(start);
        period.upper_text = core::format_iso_date(next);
        period.name = core::partition_name(parent.name, core::period_suffix(start, granularity));
        if (parent.type == DATEOID) {
            period.lower = core::date_value(start);
            period.upper = core::date_value(next);
        } else {
            period.lower = core::timestamp_value(start);
            period.upper = core::timestamp_value(next);
            period.lower_text += " 00:00:00";
            period.upper_text += " 00:00:00";
        }
        periods.push_back(std::move(period));
    }
    if (parent.type == TIMESTAMPTZOID && active_edges != nullptr) {
        bool all_known = true;
        for (PeriodBounds& period : periods) {
            auto lower = active_edges->find({time_zone, period.lower_text.substr(0, 10)});
            auto upper = active_edges->find({time_zone, period.upper_text.substr(0, 10)});
            if (lower == active_edges->end() || upper == active_edges->end()) {
                all_known = false;
                break;
            }
            period.lower_text = lower->second.first;
            period.lower = lower->second.second;
            period.upper_text = upper->second.first;
            period.upper = upper->second.second;
        }
        if (all_known) return periods;
        for (PeriodBounds& period : periods) {  // back to plain dates, computed below
            period.lower_text = core::format_iso_date(period.start);
            period.upper_text = core::format_iso_date(core::add_periods(period.start, granularity, 1));
        }
    }
    if (parent.type == TIMESTAMPTZOID && !periods.empty()) {
        // Midnight of each edge in the stored time zone, as an instant.
        for (const PeriodBounds& period : periods) {
            edges.push_back(period.lower_text.substr(0, 10));
            edges.push_back(period.upper_text.substr(0, 10));
        }
        spi.execute_cached(
            "SELECT t::pg_catalog.text, (EXTRACT(EPOCH FROM t) * 1000000)::pg_catalog.int8 - 946684800000000 "
            "FROM (SELECT d::pg_catalog.timestamp AT TIME ZONE $2 AS t, i "
            "      FROM pg_catalog.unnest($1::pg_catalog.date[]) WITH ORDINALITY AS u(d, i)) s ORDER BY i",
            {zc::pg::text_param(array_literal(edges)), zc::pg::text_param(time_zone)});
        auto rows = spi.rows_text();
        for (size_t i = 0; i < periods.size(); ++i) {
            periods[i].lower_text = rows.at(2 * i)[0].value_or("");
            periods[i].lower = to_int64(rows.at(2 * i)[1]);
            periods[i].upper_text = rows.at(2 * i + 1)[0].value_or("");
            periods[i].upper = to_int64(rows.at(2 * i + 1)[1]);
        }
    }
    return periods;
}

namespace {

// The OID of a relation this transaction just created, by qualified name.
Oid created_relation(SpiSession& spi, const std::string& qualified)
{
    return parse_oid(
        query_value(spi, "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid", {zc::pg::text_param(qualified)}));
}

// A partition zerocut made is no easier to read or write than its parent:
// its grants, row-level security and policies (run as the parent's owner).
void give_parent_access(SpiSession& spi, const ParentInfo& parent, const std::string& partition)
{
    Oid made = created_relation(spi, partition);
    if (!OidIsValid(made))
        throw Error(zc::sqlstate::internal_error, "partition " + partition + " vanished after it was created");
    zc::pg::copy_access(spi, parent.oid, made);
}

}  // namespace

void let_owner_clone_zerocut_triggers(SpiSession& spi, Oid relid)
{
    spi.execute(
        "SELECT DISTINCT t.tgfoid::pg_catalog.regprocedure::text FROM pg_catalog.pg_trigger t "
        "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = t.tgfoid "
        "AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e' "
        "JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'zerocut' "
        "WHERE t.tgrelid = $1 AND NOT pg_catalog.has_function_privilege(c.relowner, t.tgfoid, 'EXECUTE') ORDER BY 1",
        {oid_param(relid)}, false);
    auto functions = spi.rows_text();
    if (functions.empty()) return;
    zc::pg::AsExtensionOwner as_extension_owner;
    for (const auto& function : functions) zc::pg::let_owner_execute(spi, function[0].value_or("").c_str(), relid);
}

void attach_partition(SpiSession& spi, Oid parent, const std::string& attach_sql)
{
    let_owner_clone_zerocut_triggers(spi, parent);
    zc::pg::AsTableOwner as_owner(parent);
    spi.execute(attach_sql);
}

std::optional<std::string> ensure_default_partition(SpiSession& spi, const ParentInfo& parent)
{
    if (find_default(list_children(spi, parent.oid))) return std::nullopt;
    std::string name = core::partition_name(parent.name, "default");
    std::string qualified = zc::pg::quote_ident(parent.schema) + "." + zc::pg::quote_ident(name);
    auto taken = query_value(spi, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", {zc::pg::text_param(qualified)});
    if (taken == std::optional<std::string>("t"))
        throw Error("42P07",
                    fmt::format("cannot create the default partition of {}: relation {} already exists",
                                parent.qualified, qualified),
                    "", "Attach a DEFAULT partition yourself, or rename the other relation.");
    let_owner_clone_zerocut_triggers(spi, parent.oid);  // PARTITION OF clones them
    zc::pg::AsTableOwner as_owner(parent.oid);
    spi.execute(fmt::format("CREATE TABLE {} PARTITION OF {} DEFAULT{}", qualified, parent.qualified,
                            zc::pg::tablespace_clause(parent.oid)));
    give_parent_access(spi, parent, qualified);
    return qualified;
}

namespace {

// Moves the rows of `period` from the default partition into `target`
// (one statement: DELETE ... RETURNING feeding INSERT); returns their number.
// skip_locked: rows another transaction has locked stay (they move later,
// under the parent's lock), so this statement never waits for a row lock
// while holding the table: no deadlock with an application updating them.
uint64_t move_default_rows(SpiSession& spi, const ParentInfo& parent, const std::string& def, const std::string& target,
                           const PeriodBounds& period, bool skip_locked = false)
{
    auto columns = query_value(
        spi,
        "SELECT pg_catalog.string_agg(pg_catalog.quote_ident(attname), ', ' ORDER BY attnum) "
        "FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = ''",
        {oid_param(parent.oid)});
    std::string list = columns.value_or("");
    std::string column = zc::pg::quote_ident(parent.column);
    if (skip_locked)
        return spi.execute(
            fmt::format("WITH moved AS (DELETE FROM ONLY {0} d USING (SELECT ctid FROM ONLY {0} WHERE {1} >= $1::{2} "
                        "AND {1} < $2::{2} FOR UPDATE SKIP LOCKED) s WHERE d.ctid = s.ctid RETURNING {3}) "
                        "INSERT INTO {4} ({5}) SELECT {5} FROM moved",
                        def, column, parent.type_name, list, target, list),
            {zc::pg::text_param(period.lower_text), zc::pg::text_param(period.upper_text)});
    return spi.execute(
        fmt::format("WITH moved AS (DELETE FROM ONLY {} WHERE {} >= $1::{} AND {} < $2::{} RETURNING {}) "
                    "INSERT INTO {} ({}) SELECT {} FROM moved",
                    def, column, parent.type_name, column, parent.type_name, list, target, list, list),
        {zc::pg::text_param(period.lower_text), zc::pg::text_param(period.upper_text)});
}

// The part of create_partition() done as the parent's owner, under the
// parent's and the default partition's locks; fills `outcome`.
void create_as_owner(SpiSession& spi, const ParentInfo& parent, const PeriodBounds& period,
                     const PreparedRescue* prepared, const Child* def, const std::string& qualified,
                     const std::string& bounds, CreateOutcome& outcome)
{
    std::string column = zc::pg::quote_ident(parent.column);
    bool rescue = false;
    if (prepared != nullptr) {
        // Phase 2 of prepare_rescue(): what arrived since, then ATTACH.
        uint64_t late =
            def != nullptr ? move_default_rows(spi, parent, def->qualified, prepared->qualified, period) : 0;
        attach_partition(
            spi, parent.oid,
            fmt::format("ALTER TABLE {} ATTACH PARTITION {} {}", parent.qualified, prepared->qualified, bounds));
        spi.execute(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", prepared->qualified,
                                zc::pg::quote_ident(prepared->check_name)));
        outcome.kind = CreateOutcome::created;
        outcome.partition = prepared->qualified;
        outcome.moved_rows = prepared->moved_rows + late;
        outcome.detail =
            fmt::format("[{}, {}); moved {} rows from the default partition ({} of them under the parent's lock)",
                        period.lower_text, period.upper_text, outcome.moved_rows, late);
        return;
    }
    if (def != nullptr) {
        spi.execute(fmt::format("SELECT EXISTS (SELECT FROM ONLY {} WHERE {} >= $1::{} AND {} < $2::{})",
                                def->qualified, column, parent.type_name, column, parent.type_name),
                    {zc::pg::text_param(period.lower_text), zc::pg::text_param(period.upper_text)});
        rescue = spi.first_text() == std::optional<std::string>("t");
    }
    if (rescue) {
        // Moving rows is a DELETE and an INSERT: with foreign keys pointing at
        // the parent it would fail (NO ACTION) or cascade (CASCADE, SET NULL).
        auto referenced = query_value(spi,
                                      "SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint "
                                      "WHERE contype = 'f' AND confrelid = $1)",
                                      {oid_param(parent.oid)});
        if (referenced == std::optional<std::string>("t")) {
            outcome.kind = CreateOutcome::conflict;
            outcome.sqlstate = "55000";
            outcome.detail = fmt::format(
                "rows for [{}, {}) wait in {}, but foreign keys reference {}; moving them "
                "could cascade: move them yourself",
                period.lower_text, period.upper_text, def->qualified, parent.qualified);
            return;
        }
    }
    if (!rescue) {
        spi.execute(fmt::format("CREATE TABLE {} PARTITION OF {} {}{}", qualified, parent.qualified, bounds,
                                zc::pg::tablespace_clause(parent.oid)));
        outcome.kind = CreateOutcome::created;
        outcome.detail = fmt::format("[{}, {})", period.lower_text, period.upper_text);
        return;
    }
    // Rows of this period wait in the default partition: build the partition
    // beside the parent, move them in one statement, then attach it (the
    // default then holds none of its range, so ATTACH cannot fail on them).
    spi.execute(
        fmt::format("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED "
                    "INCLUDING STORAGE INCLUDING COMPRESSION){}",
                    qualified, parent.qualified, zc::pg::tablespace_clause(parent.oid)));
    if (rescue) outcome.moved_rows = move_default_rows(spi, parent, def->qualified, qualified, period);
    attach_partition(spi, parent.oid,
                     fmt::format("ALTER TABLE {} ATTACH PARTITION {} {}", parent.qualified, qualified, bounds));
    outcome.kind = CreateOutcome::created;
    outcome.detail = rescue ? fmt::format("[{}, {}); moved {} rows from the default partition", period.lower_text,
                                          period.upper_text, outcome.moved_rows)
                            : fmt::format("[{}, {})", period.lower_text, period.upper_text);
}

}  // namespace

std::optional<PreparedRescue> prepare_rescue(SpiSession& spi, const ParentInfo& parent, const PeriodBounds& period)
{
    // Parent before partition: ROW EXCLUSIVE on the parent (what an INSERT
    // takes), then the DELETE takes the same on the default partition.
    if (!lock_relation_polling(parent.oid, RowExclusiveLock)) return std::nullopt;
    std::vector<Child> children = list_children(spi, parent.oid);
    const Child* def = find_default(children);
    if (def == nullptr) return std::nullopt;
    require_owned_by_parent_owner(parent, *def, "moves the rows of the default partition");
    core::RangeBound wanted{false, period.lower, period.upper};
    for (const Child& child : children)
        if (!child.bound.is_default && core::ranges_overlap(child.bound, wanted)) return std::nullopt;
    std::string qualified = zc::pg::quote_ident(parent.schema) + "." + zc::pg::quote_ident(period.name);
    auto taken = query_value(spi, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", {zc::pg::text_param(qualified)});
    if (taken == std::optional<std::string>("t")) return std::nullopt;
    auto referenced = query_value(spi,
                                  "SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint "
                                  "WHERE contype = 'f' AND confrelid = $1)",
                                  {oid_param(parent.oid)});
    if (referenced == std::optional<std::string>("t")) return std::nullopt;
    std::string column = zc::pg::quote_ident(parent.column);
    spi.execute(fmt::format("SELECT EXISTS (SELECT FROM ONLY {} WHERE {} >= $1::{} AND {} < $2::{})", def->qualified,
                            column, parent.type_name, column, parent.type_name),
                {zc::pg::text_param(period.lower_text), zc::pg::text_param(period.upper_text)});
    if (spi.first_text() != std::optional<std::string>("t")) return std::nullopt;
    PreparedRescue rescue;
    rescue.qualified = qualified;
    rescue.check_name = core::partition_name(period.name, "rescue_bound");
    // The table, the CHECK and the move: the owner's work (its triggers fire
    // on the DELETE), so as the owner, restricted.
    zc::pg::AsTableOwner as_owner(parent.oid);
    // The parent's indexes too, so that ATTACH attaches them instead of
    // building them under its lock.
    spi.execute(
        fmt::format("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED "
                    "INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING INDEXES){}",
                    qualified, parent.qualified, zc::pg::tablespace_clause(parent.oid)));
    // The partition constraint ATTACH would check, as a CHECK: proved on the
    // empty table now and by every insert, so ATTACH skips scanning it.
    spi.execute(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} IS NOT NULL AND {} >= {}::{} AND {} < {}::{})",
                            qualified, zc::pg::quote_ident(rescue.check_name), column, column,
                            zc::pg::quote_literal(period.lower_text), parent.type_name, column,
                            zc::pg::quote_literal(period.upper_text), parent.type_name));
    rescue.moved_rows = move_default_rows(spi, parent, def->qualified, qualified, period, true);
    return rescue;
}

CreateOutcome create_partition(SpiSession& spi, const ParentInfo& parent, const PeriodBounds& period,
                               const PreparedRescue* prepared)
{
    CreateOutcome outcome;
    std::vector<Child> children = list_children(spi, parent.oid);
    core::RangeBound wanted{false, period.lower, period.upper};
    std::string qualified = zc::pg::quote_ident(parent.schema) + "." + zc::pg::quote_ident(period.name);
    outcome.partition = qualified;
    // A prepared table holds rows moved out of the default partition: it
    // is attached or the transaction fails (the move is rolled back).
    auto refuse_prepared = [&](const std::string& why, const char* sqlstate = "55000") {
        if (prepared != nullptr)
            throw Error(sqlstate, fmt::format("cannot attach {} to {}: {}; the rows moved into it are rolled back",
                                              prepared->qualified, parent.qualified, why));
    };
    for (const Child& child : children)
        if (!child.bound.is_default && child.bound.lower == wanted.lower && child.bound.upper == wanted.upper) {
            refuse_prepared("partition " + child.qualified + " exists");
            outcome.kind = CreateOutcome::existing;
            outcome.partition = child.qualified;
            return outcome;
        }
    for (const Child& child : children)
        if (core::ranges_overlap(child.bound, wanted)) {
            refuse_prepared("it overlaps partition " + child.qualified);
            outcome.kind = CreateOutcome::conflict;
            outcome.sqlstate = "42P17";
            outcome.detail = fmt::format("[{}, {}) overlaps existing partition {}", period.lower_text,
                                         period.upper_text, child.qualified);
            return outcome;
        }
    auto taken = query_value(spi, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", {zc::pg::text_param(qualified)});
    if (taken == std::optional<std::string>("t") && prepared == nullptr) {
        outcome.kind = CreateOutcome::conflict;
        outcome.sqlstate = "42P07";
        outcome.detail = fmt::format("the name {} is taken by a relation that is not this partition", qualified);
        return outcome;
    }
    std::string bounds = fmt::format("FOR VALUES FROM ({}) TO ({})", zc::pg::quote_literal(period.lower_text),
                                     zc::pg::quote_literal(period.upper_text));
    const Child* def = find_default(children);
    if (def != nullptr) require_owned_by_parent_owner(parent, *def, "moves the rows of the default partition");
    if (def != nullptr && !lock_default_partition(parent.oid)) {
        refuse_prepared("its default partition could not be locked", "55P03");
        outcome.kind = CreateOutcome::conflict;
        outcome.sqlstate = "55P03";
        outcome.detail = fmt::format("could not lock the default partition {} within zerocut.partition_lock_timeout",
                                     def->qualified);
        return outcome;
    }
    // From here on the owner's work: creating and attaching the partition and
    // moving rows (its triggers fire on the DELETE from the default
    // partition), as the owner, restricted.  A default partition with FORCE
    // ROW LEVEL SECURITY (zerocut copies it from the parent) does not hide
    // rows from this move: AsTableOwner is a no-force-RLS operation.
    let_owner_clone_zerocut_triggers(spi, parent.oid);  // PARTITION OF / ATTACH clone them
    zc::pg::AsTableOwner as_owner(parent.oid);
    create_as_owner(spi, parent, period, prepared, def, qualified, bounds, outcome);
    if (outcome.kind == CreateOutcome::created) give_parent_access(spi, parent, outcome.partition);
    return outcome;
}

void log_action(SpiSession& spi, const Action& action, const std::string& parent_name)
{
    std::string level = action.action == "error"                                 ? "ERROR"
                        : action.action == "conflict" || action.action == "skip" ? "WARNING"
                                                                                 : "INFO";
    std::string message = fmt::format("partition maintenance: {} {}", action.action,
                                      action.partition.empty() ? parent_name : action.partition);
    std::string metadata = fmt::format(
        "{{\"capability\": \"partitions\", \"parent\": {}, \"action\": {}, \"partition\": {}, \"detail\": {}}}",
        core::json_string(parent_name), core::json_string(action.action), core::json_string(action.partition),
        core::json_string(action.detail));
    zc::pg::write_system_log(spi, level, message, metadata);
}

std::vector<Action> maintain(SpiSession& spi, const MaintainOptions& options)
{
    std::vector<Action> all;
    std::vector<std::string> parents, outcomes;
    std::vector<Config> configs = read_configs(spi, options.parent);
    std::map<Oid, std::vector<Child>> children = read_all_children(spi, options.parent, configs);
    // The premade periods' edges of every timestamptz parent, in one query.
    std::vector<std::string> zones, dates;
    for (const Config& config : configs) {
        if (!config.parent_info || config.parent_info->type != TIMESTAMPTZOID) continue;
        core::CivilDate current = core::period_start(config.today, config.granularity);
        for (int k = 0; k <= config.premake + 1; ++k) {
            core::CivilDate edge = core::add_periods(current, config.granularity, k);
            if (!core::in_supported_range(edge)) break;
            zones.push_back(config.time_zone);
            dates.push_back(core::format_iso_date(edge));
        }
    }
    EdgeCache edges;
    if (!zones.empty()) {
        spi.execute_cached(
            "SELECT z, d::pg_catalog.text, t::pg_catalog.text, "
            "(EXTRACT(EPOCH FROM t) * 1000000)::pg_catalog.int8 - 946684800000000 "
            "FROM (SELECT z, d, d::pg_catalog.timestamp AT TIME ZONE z AS t FROM ROWS FROM "
            "(pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.date[])) AS u(z, d)) s",
            {zc::pg::text_param(array_literal(zones)), zc::pg::text_param(array_literal(dates))});
        for (const auto& row : spi.rows_text())
            edges[{row[0].value_or(""), row[1].value_or("")}] = {row[2].value_or(""), to_int64(row[3])};
    }
    struct ActiveEdges {
        explicit ActiveEdges(const EdgeCache* cache) { active_edges = cache; }
        ~ActiveEdges() { active_edges = nullptr; }
    } active(&edges);
    for (const Config& config : configs) {
        // A parent the caller may not have maintained (docs/partitions.md,
        // "Privileges"): reported, not touched, not logged, its last outcome
        // kept.
        if (config.parent_exists && !may_manage(config.parent)) {
            std::string name = zc::pg::qualified_relation_name(config.parent);
            Refusal refusal = refusal_for(config.parent);
            all.push_back(Action{config.parent, "skip", "",
                                 refusal == Refusal::zerocut_own ? name + " is one of zerocut's own tables"
                                 : refusal == Refusal::audit_log
                                     ? name + " is zerocut's audit log; left to a superuser or the extension's owner"
                                     : "the current user does not own " + name + "; left to its owner or a superuser"});
            continue;
        }
        std::string outcome;
        std::vector<Action> actions;
        if (!options.isolate) {
            actions = maintain_parent(spi, config, options, children[config.parent], outcome);
        } else {
            // One parent's failure must not stop the others: its work runs in
            // a subtransaction, rolled back on error (its locks, its partial
            // DDL and its log rows with it); the error is logged, returned
            // and recorded as its outcome.
            std::string sqlstate = "XX000";
            auto failure = zc::pg::in_subtransaction(
                [&] { actions = maintain_parent(spi, config, options, children[config.parent], outcome); }, &sqlstate);
            if (failure) {
                std::string name = config.parent_info ? config.parent_info->qualified : std::to_string(config.parent);
                Action error{config.parent, "error", "", sqlstate + ": " + *failure};
                actions = {error};
                outcome = "error: " + error.detail;
                zc::pg::warning("zerocut: partition maintenance of " + name + " failed: " + error.detail);
                log_action(spi, error, name);
            }
        }
        all.insert(all.end(), actions.begin(), actions.end());
        parents.push_back(std::to_string(config.parent));
        outcomes.push_back(outcome);
    }
    record_outcomes(spi, parents, outcomes);
    return all;
}

}  // namespace zc::partition
