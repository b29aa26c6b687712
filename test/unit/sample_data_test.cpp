#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/sample_data.hpp"

using zc::core::plan_sample_data;

TEST(SampleData, PlanCountsRows)
{
    auto plan = plan_sample_data(1000, 400, 42);
    EXPECT_EQ(plan.users(), 3000);
    EXPECT_EQ(plan.api_keys(), 2000);
    EXPECT_EQ(plan.usage_rows(), 400000);
    EXPECT_EQ(plan.consumption_rows(), 2000000);
}

TEST(SampleData, AcceptsTheLimits)
{
    EXPECT_NO_THROW(plan_sample_data(1, 1, 0));
    EXPECT_NO_THROW(plan_sample_data(100000, 100, -5));
    EXPECT_NO_THROW(plan_sample_data(2732, 3660, 1));
}

namespace {
std::string error_of(std::optional<int> w, std::optional<int> d, std::optional<int> s)
{
    try {
        plan_sample_data(w, d, s);
    } catch (const zc::Error& e) {
        return std::string(e.sqlstate()) + " " + e.what();
    }
    return "no error";
}
}  // namespace

TEST(SampleData, RejectsBadArgumentsByName)
{
    EXPECT_EQ(error_of(std::nullopt, 1, 1), "22004 argument \"workspaces\" must not be NULL");
    EXPECT_EQ(error_of(0, 1, 1), "22003 argument \"workspaces\" must be between 1 and 100000, got 0");
    EXPECT_EQ(error_of(1, -3, 1), "22003 argument \"days\" must be between 1 and 3660, got -3");
    EXPECT_EQ(error_of(1, 3661, 1), "22003 argument \"days\" must be between 1 and 3660, got 3661");
    EXPECT_EQ(error_of(1, 1, std::nullopt), "22004 argument \"seed\" must not be NULL");
    EXPECT_EQ(error_of(100000, 3660, 1).substr(0, 5), "22003");
}
