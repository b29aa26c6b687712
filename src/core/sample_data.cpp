#include "core/sample_data.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"

namespace zc::core {

namespace {

int require_in_range(std::optional<int> value, const char* name, int low, int high)
{
    if (!value) throw Error(sqlstate::null_value_not_allowed, fmt::format("argument \"{}\" must not be NULL", name));
    if (*value < low || *value > high)
        throw Error(sqlstate::numeric_value_out_of_range,
                    fmt::format("argument \"{}\" must be between {} and {}, got {}", name, low, high, *value));
    return *value;
}

}  // namespace

SampleDataPlan plan_sample_data(std::optional<int> workspaces, std::optional<int> days, std::optional<int> seed)
{
    SampleDataPlan plan{require_in_range(workspaces, "workspaces", 1, SampleDataPlan::max_workspaces),
                        require_in_range(days, "days", 1, SampleDataPlan::max_days), 0};
    if (!seed) throw Error(sqlstate::null_value_not_allowed, "argument \"seed\" must not be NULL");
    plan.seed = *seed;
    if (plan.usage_rows() > SampleDataPlan::max_usage_rows)
        throw Error(sqlstate::numeric_value_out_of_range,
                    fmt::format("workspaces × days = {} usage rows is more than the {} allowed", plan.usage_rows(),
                                SampleDataPlan::max_usage_rows),
                    "", "Ask for fewer workspaces or fewer days.");
    return plan;
}

}  // namespace zc::core
