#include <gtest/gtest.h>

#include "core/cron_schedule.hpp"
#include "core/errors.hpp"

using zc::core::cron::longest_gap_seconds;

namespace {
constexpr int64_t minute = 60;
constexpr int64_t hour = 3600;
constexpr int64_t day = 86400;
}  // namespace

TEST(CronSchedule, FiveFields)
{
    EXPECT_EQ(longest_gap_seconds("* * * * *"), minute);
    EXPECT_EQ(longest_gap_seconds("*/5 * * * *"), 5 * minute);
    EXPECT_EQ(longest_gap_seconds("0 * * * *"), hour);
    EXPECT_EQ(longest_gap_seconds("5 * * * *"), hour);
    EXPECT_EQ(longest_gap_seconds("0 3 * * *"), day);
    EXPECT_EQ(longest_gap_seconds("30 2 * * *"), day);
    EXPECT_EQ(longest_gap_seconds("0 4 * * 0"), 7 * day);
    EXPECT_EQ(longest_gap_seconds("0 4 * * 7"), 7 * day);
    EXPECT_EQ(longest_gap_seconds("0 4 * * sun"), 7 * day);
    EXPECT_EQ(longest_gap_seconds("  0   3  *  *  *  "), day);
}

TEST(CronSchedule, UnevenSchedulesGiveTheLongestGap)
{
    // 00:00 and 06:00: the gap from 06:00 to the next midnight is 18 hours.
    EXPECT_EQ(longest_gap_seconds("0 0,6 * * *"), 18 * hour);
    // Weekdays at 09:00: Friday to Monday.
    EXPECT_EQ(longest_gap_seconds("0 9 * * 1-5"), 3 * day);
    EXPECT_EQ(longest_gap_seconds("0 9 * * MON-FRI"), 3 * day);
    // Every 20 minutes from minute 10: 10, 30, 50, then 10 past the next hour.
    EXPECT_EQ(longest_gap_seconds("10/20 * * * *"), 20 * minute);
    EXPECT_EQ(longest_gap_seconds("0-10 * * * *"), 50 * minute);
    // Monthly on the 1st: the longest month has 31 days.
    EXPECT_EQ(longest_gap_seconds("0 2 1 * *"), 31 * day);
    // The 31st: only 7 months have one (July to August: 31 days, August
    // 31st to October 31st: 61 days).
    EXPECT_EQ(longest_gap_seconds("0 0 31 * *"), 61 * day);
    // February 29th: every 4 years.
    EXPECT_EQ(longest_gap_seconds("0 0 29 2 *"), (4 * 365 + 1) * day);
    // Day of month and day of week both restricted: either matches (the
    // 1st, or any Monday): at most 7 days apart.
    EXPECT_EQ(longest_gap_seconds("0 0 1 * 1"), 7 * day);
    // A starred day of month (*/2) keeps both conditions: odd days that are
    // Mondays.  Gaps vary; they never exceed a few weeks.
    ASSERT_TRUE(longest_gap_seconds("0 0 */2 * 1").has_value());
    EXPECT_GT(*longest_gap_seconds("0 0 */2 * 1"), 7 * day);
    // The month's last day (pg_cron 1.5+).
    EXPECT_EQ(longest_gap_seconds("0 0 $ * *"), 31 * day);
    // January and July, daily: July 31st to January 1st is the longer pause.
    EXPECT_EQ(longest_gap_seconds("0 12 * jan,jul *"), (1 + 31 + 30 + 31 + 30 + 31) * day);
}

TEST(CronSchedule, ShortcutsAndSeconds)
{
    EXPECT_EQ(longest_gap_seconds("@hourly"), hour);
    EXPECT_EQ(longest_gap_seconds("@daily"), day);
    EXPECT_EQ(longest_gap_seconds("@midnight"), day);
    EXPECT_EQ(longest_gap_seconds("@weekly"), 7 * day);
    EXPECT_EQ(longest_gap_seconds("@monthly"), 31 * day);
    EXPECT_EQ(longest_gap_seconds("@yearly"), 366 * day);
    EXPECT_EQ(longest_gap_seconds("@ANNUALLY"), 366 * day);
    EXPECT_EQ(longest_gap_seconds("@reboot"), std::nullopt);
    EXPECT_EQ(longest_gap_seconds("5 seconds"), 5);
    EXPECT_EQ(longest_gap_seconds("1 second"), 1);
    EXPECT_EQ(longest_gap_seconds("59seconds"), 59);
}

TEST(CronSchedule, NeverRunningTwice)
{
    EXPECT_EQ(longest_gap_seconds("0 0 30 2 *"), std::nullopt);
    EXPECT_EQ(longest_gap_seconds("0 0 31 4 *"), std::nullopt);
}

TEST(CronSchedule, RejectsWhatPgCronRejects)
{
    for (const char* bad : {"",
                            "   ",
                            "* * * *",
                            "* * * * * *",
                            "60 * * * *",
                            "* 24 * * *",
                            "* * 0 * *",
                            "* * 32 * *",
                            "* * * 13 *",
                            "* * * * 8",
                            "5-1 * * * *",
                            "*/0 * * * *",
                            "*/x * * * *",
                            "1,,2 * * * *",
                            "x * * * *",
                            "* * * foo *",
                            "$ * * * *",
                            "@often",
                            "0 seconds",
                            "60 seconds",
                            "100 seconds",
                            "5 minutes",
                            "x\"; DROP TABLE y; --"}) {
        EXPECT_THROW(longest_gap_seconds(bad), zc::Error) << bad;
    }
    try {
        longest_gap_seconds("61 * * * *");
        FAIL();
    } catch (const zc::Error& error) {
        EXPECT_STREQ(error.sqlstate(), "22023");
        EXPECT_EQ(std::string(error.what()), "invalid cron schedule \"61 * * * *\": minute 61 is out of range 0-59");
    }
}
