#include "core/config_advice.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.hpp"

namespace zc::core {

namespace {

constexpr int64_t kB = 1024;
constexpr int64_t MB = 1024 * kB;
constexpr int64_t GB = 1024 * MB;

// The sizing rules' constants (docs/monitoring.md, "config_advice").
constexpr int64_t min_memory = 64 * MB;
constexpr int64_t max_memory = int64_t{1} << 50;  // 1PB: keeps the arithmetic far from overflow
constexpr int max_cores = 16384;
constexpr int max_connections_limit = 262143;       // PostgreSQL's MAX_BACKENDS
constexpr int connections_per_core = 50;            // beyond that, clients queue for CPU: pool them
constexpr int64_t memory_per_connection = 16 * MB;  // a backend's own memory plus a few MB of work_mem
constexpr int min_connections_cap = 20;
constexpr int sorts_per_connection = 3;  // sorts or hashes one connection may run at once
constexpr int64_t max_maintenance_work_mem = 2 * GB;
constexpr int64_t max_wal_buffers = 16 * MB;  // one WAL segment, as wal_buffers = -1 caps it
constexpr int64_t min_wal_buffers = 64 * kB;
constexpr int64_t min_work_mem = 64 * kB;
constexpr double memory_tolerance_low = 0.8;  // a memory setting within [0.8, 1.25] x advice is fine
constexpr double memory_tolerance_high = 1.25;

std::string_view trim(std::string_view s)
{
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

std::optional<int64_t> parse_int64(std::string_view s)
{
    s = trim(s);
    int64_t value = 0;
    auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (error != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return value;
}

std::optional<double> parse_double(std::string_view s)
{
    s = trim(s);
    double value = 0;
    auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (error != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return value;
}

int64_t floor_to(int64_t bytes, int64_t unit)
{
    return bytes / unit * unit;
}

// A number as a setting is written: no trailing zeros ("1.1", "200", "-2.9").
std::string format_number(double value)
{
    if (std::fabs(value) < 1e-9) return "0";
    return fmt::format("{:.6g}", value);
}

std::string signed_text(const std::string& text, bool positive)
{
    return (positive ? "+" : "") + text;
}

enum class Kind { memory, integer, real };

struct Rule {
    const char* name;
    Kind kind;
    bool needs_restart;
};

// The seed's settings, in its order, with what changing each needs.
constexpr Rule rules[] = {
    {"max_connections", Kind::integer, true},      {"shared_buffers", Kind::memory, true},
    {"effective_cache_size", Kind::memory, false}, {"work_mem", Kind::memory, false},
    {"maintenance_work_mem", Kind::memory, false}, {"checkpoint_completion_target", Kind::real, false},
    {"wal_buffers", Kind::memory, true},           {"default_statistics_target", Kind::integer, false},
    {"random_page_cost", Kind::real, false},       {"effective_io_concurrency", Kind::integer, false},
};

// The current value in the setting's base unit (bytes for memory); nullopt
// when unreadable or not a plain number (wal_buffers = -1 before start-up).
std::optional<double> current_value(const CurrentSetting& setting, Kind kind)
{
    std::optional<double> value = parse_double(setting.setting);
    if (!value) return std::nullopt;
    if (kind != Kind::memory) return value;
    std::optional<int64_t> unit = unit_bytes(setting.unit);
    if (!unit || *value < 0) return std::nullopt;
    return *value * static_cast<double>(*unit);
}

AdviceRow compare(const Rule& rule, const std::map<std::string, CurrentSetting>& current, double recommended,
                  std::string reason)
{
    AdviceRow row;
    row.setting = rule.name;
    row.recommended =
        rule.kind == Kind::memory ? format_memory(static_cast<int64_t>(recommended)) : format_number(recommended);
    row.reason = std::move(reason);
    row.needs_change = false;
    row.needs_restart = rule.needs_restart;
    auto found = current.find(rule.name);
    if (found == current.end()) return row;
    row.current = found->second.shown;
    std::optional<double> value = current_value(found->second, rule.kind);
    if (!value) return row;
    double gap = recommended - *value;
    if (rule.kind == Kind::memory) {
        auto bytes = static_cast<int64_t>(gap);
        row.gap = bytes == 0 ? "0" : signed_text(format_memory(bytes), bytes > 0);
        row.needs_change = *value < recommended * memory_tolerance_low || *value > recommended * memory_tolerance_high;
    } else {
        row.gap = signed_text(format_number(gap), gap > 1e-9);
        row.needs_change = std::fabs(gap) > 1e-9;
    }
    return row;
}

void check_resources(const ServerResources& server)
{
    if (server.memory_bytes < min_memory || server.memory_bytes > max_memory)
        throw Error(sqlstate::invalid_parameter_value,
                    fmt::format("argument \"memory_bytes\" must be between 64MB and 1PB ({} bytes given)",
                                server.memory_bytes));
    if (server.cores < 1 || server.cores > max_cores)
        throw Error(sqlstate::invalid_parameter_value,
                    fmt::format("argument \"cores\" must be between 1 and {} ({} given)", max_cores, server.cores));
    if (server.connections < 1 || server.connections > max_connections_limit)
        throw Error(sqlstate::invalid_parameter_value,
                    fmt::format("argument \"connections\" must be between 1 and {} ({} given)", max_connections_limit,
                                server.connections));
}

AdviceRow preload_advice(const std::optional<std::string>& preload, const std::vector<WantedLibrary>& wanted)
{
    AdviceRow row;
    row.setting = "shared_preload_libraries";
    row.current = preload;
    row.needs_restart = true;
    row.needs_change = false;
    std::vector<std::string> have = preload ? parse_library_list(*preload) : std::vector<std::string>{};
    std::vector<std::string> add;
    std::vector<std::string> reasons;
    std::vector<std::string> wanted_names;
    for (const WantedLibrary& library : wanted) {
        wanted_names.push_back(fmt::format("{} ({})", library.name, library.why));
        bool loaded = std::find(have.begin(), have.end(), library.name) != have.end();
        if (loaded)
            reasons.push_back(fmt::format("{} is loaded ({})", library.name, library.why));
        else if (!library.installed)
            reasons.push_back(fmt::format("{} is not installed on this server: install its package first ({})",
                                          library.name, library.why));
        else {
            add.push_back(library.name);
            reasons.push_back(fmt::format("add {} ({})", library.name, library.why));
        }
    }
    if (!preload) {
        row.recommended = "(unreadable)";
        row.reason =
            fmt::format("reading shared_preload_libraries needs pg_read_all_settings (or pg_monitor); zerocut wants {}",
                        fmt::join(wanted_names, " and "));
        return row;
    }
    std::string_view existing = trim(*preload);
    row.recommended = std::string(existing);
    for (const std::string& name : add) row.recommended += (row.recommended.empty() ? "" : ",") + name;
    row.reason = fmt::format("{}", fmt::join(reasons, "; "));
    if (add.empty()) {
        row.gap = "0";
    } else {
        row.gap = "+" + fmt::format("{}", fmt::join(add, ",+"));
        row.needs_change = true;
    }
    return row;
}

}  // namespace

std::vector<std::string> advised_settings()
{
    std::vector<std::string> names;
    for (const Rule& rule : rules) names.emplace_back(rule.name);
    names.emplace_back("shared_preload_libraries");
    return names;
}

std::vector<AdviceRow> advise(const ServerResources& server, const std::map<std::string, CurrentSetting>& current,
                              const std::optional<std::string>& preload, const std::vector<WantedLibrary>& wanted)
{
    check_resources(server);
    const int64_t memory = server.memory_bytes;
    const std::string memory_text = format_memory(floor_to(memory, MB));
    const std::string cores_text = fmt::format("{} {}", server.cores, server.cores == 1 ? "core" : "cores");

    const int64_t shared_buffers = floor_to(memory / 4, MB);
    const int64_t effective_cache_size = floor_to(memory / 4 * 3, MB);
    const int64_t beside_buffers = memory - shared_buffers;
    const auto memory_cap =
        static_cast<int>(std::min<int64_t>(beside_buffers / memory_per_connection, max_connections_limit));
    const int cpu_cap =
        static_cast<int>(std::min<int64_t>(int64_t{server.cores} * connections_per_core, max_connections_limit));
    const int cap = std::max(min_connections_cap, std::min(cpu_cap, memory_cap));
    const int connections = std::min(server.connections, cap);
    const int64_t work_mem =
        std::max(min_work_mem, floor_to(beside_buffers / (int64_t{connections} * sorts_per_connection), kB));
    const int64_t maintenance_work_mem = std::min(max_maintenance_work_mem, floor_to(memory / 16, MB));
    const int64_t wal_buffers = std::clamp(floor_to(shared_buffers / 32, 8 * kB), min_wal_buffers, max_wal_buffers);

    std::string connections_reason =
        server.connections <= cap
            ? fmt::format(
                  "{} client connections fit {} and {} of memory (up to {}: {} per core, one per {} "
                  "beside shared_buffers)",
                  server.connections, cores_text, memory_text, cap, connections_per_core,
                  format_memory(memory_per_connection))
            : fmt::format(
                  "{} client connections wanted, but {} and {} of memory carry about {} ({} per core, "
                  "one per {} beside shared_buffers): put a pooler such as PgBouncer in front for more",
                  server.connections, cores_text, memory_text, cap, connections_per_core,
                  format_memory(memory_per_connection));

    std::vector<AdviceRow> rows;
    rows.push_back(compare(rules[0], current, connections, std::move(connections_reason)));
    rows.push_back(
        compare(rules[1], current, static_cast<double>(shared_buffers),
                fmt::format("a quarter of the {} of memory; the operating system's cache uses the rest", memory_text)));
    rows.push_back(compare(rules[2], current, static_cast<double>(effective_cache_size),
                           fmt::format("three quarters of the {} of memory: what the planner may assume is cached "
                                       "(shared_buffers and the operating system's cache); allocates nothing",
                                       memory_text)));
    rows.push_back(compare(rules[3], current, static_cast<double>(work_mem),
                           fmt::format("memory beside shared_buffers ({}) shared by {} connections running {} sorts "
                                       "or hashes each at once; at least {}",
                                       format_memory(floor_to(beside_buffers, kB)), connections, sorts_per_connection,
                                       format_memory(min_work_mem))));
    rows.push_back(compare(rules[4], current, static_cast<double>(maintenance_work_mem),
                           fmt::format("a sixteenth of the {} of memory, at most {}: faster VACUUM, CREATE INDEX and "
                                       "ALTER TABLE ADD FOREIGN KEY, of which few run at once",
                                       memory_text, format_memory(max_maintenance_work_mem))));
    rows.push_back(compare(rules[5], current, 0.9,
                           "spreads checkpoint writes over 90% of the interval (the seed's value; PostgreSQL's "
                           "default since 14)"));
    rows.push_back(compare(rules[6], current, static_cast<double>(wal_buffers),
                           fmt::format("a thirty-second of shared_buffers, between {} and {} (what wal_buffers = -1 "
                                       "picks): holds bursts of WAL before they are written",
                                       format_memory(min_wal_buffers), format_memory(max_wal_buffers))));
    rows.push_back(compare(rules[7], current, 100,
                           "the seed's value and PostgreSQL's default; raise it per column (ALTER TABLE ... ALTER "
                           "COLUMN ... SET STATISTICS) where estimates are off"));
    rows.push_back(compare(rules[8], current, 1.1,
                           "SSD or NVMe storage (the seed's value): a random read costs about as much as a "
                           "sequential one; keep 4 on spinning disks"));
    rows.push_back(compare(rules[9], current, 200,
                           "SSD or NVMe storage (the seed's value): bitmap heap scans prefetch that many pages; keep "
                           "1 on a single spinning disk"));
    rows.push_back(preload_advice(preload, wanted));
    return rows;
}

std::string format_memory(int64_t bytes)
{
    if (bytes == 0) return "0";
    if (bytes < 0) return "-" + format_memory(-bytes);
    if (bytes % GB == 0) return fmt::format("{}GB", bytes / GB);
    if (bytes % MB == 0) return fmt::format("{}MB", bytes / MB);
    if (bytes < kB) return fmt::format("{}B", bytes);
    return fmt::format("{}kB", bytes / kB);
}

std::optional<int64_t> unit_bytes(std::string_view unit)
{
    if (unit == "B") return 1;
    if (unit == "kB") return kB;
    if (unit == "8kB") return 8 * kB;
    if (unit == "16kB") return 16 * kB;
    if (unit == "32kB") return 32 * kB;
    if (unit == "MB") return MB;
    if (unit == "GB") return GB;
    return std::nullopt;
}

std::vector<std::string> parse_library_list(std::string_view value)
{
    std::vector<std::string> names;
    while (true) {
        size_t comma = value.find(',');
        std::string_view item = trim(value.substr(0, comma));
        if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
        if (size_t slash = item.find_last_of('/'); slash != std::string_view::npos) item.remove_prefix(slash + 1);
        if (item.size() > 3 && item.substr(item.size() - 3) == ".so") item.remove_suffix(3);
        if (!item.empty()) names.emplace_back(item);
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return names;
}

std::optional<int64_t> parse_meminfo_total(std::string_view meminfo)
{
    constexpr std::string_view key = "MemTotal:";
    size_t at = meminfo.find(key);
    if (at == std::string_view::npos || (at > 0 && meminfo[at - 1] != '\n')) return std::nullopt;
    std::string_view line = meminfo.substr(at + key.size());
    line = line.substr(0, line.find('\n'));
    line = trim(line);
    if (line.size() < 3 || line.substr(line.size() - 2) != "kB") return std::nullopt;
    std::optional<int64_t> kilobytes = parse_int64(line.substr(0, line.size() - 2));
    if (!kilobytes || *kilobytes <= 0 || *kilobytes > max_memory / kB) return std::nullopt;
    return *kilobytes * kB;
}

std::optional<int64_t> parse_cgroup_memory_limit(std::string_view text)
{
    std::optional<int64_t> bytes = parse_int64(text);
    if (!bytes || *bytes <= 0) return std::nullopt;  // "max", junk, or v1's -1
    return bytes;
}

std::optional<int> parse_cgroup_cpu_max(std::string_view text)
{
    text = trim(text);
    size_t space = text.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    std::optional<int64_t> quota = parse_int64(text.substr(0, space));
    std::optional<int64_t> period = parse_int64(text.substr(space + 1));
    if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
    return static_cast<int>(std::min<int64_t>((*quota + *period - 1) / *period, max_cores));
}

std::optional<std::string> parse_proc_cgroup(std::string_view text, std::string_view controller)
{
    while (!text.empty()) {
        size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        // hierarchy-ID:controller-list:path
        size_t first = line.find(':');
        size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
        if (second == std::string_view::npos) continue;
        std::string_view controllers = line.substr(first + 1, second - first - 1);
        std::string_view path = line.substr(second + 1);
        if (controller.empty()) {
            if (line.substr(0, first) == "0" && controllers.empty()) return std::string(path);
            continue;
        }
        while (!controllers.empty()) {
            size_t comma = controllers.find(',');
            if (controllers.substr(0, comma) == controller) return std::string(path);
            if (comma == std::string_view::npos) break;
            controllers.remove_prefix(comma + 1);
        }
    }
    return std::nullopt;
}

}  // namespace zc::core
