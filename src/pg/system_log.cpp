#include "pg/system_log.hpp"

#include "pg/guard.hpp"

extern "C" {
#include "access/xlog.h"
}

namespace zc::pg {

namespace {
bool missing_log_reported = false;
}

bool write_system_log(SpiSession& spi, const std::string& level, const std::string& message,
                      const std::string& metadata_json)
{
    auto exists = spi.query_text("SELECT pg_catalog.to_regclass('audit_log.system_log') IS NOT NULL");
    if (exists != std::optional<std::string>("t")) {
        if (!missing_log_reported)
            notice(
                "zerocut: audit_log.system_log does not exist; maintenance actions are not logged "
                "(run SELECT zerocut.install_domain_schema() to create it)");
        missing_log_reported = true;
        return false;
    }
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
