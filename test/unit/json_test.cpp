#include <gtest/gtest.h>

#include "core/json.hpp"

using zc::core::json_string;

TEST(Json, QuotesAndEscapes)
{
    EXPECT_EQ(json_string("default"), "\"default\"");
    EXPECT_EQ(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    EXPECT_EQ(json_string("tab\there\rcr"), "\"tab\\there\\rcr\"");
    EXPECT_EQ(json_string(std::string("\x01", 1)), "\"\\u0001\"");
}

TEST(Json, HostileNamesStayInsideTheString)
{
    EXPECT_EQ(json_string("x\"; DROP TABLE y; --"), "\"x\\\"; DROP TABLE y; --\"");
    EXPECT_EQ(json_string("\u00e9\u4e2d"), "\"\u00e9\u4e2d\"");  // UTF-8 passes through
}
