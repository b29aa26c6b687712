#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config_advice.hpp"
#include "core/errors.hpp"

using zc::core::AdviceRow;
using zc::core::CurrentSetting;
using zc::core::ServerResources;
using zc::core::WantedLibrary;

namespace {

constexpr int64_t GB = int64_t{1} << 30;

// PostgreSQL 15's defaults, as pg_settings shows them.
std::map<std::string, CurrentSetting> defaults()
{
    return {
        {"max_connections", {"100", "", "100"}},
        {"shared_buffers", {"16384", "8kB", "128MB"}},
        {"effective_cache_size", {"524288", "8kB", "4GB"}},
        {"work_mem", {"4096", "kB", "4MB"}},
        {"maintenance_work_mem", {"65536", "kB", "64MB"}},
        {"checkpoint_completion_target", {"0.9", "", "0.9"}},
        {"wal_buffers", {"512", "8kB", "4MB"}},
        {"default_statistics_target", {"100", "", "100"}},
        {"random_page_cost", {"4", "", "4"}},
        {"effective_io_concurrency", {"1", "", "1"}},
    };
}

std::vector<WantedLibrary> both_installed()
{
    return {{"pg_cron", true, "jobs"}, {"pg_stat_statements", true, "slow queries"}};
}

const AdviceRow& row(const std::vector<AdviceRow>& rows, const std::string& name)
{
    for (const AdviceRow& r : rows)
        if (r.setting == name) return r;
    throw std::runtime_error("no row " + name);
}

}  // namespace

TEST(ConfigAdvice, OneRowPerSeedSettingThenPreload)
{
    auto rows = zc::core::advise({8 * GB, 4, 200}, defaults(), "pg_cron,pg_stat_statements", both_installed());
    std::vector<std::string> names;
    for (const auto& r : rows) names.push_back(r.setting);
    EXPECT_EQ(names, zc::core::advised_settings());
    ASSERT_EQ(names.size(), 11U);
    EXPECT_EQ(names.front(), "max_connections");
    EXPECT_EQ(names.back(), "shared_preload_libraries");
}

TEST(ConfigAdvice, EightGigabytesFourCores)
{
    auto rows = zc::core::advise({8 * GB, 4, 200}, defaults(), "pg_cron,pg_stat_statements", both_installed());
    EXPECT_EQ(row(rows, "max_connections").recommended, "200");  // 4 x 50, memory allows 384
    EXPECT_EQ(row(rows, "max_connections").gap, "+100");
    EXPECT_TRUE(row(rows, "max_connections").needs_restart);
    EXPECT_EQ(row(rows, "shared_buffers").recommended, "2GB");
    EXPECT_EQ(row(rows, "shared_buffers").gap, "+1920MB");
    EXPECT_TRUE(row(rows, "shared_buffers").needs_change);
    EXPECT_EQ(row(rows, "effective_cache_size").recommended, "6GB");
    EXPECT_EQ(row(rows, "work_mem").recommended, "10485kB");  // 6GB / (200 x 3)
    EXPECT_EQ(row(rows, "maintenance_work_mem").recommended, "512MB");
    EXPECT_EQ(row(rows, "wal_buffers").recommended, "16MB");
    EXPECT_TRUE(row(rows, "wal_buffers").needs_change);  // 4MB, a quarter
    EXPECT_EQ(row(rows, "checkpoint_completion_target").recommended, "0.9");
    EXPECT_EQ(row(rows, "checkpoint_completion_target").gap, "0");
    EXPECT_FALSE(row(rows, "checkpoint_completion_target").needs_change);
    EXPECT_EQ(row(rows, "random_page_cost").recommended, "1.1");
    EXPECT_EQ(row(rows, "random_page_cost").gap, "-2.9");
    EXPECT_FALSE(row(rows, "random_page_cost").needs_restart);
    EXPECT_EQ(row(rows, "effective_io_concurrency").recommended, "200");
    EXPECT_EQ(row(rows, "default_statistics_target").needs_change, false);
}

TEST(ConfigAdvice, SmallServerCapsConnectionsAndSaysPool)
{
    // 1GB, 1 core: 50 per core, and 768MB / 16MB = 48 by memory.
    auto rows = zc::core::advise({1 * GB, 1, 100}, defaults(), "", both_installed());
    const AdviceRow& connections = row(rows, "max_connections");
    EXPECT_EQ(connections.recommended, "48");
    EXPECT_EQ(connections.gap, "-52");
    EXPECT_TRUE(connections.needs_change);
    EXPECT_NE(connections.reason.find("PgBouncer"), std::string::npos);
    EXPECT_EQ(row(rows, "shared_buffers").recommended, "256MB");       // the seed's value
    EXPECT_EQ(row(rows, "maintenance_work_mem").recommended, "64MB");  // the seed's value
    EXPECT_EQ(row(rows, "work_mem").recommended, "5461kB");            // 768MB / (48 x 3)
    EXPECT_EQ(row(rows, "wal_buffers").recommended, "8MB");            // 256MB / 32
}

