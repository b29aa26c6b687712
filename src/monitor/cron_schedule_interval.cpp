// zerocut.cron_schedule_interval(schedule text) RETURNS interval
//
// The longest time between two runs of a pg_cron schedule
// (core/cron_schedule.hpp): what the jobs view calls a job's interval.  NULL
// for '@reboot' and for a schedule that never runs twice; 22023 naming the
// argument for text pg_cron would not accept.
#include <optional>
#include <string>

#include "core/cron_schedule.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/timestamp.h"
}

ZC_FUNCTION(zc_cron_schedule_interval)
{
    std::string schedule = zc::pg::text_arg(fcinfo, 0);
    std::optional<int64_t> seconds;
    try {
        seconds = zc::core::cron::longest_gap_seconds(schedule);
    } catch (const zc::Error& error) {
        throw zc::Error(error.sqlstate(), std::string("argument \"schedule\": ") + error.what(), error.detail(),
                        error.hint());
    }
    if (!seconds) {
        fcinfo->isnull = true;
        return Datum(0);
    }
    int64 microseconds = *seconds * USECS_PER_SEC;
    return zc::pg::guard([=] {
        auto* result = static_cast<Interval*>(palloc0(sizeof(Interval)));
        // Whole days as days, so '7 days' reads as a week, not 168 hours.
        result->day = static_cast<int32>(microseconds / USECS_PER_DAY);
        result->time = microseconds % USECS_PER_DAY;
        return IntervalPGetDatum(result);
    });
}
