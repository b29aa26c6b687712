#include "core/partition_calendar.hpp"

#include <gtest/gtest.h>

using namespace zc::core;

TEST(PartitionCalendar, CivilRoundTrip)
{
    EXPECT_EQ(days_from_civil({1970, 1, 1}), 0);
    EXPECT_EQ(days_from_civil({2000, 3, 1}), 11017);
    for (int64_t d = -800000; d < 3000000; d += 997) EXPECT_EQ(days_from_civil(civil_from_days(d)), d);
    EXPECT_EQ(civil_from_days(days_from_civil({2024, 2, 28}) + 1), (CivilDate{2024, 2, 29}));
    EXPECT_EQ(civil_from_days(days_from_civil({2023, 2, 28}) + 1), (CivilDate{2023, 3, 1}));
    EXPECT_EQ(weekday({2024, 1, 1}), 0);  // a Monday
    EXPECT_EQ(weekday({2023, 12, 31}), 6);
}

TEST(PartitionCalendar, ParseIsoDate)
{
    EXPECT_EQ(parse_iso_date("2024-02-29"), (CivilDate{2024, 2, 29}));
    EXPECT_FALSE(parse_iso_date("2023-02-29"));
    EXPECT_FALSE(parse_iso_date("2024-13-01"));
    EXPECT_FALSE(parse_iso_date("2024-1-01"));
    EXPECT_FALSE(parse_iso_date("0000-01-01"));
    EXPECT_FALSE(parse_iso_date("x024-01-01"));
    EXPECT_EQ(format_iso_date({7, 3, 9}), "0007-03-09");
}

TEST(PartitionCalendar, Granularities)
{
    EXPECT_EQ(parse_granularity("Month"), Granularity::month);
    EXPECT_FALSE(parse_granularity("fortnight"));
    EXPECT_FALSE(parse_granularity(""));
    CivilDate mid{2024, 5, 15};
    EXPECT_EQ(period_start(mid, Granularity::day), mid);
    EXPECT_EQ(period_start(mid, Granularity::week), (CivilDate{2024, 5, 13}));
    EXPECT_EQ(period_start(mid, Granularity::month), (CivilDate{2024, 5, 1}));
    EXPECT_EQ(period_start(mid, Granularity::quarter), (CivilDate{2024, 4, 1}));
    EXPECT_EQ(period_start(mid, Granularity::year), (CivilDate{2024, 1, 1}));
    // Month ends and year wrap.
    EXPECT_EQ(add_periods({2024, 12, 1}, Granularity::month, 1), (CivilDate{2025, 1, 1}));
    EXPECT_EQ(add_periods({2024, 1, 1}, Granularity::month, -1), (CivilDate{2023, 12, 1}));
    EXPECT_EQ(add_periods({2024, 1, 1}, Granularity::month, -25), (CivilDate{2021, 12, 1}));
    EXPECT_EQ(add_periods({2024, 10, 1}, Granularity::quarter, 1), (CivilDate{2025, 1, 1}));
    EXPECT_EQ(add_periods({2024, 2, 28}, Granularity::day, 1), (CivilDate{2024, 2, 29}));
    EXPECT_EQ(add_periods({2024, 12, 30}, Granularity::week, 1), (CivilDate{2025, 1, 6}));
    EXPECT_EQ(add_periods({2024, 1, 1}, Granularity::year, 3), (CivilDate{2027, 1, 1}));
}

TEST(PartitionCalendar, Suffixes)
{
    EXPECT_EQ(period_suffix({2024, 1, 31}, Granularity::day), "2024_01_31");
    EXPECT_EQ(period_suffix({2024, 12, 30}, Granularity::week), "2025_w01");  // ISO week of next year
    EXPECT_EQ(period_suffix({2021, 1, 4}, Granularity::week), "2021_w01");
    EXPECT_EQ(period_suffix({2020, 12, 28}, Granularity::week), "2020_w53");
    EXPECT_EQ(period_suffix({2024, 2, 1}, Granularity::month), "2024_02");
    EXPECT_EQ(period_suffix({2024, 10, 1}, Granularity::quarter), "2024_q4");
    EXPECT_EQ(period_suffix({2024, 1, 1}, Granularity::year), "2024");
}

TEST(PartitionCalendar, PartitionNames)
{
    EXPECT_EQ(partition_name("usage_stats", "2024_01"), "usage_stats_2024_01");
    std::string long_name(70, 'a');
    std::string made = partition_name(long_name, "2024_01");
    EXPECT_EQ(made.size(), 63u);
    EXPECT_EQ(made.substr(55), "_2024_01");
    // 2-byte characters are not cut in half.
    std::string utf8;
    for (int i = 0; i < 40; ++i) utf8 += "\xc3\xa9";
    std::string cut = partition_name(utf8, "2024_01");
    EXPECT_LE(cut.size(), 63u);
    EXPECT_EQ(cut.substr(0, cut.size() - 8).size() % 2, 0u);
}

TEST(PartitionCalendar, RetentionActions)
{
    EXPECT_EQ(parse_retention_action("DROP"), RetentionAction::drop);
    EXPECT_EQ(parse_retention_action("archive"), RetentionAction::archive);
    EXPECT_FALSE(parse_retention_action("delete"));
    EXPECT_STREQ(retention_action_name(RetentionAction::detach), "detach");
}

