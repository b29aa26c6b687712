// The archive mover's engine: policies, targets, the partition path
// (detach + attach, metadata only) and the batch path (keyset over the
// primary key, FOR UPDATE SKIP LOCKED, one DELETE ... RETURNING -> INSERT per
// batch).  Runs inside an SpiSession owned by the entry point; in commit mode
// (CALL archive_proc) it commits after every batch and every partition move.
//
// Locks follow docs/locking.md: the table's job lock (src/pg/job_lock.hpp)
// first, polled for at most zerocut.partition_lock_timeout; a strong lock on
// the source parent before its partition (conditional, bounded retry); the
// source before the target; the log last.  A lock that does not come in
// time skips the work (status "skipped"), never queues.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "pg/run_as.hpp"
#include "pg/spi.hpp"

namespace zc::archive {

// A row of zerocut.archive_policy.  Stored by name; `source` is what the
// name resolves to now (InvalidOid: no table has that name any more).
struct Policy {
    std::string source_schema;  // raw names
    std::string source_table;
    Oid source = InvalidOid;
    std::string time_column;    // raw column name
    std::string keep;           // interval text
    std::string target_schema;  // raw names; "" before the policy is stored: the default
    std::string target_table;
    int batch_size = 10000;
    bool whole_partitions = false;
    // The role that owned the table when the policy was set (by name); none
    // for a row written without it (by hand): the policy then applies to
    // whoever owns the table.
    std::optional<std::string> owner;
    std::string source_display() const;  // "schema"."table", quoted as needed
};

// The default archive table of `schema`.`table`: <schema>_archive.<table>_archive,
// archive.<table>_archive for public; a part longer than 63 bytes with the
// suffix is cut and gets a hash of the whole name.
std::pair<std::string, std::string> default_target(const std::string& schema, const std::string& table);

struct RunResult {
    Oid source = InvalidOid;
    std::string source_name;
    std::string target_name;
    std::string cutoff;      // in the time column's type, as text
    int64_t rows_moved = 0;  // rows moved row by row + rows of attached partitions
    int64_t rows_by_batch = 0;
    int partitions_moved = 0;
    int batches = 0;
    bool finished = true;  // false: max_batches ran out first
    bool counts_estimated = false;
    double duration_ms = 0;
    std::string status = "ok";  // ok, skipped (a lock was busy), error (rolled back)
    std::string error;          // why skipped or failed
    std::string method() const;
};

// The policies to run: the one of `source` (42501 unless the caller owns it,
// 42809 for zerocut's own tables, 42704 when it has none), or every row of
// zerocut.archive_policy; for a caller who is not superuser only those of
// existing tables it owns.  Read as the extension's owner.
std::vector<Policy> load_policies(pg::SpiSession& spi, std::optional<Oid> source);
std::optional<Policy> find_policy(pg::SpiSession& spi, Oid source);

class Runner {
public:
    // commit_per_batch needs a nonatomic SpiSession (CALL at top level).
    Runner(pg::SpiSession& spi, bool commit_per_batch, std::optional<int> max_batches);
    // Moves what `policy` says; logs one INFO row to audit_log.system_log.
    // Errors propagate; a busy lock is an error (55P03).
    RunResult run(const Policy& policy, const std::string& log_message);
    // Like run(), in subtransactions (one per committed unit in commit mode):
    // an error rolls back the unit in flight, is logged at ERROR level and
    // comes back in the result's status and error; a busy lock comes back as
    // status "skipped".  A cancel still stops the caller.
    RunResult run_isolated(const Policy& policy, const std::string& log_message);
    bool budget_left() const { return !budget_ || *budget_ > 0; }

private:
    void run_unit(const Policy& policy, const std::string& log_message);
    void commit_unit(bool counts);

    pg::SpiSession& spi_;
    bool commit_;
    std::optional<int> budget_;
    RunResult result_;        // of the policy in progress (partial after an error)
    RunResult committed_;     // its counts as of the last commit (commit mode)
    bool segmented_ = false;  // run_isolated: commit_unit closes and reopens the subtransaction
    struct Segment* segment_ = nullptr;
    std::optional<pg::PinnedSearchPath>* pinned_ = nullptr;
    // The switch to the source's owner (run_unit's): commit_unit closes it
    // before every commit and opens it again after, for the owner it had.
    std::optional<pg::AsTableOwner>* as_owner_ = nullptr;
    Oid owner_ = InvalidOid;
};

// Detaches `partition` from its parent and attaches it to the parent's archive
// target (metadata only), as the parent's owner; returns its qualified name.
std::string archive_partition(pg::SpiSession& spi, Oid partition);

// Moves archived rows with from_ts <= time < to_ts back into `source`
// (to_ts "infinity": no upper bound), as the source's owner.
int64_t restore_archived(pg::SpiSession& spi, Oid source, const std::string& from_ts, const std::string& to_ts);

// Validates a policy (policy.source: the table's OID; the caller must own
// it and the target, which must have the same owner) and stores it by name
// (insert or update, as the extension's owner).  `target` InvalidOid: the stored target, else the
// default one.
void store_policy(pg::SpiSession& spi, const Policy& policy, Oid target);

}  // namespace zc::archive
