// zerocut.enable_audit(tbl regclass, exclude_columns text[] DEFAULT NULL,
//                      mode text DEFAULT 'row', changed_only boolean DEFAULT true)
//
// Creates the audit triggers on `tbl` (on a partitioned table, one set on
// the parent) and records the settings in zerocut.audit_config.  The caller
// must own `tbl`; zerocut's own tables are refused; audit_log.system_log
// must exist and be the log zerocut's installer made (never created here).
// The config and the triggers are written as the extension's owner: the
// trigger function is not PUBLIC (it would let anyone write log rows), and
// a table owner granted EXECUTE on enable_audit() needs no other grant.
// Idempotent: the same settings again change nothing; other settings
// replace the triggers in the same transaction.
#include <algorithm>
#include <string>
#include <vector>

#include "audit/audit_admin.hpp"
#include "audit/audit_log.hpp"
#include "core/audit_options.hpp"
#include "pg/boundary.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

extern "C" {
#include "catalog/pg_attribute.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

namespace {

namespace audit = zc::core::audit;

std::vector<std::string> text_array_arg(FunctionCallInfo fcinfo, int n, const char* name)
{
    std::vector<std::string> values;
    if (PG_ARGISNULL(n)) return values;
    ArrayType* array = zc::pg::guard([=] { return PG_GETARG_ARRAYTYPE_P(n); });
    Datum* elements = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    zc::pg::guard([&] { deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count); });
    for (int i = 0; i < count; ++i) {
        if (nulls[i])
            throw zc::Error(zc::sqlstate::null_value_not_allowed,
                            std::string("argument \"") + name + "\" must not contain NULL");
        text* element = reinterpret_cast<text*>(DatumGetPointer(elements[i]));
        text* plain = zc::pg::guard([=] { return pg_detoast_datum_packed(element); });
        values.emplace_back(VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain));
    }
    return values;
}

// Every excluded name must be a live, user column of the table.
void check_columns(const zc::audit::AuditedTable& table, std::vector<std::string>& columns)
{
    for (const std::string& column : columns) {
        const char* name = column.c_str();
        Oid relid = table.relid;
        AttrNumber attnum = zc::pg::guard([=] { return get_attnum(relid, name); });
        if (attnum <= 0)
            throw zc::Error(zc::sqlstate::undefined_column, "argument \"exclude_columns\": column " +
                                                                zc::pg::quote_ident(column) + " of table " +
                                                                table.qualified + " does not exist");
    }
    std::sort(columns.begin(), columns.end());
    columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
}

std::string create_trigger(const std::string& name, const std::string& timing, const zc::audit::AuditedTable& table,
                           const std::string& level, const std::string& args)
{
    return "CREATE TRIGGER " + zc::pg::quote_ident(name) + " " + timing + " ON " + table.qualified + " " + level +
           " EXECUTE FUNCTION zerocut.audit_trigger_function(" + args + ")";
}

