// Reading pg_cron schedules (no postgres.h): how long a job may go between
// two runs, which the jobs view (install/72_jobs.sql) compares with the
// last successful run to call a job overdue.  Unit-tested in
// test/unit/cron_schedule_test.cpp.
//
// The syntax is pg_cron's (Vixie cron's, plus pg_cron 1.5's additions):
//   five fields  minute hour day-of-month month day-of-week, each a list of
//                items separated by commas: *, N, N-M, with an optional /step;
//                month and weekday names (jan, sun, ...); weekday 7 is Sunday;
//                '$' in the day of month is its last day (pg_cron 1.5+)
//   shortcuts    @yearly @annually @monthly @weekly @daily @midnight @hourly
//                @reboot
//   intervals    'N seconds' (1..59, pg_cron 1.5+)
// As in cron, when both the day of month and the day of week are restricted
// (neither starts with '*'), a day matches either; otherwise both.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace zc::core::cron {

// The longest time, in seconds, between two consecutive runs of `schedule`
// (local time, daylight-saving shifts ignored): 3600 for '0 * * * *', 604800
// for '0 4 * * 0', 2678400 (31 days) for '@monthly'.  nullopt for '@reboot'
// and for a schedule that never runs twice (e.g. '0 0 30 2 *').  Throws
// zc::Error (22023) for text pg_cron would not accept, saying why.
std::optional<int64_t> longest_gap_seconds(std::string_view schedule);

}  // namespace zc::core::cron
