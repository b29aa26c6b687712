// The CHECK constraint that lets ATTACH PARTITION skip its validation scan.
#pragma once

#include "pg/postgres.hpp"

namespace zc::archive {

// Marks the NOT VALID CHECK constraint `constraint_oid` of partition `relid`
// as validated, without scanning, after proving with PostgreSQL's own
// predicate prover (predicate_implied_by) that the partition's current
// partition constraint implies it: every row the partition can hold already
// satisfies it.  Throws zc::Error (XX000) when the proof fails; the caller
// holds AccessExclusiveLock on the partition (taken by ALTER TABLE ADD CONSTRAINT).
void validate_check_by_partition_bound(Oid relid, Oid constraint_oid);

}  // namespace zc::archive
