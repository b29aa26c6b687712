// The one advisory lock every zerocut job takes per table before it locks
// any relation (docs/locking.md): partition maintenance and the archive
// mover of the same table serialize on it, so neither can hold the table
// while waiting for the other's advisory lock.
//
// The key is the two-int form (zerocut's class id, the table's OID):
// PostgreSQL keeps int8 and (int4, int4) advisory keys apart, so it can
// never collide with an application's int8 keys, and the class id keeps it
// apart from other two-int users.  Transaction-scoped: released at commit.
#pragma once

#include "pg/postgres.hpp"

namespace zc::pg {

// "zc" and 0x0001; pg_locks shows it as locktype advisory, classid
// 2053308417, objid the table OID, objsubid 2.
inline constexpr int32 job_lock_class = 0x7A63 << 16 | 0x0001;

// The installer's lock (install_domain_schema, the audit log's creation):
// two installers at once would race on CREATE ... IF NOT EXISTS.  Same
// two-int space, next class id, objid 0 (no table has OID 0).
inline constexpr int32 install_lock_class = 0x7A63 << 16 | 0x0002;

// Waits for the installer's lock (transaction-scoped).
void lock_installer();

// Takes the job lock of `relid` now if it is free; true when held.
bool try_lock_table_job(Oid relid);

// Retries try_lock_table_job() until `timeout_ms` has passed (checking for
// cancel between tries, never waiting in the lock manager); true when held.
bool lock_table_job_polling(Oid relid, int timeout_ms);

}  // namespace zc::pg
