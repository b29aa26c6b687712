// The partition manager's engine, shared by the SQL entry points in this
// folder (create_monthly_partition, manage_partitions, run_maintenance,
// convert_to_partitioned) and by generate_sample_data.  Everything runs in
// the caller's SpiSession with an EngineSettings object alive, which pins
// search_path, TimeZone = UTC and DateStyle = ISO so that partition bounds
// print, parse and compare the same way in every session.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/partition_calendar.hpp"
#include "pg/spi.hpp"

namespace zc::partition {

// Pins the settings the engine relies on for the life of the object.
class EngineSettings {
public:
    EngineSettings();

private:
    zc::pg::PinnedSearchPath pinned_;
};

// A RANGE-partitioned table on one date / timestamp / timestamptz column.
struct ParentInfo {
    Oid oid = InvalidOid;
    std::string schema;
    std::string name;
    std::string qualified;  // quoted schema.name
    std::string column;     // the partition key column
    Oid type = InvalidOid;  // DATEOID, TIMESTAMPOID or TIMESTAMPTZOID
    std::string type_name;  // date, timestamp, timestamptz
};

struct Child {
    Oid oid = InvalidOid;
    std::string qualified;
    std::string relname;
    zc::core::RangeBound bound;
};

// One row of run_maintenance()'s result.
struct Action {
    Oid parent = InvalidOid;
    std::string action;
    std::string partition;
    std::string detail;
};

// Who may have the engine work on a table (docs/partitions.md, "Privileges"):
// its owner or a superuser; never one of zerocut's own tables (42809), except
// the audit log's partition tree, which zerocut's installer manages: that one
// only for a superuser or the extension's owner (42501 for anyone else).
// `what` completes "cannot be ..." in the refusal.  Errors name `argument`.
void require_may_manage(Oid relid, const char* argument, const char* what);
// The same as a yes / no, for run_maintenance() over every managed parent,
// and why not.
bool may_manage(Oid relid);
enum class Refusal { none, zerocut_own, audit_log, not_owner };
Refusal refusal_for(Oid relid);

// Checks `relid` is a partitioned table the engine can manage; errors name
// `argument`.  Does not check ownership (require_may_manage does).  Needs no
// lock: the catalog rows are read as they are.
ParentInfo describe_parent(zc::pg::SpiSession& spi, Oid relid, const char* argument);

// The relation a text argument names (`schema.table` or search_path), or a
// clear error naming `argument`.  Call it BEFORE EngineSettings pins search_path.
Oid resolve_table_name(const std::string& text, const char* argument);

std::vector<Child> list_children(zc::pg::SpiSession& spi, Oid parent);

// Bounds of the period starting at `start`: the FROM/TO literals for DDL
// and the key's internal values for comparisons.
struct PeriodBounds {
    zc::core::CivilDate start;
    std::string lower_text;
    std::string upper_text;
    int64_t lower = 0;
    int64_t upper = 0;
    std::string name;  // unqualified partition name
};
std::vector<PeriodBounds> period_bounds(zc::pg::SpiSession& spi, const ParentInfo& parent, const std::string& time_zone,
                                        zc::core::Granularity granularity,
                                        const std::vector<zc::core::CivilDate>& starts);

// Creates the partition for `period` (moving rows of the default partition
// that belong to it into it, in this transaction) unless an identical one
// exists.  The caller holds the parent's lock.  Like every function here
// that creates, attaches, detaches or drops a partition or moves rows, it
// does that work as the parent's owner under SECURITY_RESTRICTED_OPERATION
// (zc::pg::AsTableOwner), in the parent's tablespace, and gives each new
// partition the parent's grants, row-level security and policies
// (zc::pg::copy_access); reads of zerocut's own tables run as the
// extension's owner.  Call them as the caller, outside any such switch.
struct CreateOutcome {
    enum Kind { created, existing, conflict } kind = conflict;
    std::string partition;  // qualified name
    uint64_t moved_rows = 0;
    std::string detail;
    const char* sqlstate = nullptr;  // for a conflict: 42P17 overlap, 42P07 name taken
};
// Rows waiting in the default partition are moved in two phases, so that
// writers do not wait for the whole move (docs/partitions.md): before the
// parent's ACCESS EXCLUSIVE lock, prepare_rescue() builds the partition as a
// standalone table (the parent's columns and indexes, a CHECK matching its
// bound) and moves the period's rows into it, holding only ROW EXCLUSIVE on
// the parent and the default partition; nobody sees the moved rows gone
// before commit.  create_partition(..., prepared) then, under the parent's
// lock, moves the rows that arrived since and attaches it (the CHECK lets
// ATTACH skip scanning it).  The caller holds the table's job lock.
// nullopt: nothing to prepare (no such rows, a conflict, foreign keys, the
// parent busy); create_partition then does it all under the lock.
struct PreparedRescue {
    std::string qualified;   // the standalone table
    std::string check_name;  // its bound CHECK, dropped after ATTACH
    uint64_t moved_rows = 0;
};
std::optional<PreparedRescue> prepare_rescue(zc::pg::SpiSession& spi, const ParentInfo& parent,
                                             const PeriodBounds& period);

CreateOutcome create_partition(zc::pg::SpiSession& spi, const ParentInfo& parent, const PeriodBounds& period,
                               const PreparedRescue* prepared = nullptr);

// ATTACH PARTITION (and CREATE TABLE ... PARTITION OF) clone the parent's
// row triggers onto the partition, and PostgreSQL checks EXECUTE on each
// trigger function for the role that runs the statement.  zerocut's own
// trigger functions (audit_trigger_function, protect_column_trigger) are
// revoked from PUBLIC and granted to a table's owner by enable_audit() and
// protect_column(); a parent that changed owner since may lack the grant.
// let_owner_clone_zerocut_triggers() grants (as the extension's owner) the
// ones `relid`'s owner lacks, so the clone runs as the owner: never as a
// superuser, since an ATTACH checks foreign keys as the role running it and
// those checks can reach the owner's code (an implicit cast on its type).
// attach_partition() does that, then runs `attach_sql` (an ALTER TABLE
// <parent> ATTACH PARTITION) as the parent's owner, restricted.
void let_owner_clone_zerocut_triggers(zc::pg::SpiSession& spi, Oid relid);
void attach_partition(zc::pg::SpiSession& spi, Oid parent, const std::string& attach_sql);

// Creates "<parent>_default" when the parent has no default partition;
// returns its qualified name, or nullopt when one existed.
std::optional<std::string> ensure_default_partition(zc::pg::SpiSession& spi, const ParentInfo& parent);

// What run_maintenance does for the managed parents (all when `parent` is
// nullopt).  `from` makes the initial creation of manage_partitions start
// at that date; `apply_retention` = false only creates and rescues.
struct MaintainOptions {
    std::optional<Oid> parent;
    bool apply_retention = true;
    std::optional<zc::core::CivilDate> from;
    // run_maintenance: each parent in its own subtransaction; a failing one
    // becomes an "error" action (logged at ERROR level, recorded as its
    // last_outcome) and the others proceed.  Otherwise errors propagate.
    bool isolate = false;
};
std::vector<Action> maintain(zc::pg::SpiSession& spi, const MaintainOptions& options);

// Lock helpers that never wait in the lock manager: they retry until
// zerocut.partition_lock_timeout has passed and report whether they got it.
bool lock_relation_polling(Oid relid, int lockmode);
int lock_timeout_ms();

// Logs one action to audit_log.system_log (skipped, with a NOTICE once, in
// a database without the domain schema).
void log_action(zc::pg::SpiSession& spi, const Action& action, const std::string& parent_name);

// First column of the first row of `sql`, run read-write so that it sees
// this transaction's earlier changes (SpiSession::query_text runs read-only,
// on the snapshot the calling statement started with).
std::optional<std::string> query_value(zc::pg::SpiSession& spi, const std::string& sql,
                                       std::initializer_list<zc::pg::Param> params = {});

// The time zone new configurations store (GUC zerocut.partition_timezone).
std::string configured_time_zone();

}  // namespace zc::partition
