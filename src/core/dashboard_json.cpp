#include "core/dashboard_json.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "core/errors.hpp"

namespace zc::core {

namespace {

// PostgreSQL's numeric: base-10000 digits, at least 16 significant digits
// in a quotient, display scale at most 1000 (numeric.c).
constexpr int dec_digits = 4;
constexpr int min_sig_digits = 16;
constexpr int max_display_scale = 1000;
constexpr int max_scale = 37;  // 10^37 still fits a signed 128-bit integer

[[noreturn]] void out_of_range()
{
    throw Error(sqlstate::numeric_value_out_of_range,
                "dashboard sum has more digits than the 38 zerocut's accumulator holds");
}

__int128 power_of_ten(int exponent)
{
    __int128 result = 1;
    for (int i = 0; i < exponent; ++i) result *= 10;
    return result;
}

__int128 rescale(__int128 value, int from_scale, int to_scale)
{
    __int128 result;
    if (__builtin_mul_overflow(value, power_of_ten(to_scale - from_scale), &result)) out_of_range();
    return result;
}

std::string unsigned_text(unsigned __int128 value)
{
    if (value == 0) return "0";
    std::string digits;
    while (value > 0) {
        digits.push_back(static_cast<char>('0' + static_cast<int>(value % 10)));
        value /= 10;
    }
    std::reverse(digits.begin(), digits.end());
    return digits;
}

unsigned __int128 magnitude(__int128 value)
{
    return value < 0 ? static_cast<unsigned __int128>(-(value + 1)) + 1 : static_cast<unsigned __int128>(value);
}

// Weight and first digit of |value| in base 10000, as numeric.c's
// select_div_scale() reads them (0 and 0 for zero).
void base10000_lead(unsigned __int128 value, int& weight, unsigned& first_digit)
{
    weight = 0;
    first_digit = 0;
    if (value == 0) return;
    while (value >= 10000) {
        value /= 10000;
        ++weight;
    }
    first_digit = static_cast<unsigned>(value);
}

}  // namespace

int check_dashboard_days(std::optional<int> days)
{
    if (!days) throw Error(sqlstate::null_value_not_allowed, "argument \"p_days\" must not be NULL");
    if (*days < dashboard_min_days || *days > dashboard_max_days)
        throw Error(sqlstate::invalid_parameter_value,
                    fmt::format("argument \"p_days\" must be between {} and {}, got {}", dashboard_min_days,
                                dashboard_max_days, *days));
    return *days;
}

void NumericSum::add(std::string_view text)
{
    ++count_;
    if (text == "NaN") {
        nan_ = true;
        return;
    }
    if (text == "Infinity") {
        plus_infinity_ = true;
        return;
    }
    if (text == "-Infinity") {
        minus_infinity_ = true;
        return;
    }
    bool negative = !text.empty() && text.front() == '-';
    std::string_view digits = negative ? text.substr(1) : text;
    std::size_t point = digits.find('.');
    std::string_view integer = digits.substr(0, point);
    std::string_view fraction = point == std::string_view::npos ? std::string_view() : digits.substr(point + 1);
    auto all_digits = [](std::string_view s) {
        return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (integer.empty() || !all_digits(integer) || !all_digits(fraction) ||
        (point != std::string_view::npos && fraction.empty()))
        throw Error(sqlstate::internal_error, fmt::format("unexpected numeric text \"{}\"", text));
    int scale = static_cast<int>(fraction.size());
    if (scale > max_scale) out_of_range();
    __int128 value = 0;
    for (std::string_view part : {integer, fraction})
        for (char c : part)
            if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, c - '0', &value))
                out_of_range();
    if (negative) value = -value;
    if (scale > scale_) {
        unscaled_ = rescale(unscaled_, scale_, scale);
        scale_ = scale;
    } else {
        value = rescale(value, scale, scale_);
    }
    if (__builtin_add_overflow(unscaled_, value, &unscaled_)) out_of_range();
}

