// zerocut.touch_updated_at() RETURNS trigger
//
// BEFORE UPDATE ... FOR EACH ROW: sets the row's updated_at (or the column
// named by the first trigger argument) to the transaction's timestamp, as
// `NEW.updated_at := CURRENT_TIMESTAMP` would, without a PL/pgSQL frame.
#include <string>

#include "pg/boundary.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/timestamp.h"
}

namespace {

void require_before_row_update(FunctionCallInfo fcinfo)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "touch_updated_at() must be called as a trigger");
    auto* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_BEFORE(data->tg_event) || !TRIGGER_FIRED_FOR_ROW(data->tg_event) ||
        !TRIGGER_FIRED_BY_UPDATE(data->tg_event))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "touch_updated_at() must be fired BEFORE UPDATE FOR EACH ROW",
                        std::string("trigger \"") + data->tg_trigger->tgname + "\"");
}

// The attribute number of the column to set; checks it is a live timestamp.
int target_column(TriggerData* data, Datum* now_value)
{
    const char* column = data->tg_trigger->tgnargs > 0 ? data->tg_trigger->tgargs[0] : "updated_at";
    TupleDesc desc = data->tg_relation->rd_att;
    int attnum = SPI_fnumber(desc, column);
    if (attnum <= 0)
        throw zc::Error(zc::sqlstate::undefined_column,
                        std::string("column \"") + column + "\" of relation \"" +
                            RelationGetRelationName(data->tg_relation) + "\" does not exist",
                        "", "Name the column as the trigger's argument: EXECUTE FUNCTION zerocut.touch_updated_at('col').");
    Oid type = TupleDescAttr(desc, attnum - 1)->atttypid;
    TimestampTz now = GetCurrentTransactionStartTimestamp();
    if (type == TIMESTAMPTZOID) {
        *now_value = TimestampTzGetDatum(now);
    } else if (type == TIMESTAMPOID) {
        *now_value = zc::pg::guard([=] { return DirectFunctionCall1(timestamptz_timestamp, TimestampTzGetDatum(now)); });
    } else {
        throw zc::Error(zc::sqlstate::wrong_object_type,
                        std::string("column \"") + column + "\" must be of type timestamptz or timestamp");
    }
    return attnum;
}

}  // namespace

ZC_FUNCTION(zc_touch_updated_at)
{
    require_before_row_update(fcinfo);
    auto* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    Datum now_value;
    int attnum = target_column(data, &now_value);
    HeapTuple new_row = data->tg_newtuple;
    TupleDesc desc = data->tg_relation->rd_att;
    bool is_null = false;
    HeapTuple touched = zc::pg::guard(
        [&] { return heap_modify_tuple_by_cols(new_row, desc, 1, &attnum, &now_value, &is_null); });
    return PointerGetDatum(touched);
}
