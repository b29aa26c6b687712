#include <gtest/gtest.h>

#include "core/audit_options.hpp"
#include "core/errors.hpp"

using namespace zc::core::audit;

TEST(AuditOptions, DefaultsWithoutArguments)
{
    TriggerOptions options = parse_trigger_arguments({});
    EXPECT_TRUE(options.changed_only);
    EXPECT_TRUE(options.excluded.empty());
}

TEST(AuditOptions, RoundTripsThroughTriggerArguments)
{
    TriggerOptions options;
    options.changed_only = false;
    options.excluded = {"secret", "x\"; DROP TABLE y; --", "with=equals"};
    std::vector<std::string> args = trigger_arguments(options);
    ASSERT_EQ(args.size(), 4u);
    EXPECT_EQ(args[0], "changed_only=false");
    TriggerOptions back = parse_trigger_arguments(args);
    EXPECT_FALSE(back.changed_only);
    EXPECT_FALSE(back.flush);
    EXPECT_EQ(back.excluded, options.excluded);
    options.flush = true;
    EXPECT_TRUE(parse_trigger_arguments(trigger_arguments(options)).flush);
    EXPECT_THROW(parse_trigger_arguments({"flush=false"}), zc::Error);
}

TEST(AuditOptions, RejectsUnknownArguments)
{
    EXPECT_THROW(parse_trigger_arguments({"changed_only=maybe"}), zc::Error);
    EXPECT_THROW(parse_trigger_arguments({"exclude="}), zc::Error);
    EXPECT_THROW(parse_trigger_arguments({"full"}), zc::Error);
    try {
        parse_trigger_arguments({"bogus"});
        FAIL();
    } catch (const zc::Error& error) {
        EXPECT_STREQ(error.sqlstate(), "22023");
        EXPECT_NE(std::string(error.what()).find("bogus"), std::string::npos);
    }
}

TEST(AuditOptions, Modes)
{
    EXPECT_EQ(parse_mode("row"), Mode::row);
    EXPECT_EQ(parse_mode("statement"), Mode::statement);
    EXPECT_FALSE(parse_mode("ROW").has_value());
    EXPECT_FALSE(parse_mode("").has_value());
    EXPECT_STREQ(mode_name(Mode::statement), "statement");
}

TEST(AuditOptions, ColumnListFoldsAndQuotes)
{
    auto names = parse_column_list(" password_hash , API_Secret,\"Mixed Case\",,\"a\"\"b\" ");
    ASSERT_TRUE(names.has_value());
    std::vector<std::string> expected{"password_hash", "api_secret", "Mixed Case", "a\"b"};
    EXPECT_EQ(*names, expected);
    EXPECT_TRUE(parse_column_list("")->empty());
    EXPECT_TRUE(parse_column_list("  ,  ")->empty());
}

TEST(AuditOptions, ColumnListRejectsMalformed)
{
    EXPECT_FALSE(parse_column_list("\"unterminated").has_value());
    EXPECT_FALSE(parse_column_list("\"a\"b").has_value());
    EXPECT_FALSE(parse_column_list("a b").has_value());
    EXPECT_FALSE(parse_column_list("\"\"").has_value());
}

TEST(AuditOptions, Messages)
{
    EXPECT_EQ(log_message("USER", "INSERT"), "USER record created");
    EXPECT_EQ(log_message("account", "UPDATE"), "account record updated");
    EXPECT_EQ(log_message("workspace", "DELETE"), "workspace record deleted");
    EXPECT_EQ(log_message("workspace", "TRUNCATE"), "workspace truncated");
}
