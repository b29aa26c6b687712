#include "pg/system_log.hpp"

#include "core/errors.hpp"
#include "pg/guard.hpp"
#include "pg/run_as.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
}

namespace zc::pg {

namespace {
bool missing_log_reported = false;
}

bool write_system_log(SpiSession& spi, const std::string& level, const std::string& message,
                      const std::string& metadata_json)
{
    Oid log = guard([] {
        Oid schema = get_namespace_oid("audit_log", true);
        return OidIsValid(schema) ? get_relname_relid("system_log", schema) : InvalidOid;
    });
    if (!OidIsValid(log)) {
        if (!missing_log_reported)
            notice(
                "zerocut: audit_log.system_log does not exist; maintenance actions are not logged "
                "(run SELECT zerocut.install_domain_schema() to create it)");
        missing_log_reported = true;
        return false;
    }
    // A log someone else made could run its owner's triggers on our rows and
    // show them to its owner: write only to a log a trusted role owns, and
    // as that owner (as the audit trigger does).
    Oid owner = relation_owner(log);
    if (!is_trusted_role(owner)) {
        char* owner_name = guard([=] { return GetUserNameFromId(owner, false); });
        throw Error(sqlstate::insufficient_privilege,
                    std::string("audit_log.system_log is owned by role \"") + owner_name +
                        "\", not by a superuser or the owner of extension zerocut; zerocut does not write to it",
                    "", "drop or rename that table and run SELECT zerocut.install_domain_schema() to create the log");
    }
    AsLogOwner as_log_owner(owner);
    spi.execute_cached(
        "INSERT INTO audit_log.system_log (level, message, metadata) VALUES ($1, $2, $3::pg_catalog.jsonb)",
        {text_param(level), text_param(message), text_param(metadata_json)});
    return true;
}

void notice(const std::string& message)
{
    const char* text = message.c_str();
    guard([=] { ereport(NOTICE, (errmsg_internal("%s", text))); });
}

void warning(const std::string& message)
{
    const char* text = message.c_str();
    guard([=] { ereport(WARNING, (errmsg_internal("%s", text))); });
}

void warning(const std::string& message, const std::string& hint)
{
    const char* text = message.c_str();
    const char* hint_text = hint.c_str();
    guard([=] { ereport(WARNING, (errmsg_internal("%s", text), errhint("%s", hint_text))); });
}

bool in_recovery()
{
    return RecoveryInProgress();
}

}  // namespace zc::pg