void enable(const zc::audit::AuditedTable& table, std::vector<std::string> excluded, audit::Mode mode,
            bool changed_only)
{
    check_columns(table, excluded);
    // Who enabled it: the caller (the config row is written as its owner).
    const char* caller_name = zc::pg::guard([] { return GetUserNameFromId(GetUserId(), false); });
    std::string caller(caller_name);
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    zc::pg::AsExtensionOwner as_extension_owner;
    // The settings as text[] for audit_config, built from the checked names.
    std::string array_literal = "{";
    for (std::size_t i = 0; i < excluded.size(); ++i) {
        std::string escaped;
        for (char c : excluded[i]) {
            if (c == '"' || c == '\\') escaped += '\\';
            escaped += c;
        }
        array_literal += (i ? ",\"" : "\"") + escaped + "\"";
    }
    array_literal += "}";

    std::vector<std::string> wanted;
    if (mode == audit::Mode::row)
        wanted = {audit::row_trigger, audit::truncate_trigger, audit::flush_trigger};
    else
        wanted = {audit::delete_trigger, audit::insert_trigger, audit::truncate_trigger, audit::update_trigger};
    std::sort(wanted.begin(), wanted.end());

    // Unchanged settings and the triggers in place: nothing to do.
    auto same = spi.query_text(
        "SELECT pg_catalog.count(*) FROM zerocut.audit_config WHERE relation = $1::pg_catalog.regclass "
        "AND schema_name = $2 AND table_name = $3 AND mode = $4 AND exclude_columns = $5::text[] "
        "AND changed_only = $6",
        {zc::pg::Param{OIDOID, ObjectIdGetDatum(table.relid)}, zc::pg::text_param(table.schema),
         zc::pg::text_param(table.name), zc::pg::text_param(audit::mode_name(mode)), zc::pg::text_param(array_literal),
         zc::pg::Param{BOOLOID, BoolGetDatum(changed_only)}});
    spi.execute(
        "SELECT tgname::text FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgparentid = 0 "
        "AND tgname::text LIKE 'zerocut\\_audit\\_%' ORDER BY 1",
        {zc::pg::Param{OIDOID, ObjectIdGetDatum(table.relid)}}, true);
    std::vector<std::string> present;
    for (const auto& row : spi.rows_text()) present.push_back(*row[0]);
    // Before the early return: re-running enable_audit() after an owner
    // change lets the new owner add partitions too.
    zc::pg::let_owner_execute(spi, "zerocut.audit_trigger_function()", table.relid);
    if (same == std::optional<std::string>("1") && present == wanted) return;

    pinned.set("client_min_messages", "warning");
    zc::audit::drop_audit_triggers(spi, table);
    audit::TriggerOptions options{changed_only, excluded};
    std::string args;
    for (const std::string& arg : audit::trigger_arguments(options))
        args += (args.empty() ? "" : ", ") + zc::pg::quote_literal(arg);
    if (mode == audit::Mode::row) {
        spi.execute(
            create_trigger(audit::row_trigger, "AFTER INSERT OR UPDATE OR DELETE", table, "FOR EACH ROW", args));
        // Fires after every row trigger of the statement: one INSERT for its rows.
        spi.execute(create_trigger(audit::flush_trigger, "AFTER INSERT OR UPDATE OR DELETE", table,
                                   "FOR EACH STATEMENT", zc::pg::quote_literal("flush=true")));
    } else {
        spi.execute(create_trigger(audit::insert_trigger, "AFTER INSERT", table,
                                   "REFERENCING NEW TABLE AS zerocut_new FOR EACH STATEMENT", args));
        spi.execute(create_trigger(audit::update_trigger, "AFTER UPDATE", table,
                                   "REFERENCING OLD TABLE AS zerocut_old NEW TABLE AS zerocut_new FOR EACH STATEMENT",
                                   args));
        spi.execute(create_trigger(audit::delete_trigger, "AFTER DELETE", table,
                                   "REFERENCING OLD TABLE AS zerocut_old FOR EACH STATEMENT", args));
    }
    spi.execute(create_trigger(audit::truncate_trigger, "AFTER TRUNCATE", table, "FOR EACH STATEMENT", args));
    // Rows of tables dropped while the event trigger did not run go first.
    zc::audit::sync_config(spi);
    zc::audit::write_config(
        spi,
        "INSERT INTO zerocut.audit_config (relation, schema_name, table_name, mode, exclude_columns, changed_only, "
        "enabled_by) VALUES ($1::pg_catalog.regclass, $2, $3, $4, $5::text[], $6, $7) ON CONFLICT (relation) DO "
        "UPDATE SET schema_name = EXCLUDED.schema_name, table_name = EXCLUDED.table_name, mode = EXCLUDED.mode, "
        "exclude_columns = EXCLUDED.exclude_columns, changed_only = EXCLUDED.changed_only, "
        "enabled_at = pg_catalog.now(), enabled_by = EXCLUDED.enabled_by",
        {zc::pg::Param{OIDOID, ObjectIdGetDatum(table.relid)}, zc::pg::text_param(table.schema),
         zc::pg::text_param(table.name), zc::pg::text_param(audit::mode_name(mode)), zc::pg::text_param(array_literal),
         zc::pg::Param{BOOLOID, BoolGetDatum(changed_only)}, zc::pg::text_param(caller)});
}

}  // namespace

ZC_FUNCTION(zc_enable_audit)
{
    zc::pg::require_arg(fcinfo, 0, "tbl");
    zc::pg::require_arg(fcinfo, 2, "mode");
    zc::pg::require_arg(fcinfo, 3, "changed_only");
    Oid relid = PG_GETARG_OID(0);
    std::vector<std::string> excluded = text_array_arg(fcinfo, 1, "exclude_columns");
    std::string mode_text = zc::pg::text_arg(fcinfo, 2);
    auto mode = audit::parse_mode(mode_text);
    if (!mode)
        throw zc::Error(zc::sqlstate::invalid_parameter_value,
                        "argument \"mode\" must be 'row' or 'statement', not " + zc::pg::quote_literal(mode_text));
    bool changed_only = PG_GETARG_BOOL(3);
    zc::audit::AuditedTable table = zc::audit::audited_table(relid, "tbl");
    zc::audit::require_usable_log();  // before anything changes
    enable(table, std::move(excluded), *mode, changed_only);
    PG_RETURN_VOID();
}
