#include <gtest/gtest.h>

#include "core/archive_plan.hpp"
#include "core/errors.hpp"

using namespace zc::core;

TEST(ArchivePlan, ParsesRangeBounds)
{
    auto b = parse_range_bound("FOR VALUES FROM ('2025-01-01 00:00:00+00') TO ('2025-02-01 00:00:00+00')");
    EXPECT_FALSE(b.is_default);
    EXPECT_EQ(b.lower, std::optional<std::string>("2025-01-01 00:00:00+00"));
    EXPECT_EQ(b.upper, std::optional<std::string>("2025-02-01 00:00:00+00"));
}

TEST(ArchivePlan, ParsesMinMaxDefaultAndQuotes)
{
    auto b = parse_range_bound("FOR VALUES FROM (MINVALUE) TO ('2025-02-01')");
    EXPECT_FALSE(b.lower.has_value());
    EXPECT_EQ(b.upper, std::optional<std::string>("2025-02-01"));
    b = parse_range_bound("FOR VALUES FROM ('it''s') TO (MAXVALUE)");
    EXPECT_EQ(b.lower, std::optional<std::string>("it's"));
    EXPECT_FALSE(b.upper.has_value());
    EXPECT_TRUE(parse_range_bound("DEFAULT").is_default);
    b = parse_range_bound("FOR VALUES FROM ('2025-01-01'::date) TO ('2025-02-01'::date)");
    EXPECT_EQ(b.upper, std::optional<std::string>("2025-02-01"));
}

namespace {
std::string sqlstate_of(const std::string& text)
{
    try {
        parse_range_bound(text);
    } catch (const zc::Error& e) {
        return e.sqlstate();
    }
    return "no error";
}
}  // namespace

TEST(ArchivePlan, RejectsOtherBounds)
{
    EXPECT_EQ(sqlstate_of("FOR VALUES IN (1, 2)"), "0A000");
    EXPECT_EQ(sqlstate_of("FOR VALUES WITH (modulus 4, remainder 0)"), "0A000");
    EXPECT_EQ(sqlstate_of("FOR VALUES FROM ('a', 1) TO ('b', 2)"), "0A000");
    EXPECT_EQ(sqlstate_of("FOR VALUES FROM ('a) TO ('b')"), "0A000");
    EXPECT_EQ(sqlstate_of("DEFAULT x"), "0A000");
    EXPECT_EQ(sqlstate_of(""), "0A000");
}

TEST(ArchivePlan, ClassifiesPartitions)
{
    EXPECT_EQ(classify_partition({0, 10}, 10), PartitionMove::attach);  // upper bound is exclusive
    EXPECT_EQ(classify_partition({0, 11}, 10), PartitionMove::rows);
    EXPECT_EQ(classify_partition({10, 20}, 10), PartitionMove::keep);
    EXPECT_EQ(classify_partition({std::nullopt, 5}, 10), PartitionMove::attach);
    EXPECT_EQ(classify_partition({std::nullopt, 15}, 10), PartitionMove::rows);
    EXPECT_EQ(classify_partition({5, std::nullopt}, 10), PartitionMove::rows);
    EXPECT_EQ(classify_partition({15, std::nullopt}, 10), PartitionMove::keep);
}

TEST(ArchivePlan, RoundsCutoffDownToWholePartitions)
{
    std::vector<Span> spans{{0, 10}, {10, 20}, {20, 30}};
    EXPECT_EQ(round_cutoff_to_partitions(spans, 15), std::optional<int64_t>(10));
    EXPECT_EQ(round_cutoff_to_partitions(spans, 20), std::optional<int64_t>(20));  // on a boundary
    EXPECT_EQ(round_cutoff_to_partitions(spans, 35), std::optional<int64_t>(35));  // past every partition
    EXPECT_EQ(round_cutoff_to_partitions({{std::nullopt, 10}}, 5), std::nullopt);
    EXPECT_EQ(round_cutoff_to_partitions({}, 7), std::optional<int64_t>(7));
    for (int64_t cutoff = -5; cutoff < 40; ++cutoff) {  // after rounding nothing straddles
        auto rounded = round_cutoff_to_partitions(spans, cutoff);
        ASSERT_TRUE(rounded.has_value());
        EXPECT_LE(*rounded, cutoff);
        for (const Span& s : spans) EXPECT_NE(classify_partition(s, *rounded), PartitionMove::rows);
    }
}

TEST(ArchivePlan, Overlaps)
{
    EXPECT_FALSE(spans_overlap({0, 10}, {10, 20}));
    EXPECT_TRUE(spans_overlap({0, 11}, {10, 20}));
    EXPECT_TRUE(spans_overlap({std::nullopt, std::nullopt}, {10, 20}));
    EXPECT_FALSE(spans_overlap({20, std::nullopt}, {std::nullopt, 20}));
    EXPECT_TRUE(spans_overlap({5, 6}, {0, 10}));
}
