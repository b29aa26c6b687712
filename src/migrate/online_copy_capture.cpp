// zerocut.online_copy_capture() RETURNS trigger
//
// The change capture of an online copy, made by online_copy() on its
// source with the copy's id as argument:
//   AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW  logs the row's primary key
//     (the old and the new key when an UPDATE changes it) to
//     zerocut.online_copy_log in the writer's transaction;
//   BEFORE TRUNCATE FOR EACH STATEMENT  refuses: a TRUNCATE fires no row
//     trigger, so the copy would keep the rows.
// It acts only where zerocut.online_copy records that copy for this table
// (or a partitioned table above it); elsewhere it does nothing, so a
// trigger left behind (its target dropped) never blocks writes.  Revoked
// from PUBLIC; the log is written as the extension's owner, restricted.
//
// Per backend, which tables log and how is cached by table OID and dropped
// on a relcache invalidation of it (CREATE/DROP TRIGGER, ALTER TABLE) or of
// all (zerocut.online_copy_invalidate, when a copy begins or ends); the
// INSERT's plan is kept per list of key types.
#include <cstdlib>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "pg/boundary.hpp"
#include "pg/module.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/htup_details.h"
#include "nodes/pg_list.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace {

struct Capture {
    int copy_id = 0;
    bool active = false;       // a copy of this table (or an ancestor) is recorded under copy_id
    std::vector<int> attnums;  // key columns in this relation
    std::vector<Oid> types;
    std::vector<bool> by_value;
    std::vector<int16> lengths;
};

std::unordered_map<Oid, Capture>& cache()
{
    static std::unordered_map<Oid, Capture> instance;
    return instance;
}

void on_relcache_invalidation(Datum, Oid relid)
{
    auto& entries = cache();
    if (entries.empty()) return;
    if (relid == InvalidOid)
        entries.clear();
    else
        entries.erase(relid);
}

zc::pg::OnLoad register_invalidation([] { CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0); });

Capture load(Relation rel, int copy_id)
{
    Capture capture;
    capture.copy_id = copy_id;
    Oid relid = RelationGetRelid(rel);
    std::string oids = zc::pg::self_and_ancestors_oid_array(relid);
    std::vector<std::vector<std::optional<std::string>>> rows;
    {
        zc::pg::PinnedSearchPath path;
        zc::pg::AsExtensionOwner owner;
        zc::pg::SpiSession spi;
        spi.execute_cached(
            "SELECT k::pg_catalog.text FROM zerocut.online_copy, pg_catalog.unnest(key_columns) WITH ORDINALITY u(k, "
            "o) "
            "WHERE copy_id = $1 AND source::pg_catalog.oid = ANY ($2::pg_catalog.text::pg_catalog.oid[]) ORDER BY o",
            {zc::pg::int4_param(copy_id), zc::pg::text_param(oids)});
        rows = spi.rows_text();
    }
    if (rows.empty()) return capture;
    TupleDesc desc = RelationGetDescr(rel);
    for (const auto& row : rows) {
        const char* name = row[0]->c_str();
        int attnum = zc::pg::guard([=] { return SPI_fnumber(desc, name); });
        if (attnum <= 0)
            throw zc::Error(
                zc::sqlstate::undefined_column,
                "online copy: key column \"" + *row[0] + "\" of " + RelationGetRelationName(rel) + " does not exist",
                "", "SELECT zerocut.online_copy_abandon(source) and start the copy again.");
        Form_pg_attribute attr = TupleDescAttr(desc, attnum - 1);
        capture.attnums.push_back(attnum);
        capture.types.push_back(attr->atttypid);
        capture.by_value.push_back(attr->attbyval);
        capture.lengths.push_back(attr->attlen);
    }
    capture.active = true;
    return capture;
}

// A copy, not a reference: the SPI of log_key() may process invalidations.
Capture capture_for(Relation rel, int copy_id)
{
    Oid relid = RelationGetRelid(rel);
    auto& entries = cache();
    if (auto found = entries.find(relid); found != entries.end() && found->second.copy_id == copy_id)
        return found->second;
    Capture capture = load(rel, copy_id);
    entries[relid] = capture;
    return capture;
}

