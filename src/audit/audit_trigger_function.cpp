// zerocut.audit_trigger_function() RETURNS trigger
//
// AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW (as in the seed), or
// AFTER INSERT/UPDATE/DELETE ... FOR EACH STATEMENT with transition tables,
// or AFTER TRUNCATE ... FOR EACH STATEMENT: writes one audit_log.system_log
// row per changed row (level INFO, message "<table> record created|updated|
// deleted", metadata {operation, schema, table, relid, pk, old_data,
// new_data, xid, session_user, current_user, application_name}, user_id
// from app.current_user_id as security/app_user.hpp reads it: NULL unless a
// positive integer), for a table zerocut.enable_audit() recorded in
// zerocut.audit_config (any other: 42501).  Statement mode writes the same rows
// with one set-based INSERT per statement.  Arguments (written by
// zerocut.enable_audit()): changed_only=true|false, exclude=<column>...
#include <optional>
#include <string>

#include "audit/audit_log.hpp"
#include "pg/boundary.hpp"
#include "security/app_user.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_trigger.h"
#include "executor/tuptable.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

namespace {

using zc::audit::AuditRelation;

TriggerData* require_after_trigger(FunctionCallInfo fcinfo)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "audit_trigger_function() must be called as a trigger");
    auto* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_AFTER(data->tg_event))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "audit_trigger_function() must be fired AFTER the change",
                        std::string("trigger \"") + data->tg_trigger->tgname + "\" fires BEFORE or INSTEAD OF",
                        "Use zerocut.enable_audit(table) to create the audit triggers.");
    return data;
}

// One row: the metadata of the change, or nullptr when it is not logged.
Jsonb* row_change(AuditRelation* rel, TriggerData* data, const char** message)
{
    TriggerEvent event = data->tg_event;
    if (TRIGGER_FIRED_BY_INSERT(event)) {
        *message = rel->message_insert;
        TupleTableSlot* slot = data->tg_trigslot;
        return zc::pg::guard([=] {
            slot_getallattrs(slot);
            return zc::audit::build_change(rel, "INSERT", nullptr, nullptr, slot->tts_values, slot->tts_isnull);
        });
    }
    if (TRIGGER_FIRED_BY_UPDATE(event)) {
        *message = rel->message_update;
        TupleTableSlot* old_slot = data->tg_trigslot;
        TupleTableSlot* new_slot = data->tg_newslot;
        return zc::pg::guard([=] {
            slot_getallattrs(old_slot);
            slot_getallattrs(new_slot);
            return zc::audit::build_change(rel, "UPDATE", old_slot->tts_values, old_slot->tts_isnull,
                                           new_slot->tts_values, new_slot->tts_isnull);
        });
    }
    *message = rel->message_delete;
    TupleTableSlot* slot = data->tg_trigslot;
    return zc::pg::guard([=] {
        slot_getallattrs(slot);
        return zc::audit::build_change(rel, "DELETE", slot->tts_values, slot->tts_isnull, nullptr, nullptr);
    });
}

// A transition table opened for reading with its own read pointer, as the
// executor's named-tuplestore scan does, so other readers are not disturbed.
// A tuple read back from a spilled store is allocated in the current memory
// context and owned by the slot, which frees it at the next read: reads run
// in `context`, which outlives the batches (reset after each write).
struct TransitionReader {
    Tuplestorestate* store = nullptr;
    int pointer = 0;
    TupleTableSlot* slot = nullptr;
    MemoryContext context = nullptr;
};

void open_reader(TransitionReader* reader, Tuplestorestate* store, TupleDesc desc)
{
    reader->store = store;
    reader->context = CurrentMemoryContext;
    reader->pointer = zc::pg::guard([=] { return tuplestore_alloc_read_pointer(store, EXEC_FLAG_REWIND); });
    reader->slot = zc::pg::guard([=] { return MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple); });
    int pointer = reader->pointer;
    zc::pg::guard([=] {
        tuplestore_select_read_pointer(store, pointer);
        tuplestore_rescan(store);
    });
}

// Next tuple of `reader`, deformed; false at the end.  C-style (inside guard).
bool next_row(TransitionReader* reader)
{
    tuplestore_select_read_pointer(reader->store, reader->pointer);
    MemoryContext caller = MemoryContextSwitchTo(reader->context);
    bool found = tuplestore_gettupleslot(reader->store, true, false, reader->slot);
    MemoryContextSwitchTo(caller);
    if (!found) return false;
    slot_getallattrs(reader->slot);
    return true;
}