TEST(ConfigAdvice, ConnectionsNeverBelowTwentyCapNorAboveWanted)
{
    auto tiny = zc::core::advise({64 << 20, 1, 100}, defaults(), "", both_installed());
    EXPECT_EQ(row(tiny, "max_connections").recommended, "20");
    EXPECT_EQ(row(tiny, "work_mem").recommended, "819kB");  // 48MB / 60
    EXPECT_EQ(row(tiny, "wal_buffers").recommended, "512kB");
    auto few = zc::core::advise({64 * GB, 32, 10}, defaults(), "", both_installed());
    EXPECT_EQ(row(few, "max_connections").recommended, "10");
    EXPECT_EQ(row(few, "maintenance_work_mem").recommended, "2GB");  // capped
    EXPECT_EQ(row(few, "shared_buffers").recommended, "16GB");
}

TEST(ConfigAdvice, MemoryWithinToleranceNeedsNoChange)
{
    auto current = defaults();
    current["shared_buffers"] = {"262144", "8kB", "2GB"};        // exactly
    current["work_mem"] = {"9216", "kB", "9MB"};                 // 10% under 10MB
    current["effective_cache_size"] = {"524288", "8kB", "4GB"};  // a third under 6GB
    auto rows = zc::core::advise({8 * GB, 4, 200}, current, "", both_installed());
    EXPECT_FALSE(row(rows, "shared_buffers").needs_change);
    EXPECT_EQ(row(rows, "shared_buffers").gap, "0");
    EXPECT_FALSE(row(rows, "work_mem").needs_change);
    EXPECT_EQ(row(rows, "work_mem").gap, "+1269kB");
    EXPECT_TRUE(row(rows, "effective_cache_size").needs_change);
    EXPECT_EQ(row(rows, "effective_cache_size").gap, "+2GB");
}

TEST(ConfigAdvice, UnreadableSettingHasNoCurrentNoGap)
{
    auto current = defaults();
    current.erase("work_mem");
    current["wal_buffers"] = {"-1", "8kB", "-1"};
    auto rows = zc::core::advise({8 * GB, 4, 200}, current, std::nullopt, both_installed());
    EXPECT_FALSE(row(rows, "work_mem").current.has_value());
    EXPECT_FALSE(row(rows, "work_mem").gap.has_value());
    EXPECT_FALSE(row(rows, "work_mem").needs_change);
    EXPECT_EQ(row(rows, "wal_buffers").current, "-1");
    EXPECT_FALSE(row(rows, "wal_buffers").gap.has_value());
    const AdviceRow& preload = row(rows, "shared_preload_libraries");
    EXPECT_FALSE(preload.current.has_value());
    EXPECT_EQ(preload.recommended, "(unreadable)");
    EXPECT_FALSE(preload.needs_change);
    EXPECT_NE(preload.reason.find("pg_read_all_settings"), std::string::npos);
}

TEST(ConfigAdvice, PreloadAddsOnlyInstalledMissingLibraries)
{
    std::vector<WantedLibrary> wanted = {{"pg_cron", false, "jobs"}, {"pg_stat_statements", true, "slow queries"}};
    auto rows = zc::core::advise({8 * GB, 4, 200}, defaults(), " auto_explain ", wanted);
    const AdviceRow& preload = row(rows, "shared_preload_libraries");
    EXPECT_EQ(preload.current, " auto_explain ");
    EXPECT_EQ(preload.recommended, "auto_explain,pg_stat_statements");
    EXPECT_EQ(preload.gap, "+pg_stat_statements");
    EXPECT_TRUE(preload.needs_change);
    EXPECT_TRUE(preload.needs_restart);
    EXPECT_NE(preload.reason.find("pg_cron is not installed"), std::string::npos);

    auto empty = zc::core::advise({8 * GB, 4, 200}, defaults(), "", both_installed());
    EXPECT_EQ(row(empty, "shared_preload_libraries").recommended, "pg_cron,pg_stat_statements");
    EXPECT_EQ(row(empty, "shared_preload_libraries").gap, "+pg_cron,+pg_stat_statements");

    auto loaded =
        zc::core::advise({8 * GB, 4, 200}, defaults(), "\"$libdir/pg_cron.so\", pg_stat_statements", both_installed());
    EXPECT_FALSE(row(loaded, "shared_preload_libraries").needs_change);
    EXPECT_EQ(row(loaded, "shared_preload_libraries").gap, "0");
}

