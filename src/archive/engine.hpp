// The archive mover's engine: policies, targets, the partition path
// (detach + attach, metadata only) and the batch path (keyset over the
// primary key, FOR UPDATE SKIP LOCKED, one DELETE ... RETURNING -> INSERT per
// batch).  Runs inside an SpiSession owned by the entry point; in commit mode
// (CALL archive_proc) it commits after every batch and every partition move.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/spi.hpp"

namespace zc::archive {

struct Policy {
    Oid source = InvalidOid;
    std::string time_column;  // raw column name
    std::string keep;         // interval text
    Oid target = InvalidOid;  // InvalidOid: archive.<source>_archive
    int batch_size = 10000;
    bool whole_partitions = false;
};

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
    std::string method() const;
};

// The policies to run: every row of zerocut.archive_policy, or the one of
// `source` (zc::Error 42704 naming `source` when it has none).
std::vector<Policy> load_policies(pg::SpiSession& spi, std::optional<Oid> source);
std::optional<Policy> find_policy(pg::SpiSession& spi, Oid source);

class Runner {
public:
    // commit_per_batch needs a nonatomic SpiSession (CALL at top level).
    Runner(pg::SpiSession& spi, bool commit_per_batch, std::optional<int> max_batches);
    // Moves what `policy` says; logs one INFO row to audit_log.system_log.
    RunResult run(const Policy& policy, const std::string& log_message);
    bool budget_left() const { return !budget_ || *budget_ > 0; }

private:
    pg::SpiSession& spi_;
    bool commit_;
    std::optional<int> budget_;
};

// Detaches `partition` from its parent and attaches it to the parent's archive
// target (metadata only); returns its qualified name.
std::string archive_partition(pg::SpiSession& spi, Oid partition);

// Moves archived rows with from_ts <= time < to_ts back into `source`.
int64_t restore_archived(pg::SpiSession& spi, Oid source, const std::string& from_ts, const std::string& to_ts);

// Validates a policy and stores it (insert or update).
void store_policy(pg::SpiSession& spi, const Policy& policy);

}  // namespace zc::archive
