// Pure logic of the audit trigger (no postgres.h): the options carried by
// the trigger's arguments, the redaction column list of the GUC
// zerocut.audit_redact_columns, and the names of the triggers enable_audit()
// manages.  (The acting user, app.current_user_id: core/app_user.hpp.)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zc::core::audit {

enum class Mode { row, statement };

// What the trigger's arguments say.  No arguments: the defaults of
// enable_audit() (changed_only, nothing excluded).
struct TriggerOptions {
    bool changed_only = true;
    std::vector<std::string> excluded;  // column names, exact
    // The statement-level companion of a row-mode trigger: writes the rows
    // the row trigger buffered during the statement, in one INSERT.
    bool flush = false;
};

// Arguments as written by trigger_arguments(): "changed_only=true|false",
// one "exclude=<column>" per excluded column, and "flush=true".  Throws zc::Error (22023) on
// anything else, naming the argument.
TriggerOptions parse_trigger_arguments(const std::vector<std::string>& args);
std::vector<std::string> trigger_arguments(const TriggerOptions& options);

// "row" / "statement"; nullopt otherwise.
std::optional<Mode> parse_mode(std::string_view text);
const char* mode_name(Mode mode);

// The GUC's value: a comma-separated list of column names, like
// search_path: unquoted names are folded to lower case, "Quoted" ones kept
// as written; blanks around names ignored, empty entries skipped.  nullopt
// when the list is malformed (unterminated quote, junk after a quote).
std::optional<std::vector<std::string>> parse_column_list(std::string_view text);

// The names of the triggers enable_audit() creates.
inline constexpr const char* row_trigger = "zerocut_audit_row";
inline constexpr const char* insert_trigger = "zerocut_audit_insert";
inline constexpr const char* update_trigger = "zerocut_audit_update";
inline constexpr const char* delete_trigger = "zerocut_audit_delete";
inline constexpr const char* truncate_trigger = "zerocut_audit_truncate";
inline constexpr const char* flush_trigger =
    "zerocut_audit_zz_flush";  // sorts last: fires after user statement triggers
inline constexpr const char* redacted_marker = "[redacted]";

// "<table> record created|updated|deleted" / "<table> truncated".
std::string log_message(std::string_view table, std::string_view operation);

}  // namespace zc::core::audit
