#include <gtest/gtest.h>

#include "core/migration_checksum.hpp"

using zc::core::is_blank;
using zc::core::normalize_line_endings;
using zc::core::to_hex;
using zc::core::version_problem;

TEST(MigrationChecksum, LineEndingsBecomeLf)
{
    EXPECT_EQ(normalize_line_endings("a\r\nb\rc\nd"), "a\nb\nc\nd");
    EXPECT_EQ(normalize_line_endings("\r\n\r\n"), "\n\n");
    EXPECT_EQ(normalize_line_endings("\r\r\n"), "\n\n");  // a lone CR, then a CRLF
    EXPECT_EQ(normalize_line_endings("x\r"), "x\n");
    EXPECT_EQ(normalize_line_endings(""), "");
}

TEST(MigrationChecksum, NothingElseChanges)
{
    EXPECT_EQ(normalize_line_endings("  SELECT 1;  \n\t-- c\n"), "  SELECT 1;  \n\t-- c\n");
    std::string with_nul("a\0b", 3);
    EXPECT_EQ(normalize_line_endings(with_nul), with_nul);
}

TEST(MigrationChecksum, Hex)
{
    const unsigned char bytes[] = {0x00, 0x0F, 0xA5, 0xFF};
    EXPECT_EQ(to_hex(bytes, 4), "000fa5ff");
    EXPECT_EQ(to_hex(bytes, 0), "");
}

TEST(MigrationChecksum, Blank)
{
    EXPECT_TRUE(is_blank(""));
    EXPECT_TRUE(is_blank(" \t\r\n"));
    EXPECT_FALSE(is_blank(" x "));
}

TEST(MigrationChecksum, Versions)
{
    EXPECT_FALSE(version_problem("2024.01-add_x", false).has_value());
    EXPECT_FALSE(version_problem("v 1", false).has_value());
    EXPECT_EQ(version_problem("", false).value(), "must not be empty");
    EXPECT_EQ(version_problem("  ", false).value(), "must not be empty");
    EXPECT_EQ(version_problem("v1\n", false).value(), "must not contain control characters");
    EXPECT_TRUE(version_problem("zerocut.domain.10_tables", false).has_value());
    EXPECT_FALSE(version_problem("zerocut.domain.10_tables", true).has_value());
    EXPECT_FALSE(version_problem("zerocut-1", false).has_value());
}
