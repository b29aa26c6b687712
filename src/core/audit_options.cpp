#include "core/audit_options.hpp"

#include <cctype>

#include "core/errors.hpp"

namespace zc::core::audit {

namespace {
constexpr std::string_view changed_only_prefix = "changed_only=";
constexpr std::string_view exclude_prefix = "exclude=";
constexpr std::string_view flush_argument = "flush=true";

bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
}  // namespace

TriggerOptions parse_trigger_arguments(const std::vector<std::string>& args)
{
    TriggerOptions options;
    for (const std::string& arg : args) {
        std::string_view view(arg);
        if (view == flush_argument) {
            options.flush = true;
        } else if (view.substr(0, changed_only_prefix.size()) == changed_only_prefix) {
            std::string_view value = view.substr(changed_only_prefix.size());
            if (value == "true")
                options.changed_only = true;
            else if (value == "false")
                options.changed_only = false;
            else
                throw Error(sqlstate::invalid_parameter_value, "audit trigger argument \"" + arg + "\" is invalid",
                            "changed_only must be true or false");
        } else if (view.substr(0, exclude_prefix.size()) == exclude_prefix && view.size() > exclude_prefix.size()) {
            options.excluded.emplace_back(view.substr(exclude_prefix.size()));
        } else {
            throw Error(sqlstate::invalid_parameter_value, "audit trigger argument \"" + arg + "\" is invalid",
                        "arguments are changed_only=true|false, exclude=<column> and flush=true",
                        "Use zerocut.enable_audit() to create the audit triggers.");
        }
    }
    return options;
}

std::vector<std::string> trigger_arguments(const TriggerOptions& options)
{
    std::vector<std::string> args;
    args.push_back(std::string(changed_only_prefix) + (options.changed_only ? "true" : "false"));
    for (const std::string& column : options.excluded) args.push_back(std::string(exclude_prefix) + column);
    if (options.flush) args.emplace_back(flush_argument);
    return args;
}

std::optional<Mode> parse_mode(std::string_view text)
{
    if (text == "row") return Mode::row;
    if (text == "statement") return Mode::statement;
    return std::nullopt;
}

const char* mode_name(Mode mode)
{
    return mode == Mode::row ? "row" : "statement";
}

std::optional<std::vector<std::string>> parse_column_list(std::string_view text)
{
    std::vector<std::string> names;
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (true) {
        while (i < n && is_blank(text[i])) ++i;
        if (i >= n) break;
        std::string name;
        if (text[i] == ',') {  // empty entry
            ++i;
            continue;
        }
        if (text[i] == '"') {
            ++i;
            bool closed = false;
            while (i < n) {
                if (text[i] == '"') {
                    if (i + 1 < n && text[i + 1] == '"') {
                        name += '"';
                        i += 2;
                        continue;
                    }
                    closed = true;
                    ++i;
                    break;
                }
                name += text[i++];
            }
            if (!closed || name.empty()) return std::nullopt;
        } else {
            while (i < n && text[i] != ',' && !is_blank(text[i])) {
                if (text[i] == '"') return std::nullopt;
                name += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
                ++i;
            }
        }
        while (i < n && is_blank(text[i])) ++i;
        if (i < n && text[i] != ',') return std::nullopt;
        if (i < n) ++i;
        names.push_back(std::move(name));
    }
    return names;
}

std::string log_message(std::string_view table, std::string_view operation)
{
    std::string message(table);
    if (operation == "INSERT") return message + " record created";
    if (operation == "UPDATE") return message + " record updated";
    if (operation == "DELETE") return message + " record deleted";
    return message + " truncated";
}

}  // namespace zc::core::audit
