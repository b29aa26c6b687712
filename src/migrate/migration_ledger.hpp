// The migration ledger, zerocut.migration_versions (docs/migrations.md):
// what apply_migration(), rollback_migration() and install_domain_schema()
// share.  The ledger is read and written as the extension's owner with a
// pinned search_path; the migrations themselves run as their caller.
#pragma once

#include <optional>
#include <string>

#include "pg/postgres.hpp"
#include "pg/spi.hpp"

namespace zc::migrate {

// The ledger's advisory lock: zerocut's two-int key space (docs/locking.md),
// class "zc" and 3, objid 0.  Transaction-scoped: held until the caller's
// transaction ends, so a second caller sees the first one's row (or its
// absence, after a rollback) once it gets the lock.
inline constexpr int32 migration_lock_class = 0x7A63 << 16 | 0x0003;

// Waits for the ledger's lock (lock_timeout applies).
void lock_migrations();

// sha256, lower-case hex, of `sql` with its line endings made LF
// (core/migration_checksum.hpp), over the bytes of the database encoding.
std::string migration_checksum(const std::string& sql);

// 42501 unless the current user is a superuser or zerocut's owner.
void require_migration_role(const char* function);

// 25006 on a hot standby.
void refuse_in_recovery(const char* function);

// Argument `n` as a version: 22004 when NULL, 22023 when empty or blank,
// with a control character, longer than 200 characters, or (unless
// allow_reserved) beginning with "zerocut.".
std::string version_arg(FunctionCallInfo fcinfo, int n, const char* name, bool allow_reserved);

// Argument `n` as SQL text: 22004 when NULL (unless `optional`, then
// nullopt), 22023 when empty or blank.
std::optional<std::string> sql_arg(FunctionCallInfo fcinfo, int n, const char* name, bool optional);

// Runs `sql` (the caller's migration or rollback SQL) as the current user
// with the session's search_path.  A PostgreSQL error comes out with its
// SQLSTATE, detail and hint unchanged and its message prefixed:
// "<what> failed with SQLSTATE <code>: <message>".
void run_caller_sql(zc::pg::SpiSession& spi, const std::string& sql, const std::string& what);

// The name of the current user.
std::string current_user_name();

// Whether zerocut.migration_versions exists (not before ALTER EXTENSION
// zerocut UPDATE to 0.2.0).
bool ledger_exists();

// Records (or, when its checksum changed, re-records) the domain step
// `file` (e.g. "10_tables.sql") of install_domain_schema() as version
// "zerocut.domain.<file without .sql>", without rollback SQL.  A step
// recorded with the same checksum is left as it is.
void record_domain_step(zc::pg::SpiSession& spi, const std::string& file, const std::string& sql,
                        const std::string& applied_by, TimestampTz started, int64 elapsed_us);

}  // namespace zc::migrate