TEST(ConfigAdvice, RejectsResourcesOutOfRange)
{
    auto call = [](ServerResources server) { return zc::core::advise(server, defaults(), "", both_installed()); };
    EXPECT_THROW(call({1 << 20, 4, 100}), zc::Error);
    EXPECT_THROW(call({8 * GB, 0, 100}), zc::Error);
    EXPECT_THROW(call({8 * GB, 4, 0}), zc::Error);
    EXPECT_THROW(call({8 * GB, 4, 300000}), zc::Error);
    try {
        call({-1, 4, 100});
        FAIL();
    } catch (const zc::Error& e) {
        EXPECT_STREQ(e.sqlstate(), "22023");
        EXPECT_NE(std::string(e.what()).find("\"memory_bytes\""), std::string::npos);
    }
}

TEST(ConfigAdvice, FormatMemory)
{
    EXPECT_EQ(zc::core::format_memory(0), "0");
    EXPECT_EQ(zc::core::format_memory(256 << 20), "256MB");
    EXPECT_EQ(zc::core::format_memory(2 * GB), "2GB");
    EXPECT_EQ(zc::core::format_memory(1536 << 20), "1536MB");
    EXPECT_EQ(zc::core::format_memory(2621 * 1024), "2621kB");
    EXPECT_EQ(zc::core::format_memory(-(128 << 20)), "-128MB");
    EXPECT_EQ(zc::core::format_memory(512), "512B");
    EXPECT_EQ(zc::core::unit_bytes("8kB"), 8192);
    EXPECT_EQ(zc::core::unit_bytes("MB"), 1 << 20);
    EXPECT_EQ(zc::core::unit_bytes("ms"), std::nullopt);
}

TEST(ConfigAdvice, ParseLibraryList)
{
    using V = std::vector<std::string>;
    EXPECT_EQ(zc::core::parse_library_list(""), V{});
    EXPECT_EQ(zc::core::parse_library_list("pg_cron,pg_stat_statements"), (V{"pg_cron", "pg_stat_statements"}));
    EXPECT_EQ(zc::core::parse_library_list(" \"$libdir/pg_cron.so\" , ,auto_explain"), (V{"pg_cron", "auto_explain"}));
}

TEST(ConfigAdvice, ParseMeminfo)
{
    EXPECT_EQ(zc::core::parse_meminfo_total("MemTotal:       24683748 kB\nMemFree: 1 kB\n"), int64_t{24683748} * 1024);
    EXPECT_EQ(zc::core::parse_meminfo_total("Foo: 1 kB\nMemTotal: 1024 kB\n"), int64_t{1024} * 1024);
    EXPECT_EQ(zc::core::parse_meminfo_total("XMemTotal: 1024 kB\n"), std::nullopt);
    EXPECT_EQ(zc::core::parse_meminfo_total("MemTotal: lots\n"), std::nullopt);
    EXPECT_EQ(zc::core::parse_meminfo_total(""), std::nullopt);
}

TEST(ConfigAdvice, ParseCgroupFiles)
{
    EXPECT_EQ(zc::core::parse_cgroup_memory_limit("max\n"), std::nullopt);
    EXPECT_EQ(zc::core::parse_cgroup_memory_limit("2147483648\n"), 2 * GB);
    EXPECT_EQ(zc::core::parse_cgroup_memory_limit("-1"), std::nullopt);
    EXPECT_EQ(zc::core::parse_cgroup_cpu_max("max 100000\n"), std::nullopt);
    EXPECT_EQ(zc::core::parse_cgroup_cpu_max("200000 100000\n"), 2);
    EXPECT_EQ(zc::core::parse_cgroup_cpu_max("150000 100000"), 2);  // 1.5 CPUs: 2
    EXPECT_EQ(zc::core::parse_cgroup_cpu_max("junk"), std::nullopt);
    const char* v1 = "9:name=systemd:/\n4:memory:/process_api/c5dd\n2:cpu,cpuacct:/x\n0::/\n";
    EXPECT_EQ(zc::core::parse_proc_cgroup(v1, "memory"), "/process_api/c5dd");
    EXPECT_EQ(zc::core::parse_proc_cgroup(v1, "cpu"), "/x");
    EXPECT_EQ(zc::core::parse_proc_cgroup(v1, ""), "/");
    EXPECT_EQ(zc::core::parse_proc_cgroup("0::/system.slice/postgresql.service\n", ""),
              "/system.slice/postgresql.service");
    EXPECT_EQ(zc::core::parse_proc_cgroup("0::/a\n", "memory"), std::nullopt);
}
