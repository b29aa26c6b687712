// zerocut.warn_drop_extension() RETURNS event_trigger
//
// ddl_command_start WHEN TAG IN ('DROP EXTENSION'): when the statement drops
// zerocut, a WARNING says what goes with it — the protected columns (their
// triggers go: new values would be stored in clear), the encryption keys
// (no ciphertext can be decrypted without them), the managed partitioned
// tables, the archive policies and the audited tables — with counts and
// names, before anything is dropped.  CREATE EXTENSION and
// install_domain_schema() restore the domain's setup, not the rest.
// Reading the configuration never blocks the DROP: if it fails, a shorter
// WARNING says so.
#include <string>
#include <vector>

#include "pg/boundary.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "pg/subtransaction.hpp"

extern "C" {
#include "commands/event_trigger.h"
#include "nodes/parsenodes.h"
}

namespace {

bool drops_zerocut(Node* tree)
{
    if (tree == nullptr || !IsA(tree, DropStmt)) return false;
    auto* stmt = reinterpret_cast<DropStmt*>(tree);
    if (stmt->removeType != OBJECT_EXTENSION) return false;
    ListCell* cell;
    foreach (cell, stmt->objects) {
        Node* object = static_cast<Node*>(lfirst(cell));
        if (IsA(object, String) && std::string(strVal(object)) == "zerocut") return true;
    }
    return false;
}

struct Lost {
    long counts[5] = {0, 0, 0, 0, 0};
    std::string names[5];
};

const char* const singular[5] = {"protected column", "encryption key", "managed partitioned table", "archive policy",
                                 "audited table"};
const char* const plural[5] = {"protected columns", "encryption keys", "managed partitioned tables", "archive policies",
                               "audited tables"};

Lost read_configuration()
{
    Lost lost;
    zc::pg::PinnedSearchPath path;
    zc::pg::AsExtensionOwner owner;
    zc::pg::SpiSession spi;
    spi.execute(
        "SELECT (SELECT count(*) FROM zerocut.protected_column), "
        "(SELECT string_agg(relation::text || '.' || quote_ident(column_name), ', ' "
        "        ORDER BY relation::text, column_name) FROM zerocut.protected_column), "
        "(SELECT count(DISTINCT name) FROM zerocut.encryption_keys), "
        "(SELECT string_agg(DISTINCT name, ', ') FROM zerocut.encryption_keys), "
        "(SELECT count(*) FROM zerocut.partition_config), "
        "(SELECT string_agg(parent::text, ', ' ORDER BY parent::text) FROM zerocut.partition_config), "
        "(SELECT count(*) FROM zerocut.archive_policy), "
        "(SELECT string_agg(quote_ident(source_schema) || '.' || quote_ident(source_table), ', ' "
        "        ORDER BY source_schema, source_table) FROM zerocut.archive_policy), "
        "(SELECT count(*) FROM zerocut.audit_config), "
        "(SELECT string_agg(quote_ident(schema_name) || '.' || quote_ident(table_name), ', ' "
        "        ORDER BY schema_name, table_name) FROM zerocut.audit_config)",
        {}, true);
    auto rows = spi.rows_text();
    for (int i = 0; i < 5 && !rows.empty(); ++i) {
        lost.counts[i] = std::stol(rows[0][2 * i].value_or("0"));
        lost.names[i] = rows[0][2 * i + 1].value_or("");
    }
    return lost;
}

}  // namespace

ZC_FUNCTION(zc_warn_drop_extension)
{
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "warn_drop_extension() must be called as an event trigger");
    auto* data = reinterpret_cast<EventTriggerData*>(fcinfo->context);
    if (!drops_zerocut(data->parsetree)) PG_RETURN_VOID();
    Lost lost;
    auto failed = zc::pg::in_subtransaction([&] { lost = read_configuration(); });
    std::string message, detail;
    if (failed) {
        message = "DROP EXTENSION zerocut drops its configuration and encryption keys";
        detail = "zerocut could not list them: " + *failed;
    } else {
        long total = 0;
        for (long count : lost.counts) total += count;
        if (total == 0) PG_RETURN_VOID();
        message = "DROP EXTENSION zerocut drops ";
        bool first = true;
        for (int i = 0; i < 5; ++i) {
            if (lost.counts[i] == 0) continue;
            if (!first) message += ", ";
            const char* what = lost.counts[i] == 1 ? singular[i] : plural[i];
            message += std::to_string(lost.counts[i]) + " " + what;
            if (!detail.empty()) detail += "; ";
            detail += std::string(what) + ": " + lost.names[i];
            first = false;
        }
        if (lost.counts[0] > 0) message += "; new values of the protected columns will be stored in clear";
        if (lost.counts[1] > 0) message += "; without the keys no ciphertext can be decrypted";
    }
    const char* message_text = message.c_str();
    const char* detail_text = detail.c_str();
    zc::pg::guard([=] {
        ereport(WARNING, (errmsg_internal("%s", message_text), errdetail_internal("%s", detail_text),
                          errhint("Keep a dump of the zerocut schema's tables first. After CREATE EXTENSION zerocut, "
                                  "install_domain_schema() restores the domain's partitions, audit and archive setup; "
                                  "restore zerocut.encryption_keys from the dump, then run protect_column(), "
                                  "manage_partitions(), set_archive_policy() and enable_audit() again for the rest.")));
    });
    PG_RETURN_VOID();
}
