// The online copy (issue 19, docs/online_copy.md): a source table copied
// into a target while the application keeps writing to the source.
//
//  1. Capture: a trigger on the source (zerocut.online_copy_capture) logs
//     the primary key of every row inserted, updated or deleted to
//     zerocut.online_copy_log, in the writer's own transaction.  It is
//     created before the first batch is read, so a change is either seen by
//     a batch or logged (CREATE TRIGGER waits for the writers in flight).
//  2. Copy: rows in primary-key order, keyset batches (`WHERE key > last`,
//     never OFFSET), each batch and the new resume point committed together
//     (CALL online_copy, a nonatomic SPI connection).  Target columns come
//     from column_map expressions over the source row, or the source column
//     of the same name.
//  3. Replay: for each logged key, delete the target row and copy the
//     source row again if it exists; the keys are read with the same
//     snapshot as the rows (zerocut.online_copy_pending is STABLE), and only
//     the entries replayed are deleted.
//  4. Finish: replay, verify (row count and checksum of the columns copied
//     by name, with one snapshot, rows with pending changes aside), then a
//     short ACCESS EXCLUSIVE lock taken with lock_timeout and retried with
//     back-off; under it the last changes are replayed, the names swapped
//     (optional) and the capture removed.
//
// The work on the tables runs as their owner (the caller must own both,
// they must have the same owner), restricted (zc::pg::AsTableOwner); the
// registry and the log are read and written as the extension's owner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/spi.hpp"

namespace zc::migrate {

// A row of zerocut.online_copy.
struct Copy {
    int copy_id = 0;
    Oid source = InvalidOid;
    Oid target = InvalidOid;
    std::string source_name, target_name;   // as named when the copy began
    std::vector<std::string> key;           // primary-key columns of the source, raw names
    std::optional<std::string> column_map;  // jsonb text
    int batch_size = 5000;
    std::string phase;                    // copying, copied
    std::optional<std::string> last_key;  // jsonb array text: the resume point
    int64_t rows_copied = 0;
    int64_t batches = 0;
    int64_t replayed = 0;
};

// The copy whose source (or target) is `relid`, read as the extension's owner.
std::optional<Copy> copy_of(pg::SpiSession& spi, Oid relid);

// CALL online_copy(): registers the copy (first call) or resumes it, copies
// what is left in committed batches, then replays the captured changes.
// Needs a nonatomic SpiSession (CALL at top level).
void run_online_copy(pg::SpiSession& spi, Oid source, Oid target, const std::optional<std::string>& column_map,
                     int batch_size);

struct FinishResult {
    std::string source_name, target_name;
    int64_t verified_rows = 0;  // rows whose count and checksum matched
    int64_t pending_rows = 0;   // keys with pending changes at the verification (re-copied under the lock)
    int64_t replayed = 0;       // log entries replayed by the finish
    int64_t target_rows = 0;    // rows in the target at the end
    std::string checksum;
    std::vector<std::string> compared;  // columns copied by name (checksummed)
    int lock_attempts = 0;
    double lock_wait_ms = 0;
    double lock_held_ms = 0;
    bool swapped = false;
    std::string details = "{}";  // JSON object: what the swap moved, what it did not
    // Foreign keys re-created NOT VALID by the swap: "ALTER TABLE ... VALIDATE CONSTRAINT ..."
    std::vector<std::string> to_validate;
};

// online_copy_finish(): in the caller's transaction (a function).
FinishResult finish_online_copy(pg::SpiSession& spi, Oid source, Oid target, bool swap);

// online_copy_abandon(): removes the capture of `source`, its progress row
// and log; false when there is nothing to remove.
bool abandon_online_copy(pg::SpiSession& spi, Oid source);

// Copies the row-level security settings and policies of `from` onto `to`
// (migrate_user_data prepares its new table with them: finish's swap
// refuses a target without the source's policies).
void copy_policies(pg::SpiSession& spi, Oid from, Oid to);

}  // namespace zc::migrate