// Up to this many bytes of metadata (as allocated) are written at once: a
// statement's log rows are built and written in batches, each freed before
// the next, however large the statement (and the SQL path's jsonb[] stays
// far below the 1 GB datum limit).
constexpr Size batch_bytes = 4 * 1024 * 1024;

// A large statement's batches reuse one block that outlives each reset:
// fresh memory for every batch cost a page fault per 4 kB touched, about
// 5 % of a 100,000-row DELETE.  Small statements keep small blocks.
constexpr Size batch_keeper_bytes = 8 * 1024 * 1024;
constexpr int64 rows_for_keeper = 4096;

MemoryContext create_batch_context(int64 rows)
{
    if (rows < rows_for_keeper)
        return AllocSetContextCreate(CurrentMemoryContext, "zerocut audit batch", ALLOCSET_DEFAULT_SIZES);
    return AllocSetContextCreate(CurrentMemoryContext, "zerocut audit batch", batch_keeper_bytes, batch_keeper_bytes,
                                 batch_keeper_bytes);
}

// The next batch of metadata built from the transition tables, in the
// caller's memory context; *count is 0 when no row is left.  C-style: runs
// inside guard().
Jsonb** next_batch(AuditRelation* rel, const char* operation, TransitionReader* old_rows, TransitionReader* new_rows,
                   MemoryContext row_context, int* count, bool* finished)
{
    int capacity = 1024;
    Size bytes = 0;
    auto** items = static_cast<Jsonb**>(palloc(sizeof(Jsonb*) * capacity));
    MemoryContext outer = CurrentMemoryContext;
    *count = 0;
    *finished = true;
    while (bytes < batch_bytes) {
        bool has_old = old_rows != nullptr && next_row(old_rows);
        bool has_new = new_rows != nullptr && next_row(new_rows);
        if ((old_rows != nullptr && !has_old) || (new_rows != nullptr && !has_new)) break;
        MemoryContextSwitchTo(row_context);
        Jsonb* change = zc::audit::build_change(rel, operation, has_old ? old_rows->slot->tts_values : nullptr,
                                                has_old ? old_rows->slot->tts_isnull : nullptr,
                                                has_new ? new_rows->slot->tts_values : nullptr,
                                                has_new ? new_rows->slot->tts_isnull : nullptr);
        MemoryContextSwitchTo(outer);
        if (change != nullptr) {
            if (*count == capacity) {
                capacity *= 2;
                items = static_cast<Jsonb**>(repalloc(items, sizeof(Jsonb*) * capacity));
            }
            Jsonb* copy = static_cast<Jsonb*>(palloc(VARSIZE(change)));
            memcpy(copy, change, VARSIZE(change));
            items[(*count)++] = copy;
            bytes += GetMemoryChunkSpace(copy);  // what it takes in the block, not its length
        }
        MemoryContextReset(row_context);
        if (bytes >= batch_bytes) *finished = false;
    }
    return items;
}

// Statement mode needs the transition tables of its event (checked before
// anything else is looked up).
void require_transition_tables(TriggerData* data)
{
    TriggerEvent event = data->tg_event;
    bool wants_old = !TRIGGER_FIRED_BY_INSERT(event);
    bool wants_new = !TRIGGER_FIRED_BY_DELETE(event);
    if ((wants_old && data->tg_oldtable == nullptr) || (wants_new && data->tg_newtable == nullptr))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        std::string("audit_trigger_function() FOR EACH STATEMENT needs transition tables"),
                        std::string("trigger \"") + data->tg_trigger->tgname + "\" has no REFERENCING " +
                            (wants_old && wants_new ? "OLD TABLE and NEW TABLE"
                             : wants_old            ? "OLD TABLE"
                                                    : "NEW TABLE"),
                        "Use zerocut.enable_audit(table, mode => 'statement') to create the audit triggers.");
}

