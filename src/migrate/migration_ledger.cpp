#include "migrate/migration_ledger.hpp"

#include <openssl/evp.h>

#include <string>

#include "core/errors.hpp"
#include "core/migration_checksum.hpp"
#include "pg/guard.hpp"
#include "pg/run_as.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "mb/pg_wchar.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
}

namespace zc::migrate {

void lock_migrations()
{
    zc::pg::guard(
        [] { DirectFunctionCall2(pg_advisory_xact_lock_int4, Int32GetDatum(migration_lock_class), Int32GetDatum(0)); });
}

std::string migration_checksum(const std::string& sql)
{
    std::string normalized = zc::core::normalize_line_endings(sql);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(normalized.data(), normalized.size(), digest, &size, EVP_sha256(), nullptr) != 1)
        throw Error(sqlstate::internal_error, "sha256 of the migration SQL failed");
    return zc::core::to_hex(digest, size);
}

void require_migration_role(const char* function)
{
    if (zc::pg::is_trusted_role(GetUserId())) return;
    throw Error(sqlstate::insufficient_privilege, std::string("permission denied for function ") + function,
                "Only a superuser or zerocut's owner may apply or roll back migrations: the ledger keeps rollback SQL "
                "that a later caller runs with its own rights, so only roles that may already run anything may write "
                "it.",
                "Run it as zerocut's owner (the deploy role that ran CREATE EXTENSION zerocut).");
}

void refuse_in_recovery(const char* function)
{
    if (zc::pg::in_recovery())
        throw Error("25006", std::string(function) + " cannot run on a hot standby", "", "Run it on the primary.");
}

std::string version_arg(FunctionCallInfo fcinfo, int n, const char* name, bool allow_reserved)
{
    zc::pg::require_arg(fcinfo, n, name);
    std::string version = zc::pg::text_arg(fcinfo, n);
    if (auto problem = zc::core::version_problem(version, allow_reserved))
        throw Error(sqlstate::invalid_parameter_value, std::string("argument \"") + name + "\" " + *problem);
    const char* data = version.data();
    int bytes = static_cast<int>(version.size());
    int characters = zc::pg::guard([=] { return pg_mbstrlen_with_len(data, bytes); });
    if (characters > zc::core::max_version_length)
        throw Error(sqlstate::invalid_parameter_value, std::string("argument \"") + name + "\" is longer than " +
                                                           std::to_string(zc::core::max_version_length) +
                                                           " characters");
    return version;
}

std::optional<std::string> sql_arg(FunctionCallInfo fcinfo, int n, const char* name, bool optional)
{
    if (optional && PG_ARGISNULL(n)) return std::nullopt;
    zc::pg::require_arg(fcinfo, n, name);
    std::string sql = zc::pg::text_arg(fcinfo, n);
    if (zc::core::is_blank(sql))
        throw Error(sqlstate::invalid_parameter_value, std::string("argument \"") + name + "\" must not be empty", "",
                    optional ? "Pass NULL for a migration without rollback SQL." : "");
    return sql;
}

void run_caller_sql(zc::pg::SpiSession&, const std::string& sql, const std::string& what)
{
    // SPI_execute() itself, not SpiSession::execute(): the codes SPI returns
    // instead of raising (transaction control, COPY to the client) get their
    // SQLSTATE and the same prefix as a raised error.
    const char* query = sql.c_str();
    int rc;
    try {
        rc = zc::pg::guard([=] { return SPI_execute(query, false, 0); });
    } catch (const zc::pg::PgError& error) {
        ErrorData* data = error.data();
        std::string message = what + " failed with SQLSTATE ";
        message += zc::pg::guard([=] { return unpack_sql_state(data->sqlerrcode); });
        message += ": ";
        message += data->message ? data->message : "";
        const char* text = message.c_str();
        // In the ErrorData's own memory context, which lives until the
        // boundary re-raises it.
        zc::pg::guard([=] { data->message = MemoryContextStrdup(GetMemoryChunkContext(data), text); });
        throw;
    }
    if (rc == SPI_ERROR_TRANSACTION)
        throw Error("2D000",
                    what +
                        " failed with SQLSTATE 2D000: transaction control (COMMIT, ROLLBACK, SAVEPOINT, ...) "
                        "cannot run inside a migration",
                    "A migration runs inside its caller's transaction.");
    if (rc == SPI_ERROR_COPY)
        throw Error(sqlstate::feature_not_supported,
                    what + " failed with SQLSTATE 0A000: COPY to or from the client cannot run inside a migration");
    if (rc < 0)
        throw Error(sqlstate::internal_error,
                    what + " failed with SQLSTATE XX000: SPI_execute failed (" + SPI_result_code_string(rc) + ")");
}

std::string current_user_name()
{
    Oid user = GetUserId();
    return zc::pg::guard([=] { return GetUserNameFromId(user, false); });
}

bool ledger_exists()
{
    return zc::pg::guard([] {
        Oid nsp = get_namespace_oid("zerocut", true);
        return OidIsValid(nsp) && OidIsValid(get_relname_relid("migration_versions", nsp));
    });
}

void record_domain_step(zc::pg::SpiSession& spi, const std::string& file, const std::string& sql,
                        const std::string& applied_by, TimestampTz started, int64 elapsed_us)
{
    std::string step = file.size() > 4 && file.ends_with(".sql") ? file.substr(0, file.size() - 4) : file;
    zc::pg::PinnedSearchPath pinned;
    zc::pg::AsExtensionOwner owner;
    spi.execute(
        "INSERT INTO zerocut.migration_versions AS m"
        " (version, description, checksum, applied_at, applied_by, duration, rollback_sql)"
        " VALUES ($1, $2, $3, $4, $5::pg_catalog.name,"
        "         $6::pg_catalog.float8 * '1 microsecond'::pg_catalog.interval, NULL)"
        " ON CONFLICT (version) DO UPDATE"
        " SET description = excluded.description, checksum = excluded.checksum, applied_at = excluded.applied_at,"
        "     applied_by = excluded.applied_by, duration = excluded.duration, rollback_sql = NULL"
        " WHERE m.checksum IS DISTINCT FROM excluded.checksum",
        {zc::pg::text_param("zerocut.domain." + step),
         zc::pg::text_param("zerocut domain schema step " + file + ", run by install_domain_schema()"),
         zc::pg::text_param(migration_checksum(sql)), zc::pg::Param{TIMESTAMPTZOID, TimestampTzGetDatum(started)},
         zc::pg::text_param(applied_by), zc::pg::int8_param(elapsed_us)});
}

}  // namespace zc::migrate