// INSERT INTO the log with the key as a jsonb array, one kept plan per list
// of key types.
SPIPlanPtr insert_plan(const std::vector<Oid>& types)
{
    static std::map<std::vector<Oid>, SPIPlanPtr> plans;
    if (auto found = plans.find(types); found != plans.end()) return found->second;
    std::string sql = "INSERT INTO zerocut.online_copy_log (copy_id, key) VALUES ($1, pg_catalog.jsonb_build_array(";
    for (size_t i = 0; i < types.size(); ++i) sql += (i ? ", $" : "$") + std::to_string(i + 2);
    sql += "))";
    std::vector<Oid> argtypes{INT4OID};
    argtypes.insert(argtypes.end(), types.begin(), types.end());
    const char* text = sql.c_str();
    int count = static_cast<int>(argtypes.size());
    Oid* type_ptr = argtypes.data();
    SPIPlanPtr plan = zc::pg::guard([=] {
        SPIPlanPtr prepared = SPI_prepare(text, count, type_ptr);
        if (prepared == nullptr) elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        SPI_keepplan(prepared);
        return prepared;
    });
    plans.emplace(types, plan);
    return plan;
}

void log_key(const Capture& capture, HeapTuple tuple, TupleDesc desc)
{
    std::vector<Datum> values{Int32GetDatum(capture.copy_id)};
    std::vector<char> nulls{' '};
    for (int attnum : capture.attnums) {
        bool is_null = false;
        values.push_back(heap_getattr(tuple, attnum, desc, &is_null));
        nulls.push_back(is_null ? 'n' : ' ');
    }
    zc::pg::PinnedSearchPath path;
    zc::pg::AsRole owner(zc::pg::extension_owner(), true);
    zc::pg::SpiSession spi;
    SPIPlanPtr plan = insert_plan(capture.types);
    Datum* value_ptr = values.data();
    const char* null_ptr = nulls.data();
    int rc = zc::pg::guard([=] { return SPI_execute_plan(plan, value_ptr, null_ptr, false, 0); });
    if (rc != SPI_OK_INSERT)
        throw zc::Error(zc::sqlstate::internal_error,
                        "online copy: could not log a change (" + std::string(SPI_result_code_string(rc)) + ")");
}

bool same_key(const Capture& capture, HeapTuple a, HeapTuple b, TupleDesc desc)
{
    for (size_t i = 0; i < capture.attnums.size(); ++i) {
        bool null_a = false, null_b = false;
        Datum va = heap_getattr(a, capture.attnums[i], desc, &null_a);
        Datum vb = heap_getattr(b, capture.attnums[i], desc, &null_b);
        if (null_a || null_b) {
            if (null_a != null_b) return false;
            continue;
        }
        bool by_value = capture.by_value[i];
        int length = capture.lengths[i];
        if (!zc::pg::guard([=] { return datumIsEqual(va, vb, by_value, length); })) return false;
    }
    return true;
}

}  // namespace

ZC_FUNCTION(zc_online_copy_capture)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "online_copy_capture() must be called as a trigger");
    auto* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    TriggerEvent event = data->tg_event;
    char* end = nullptr;
    long copy_id = data->tg_trigger->tgnargs == 1 ? std::strtol(data->tg_trigger->tgargs[0], &end, 10) : 0;
    if (copy_id <= 0 || end == nullptr || *end != '\0')
        throw zc::Error(zc::sqlstate::invalid_parameter_value,
                        "online_copy_capture() needs the copy's id as its one trigger argument",
                        std::string("trigger \"") + data->tg_trigger->tgname + "\"",
                        "Online copies create it with CALL zerocut.online_copy().");
    Relation rel = data->tg_relation;
    Capture capture = capture_for(rel, static_cast<int>(copy_id));
    if (TRIGGER_FIRED_BY_TRUNCATE(event)) {
        if (capture.active)
            throw zc::Error(
                zc::sqlstate::object_not_in_prerequisite_state,
                std::string("cannot truncate \"") + RelationGetRelationName(rel) + "\" during its online copy",
                "a TRUNCATE is not captured: the target would keep the rows",
                "Finish the copy (zerocut.online_copy_finish) or abandon it "
                "(zerocut.online_copy_abandon) first.");
        return PointerGetDatum(nullptr);
    }
    if (!TRIGGER_FIRED_AFTER(event) || !TRIGGER_FIRED_FOR_ROW(event))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "online_copy_capture() must be fired AFTER ... FOR EACH ROW (or BEFORE TRUNCATE)",
                        std::string("trigger \"") + data->tg_trigger->tgname + "\"");
    if (!capture.active) return PointerGetDatum(nullptr);
    TupleDesc desc = RelationGetDescr(rel);
    if (TRIGGER_FIRED_BY_INSERT(event)) {
        log_key(capture, data->tg_trigtuple, desc);
    } else if (TRIGGER_FIRED_BY_DELETE(event)) {
        log_key(capture, data->tg_trigtuple, desc);
    } else if (TRIGGER_FIRED_BY_UPDATE(event)) {
        log_key(capture, data->tg_newtuple, desc);
        if (!same_key(capture, data->tg_trigtuple, data->tg_newtuple, desc)) log_key(capture, data->tg_trigtuple, desc);
    }
    return PointerGetDatum(nullptr);
}
