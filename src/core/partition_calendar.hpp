// Pure calendar and bound logic of the partition manager (no postgres.h):
// periods of a granularity, partition names, the text of partition bounds,
// qualified-name parsing.  Unit-tested in test/unit/partition_calendar_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zc::core {

// A proleptic Gregorian date, years 1..9999.
struct CivilDate {
    int year = 1970;
    int month = 1;
    int day = 1;
    bool operator==(const CivilDate&) const = default;
    auto operator<=>(const CivilDate&) const = default;
};

// Days since 1970-01-01 and back (Howard Hinnant's algorithms).
int64_t days_from_civil(const CivilDate& date);
CivilDate civil_from_days(int64_t days);
// 0 = Monday ... 6 = Sunday.
int weekday(const CivilDate& date);

// "YYYY-MM-DD" (ISO, as PostgreSQL prints a date) -> date; nullopt otherwise.
std::optional<CivilDate> parse_iso_date(std::string_view text);
std::string format_iso_date(const CivilDate& date);
// Years a partition bound may use (lexical order of ISO text == time order).
bool in_supported_range(const CivilDate& date);

enum class Granularity { day, week, month, quarter, year };
std::optional<Granularity> parse_granularity(std::string_view text);
const char* granularity_name(Granularity granularity);

// The first day of the period containing `date` (weeks start on Monday).
CivilDate period_start(const CivilDate& date, Granularity granularity);
// The first day of the period `count` periods after the one starting at `start`
// (negative counts go back).  `start` must be a period start.
CivilDate add_periods(const CivilDate& start, Granularity granularity, int64_t count);
// Suffix naming the period that starts at `start`:
// day 2024_01_31, week 2024_w05 (ISO week), month 2024_01, quarter 2024_q1, year 2024.
std::string period_suffix(const CivilDate& start, Granularity granularity);

// "<parent>_<suffix>", the parent part shortened (on a UTF-8 character
// boundary) so the whole fits PostgreSQL's 63-byte identifiers.
std::string partition_name(std::string_view parent, std::string_view suffix);

enum class RetentionAction { detach, drop, archive };
std::optional<RetentionAction> parse_retention_action(std::string_view text);
const char* retention_action_name(RetentionAction action);

// A partition bound of a one-column RANGE partition, read from the
// catalog's node text (pg_class.relpartbound::text).  Values are the key's
// internal integer: days since 2000-01-01 for date, microseconds since
// 2000-01-01 00:00 (UTC for timestamptz) for timestamp/timestamptz.
struct RangeBound {
    bool is_default = false;
    std::optional<int64_t> lower;  // nullopt: MINVALUE
    std::optional<int64_t> upper;  // nullopt: MAXVALUE
};
// nullopt for anything else: LIST/HASH bounds, several key columns,
// by-reference values, malformed text.
std::optional<RangeBound> parse_partition_bound_node(std::string_view node_text);

// Whether [a.lower, a.upper) and [b.lower, b.upper) intersect (nullopt = -inf / +inf).
bool ranges_overlap(const RangeBound& a, const RangeBound& b);

// The internal value of midnight at the start of `date` (date and timestamp keys).
int64_t date_value(const CivilDate& date);
int64_t timestamp_value(const CivilDate& date);

// A relation name as SQL writes it: `name`, `schema.name`, either part
// double-quoted ("My ""odd"" name"); unquoted parts are lower-cased.
// nullopt when the text is not a valid name (empty parts, stray quotes, spaces,
// more than two parts, longer than 63 bytes).
struct QualifiedName {
    std::optional<std::string> schema;
    std::string name;
};
std::optional<QualifiedName> parse_qualified_name(std::string_view text);

}  // namespace zc::core

namespace zc::core {
}  // namespace zc::core
