// Pieces of zerocut.get_workspace_dashboard_stats() that need no server:
// exact sums and averages rendered the way PostgreSQL's SUM/AVG and
// json_build_object render them, ISO dates as JSON prints them, and the
// checks of the arguments.  Pure C++ (no postgres.h), unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zc::core {

// p_days: 1..3660 (ten years); NULL and anything else are errors naming it.
inline constexpr int dashboard_min_days = 1;
inline constexpr int dashboard_max_days = 3660;
int check_dashboard_days(std::optional<int> days);

// SUM over numeric values given as numeric_out text ("12.30", "-0.5",
// "NaN", "Infinity", "-Infinity"), as PostgreSQL's numeric SUM computes it:
// exact, the result's scale is the largest input scale, NaN wins, +Inf and
// -Inf together give NaN.  Throws zc::Error (22003) when the exact value
// leaves the 38 digits this accumulator holds.
class NumericSum {
public:
    void add(std::string_view numeric_text);
    bool empty() const { return count_ == 0; }
    // numeric_out text of the sum; "0" when nothing was added (the seed's
    // COALESCE(SUM(x), 0)).
    std::string text() const;

private:
    __int128 unscaled_ = 0;  // value * 10^scale_
    int scale_ = 0;
    int64_t count_ = 0;
    bool nan_ = false;
    bool plus_infinity_ = false;
    bool minus_infinity_ = false;
};

// Exact integer sum (SUM over bigint is numeric in PostgreSQL, so it cannot
// overflow there; 128 bits hold any sum of 2^64 bigints).
std::string int128_text(__int128 value);

// AVG over integers as PostgreSQL computes it: numeric_div(sum, count),
// with its result scale (select_div_scale: 16 significant digits, at least
// the inputs' scale 0) and rounding half away from zero.  "0" for count 0
// (the seed's COALESCE(AVG(x), 0)).
std::string integer_average_text(int64_t sum, int64_t count);

// A numeric_out text as a JSON value: numbers as they are, NaN and the
// infinities as JSON strings (what json_build_object does).
std::string json_numeric(std::string_view numeric_text);

// A PostgreSQL date (days since 2000-01-01; INT32_MIN / INT32_MAX are
// -infinity / infinity) as json_build_object writes it, with the quotes:
// "2026-11-25", "0044-03-15 BC", "infinity".
std::string json_date(int32_t days_since_2000);

}  // namespace zc::core