TEST(PartitionCalendar, RangeBoundNodes)
{
    // As PostgreSQL 15 stores them (relpartbound::text).
    const char* tz_month =
        "{PARTITIONBOUNDSPEC :strategy r :is_default false :modulus 0 :remainder 0 :listdatums <> :lowerdatums "
        "({PARTITIONRANGEDATUM :kind 0 :value {CONST :consttype 1184 :consttypmod -1 :constcollid 0 :constlen 8 "
        ":constbyval true :constisnull false :location 71 :constvalue 8 [ 0 -128 -44 126 -104 -51 2 0 ]} :location "
        "71}) "
        ":upperdatums ({PARTITIONRANGEDATUM :kind 0 :value {CONST :consttype 1184 :consttypmod -1 :constcollid 0 "
        ":constlen 8 :constbyval true :constisnull false :location 101 :constvalue 8 [ 0 32 -23 27 8 -48 2 0 ]} "
        ":location 101}) :location 65}";
    auto b = parse_partition_bound_node(tz_month);
    ASSERT_TRUE(b);
    EXPECT_FALSE(b->is_default);
    EXPECT_EQ(*b->lower, 0x02CD987ED48000LL);
    EXPECT_EQ(*b->upper, 0x02D0081BE92000LL);
    EXPECT_EQ(*b->upper - *b->lower, 31LL * 86400 * 1000000);  // a 31-day month
    const char* date_open =
        "{PARTITIONBOUNDSPEC :strategy r :is_default false :modulus 0 :remainder 0 :listdatums <> :lowerdatums "
        "({PARTITIONRANGEDATUM :kind 0 :value {CONST :consttype 1082 :consttypmod -1 :constcollid 0 :constlen 4 "
        ":constbyval true :constisnull false :location 96 :constvalue 4 [ 62 34 0 0 0 0 0 0 ]} :location 96}) "
        ":upperdatums ({PARTITIONRANGEDATUM :kind 1 :value <> :location 114}) :location 90}";
    auto d = parse_partition_bound_node(date_open);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d->lower, date_value({2024, 1, 1}));
    EXPECT_EQ(*d->lower, 8766);
    EXPECT_FALSE(d->upper);
    auto def = parse_partition_bound_node(
        "{PARTITIONBOUNDSPEC :strategy r :is_default true :modulus 0 :remainder 0 :listdatums <> :lowerdatums <> "
        ":upperdatums <> :location 156}");
    ASSERT_TRUE(def);
    EXPECT_TRUE(def->is_default);
    // Negative values (before 2000) are sign-extended.
    const char* before_2000 =
        "{PARTITIONBOUNDSPEC :strategy r :is_default false :lowerdatums ({PARTITIONRANGEDATUM :kind -1 :value <> "
        ":location 1}) :upperdatums ({PARTITIONRANGEDATUM :kind 0 :value {CONST :consttype 1082 :constlen 4 "
        ":constbyval true :constisnull false :constvalue 4 [ -1 -1 -1 -1 -1 -1 -1 -1 ]} :location 2}) :location 0}";
    auto old = parse_partition_bound_node(before_2000);
    ASSERT_TRUE(old);
    EXPECT_FALSE(old->lower);
    EXPECT_EQ(*old->upper, -1);
    EXPECT_FALSE(parse_partition_bound_node("{PARTITIONBOUNDSPEC :strategy l :is_default false :listdatums (x)}"));
    EXPECT_FALSE(parse_partition_bound_node("FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')"));
    // Two key columns are not ours.
    std::string two = std::string(date_open);
    two.replace(two.find(":location 96})"), 14,
                ":location 96} {PARTITIONRANGEDATUM :kind 0 :value {CONST :constbyval true :constvalue 4 [ 1 0 0 0 0 0 "
                "0 0 ]} :location 97})");
    EXPECT_FALSE(parse_partition_bound_node(two));

    RangeBound jan{false, 0, 31}, feb{false, 31, 60}, mid{false, 15, 45}, open_low{false, std::nullopt, 1};
    EXPECT_FALSE(ranges_overlap(jan, feb));
    EXPECT_TRUE(ranges_overlap(jan, mid));
    EXPECT_TRUE(ranges_overlap(feb, mid));
    EXPECT_TRUE(ranges_overlap(open_low, jan));
    EXPECT_FALSE(ranges_overlap(open_low, feb));
    EXPECT_FALSE(ranges_overlap(RangeBound{true, {}, {}}, jan));
    EXPECT_EQ(timestamp_value({2000, 1, 2}), 86400LL * 1000000);
}

TEST(PartitionCalendar, QualifiedNames)
{
    auto plain = parse_qualified_name("Usage_Stats");
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->schema);
    EXPECT_EQ(plain->name, "usage_stats");
    auto qualified = parse_qualified_name("data_statistics.usage_stats");
    ASSERT_TRUE(qualified);
    EXPECT_EQ(qualified->schema, "data_statistics");
    auto quoted = parse_qualified_name("\"My Schema\".\"a\"\"b\"");
    ASSERT_TRUE(quoted);
    EXPECT_EQ(quoted->schema, "My Schema");
    EXPECT_EQ(quoted->name, "a\"b");
    EXPECT_FALSE(parse_qualified_name("x\"; DROP TABLE y; --"));
    EXPECT_FALSE(parse_qualified_name(""));
    EXPECT_FALSE(parse_qualified_name("a.b.c"));
    EXPECT_FALSE(parse_qualified_name("a."));
    EXPECT_FALSE(parse_qualified_name("\"\""));
    EXPECT_FALSE(parse_qualified_name("a b"));
    EXPECT_FALSE(parse_qualified_name("1abc"));
    EXPECT_FALSE(parse_qualified_name(std::string(64, 'a')));
}
