// zerocut.config_advice(memory_bytes bigint DEFAULT NULL, cores integer
//     DEFAULT NULL, connections integer DEFAULT NULL)
//     RETURNS TABLE(setting text, current text, recommended text, reason text,
//                   gap text, needs_change boolean, needs_restart boolean)
//
// The seed's postgresql.conf recommendations scaled to this server: the
// sizing rules are src/core/config_advice.cpp; this file reads the machine
// (memory from /proc/meminfo and the cgroup's limit, CPUs from the affinity
// mask and the cgroup's quota), the current settings (pg_settings, as the
// caller: a setting the caller may not read has no current value) and which
// wanted libraries are installed.  Arguments given replace what is read, so
// tests do not depend on the machine.  Changes nothing.
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include "core/config_advice.hpp"
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/tuplestore.h"
}

namespace {

std::optional<std::string> read_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The cgroup (v2, else v1 `controller`) directories this process is limited
// by: its own and every parent up to the mount point.
std::vector<std::string> cgroup_dirs(const std::string& v1_controller)
{
    std::vector<std::string> dirs;
    std::optional<std::string> self = read_file("/proc/self/cgroup");
    if (!self) return dirs;
    std::string root = "/sys/fs/cgroup";
    std::optional<std::string> path = zc::core::parse_proc_cgroup(*self, "");
    if (!path || !read_file(root + "/cgroup.controllers")) {  // not a v2 (unified) mount
        path = zc::core::parse_proc_cgroup(*self, v1_controller);
        root += "/" + v1_controller;
    }
    if (!path) return dirs;
    std::string dir = *path;
    while (true) {
        dirs.push_back(root + (dir == "/" ? "" : dir));
        if (dir.empty() || dir == "/") break;
        dir = dir.substr(0, dir.find_last_of('/'));
        if (dir.empty()) dir = "/";
    }
    return dirs;
}

std::optional<int64_t> machine_memory()
{
    std::optional<std::string> meminfo = read_file("/proc/meminfo");
    std::optional<int64_t> memory = meminfo ? zc::core::parse_meminfo_total(*meminfo) : std::nullopt;
    if (!memory) return std::nullopt;
    for (const std::string& dir : cgroup_dirs("memory")) {
        for (const char* file : {"/memory.max", "/memory.limit_in_bytes"}) {
            std::optional<std::string> text = read_file(dir + file);
            std::optional<int64_t> limit = text ? zc::core::parse_cgroup_memory_limit(*text) : std::nullopt;
            if (limit && *limit < *memory) memory = limit;
        }
    }
    return memory;
}

std::optional<int> machine_cores()
{
    int cores = 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
    if (cores <= 0) cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    if (cores <= 0) return std::nullopt;
    for (const std::string& dir : cgroup_dirs("cpu")) {
        std::optional<std::string> text = read_file(dir + "/cpu.max");
        if (!text) {
            std::optional<std::string> quota = read_file(dir + "/cpu.cfs_quota_us");
            std::optional<std::string> period = read_file(dir + "/cpu.cfs_period_us");
            if (quota && period) text = quota->substr(0, quota->find('\n')) + " " + *period;
        }
        std::optional<int> limit = text ? zc::core::parse_cgroup_cpu_max(*text) : std::nullopt;
        if (limit && *limit < cores) cores = *limit;
    }
    return cores;
}

struct ServerState {
    std::map<std::string, zc::core::CurrentSetting> settings;
    std::optional<std::string> preload;
    std::vector<zc::core::WantedLibrary> wanted;
};

ServerState read_server_state()
{
    ServerState state;
    std::string names;
    for (const std::string& name : zc::core::advised_settings())
        names += (names.empty() ? "" : ", ") + zc::pg::quote_literal(name);
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    // As the caller: pg_settings hides what the caller may not read
    // (shared_preload_libraries needs pg_read_all_settings).
    spi.execute(fmt::format("SELECT name, setting, coalesce(unit, ''), pg_catalog.current_setting(name) "
                            "FROM pg_catalog.pg_settings WHERE name IN ({})",
                            names),
                {}, true);
    for (const auto& row : spi.rows_text()) {
        std::string name = row[0].value_or("");
        if (name == "shared_preload_libraries")
            state.preload = row[3].value_or("");
        else
            state.settings[name] = {row[1].value_or(""), row[2].value_or(""), row[3].value_or("")};
    }
    spi.execute("SELECT name FROM pg_catalog.pg_available_extensions WHERE name IN ('pg_cron', 'pg_stat_statements')",
                {}, true);
    bool has_cron = false;
    bool has_statements = false;
    for (const auto& row : spi.rows_text()) {
        has_cron = has_cron || row[0] == std::optional<std::string>("pg_cron");
        has_statements = has_statements || row[0] == std::optional<std::string>("pg_stat_statements");
    }
    state.wanted = {
        {"pg_cron", has_cron, "zerocut.schedule_jobs() runs zerocut's jobs with it; set cron.database_name too"},
        {"pg_stat_statements", has_statements,
         "zerocut.slow_queries() reads it; then CREATE EXTENSION pg_stat_statements"},
    };
    return state;
}

}  // namespace

ZC_FUNCTION(zc_config_advice)
{
    std::optional<int64_t> memory;
    if (!PG_ARGISNULL(0)) memory = PG_GETARG_INT64(0);
    std::optional<int> cores;
    if (!PG_ARGISNULL(1)) cores = PG_GETARG_INT32(1);
    int connections = PG_ARGISNULL(2) ? MaxConnections : PG_GETARG_INT32(2);
    if (!memory) memory = machine_memory();
    if (!memory)
        throw zc::Error(zc::sqlstate::undefined_file, "cannot read this server's memory from /proc/meminfo", "",
                        "Pass it: zerocut.config_advice(memory_bytes => 8 * 1024^3::bigint).");
    if (!cores) cores = machine_cores();
    if (!cores)
        throw zc::Error(zc::sqlstate::undefined_file, "cannot read this server's CPU count", "",
                        "Pass it: zerocut.config_advice(cores => 4).");

    ServerState state = read_server_state();
    std::vector<zc::core::AdviceRow> rows =
        zc::core::advise({*memory, *cores, connections}, state.settings, state.preload, state.wanted);

    zc::pg::guard([=] { InitMaterializedSRF(fcinfo, 0); });
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const zc::core::AdviceRow& row : rows) {
        Datum values[7] = {zc::pg::text_datum(row.setting),
                           row.current ? zc::pg::text_datum(*row.current) : Datum(0),
                           zc::pg::text_datum(row.recommended),
                           zc::pg::text_datum(row.reason),
                           row.gap ? zc::pg::text_datum(*row.gap) : Datum(0),
                           BoolGetDatum(row.needs_change),
                           BoolGetDatum(row.needs_restart)};
        bool nulls[7] = {false, !row.current, false, false, !row.gap, false, false};
        Datum* value_ptr = values;
        bool* null_ptr = nulls;
        zc::pg::guard([=] { tuplestore_putvalues(result->setResult, result->setDesc, value_ptr, null_ptr); });
    }
    return (Datum)0;
}
