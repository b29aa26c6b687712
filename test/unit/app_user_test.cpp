#include <gtest/gtest.h>

#include "core/app_user.hpp"

using zc::core::parse_app_user_id;

TEST(AppUser, NoUserWhenUnsetOrEmpty)
{
    EXPECT_FALSE(parse_app_user_id(nullptr).has_value());  // never set in this session
    EXPECT_FALSE(parse_app_user_id("").has_value());       // what SET LOCAL leaves behind
    EXPECT_FALSE(parse_app_user_id("   ").has_value());
    EXPECT_FALSE(parse_app_user_id("\t\n").has_value());
}

TEST(AppUser, NoUserForJunk)
{
    EXPECT_FALSE(parse_app_user_id("abc").has_value());
    EXPECT_FALSE(parse_app_user_id("42abc").has_value());
    EXPECT_FALSE(parse_app_user_id("4.2").has_value());
    EXPECT_FALSE(parse_app_user_id("4 2").has_value());
    EXPECT_FALSE(parse_app_user_id("0x10").has_value());  // decimal only, on every PostgreSQL version
    EXPECT_FALSE(parse_app_user_id("1e3").has_value());
    EXPECT_FALSE(parse_app_user_id("1_000").has_value());
    EXPECT_FALSE(parse_app_user_id("+").has_value());
    EXPECT_FALSE(parse_app_user_id("++5").has_value());
    EXPECT_FALSE(parse_app_user_id("+ 5").has_value());
    EXPECT_FALSE(parse_app_user_id("5;").has_value());
}

TEST(AppUser, NoUserForZeroOrNegative)
{
    EXPECT_FALSE(parse_app_user_id("0").has_value());
    EXPECT_FALSE(parse_app_user_id("000").has_value());
    EXPECT_FALSE(parse_app_user_id("-0").has_value());
    EXPECT_FALSE(parse_app_user_id("-1").has_value());
    EXPECT_FALSE(parse_app_user_id("-7").has_value());
    EXPECT_FALSE(parse_app_user_id("-2147483648").has_value());
}

TEST(AppUser, NoUserOutOfRange)
{
    EXPECT_FALSE(parse_app_user_id("2147483648").has_value());
    EXPECT_FALSE(parse_app_user_id("99999999999").has_value());
    EXPECT_FALSE(parse_app_user_id("99999999999999999999999").has_value());
}

TEST(AppUser, PositiveInt4)
{
    EXPECT_EQ(parse_app_user_id("1"), 1);
    EXPECT_EQ(parse_app_user_id("42"), 42);
    EXPECT_EQ(parse_app_user_id(" 42 "), 42);
    EXPECT_EQ(parse_app_user_id("\t42\n"), 42);
    EXPECT_EQ(parse_app_user_id("2147483647"), INT32_MAX);
}

TEST(AppUser, SignAndLeadingZerosAsTheIntegerCastReadsThem)
{
    EXPECT_EQ(parse_app_user_id("+5"), 5);
    EXPECT_EQ(parse_app_user_id(" +5 "), 5);
    EXPECT_EQ(parse_app_user_id("007"), 7);
    EXPECT_EQ(parse_app_user_id("00000000000002147483647"), INT32_MAX);  // zeros do not count toward the range
}
