// zerocut.current_workspace_ids() RETURNS integer[]
//
// The workspaces the current app user (app.current_user_id) is an active
// member of, active workspaces only, ascending; '{}' without a user.  Every
// tenant table's policy calls it as an InitPlan, so the dashboard's one
// statement calls it five times and a pooled transaction (BEGIN;
// set_app_user; queries; END) more.  The answer is therefore kept for the
// rest of the (sub)transaction while the caller's snapshot is the one it was
// read under: equal snapshots see equal rows, so a kept answer is exactly
// what a new read would return (docs/isolation.md, "Cost").
//
// Whose rights: EXECUTE goes to the isolated role only (setup_roles).  The
// membership query runs as user_workspace's owner past FORCE (AsTableOwner):
// the caller may not read other users' memberships, and reading as the
// caller would run user_workspace's own policy, which calls this function.
#include <optional>
#include <vector>

#include "core/errors.hpp"
#include "pg/boundary.hpp"
#include "pg/guard.hpp"
#include "pg/module.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "security/app_user.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
}

namespace {

// What decides which rows a query sees: two snapshots with equal fields
// give every query the same rows (own writes through curcid).
struct SnapshotKey {
    TransactionId xmin = InvalidTransactionId;
    TransactionId xmax = InvalidTransactionId;
    CommandId curcid = InvalidCommandId;
    bool suboverflowed = false;
    bool taken_during_recovery = false;
    std::vector<TransactionId> xip;
    std::vector<TransactionId> subxip;

    static SnapshotKey of(Snapshot snapshot)
    {
        SnapshotKey key;
        key.xmin = snapshot->xmin;
        key.xmax = snapshot->xmax;
        key.curcid = snapshot->curcid;
        key.suboverflowed = snapshot->suboverflowed;
        key.taken_during_recovery = snapshot->takenDuringRecovery;
        key.xip.assign(snapshot->xip, snapshot->xip + snapshot->xcnt);
        key.subxip.assign(snapshot->subxip, snapshot->subxip + snapshot->subxcnt);
        return key;
    }
    bool operator==(const SnapshotKey&) const = default;
};

struct Answer {
    int32 user;
    SnapshotKey snapshot;
    std::vector<int32> workspace_ids;
};

std::optional<Answer> kept;         // at most one, for one (sub)transaction
Oid membership_relid = InvalidOid;  // workspace_domain.user_workspace
Oid workspace_relid = InvalidOid;   // workspace_domain.workspace
bool reading = false;               // a lookup is running (see read_memberships)

// Forgotten at the end of every transaction, when a subtransaction aborts
// (its writes become invisible under the same snapshot fields) and when
// either table changes shape or is truncated (relcache invalidation).
void forget_on_xact(XactEvent, void*)
{
    kept.reset();
    reading = false;
}
void forget_on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*)
{
    if (event == SUBXACT_EVENT_ABORT_SUB) kept.reset();
}
void forget_on_relcache(Datum, Oid relid)
{
    if (relid == InvalidOid || relid == membership_relid || relid == workspace_relid) kept.reset();
}

zc::pg::OnLoad register_forgetting([] {
    RegisterXactCallback(forget_on_xact, nullptr);
    RegisterSubXactCallback(forget_on_subxact, nullptr);
    CacheRegisterRelcacheCallback(forget_on_relcache, (Datum)0);
});

Oid domain_table(const char* name)
{
    return zc::pg::guard([name] {
        Oid nsp = get_namespace_oid("workspace_domain", true);
        return nsp == InvalidOid ? InvalidOid : get_relname_relid(name, nsp);
    });
}

// The memberships of `user`, read under the caller's active snapshot
// (read-only SPI takes no new one), so the answer matches its key.
std::vector<int32> read_memberships(int32 user)
{
    membership_relid = domain_table("user_workspace");
    workspace_relid = domain_table("workspace");
    if (membership_relid == InvalidOid || workspace_relid == InvalidOid)
        throw zc::Error(zc::sqlstate::undefined_table,
                        "zerocut.current_workspace_ids() needs the domain tables workspace_domain.workspace and "
                        "user_workspace",
                        "", "Run SELECT zerocut.install_domain_schema();");
    std::vector<std::vector<std::optional<std::string>>> rows;
    {
        zc::pg::PinnedSearchPath path;
        zc::pg::AsTableOwner owner(membership_relid);
        zc::pg::SpiSession spi;
        spi.execute_cached(
            "SELECT m.workspace_id FROM workspace_domain.user_workspace m"
            " JOIN workspace_domain.workspace w ON w.id = m.workspace_id"
            " WHERE m.user_id = $1 AND m.status = 'active' AND w.status = 'active'"
            " ORDER BY m.workspace_id",
            {zc::pg::int4_param(user)}, true);
        rows = spi.rows_text();
    }
    std::vector<int32> ids;
    for (const auto& row : rows) ids.push_back(static_cast<int32>(std::stol(row[0].value())));
    return ids;
}

// The kept answer when its key matches, else a new read.  A policy of a
// table the read itself reads (workspace, when another role owns it) calls
// back into this function: that nested call answers '{}' (no rows) instead
// of recursing.
std::vector<int32> memberships(int32 user)
{
    if (reading) return {};
    Snapshot active = zc::pg::guard([] { return ActiveSnapshotSet() ? GetActiveSnapshot() : nullptr; });
    std::optional<SnapshotKey> key;
    if (active) key = SnapshotKey::of(active);
    if (key && kept && kept->user == user && kept->snapshot == *key) return kept->workspace_ids;
    kept.reset();
    reading = true;
    std::vector<int32> ids;
    try {
        ids = read_memberships(user);
    } catch (...) {
        reading = false;
        throw;
    }
    reading = false;
    if (key) kept = Answer{user, std::move(*key), ids};
    return ids;
}

Datum int4_array(const std::vector<int32>& values)
{
    const int32* data = values.data();
    int count = static_cast<int>(values.size());
    return zc::pg::guard([data, count] {
        Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * (count > 0 ? count : 1)));
        for (int i = 0; i < count; ++i) elements[i] = Int32GetDatum(data[i]);
        return PointerGetDatum(construct_array(elements, count, INT4OID, sizeof(int32), true, TYPALIGN_INT));
    });
}

}  // namespace

ZC_FUNCTION(zc_current_workspace_ids)
{
    std::optional<int32> user = zc::security::current_app_user();
    if (!user) return int4_array({});
    return int4_array(memberships(*user));
}
