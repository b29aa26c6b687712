// Sizes and argument checks for zerocut.generate_sample_data(): pure C++.
#pragma once

#include <cstdint>
#include <optional>

namespace zc::core {

struct SampleDataPlan {
    int workspaces;
    int days;
    int seed;
    int64_t users() const { return int64_t{members_per_workspace} * workspaces; }
    int64_t api_keys() const { return int64_t{keys_per_workspace} * workspaces; }
    int64_t usage_rows() const { return int64_t{workspaces} * days; }
    int64_t consumption_rows() const { return usage_rows() * records_per_day; }

    static constexpr int members_per_workspace = 3;
    static constexpr int keys_per_workspace = 2;
    static constexpr int records_per_day = 5;
    static constexpr int max_workspaces = 100'000;
    static constexpr int max_days = 3'660;
    static constexpr int64_t max_usage_rows = 10'000'000;
};

// Checks the arguments (nullopt = SQL NULL) and returns the plan; throws
// zc::Error naming the offending argument.
SampleDataPlan plan_sample_data(std::optional<int> workspaces, std::optional<int> days, std::optional<int> seed);

}  // namespace zc::core
