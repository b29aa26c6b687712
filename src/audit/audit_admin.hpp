// Shared by enable_audit() and disable_audit(): checks on the table argument
// and dropping the triggers zerocut created.
#pragma once

#include <string>

#include "pg/postgres.hpp"
#include "pg/spi.hpp"

namespace zc::audit {

struct AuditedTable {
    Oid relid;
    std::string schema;
    std::string name;
    std::string qualified;  // quoted "schema"."name"
};

// The table named by argument `arg_name`: it must exist (42P01), be a table
// or a partitioned table (42809), not be one of zerocut's own tables (its
// config, keys, the log or a partition of it: 42809), and be owned by the
// caller (42501).  `for_disable` lets zerocut's own tables through, so
// auditing an older version allowed on them can be switched off.
AuditedTable audited_table(Oid relid, const char* arg_name, bool for_disable = false);

// Runs `sql` as the extension's owner (who owns zerocut.audit_config), so a
// table owner allowed to run enable_audit() needs no grant on the config.
uint64 write_config(zc::pg::SpiSession& spi, const std::string& sql, std::initializer_list<zc::pg::Param> params);

// Brings zerocut.audit_config up to date with the catalog, as the
// extension's owner: rows of tables that no longer exist are removed, the
// others get their table's current schema and name.  Returns the rows
// changed.  The audit trigger finds rows by OID (`relation`) and does not
// depend on this; enable_audit() and the event trigger
// zerocut_audit_config_follow run it.
uint64 sync_config(zc::pg::SpiSession& spi);

// Drops every audit trigger zerocut created on the table; returns how many.
int drop_audit_triggers(zc::pg::SpiSession& spi, const AuditedTable& table);

}  // namespace zc::audit
