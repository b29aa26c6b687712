#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <string>

#include "core/dashboard_json.hpp"
#include "core/errors.hpp"

using namespace zc::core;

namespace {
std::string sqlstate_of(std::optional<int> days)
{
    try {
        check_dashboard_days(days);
    } catch (const zc::Error& e) {
        return std::string(e.sqlstate()) + " " + e.what();
    }
    return "ok";
}

std::string sum_of(std::initializer_list<const char*> values)
{
    NumericSum sum;
    for (const char* v : values) sum.add(v);
    return sum.text();
}
}  // namespace

TEST(DashboardJson, DaysRange)
{
    EXPECT_EQ(check_dashboard_days(1), 1);
    EXPECT_EQ(check_dashboard_days(3660), 3660);
    EXPECT_EQ(sqlstate_of(std::nullopt), "22004 argument \"p_days\" must not be NULL");
    EXPECT_EQ(sqlstate_of(0), "22023 argument \"p_days\" must be between 1 and 3660, got 0");
    EXPECT_EQ(sqlstate_of(3661), "22023 argument \"p_days\" must be between 1 and 3660, got 3661");
    EXPECT_EQ(sqlstate_of(INT_MIN), "22023 argument \"p_days\" must be between 1 and 3660, got -2147483648");
}

// Expected texts are PostgreSQL 15's own: SELECT (s::numeric / c::numeric)::text.
TEST(DashboardJson, AverageMatchesNumericDiv)
{
    EXPECT_EQ(integer_average_text(30, 2), "15.0000000000000000");
    EXPECT_EQ(integer_average_text(0, 1), "0.00000000000000000000");
    EXPECT_EQ(integer_average_text(6, 3), "2.0000000000000000");
    EXPECT_EQ(integer_average_text(77890, 31), "2512.5806451612903226");
    EXPECT_EQ(integer_average_text(1, 3), "0.33333333333333333333");
    EXPECT_EQ(integer_average_text(2, 3), "0.66666666666666666667");
    EXPECT_EQ(integer_average_text(-2, 3), "-0.66666666666666666667");
    EXPECT_EQ(integer_average_text(-1, 3), "-0.33333333333333333333");
    EXPECT_EQ(integer_average_text(5, 1), "5.0000000000000000");
    EXPECT_EQ(integer_average_text(12345678901234, 7), "1763668414462.0000");
    EXPECT_EQ(integer_average_text(INT64_MAX, 1), "9223372036854775807");
    EXPECT_EQ(integer_average_text(-INT64_MAX, 3), "-3074457345618258602");
    EXPECT_EQ(integer_average_text(1, INT64_MAX), "0.000000000000000000108420217248550443");
    EXPECT_EQ(integer_average_text(99999, 100000), "0.99999000000000000000");
    EXPECT_EQ(integer_average_text(1, 10000), "0.000100000000000000000000");
    EXPECT_EQ(integer_average_text(9999, 1), "9999.0000000000000000");
}

TEST(DashboardJson, AverageOfNothingIsTheSeedsZero)
{
    EXPECT_EQ(integer_average_text(0, 0), "0");
}

TEST(DashboardJson, NumericSumKeepsTheLargestScale)
{
    EXPECT_EQ(sum_of({}), "0");
    EXPECT_EQ(sum_of({"1.5", "-1.50", "0.001"}), "0.001");
    EXPECT_EQ(sum_of({"12.30", "0.70"}), "13.00");
    EXPECT_EQ(sum_of({"1.00", "-1.00"}), "0.00");
    EXPECT_EQ(sum_of({"-0.25", "0.05"}), "-0.20");
    EXPECT_EQ(sum_of({"7"}), "7");
    EXPECT_EQ(sum_of({"99999999.99", "99999999.99", "0.02"}), "200000000.00");
}

TEST(DashboardJson, NumericSumSpecialValues)
{
    EXPECT_EQ(sum_of({"1.00", "NaN"}), "NaN");
    EXPECT_EQ(sum_of({"Infinity", "2"}), "Infinity");
    EXPECT_EQ(sum_of({"-Infinity", "2"}), "-Infinity");
    EXPECT_EQ(sum_of({"Infinity", "-Infinity"}), "NaN");
}

TEST(DashboardJson, NumericSumRefusesWhatItCannotHold)
{
    NumericSum sum;
    EXPECT_THROW(sum.add("1.00000000000000000000000000000000000000000"), zc::Error);
    NumericSum big;
    big.add("99999999999999999999999999999999999999");
    EXPECT_THROW(big.add("99999999999999999999999999999999999999"), zc::Error);
    NumericSum bad;
    EXPECT_THROW(bad.add("1e5"), zc::Error);
    EXPECT_THROW(bad.add("1."), zc::Error);
    EXPECT_THROW(bad.add(""), zc::Error);
}

TEST(DashboardJson, Int128Text)
{
    EXPECT_EQ(int128_text(0), "0");
    EXPECT_EQ(int128_text(static_cast<__int128>(INT64_MAX) * 4), "36893488147419103228");
    EXPECT_EQ(int128_text(-42), "-42");
}

TEST(DashboardJson, NumericAsJson)
{
    EXPECT_EQ(json_numeric("12.30"), "12.30");
    EXPECT_EQ(json_numeric("-0.5"), "-0.5");
    EXPECT_EQ(json_numeric("NaN"), "\"NaN\"");
    EXPECT_EQ(json_numeric("Infinity"), "\"Infinity\"");
    EXPECT_EQ(json_numeric("-Infinity"), "\"-Infinity\"");
}

// Expected texts from PostgreSQL: json_build_object('d', date).
TEST(DashboardJson, DatesAsJsonWritesThem)
{
    EXPECT_EQ(json_date(0), "\"2000-01-01\"");
    EXPECT_EQ(json_date(59), "\"2000-02-29\"");
    EXPECT_EQ(json_date(-36466), "\"1900-02-28\"");
    EXPECT_EQ(json_date(-746117), "\"0044-03-15 BC\"");
    EXPECT_EQ(json_date(2145031948), "\"5874897-12-31\"");
    EXPECT_EQ(json_date(INT32_MAX), "\"infinity\"");
    EXPECT_EQ(json_date(INT32_MIN), "\"-infinity\"");
    EXPECT_EQ(json_date(9825), "\"2026-11-25\"");
}