std::string NumericSum::text() const
{
    if (count_ == 0) return "0";
    if (nan_ || (plus_infinity_ && minus_infinity_)) return "NaN";
    if (plus_infinity_) return "Infinity";
    if (minus_infinity_) return "-Infinity";
    std::string digits = unsigned_text(magnitude(unscaled_));
    if (scale_ > 0) {
        if (digits.size() <= static_cast<std::size_t>(scale_))
            digits.insert(0, static_cast<std::size_t>(scale_) + 1 - digits.size(), '0');
        digits.insert(digits.size() - static_cast<std::size_t>(scale_), 1, '.');
    }
    return (unscaled_ < 0 ? "-" : "") + digits;
}

std::string int128_text(__int128 value)
{
    return (value < 0 ? "-" : "") + unsigned_text(magnitude(value));
}

std::string integer_average_text(int64_t sum, int64_t count)
{
    if (count == 0) return "0";
    if (count < 0) throw Error(sqlstate::internal_error, "negative row count");
    unsigned __int128 dividend = magnitude(sum);
    auto divisor = static_cast<unsigned __int128>(count);

    // select_div_scale(): estimate the quotient's weight, keep 16 significant digits.
    int weight1, weight2;
    unsigned first1, first2;
    base10000_lead(dividend, weight1, first1);
    base10000_lead(divisor, weight2, first2);
    int quotient_weight = weight1 - weight2;
    if (first1 <= first2) --quotient_weight;
    int scale = min_sig_digits - quotient_weight * dec_digits;
    scale = std::clamp(scale, 0, max_display_scale);

    // Long division to scale digits, then one more to round half away from zero.
    std::string digits = unsigned_text(dividend / divisor);
    std::size_t integer_digits = digits.size();
    unsigned __int128 remainder = dividend % divisor;
    for (int i = 0; i <= scale; ++i) {
        remainder *= 10;
        digits.push_back(static_cast<char>('0' + static_cast<int>(remainder / divisor)));
        remainder %= divisor;
    }
    bool round_up = digits.back() >= '5';
    digits.pop_back();
    if (round_up) {
        std::size_t i = digits.size();
        while (i > 0 && digits[i - 1] == '9') digits[--i] = '0';
        if (i == 0) {
            digits.insert(0, 1, '1');
            ++integer_digits;
        } else {
            ++digits[i - 1];
        }
    }
    bool zero = std::all_of(digits.begin(), digits.end(), [](char c) { return c == '0'; });
    if (scale > 0) digits.insert(integer_digits, 1, '.');
    return (sum < 0 && !zero ? "-" : "") + digits;
}

std::string json_numeric(std::string_view text)
{
    bool number = !text.empty() && ((text[0] >= '0' && text[0] <= '9') ||
                                    (text[0] == '-' && text.size() > 1 && text[1] >= '0' && text[1] <= '9'));
    return number ? std::string(text) : fmt::format("\"{}\"", text);
}

std::string json_date(int32_t days_since_2000)
{
    if (days_since_2000 == INT32_MIN) return "\"-infinity\"";
    if (days_since_2000 == INT32_MAX) return "\"infinity\"";
    // Howard Hinnant's civil_from_days (proleptic Gregorian, year 0 = 1 BC),
    // the calendar of PostgreSQL's j2date().
    int64_t z = int64_t{days_since_2000} + 10957 + 719468;  // days since 0000-03-01
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t day_of_era = z - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t year = year_of_era + era * 400;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153;
    int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
    int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
    if (month <= 2) ++year;
    // EncodeDateOnly(USE_XSD_DATES): 4+ digit year, "BC" suffix for year <= 0.
    if (year > 0) return fmt::format("\"{:04}-{:02}-{:02}\"", year, month, day);
    return fmt::format("\"{:04}-{:02}-{:02} BC\"", 1 - year, month, day);
}

}  // namespace zc::core
