// zerocut.config_advice(): the seed's postgresql.conf recommendations
// (section 连接池优化) scaled to a server's memory, cores and connections.
// Pure rules and parsers, unit-tested (test/unit/config_advice_test.cpp);
// src/monitor/config_advice.cpp reads the machine and the settings.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zc::core {

// What the advice is scaled to.
struct ServerResources {
    int64_t memory_bytes;  // memory PostgreSQL may use (RAM, or the cgroup's limit when lower)
    int cores;             // CPUs it may run on
    int connections;       // client connections the server must accept at once
};

// A setting as pg_settings shows it: `setting` in `unit` ("8kB", "kB", "MB",
// "" for none) and the text SHOW prints.
struct CurrentSetting {
    std::string setting;
    std::string unit;
    std::string shown;
};

// A library zerocut wants preloaded, and whether the server has it installed.
struct WantedLibrary {
    std::string name;  // e.g. "pg_cron"
    bool installed;
    std::string why;  // e.g. "zerocut.schedule_jobs() registers jobs with it"
};

struct AdviceRow {
    std::string setting;
    std::optional<std::string> current;  // nullopt: the caller may not read it
    std::string recommended;
    std::string reason;
    std::optional<std::string> gap;  // recommended minus current ("+128MB", "-2.9", "+pg_cron"); "0" when equal
    bool needs_change;               // current is off by more than the rule's tolerance
    bool needs_restart;              // the setting takes effect only at server start
};

// One row per seed setting (max_connections, shared_buffers,
// effective_cache_size, work_mem, maintenance_work_mem,
// checkpoint_completion_target, wal_buffers, default_statistics_target,
// random_page_cost, effective_io_concurrency), then shared_preload_libraries.
// `current` maps setting names to their values; a missing name (or a missing
// `preload`) is a setting the caller may not read.  Throws
// std::invalid_argument for resources out of range (see the checks).
std::vector<AdviceRow> advise(const ServerResources& server, const std::map<std::string, CurrentSetting>& current,
                              const std::optional<std::string>& preload, const std::vector<WantedLibrary>& wanted);

// The names advise() reads from pg_settings.
std::vector<std::string> advised_settings();

// Bytes as PostgreSQL writes a memory setting: the largest of GB, MB, kB
// that divides it exactly ("256MB", "2621kB", "2GB"); "0" for zero; a
// leading '-' for negatives.  Bytes not a multiple of 1024 are written in kB
// rounded down.
std::string format_memory(int64_t bytes);

// Bytes of one unit of a pg_settings memory unit: "8kB" -> 8192, "kB" ->
// 1024, "MB" -> 1048576, "B" -> 1; nullopt for other units.
std::optional<int64_t> unit_bytes(std::string_view unit);

// The library names of a shared_preload_libraries value: split at commas,
// blanks and double quotes removed, "$libdir/" or any directory and a
// ".so" suffix dropped ("pg_cron, \"$libdir/pg_stat_statements.so\"" ->
// {"pg_cron", "pg_stat_statements"}).
std::vector<std::string> parse_library_list(std::string_view value);

// /proc/meminfo's MemTotal in bytes; nullopt when absent or unreadable.
std::optional<int64_t> parse_meminfo_total(std::string_view meminfo);

// A cgroup memory limit file (v2 memory.max, v1 memory.limit_in_bytes) in
// bytes; nullopt for "max", an empty or malformed file.
std::optional<int64_t> parse_cgroup_memory_limit(std::string_view text);

// A cgroup v2 cpu.max ("200000 100000": quota and period) as whole CPUs,
// rounded up; nullopt for "max ..." or malformed text.
std::optional<int> parse_cgroup_cpu_max(std::string_view text);

// The path of this process's cgroup from /proc/self/cgroup: the v2 line
// ("0::/a/b") when `controller` is empty, else the v1 line listing
// `controller` ("4:memory:/a/b").  nullopt when there is no such line.
std::optional<std::string> parse_proc_cgroup(std::string_view text, std::string_view controller);

}  // namespace zc::core
