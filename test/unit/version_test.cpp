#include <gtest/gtest.h>

#include "core/version.hpp"

TEST(Version, PostgresMajorFromVersionNum)
{
    EXPECT_EQ(zc::core::postgres_major(150004), 15);
    EXPECT_EQ(zc::core::postgres_major(140000), 14);
    EXPECT_EQ(zc::core::postgres_major(170002), 17);
}

TEST(Version, FormatsEveryPart)
{
    zc::core::BuildInfo info{"1.2.3", 150004, 90100, "OpenSSL 3.0.11"};
    EXPECT_EQ(zc::core::format_version(info), "zerocut 1.2.3 (PostgreSQL 15, fmt 9.1.0, OpenSSL 3.0.11)");
}
