#include "core/cron_schedule.hpp"

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/partition_calendar.hpp"

namespace zc::core::cron {

namespace {

[[noreturn]] void invalid(std::string_view schedule, const std::string& why)
{
    throw Error(sqlstate::invalid_parameter_value, "invalid cron schedule \"" + std::string(schedule) + "\": " + why,
                "",
                "Use five fields (minute hour day-of-month month day-of-week, e.g. '0 3 * * *'), a shortcut "
                "such as '@daily', or 'N seconds' (1-59, pg_cron 1.5 or later).");
}

std::string lower(std::string_view text)
{
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return text;
}

constexpr std::array<const char*, 12> month_names = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 7> weekday_names = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// One of the five fields: which values it allows.
struct FieldSpec {
    const char* name;
    int low;
    int high;
    const char* const* names;  // names[i] stands for low + i (nullptr: numbers only)
    int name_count;
};

struct Field {
    std::bitset<64> values;
    bool star = false;      // the field starts with '*' (cron's DOM_STAR / DOW_STAR)
    bool last_day = false;  // '$': the month's last day
};

int parse_value(std::string_view schedule, std::string_view text, const FieldSpec& spec)
{
    if (text.empty()) invalid(schedule, std::string("empty value in the ") + spec.name + " field");
    if (std::isdigit(static_cast<unsigned char>(text.front()))) {
        if (text.size() > 4 || !std::all_of(text.begin(), text.end(),
                                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
            invalid(schedule,
                    std::string("\"") + std::string(text) + "\" is not a number in the " + spec.name + " field");
        int value = std::stoi(std::string(text));
        if (value < spec.low || value > spec.high)
            invalid(schedule, std::string(spec.name) + " " + std::to_string(value) + " is out of range " +
                                  std::to_string(spec.low) + "-" + std::to_string(spec.high));
        return value;
    }
    std::string name = lower(text);
    for (int i = 0; i < spec.name_count; ++i)
        if (name == spec.names[i]) return spec.low + i;
    invalid(schedule, std::string("\"") + std::string(text) + "\" is not a valid " + spec.name);
}

Field parse_field(std::string_view schedule, std::string_view text, const FieldSpec& spec, bool allow_last_day)
{
    Field field;
    field.star = !text.empty() && text.front() == '*';
    size_t start = 0;
    while (true) {
        size_t comma = text.find(',', start);
        std::string_view item =
            text.substr(start, comma == std::string_view::npos ? text.size() - start : comma - start);
        if (item == "$" && allow_last_day) {
            field.last_day = true;
        } else {
            size_t slash = item.find('/');
            std::string_view range = item.substr(0, slash);
            int first = spec.low;
            int last = spec.high;
            bool single = false;
            if (range != "*") {
                size_t dash = range.find('-');
                first = parse_value(schedule, range.substr(0, dash), spec);
                if (dash == std::string_view::npos) {
                    last = first;
                    single = true;
                } else {
                    last = parse_value(schedule, range.substr(dash + 1), spec);
                    if (last < first)
                        invalid(schedule, std::string("range ") + std::string(range) + " in the " + spec.name +
                                              " field runs backwards");
                }
            }
            int step = 1;
            if (slash != std::string_view::npos) {
                std::string_view step_text = item.substr(slash + 1);
                if (step_text.empty() || step_text.size() > 4 ||
                    !std::all_of(step_text.begin(), step_text.end(),
                                 [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
                    invalid(schedule, std::string("step \"") + std::string(step_text) + "\" in the " + spec.name +
                                          " field is not a number");
                step = std::stoi(std::string(step_text));
                if (step < 1) invalid(schedule, std::string("step 0 in the ") + spec.name + " field");
                if (single) last = spec.high;  // "N/step": from N to the end
            }
            for (int value = first; value <= last; value += step) field.values.set(static_cast<size_t>(value));
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return field;
}

std::optional<int64_t> shortcut(std::string_view schedule, const std::string& name)
{
    constexpr int64_t hour = 3600;
    constexpr int64_t day = 24 * hour;
    if (name == "@hourly") return hour;
    if (name == "@daily" || name == "@midnight") return day;
    if (name == "@weekly") return 7 * day;
    if (name == "@monthly") return 31 * day;
    if (name == "@yearly" || name == "@annually") return 366 * day;
    if (name == "@reboot") return std::nullopt;
    invalid(schedule, "unknown shortcut " + name);
}

// 'N seconds' / 'N second'; nullopt when the text is not of that form.
std::optional<int64_t> seconds_interval(std::string_view schedule, std::string_view text)
{
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0) return std::nullopt;
    std::string unit = lower(trim(text.substr(digits)));
    if (unit != "second" && unit != "seconds") return std::nullopt;
    if (digits > 2) invalid(schedule, "pg_cron runs interval jobs every 1 to 59 seconds");
    int seconds = std::stoi(std::string(text.substr(0, digits)));
    if (seconds < 1 || seconds > 59) invalid(schedule, "pg_cron runs interval jobs every 1 to 59 seconds");
    return seconds;
}

}  // namespace

std::optional<int64_t> longest_gap_seconds(std::string_view schedule)
{
    std::string_view text = trim(schedule);
    if (text.empty()) invalid(schedule, "it is empty");
    if (text.front() == '@') return shortcut(schedule, lower(text));
    if (auto seconds = seconds_interval(schedule, text)) return seconds;

    std::vector<std::string_view> fields;
    size_t pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
        size_t end = pos;
        while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
        if (end > pos) fields.push_back(text.substr(pos, end - pos));
        pos = end;
    }
    if (fields.size() != 5) invalid(schedule, "it has " + std::to_string(fields.size()) + " fields, cron needs 5");

    const FieldSpec minute_spec{"minute", 0, 59, nullptr, 0};
    const FieldSpec hour_spec{"hour", 0, 23, nullptr, 0};
    const FieldSpec day_spec{"day of month", 1, 31, nullptr, 0};
    const FieldSpec month_spec{"month", 1, 12, month_names.data(), 12};
    const FieldSpec weekday_spec{"day of week", 0, 7, weekday_names.data(), 7};
    Field minutes = parse_field(schedule, fields[0], minute_spec, false);
    Field hours = parse_field(schedule, fields[1], hour_spec, false);
    Field days = parse_field(schedule, fields[2], day_spec, true);
    Field months = parse_field(schedule, fields[3], month_spec, false);
    Field weekdays = parse_field(schedule, fields[4], weekday_spec, false);
    if (weekdays.values.test(7)) weekdays.values.set(0);  // 7 is Sunday too

    // The runs of one day, in minutes after midnight.
    std::vector<int> day_minutes;
    for (int h = 0; h < 24; ++h)
        if (hours.values.test(static_cast<size_t>(h)))
            for (int m = 0; m < 60; ++m)
                if (minutes.values.test(static_cast<size_t>(m))) day_minutes.push_back(h * 60 + m);
    int longest_in_day = 0;
    for (size_t i = 1; i < day_minutes.size(); ++i)
        longest_in_day = std::max(longest_in_day, day_minutes[i] - day_minutes[i - 1]);

    // Walk 32 years of days (every leap-year case and every weekday of every
    // date occur): the longest gap between consecutive runs.
    bool both_restricted = !days.star && !weekdays.star;
    const int64_t first_day = days_from_civil({2000, 1, 1});
    const int64_t end_day = days_from_civil({2032, 1, 1});
    std::optional<int64_t> previous_day;
    int64_t longest = 0;
    int64_t runs = 0;
    for (int64_t day = first_day; day < end_day; ++day) {
        CivilDate date = civil_from_days(day);
        if (!months.values.test(static_cast<size_t>(date.month))) continue;
        bool last_of_month = civil_from_days(day + 1).day == 1;
        bool day_matches = days.values.test(static_cast<size_t>(date.day)) || (days.last_day && last_of_month);
        bool weekday_matches = weekdays.values.test(static_cast<size_t>((weekday(date) + 1) % 7));
        if (!(both_restricted ? (day_matches || weekday_matches) : (day_matches && weekday_matches))) continue;
        if (previous_day)
            longest = std::max(longest, (day - *previous_day) * 1440 - day_minutes.back() + day_minutes.front());
        longest = std::max<int64_t>(longest, longest_in_day);
        runs += static_cast<int64_t>(day_minutes.size());
        previous_day = day;
    }
    if (runs < 2) return std::nullopt;
    return longest * 60;
}

}  // namespace zc::core::cron