void statement_changes(AuditRelation* rel, TriggerData* data, std::optional<int32> user_id)
{
    TriggerEvent event = data->tg_event;
    const char* operation = "DELETE";
    const char* message = rel->message_delete;
    bool wants_old = true, wants_new = false;
    if (TRIGGER_FIRED_BY_INSERT(event)) {
        operation = "INSERT";
        message = rel->message_insert;
        wants_old = false;
        wants_new = true;
    } else if (TRIGGER_FIRED_BY_UPDATE(event)) {
        operation = "UPDATE";
        message = rel->message_update;
        wants_new = true;
    }
    TupleDesc desc = RelationGetDescr(data->tg_relation);
    TransitionReader old_rows, new_rows;
    if (wants_old) open_reader(&old_rows, data->tg_oldtable, desc);
    if (wants_new) open_reader(&new_rows, data->tg_newtable, desc);
    MemoryContext row_context = zc::pg::guard(
        [] { return AllocSetContextCreate(CurrentMemoryContext, "zerocut audit row", ALLOCSET_DEFAULT_SIZES); });
    TransitionReader* old_reader = wants_old ? &old_rows : nullptr;
    TransitionReader* new_reader = wants_new ? &new_rows : nullptr;
    Tuplestorestate* rows = wants_old ? data->tg_oldtable : data->tg_newtable;
    MemoryContext batch_context = zc::pg::guard([=] { return create_batch_context(tuplestore_tuple_count(rows)); });
    bool finished = false;
    while (!finished) {
        int count = 0;
        Jsonb** batch = zc::pg::guard([&] {
            MemoryContextReset(batch_context);
            MemoryContext caller = MemoryContextSwitchTo(batch_context);
            Jsonb** items = next_batch(rel, operation, old_reader, new_reader, row_context, &count, &finished);
            MemoryContextSwitchTo(caller);
            return items;
        });
        if (count == 0) continue;
        // The write's own allocations (the SQL path's jsonb[]) go with the batch.
        MemoryContext caller = MemoryContextSwitchTo(batch_context);
        zc::audit::write_log_rows(message, batch, count, user_id);
        MemoryContextSwitchTo(caller);
    }
    zc::pg::guard([=] {
        if (old_reader) ExecDropSingleTupleTableSlot(old_reader->slot);
        if (new_reader) ExecDropSingleTupleTableSlot(new_reader->slot);
        MemoryContextDelete(row_context);
        MemoryContextDelete(batch_context);
    });
}

bool is_flush_trigger(TriggerData* data)
{
    if (!TRIGGER_FIRED_FOR_STATEMENT(data->tg_event) || TRIGGER_FIRED_BY_TRUNCATE(data->tg_event)) return false;
    for (int i = 0; i < data->tg_trigger->tgnargs; ++i)
        if (strcmp(data->tg_trigger->tgargs[i], "flush=true") == 0) return true;
    return false;
}

int16 event_type(TriggerEvent event)
{
    if (TRIGGER_FIRED_BY_INSERT(event)) return TRIGGER_TYPE_INSERT;
    if (TRIGGER_FIRED_BY_UPDATE(event)) return TRIGGER_TYPE_UPDATE;
    return TRIGGER_TYPE_DELETE;
}

}  // namespace

ZC_FUNCTION(zc_audit_trigger_function)
{
    TriggerData* data = require_after_trigger(fcinfo);
    if (is_flush_trigger(data)) {
        zc::audit::flush_pending_rows();
        return PointerGetDatum(nullptr);
    }
    if (TRIGGER_FIRED_FOR_STATEMENT(data->tg_event) && !TRIGGER_FIRED_BY_TRUNCATE(data->tg_event))
        require_transition_tables(data);
    AuditRelation* rel = zc::audit::audit_relation(data);
    std::optional<int32> user_id = zc::security::current_app_user();
    if (TRIGGER_FIRED_BY_TRUNCATE(data->tg_event)) {
        Jsonb* metadata = zc::pg::guard([=] { return zc::audit::build_truncate(rel); });
        zc::audit::write_log_row(rel->message_truncate, metadata, user_id);
    } else if (TRIGGER_FIRED_FOR_ROW(data->tg_event)) {
        const char* message = nullptr;
        Jsonb* metadata = row_change(rel, data, &message);
        if (metadata != nullptr) {
            if (rel->flush_events & event_type(data->tg_event))
                zc::audit::buffer_log_row(message, metadata, user_id);
            else
                zc::audit::write_log_row(message, metadata, user_id);
        }
    } else {
        statement_changes(rel, data, user_id);
    }
    return PointerGetDatum(nullptr);
}
