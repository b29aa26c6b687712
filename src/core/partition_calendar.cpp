#include "core/partition_calendar.hpp"

#include <cctype>

#include <fmt/format.h>

namespace zc::core {

int64_t days_from_civil(const CivilDate& date)
{
    int64_t y = date.year - (date.month <= 2 ? 1 : 0);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (date.month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + date.day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

CivilDate civil_from_days(int64_t days)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    return CivilDate{static_cast<int>(y + (m <= 2 ? 1 : 0)), m, d};
}

int weekday(const CivilDate& date)
{
    int64_t days = days_from_civil(date);  // 1970-01-01 was a Thursday (3)
    return static_cast<int>(((days % 7) + 7 + 3) % 7);
}

namespace {

bool leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap(year) ? 29 : days[month - 1];
}

bool all_digits(std::string_view text)
{
    for (char c : text)
        if (c < '0' || c > '9') return false;
    return !text.empty();
}

int to_int(std::string_view text)
{
    int value = 0;
    for (char c : text) value = value * 10 + (c - '0');
    return value;
}

std::string lower_ascii(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

std::optional<CivilDate> parse_iso_date(std::string_view text)
{
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    std::string_view y = text.substr(0, 4), m = text.substr(5, 2), d = text.substr(8, 2);
    if (!all_digits(y) || !all_digits(m) || !all_digits(d)) return std::nullopt;
    CivilDate date{to_int(y), to_int(m), to_int(d)};
    if (date.year < 1 || date.month < 1 || date.month > 12 || date.day < 1 ||
        date.day > days_in_month(date.year, date.month))
        return std::nullopt;
    return date;
}

std::string format_iso_date(const CivilDate& date)
{
    return fmt::format("{:04d}-{:02d}-{:02d}", date.year, date.month, date.day);
}

bool in_supported_range(const CivilDate& date)
{
    return date.year >= 1 && date.year <= 9998;
}

std::optional<Granularity> parse_granularity(std::string_view text)
{
    std::string value = lower_ascii(text);
    if (value == "day") return Granularity::day;
    if (value == "week") return Granularity::week;
    if (value == "month") return Granularity::month;
    if (value == "quarter") return Granularity::quarter;
    if (value == "year") return Granularity::year;
    return std::nullopt;
}

const char* granularity_name(Granularity granularity)
{
    switch (granularity) {
        case Granularity::day:
            return "day";
        case Granularity::week:
            return "week";
        case Granularity::month:
            return "month";
        case Granularity::quarter:
            return "quarter";
        case Granularity::year:
            return "year";
    }
    return "month";
}

CivilDate period_start(const CivilDate& date, Granularity granularity)
{
    switch (granularity) {
        case Granularity::day:
            return date;
        case Granularity::week:
            return civil_from_days(days_from_civil(date) - weekday(date));
        case Granularity::month:
            return CivilDate{date.year, date.month, 1};
        case Granularity::quarter:
            return CivilDate{date.year, (date.month - 1) / 3 * 3 + 1, 1};
        case Granularity::year:
            return CivilDate{date.year, 1, 1};
    }
    return date;
}

CivilDate add_periods(const CivilDate& start, Granularity granularity, int64_t count)
{
    auto add_months = [&](int64_t months) {
        int64_t index = static_cast<int64_t>(start.year) * 12 + (start.month - 1) + months;
        int64_t year = index >= 0 ? index / 12 : (index - 11) / 12;
        return CivilDate{static_cast<int>(year), static_cast<int>(index - year * 12) + 1, 1};
    };
    switch (granularity) {
        case Granularity::day:
            return civil_from_days(days_from_civil(start) + count);
        case Granularity::week:
            return civil_from_days(days_from_civil(start) + 7 * count);
        case Granularity::month:
            return add_months(count);
        case Granularity::quarter:
            return add_months(3 * count);
        case Granularity::year:
            return CivilDate{static_cast<int>(start.year + count), 1, 1};
    }
    return start;
}

std::string period_suffix(const CivilDate& start, Granularity granularity)
{
    switch (granularity) {
        case Granularity::day:
            return fmt::format("{:04d}_{:02d}_{:02d}", start.year, start.month, start.day);
        case Granularity::week: {
            // ISO week: the week's Thursday decides the year.
            CivilDate monday = period_start(start, Granularity::week);
            CivilDate thursday = civil_from_days(days_from_civil(monday) + 3);
            int64_t day_of_year = days_from_civil(thursday) - days_from_civil(CivilDate{thursday.year, 1, 1});
            return fmt::format("{:04d}_w{:02d}", thursday.year, day_of_year / 7 + 1);
        }
        case Granularity::month:
            return fmt::format("{:04d}_{:02d}", start.year, start.month);
        case Granularity::quarter:
            return fmt::format("{:04d}_q{}", start.year, (start.month - 1) / 3 + 1);
        case Granularity::year:
            return fmt::format("{:04d}", start.year);
    }
    return {};
}

std::string partition_name(std::string_view parent, std::string_view suffix)
{
    constexpr size_t max_identifier = 63;
    size_t room = max_identifier - suffix.size() - 1;
    std::string_view head = parent;
    if (head.size() > room) {
        head = head.substr(0, room);
        // Do not cut a UTF-8 sequence: drop continuation bytes and their lead.
        while (!head.empty() && (static_cast<unsigned char>(head.back()) & 0xC0) == 0x80) head.remove_suffix(1);
        if (!head.empty() && (static_cast<unsigned char>(head.back()) & 0x80) != 0) head.remove_suffix(1);
    }
    return std::string(head) + "_" + std::string(suffix);
}

std::optional<RetentionAction> parse_retention_action(std::string_view text)
{
    std::string value = lower_ascii(text);
    if (value == "detach") return RetentionAction::detach;
    if (value == "drop") return RetentionAction::drop;
    if (value == "archive") return RetentionAction::archive;
    return std::nullopt;
}

const char* retention_action_name(RetentionAction action)
{
    switch (action) {
        case RetentionAction::detach:
            return "detach";
        case RetentionAction::drop:
            return "drop";
        case RetentionAction::archive:
            return "archive";
    }
    return "detach";
}

namespace {

// Reads `:kind N` and, for N = 0, `:constvalue L [ b0 ... ]` of one
// PARTITIONRANGEDATUM starting at `pos`.  nullopt in `value` = MIN/MAXVALUE.
bool read_range_datum(std::string_view text, std::optional<int64_t>& value)
{
    size_t kind_pos = text.find(":kind ");
    if (kind_pos == std::string_view::npos) return false;
    std::string_view rest = text.substr(kind_pos + 6);
    if (rest.rfind("0 ", 0) != 0) {
        if (rest.rfind("-1 ", 0) == 0 || rest.rfind("1 ", 0) == 0) {
            value.reset();
            return true;
        }
        return false;
    }
    if (rest.find(":constbyval true") == std::string_view::npos) return false;
    size_t value_pos = rest.find(":constvalue ");
    if (value_pos == std::string_view::npos) return false;
    size_t open = rest.find('[', value_pos);
    size_t close = rest.find(']', value_pos);
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) return false;
    std::string_view bytes = rest.substr(open + 1, close - open - 1);
    uint64_t raw = 0;
    int count = 0;
    size_t i = 0;
    while (i < bytes.size()) {
        while (i < bytes.size() && bytes[i] == ' ') ++i;
        if (i >= bytes.size()) break;
        bool negative = bytes[i] == '-';
        if (negative) ++i;
        int byte = 0;
        size_t digits = 0;
        while (i < bytes.size() && bytes[i] >= '0' && bytes[i] <= '9') {
            byte = byte * 10 + (bytes[i] - '0');
            ++i;
            ++digits;
        }
        if (digits == 0 || byte > 255 || count >= 8) return false;
        if (negative) byte = -byte;
        // Datum bytes as the server printed them, little-endian (x86-64, arm64).
        raw |= static_cast<uint64_t>(static_cast<uint8_t>(byte)) << (8 * count);
        ++count;
    }
    if (count != 8) return false;
    value = static_cast<int64_t>(raw);
    return true;
}

// The text between `open_marker` and its matching ')' (one level of nesting
// in PARTITIONRANGEDATUM lists is all the catalog writes).
std::optional<std::string_view> datum_list(std::string_view text, std::string_view marker)
{
    size_t pos = text.find(marker);
    if (pos == std::string_view::npos) return std::nullopt;
    pos += marker.size();
    if (pos >= text.size() || text[pos] != '(') return std::nullopt;
    int depth = 0;
    for (size_t i = pos; i < text.size(); ++i) {
        if (text[i] == '(' || text[i] == '{') ++depth;
        if (text[i] == ')' || text[i] == '}') --depth;
        if (depth == 0) return text.substr(pos + 1, i - pos - 1);
    }
    return std::nullopt;
}

}  // namespace

std::optional<RangeBound> parse_partition_bound_node(std::string_view text)
{
    if (text.rfind("{PARTITIONBOUNDSPEC ", 0) != 0) return std::nullopt;
    RangeBound bound;
    if (text.find(":is_default true") != std::string_view::npos) {
        bound.is_default = true;
        return bound;
    }
    if (text.find(":strategy r ") == std::string_view::npos) return std::nullopt;
    auto lower = datum_list(text, ":lowerdatums ");
    auto upper = datum_list(text, ":upperdatums ");
    if (!lower || !upper) return std::nullopt;
    auto one_datum = [](std::string_view list) {
        size_t first = list.find("{PARTITIONRANGEDATUM");
        return first != std::string_view::npos &&
               list.find("{PARTITIONRANGEDATUM", first + 1) == std::string_view::npos;
    };
    if (!one_datum(*lower) || !one_datum(*upper)) return std::nullopt;
    if (!read_range_datum(*lower, bound.lower) || !read_range_datum(*upper, bound.upper)) return std::nullopt;
    return bound;
}

bool ranges_overlap(const RangeBound& a, const RangeBound& b)
{
    if (a.is_default || b.is_default) return false;
    bool a_starts_before_b_ends = !a.lower || !b.upper || *a.lower < *b.upper;
    bool b_starts_before_a_ends = !b.lower || !a.upper || *b.lower < *a.upper;
    return a_starts_before_b_ends && b_starts_before_a_ends;
}

int64_t date_value(const CivilDate& date)
{
    return days_from_civil(date) - 10957;
}
int64_t timestamp_value(const CivilDate& date)
{
    return date_value(date) * 86400LL * 1000000LL;
}

namespace {

// One part of a qualified name starting at `pos`; advances past it.
std::optional<std::string> read_name_part(std::string_view text, size_t& pos)
{
    std::string out;
    if (pos < text.size() && text[pos] == '"') {
        for (++pos; pos < text.size(); ++pos) {
            if (text[pos] == '"') {
                if (pos + 1 < text.size() && text[pos + 1] == '"') {
                    out += '"';
                    ++pos;
                    continue;
                }
                ++pos;
                if (out.empty()) return std::nullopt;
                return out;
            }
            out += text[pos];
        }
        return std::nullopt;  // unterminated quote
    }
    while (pos < text.size() && text[pos] != '.') {
        unsigned char c = static_cast<unsigned char>(text[pos]);
        bool ok = std::isalnum(c) || c == '_' || c == '$' || c >= 0x80;
        if (!ok) return std::nullopt;
        if (out.empty() && (std::isdigit(c) || c == '$')) return std::nullopt;
        out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        ++pos;
    }
    if (out.empty()) return std::nullopt;
    return out;
}

}  // namespace

std::optional<QualifiedName> parse_qualified_name(std::string_view text)
{
    size_t pos = 0;
    auto first = read_name_part(text, pos);
    if (!first || first->size() > 63) return std::nullopt;
    if (pos == text.size()) return QualifiedName{std::nullopt, *first};
    if (text[pos] != '.') return std::nullopt;
    ++pos;
    auto second = read_name_part(text, pos);
    if (!second || second->size() > 63 || pos != text.size()) return std::nullopt;
    return QualifiedName{*first, *second};
}

}  // namespace zc::core
