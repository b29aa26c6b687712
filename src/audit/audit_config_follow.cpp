// zerocut.audit_config_follow() RETURNS event_trigger
//
// ddl_command_end event trigger zerocut_audit_config_follow: zerocut.audit_config
// follows its tables.  After ALTER TABLE … RENAME, ALTER TABLE … SET SCHEMA
// or ALTER SCHEMA … RENAME, the rows' schema_name and table_name are set to
// their tables' current names; after DROP TABLE or DROP SCHEMA, the rows of
// tables that are gone are removed (so an OID PostgreSQL hands out again
// later is never taken for an audited table, and pg_dump never writes a
// dangling one).  Auditing itself does not depend on it: the audit trigger
// finds a table's row by OID (src/audit/audit_relation.cpp, require_recorded),
// so with this event trigger disabled a renamed table is still audited and
// only the names in audit_config are stale until enable_audit() runs again.
// Any other command (ALTER TABLE … ADD COLUMN and the like, everything while
// an extension script runs) is ignored without a query.
#include "audit/audit_admin.hpp"
#include "pg/boundary.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "nodes/parsenodes.h"
}

namespace {

// Whether `command` may have renamed, moved or dropped a table.
bool moves_or_drops_tables(Node* command)
{
    if (command == nullptr) return false;
    if (IsA(command, RenameStmt)) {
        ObjectType type = reinterpret_cast<RenameStmt*>(command)->renameType;
        return type == OBJECT_TABLE || type == OBJECT_SCHEMA;
    }
    if (IsA(command, AlterObjectSchemaStmt))
        return reinterpret_cast<AlterObjectSchemaStmt*>(command)->objectType == OBJECT_TABLE;
    if (IsA(command, DropStmt)) {
        ObjectType type = reinterpret_cast<DropStmt*>(command)->removeType;
        return type == OBJECT_TABLE || type == OBJECT_SCHEMA;
    }
    return false;
}

}  // namespace

ZC_FUNCTION(zc_audit_config_follow)
{
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "audit_config_follow() must be called as an event trigger");
    auto* data = reinterpret_cast<EventTriggerData*>(fcinfo->context);
    if (creating_extension || !moves_or_drops_tables(data->parsetree)) PG_RETURN_VOID();
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    zc::audit::sync_config(spi);
    PG_RETURN_VOID();
}
