#include "pg/job_lock.hpp"

#include "pg/guard.hpp"

extern "C" {
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"
}

namespace zc::pg {

bool try_lock_table_job(Oid relid)
{
    return guard([=] {
        return DatumGetBool(DirectFunctionCall2(pg_try_advisory_xact_lock_int4, Int32GetDatum(job_lock_class),
                                                Int32GetDatum(static_cast<int32>(relid))));
    });
}

void lock_installer()
{
    guard([] { DirectFunctionCall2(pg_advisory_xact_lock_int4, Int32GetDatum(install_lock_class), Int32GetDatum(0)); });
}

bool lock_table_job_polling(Oid relid, int timeout_ms)
{
    TimestampTz start = guard([] { return GetCurrentTimestamp(); });
    for (;;) {
        if (try_lock_table_job(relid)) return true;
        if (guard([=] { return TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout_ms); })) return false;
        guard([] {
            CHECK_FOR_INTERRUPTS();
            pg_usleep(5000L);
        });
    }
}

}  // namespace zc::pg
