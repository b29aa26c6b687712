// zerocut.protect_column_trigger() RETURNS trigger
//
// BEFORE INSERT OR UPDATE FOR EACH ROW, created by zerocut.protect_column()
// with arguments (col, key_name, blind_index, keep_plaintext, context).
// A new plaintext in <col> is encrypted into <col>_encrypted (context bound),
// its blind index written to <col>_bidx, and <col> set to NULL unless
// keep_plaintext.  A value that already is a zerocut ciphertext is never
// encrypted again: in <col>_encrypted it is kept (and authenticated to
// compute the blind index), in a bytea <col> it is moved over as it is.
//
// Its arguments are checked against zerocut.protected_column: the relation
// it fires on (or a partitioned table above it) must have the column
// recorded there with the same key, context and options, else 42501.  So
// the function is no oracle for a role that creates a table of its own with
// this trigger and another column's context (it is also revoked from
// PUBLIC: protect_column() creates it as the extension's owner).
#include <cstring>
#include <string>

#include "core/envelope.hpp"
#include "crypto/keyring.hpp"
#include "crypto/protected_columns.hpp"
#include "pg/boundary.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/htup_details.h"
#include "utils/datum.h"
}

namespace {

struct Setup {
    std::string col, key_name, context;
    bool blind = false, keep = false;
};

Setup read_setup(TriggerData* data)
{
    const char* me = "protect_column_trigger()";
    if (!TRIGGER_FIRED_BEFORE(data->tg_event) || !TRIGGER_FIRED_FOR_ROW(data->tg_event) ||
        !(TRIGGER_FIRED_BY_INSERT(data->tg_event) || TRIGGER_FIRED_BY_UPDATE(data->tg_event)))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        std::string(me) + " must be fired BEFORE INSERT OR UPDATE FOR EACH ROW",
                        std::string("trigger \"") + data->tg_trigger->tgname + "\"");
    if (data->tg_trigger->tgnargs != 5)
        throw zc::Error(zc::sqlstate::invalid_parameter_value, std::string(me) + " needs 5 trigger arguments",
                        std::string("trigger \"") + data->tg_trigger->tgname + "\"",
                        "Create it with zerocut.protect_column().");
    char** args = data->tg_trigger->tgargs;
    Setup setup{args[0], args[1], args[4], std::strcmp(args[2], "true") == 0, std::strcmp(args[3], "true") == 0};
    Relation rel = data->tg_relation;
    auto recorded = zc::crypto::find_protected_column(RelationGetRelid(rel), setup.col);
    auto where = [&] {
        return "column \"" + setup.col + "\" of relation " + zc::pg::qualified_relation_name(RelationGetRelid(rel));
    };
    if (!recorded)
        throw zc::Error(zc::sqlstate::insufficient_privilege,
                        std::string(me) + ": " + where() + " is not protected by zerocut.protect_column()",
                        std::string("trigger \"") + data->tg_trigger->tgname +
                            "\": the relation and column are not recorded in zerocut.protected_column",
                        "Protect columns with zerocut.protect_column(), which records them and creates the trigger.");
    if (recorded->key_name != setup.key_name || recorded->context != setup.context ||
        recorded->blind_index != setup.blind || recorded->keep_plaintext != setup.keep)
        throw zc::Error(zc::sqlstate::insufficient_privilege,
                        std::string(me) + ": the arguments of trigger \"" + data->tg_trigger->tgname +
                            "\" do not match how " + where() + " was protected",
                        "zerocut.protected_column records key \"" + recorded->key_name + "\" and context \"" +
                            recorded->context + "\"",
                        "Run zerocut.protect_column() again to re-create the trigger.");
    return setup;
}

int column_number(TupleDesc desc, const std::string& name, Relation rel)
{
    const char* raw = name.c_str();
    int attnum = zc::pg::guard([=] { return SPI_fnumber(desc, raw); });
    if (attnum <= 0)
        throw zc::Error(zc::sqlstate::undefined_column,
                        "column \"" + name + "\" of relation \"" + RelationGetRelationName(rel) + "\" does not exist",
                        "", "Run zerocut.protect_column() again to re-create it.");
    return attnum;
}

struct Field {
    Datum value = 0;
    bool is_null = true;
};

Field get(HeapTuple tuple, int attnum, TupleDesc desc)
{
    Field field;
    if (tuple == nullptr) return field;
    field.value = heap_getattr(tuple, attnum, desc, &field.is_null);
    return field;
}

bool same(const Field& a, const Field& b)
{
    if (a.is_null || b.is_null) return a.is_null == b.is_null;
    return datumIsEqual(a.value, b.value, false, -1);
}

zc::crypto::Bytes bytes_of(const Field& field)
{
    Datum value = field.value;
    varlena* detoasted = zc::pg::guard([=] { return PG_DETOAST_DATUM_PACKED(value); });
    return zc::crypto::Bytes{reinterpret_cast<const std::uint8_t*>(VARDATA_ANY(detoasted)),
                             VARSIZE_ANY_EXHDR(detoasted)};
}

}  // namespace

ZC_FUNCTION(zc_protect_column_trigger)
{
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "protect_column_trigger() must be called as a trigger");
    auto* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    Setup setup = read_setup(data);
    bool is_update = TRIGGER_FIRED_BY_UPDATE(data->tg_event);
    HeapTuple row = is_update ? data->tg_newtuple : data->tg_trigtuple;
    HeapTuple old_row = is_update ? data->tg_trigtuple : nullptr;
    TupleDesc desc = data->tg_relation->rd_att;
    int plain_col = column_number(desc, setup.col, data->tg_relation);
    int enc_col = column_number(desc, setup.col + "_encrypted", data->tg_relation);
    int bidx_col = setup.blind ? column_number(desc, setup.col + "_bidx", data->tg_relation) : 0;
    bool plain_is_bytea = TupleDescAttr(desc, plain_col - 1)->atttypid == BYTEAOID;
    std::string_view context(setup.context);

    Field plain = get(row, plain_col, desc), enc = get(row, enc_col, desc);
    Field bidx = bidx_col ? get(row, bidx_col, desc) : Field{};
    Field new_enc = enc, new_plain = plain, new_bidx = bidx;

    if (!plain.is_null) {
        zc::crypto::Bytes bytes = bytes_of(plain);
        if (plain_is_bytea && zc::core::looks_like_envelope(bytes.data, bytes.size)) {
            // Already ours: move it, never encrypt it twice.
            new_enc = plain;
            new_plain = Field{};
            if (setup.blind) {
                std::string label = "column \"" + setup.col + "\"";
                varlena* clear = zc::crypto::open(bytes.data, bytes.size, context, false, label.c_str());
                new_bidx = Field{PointerGetDatum(zc::crypto::blind_index(
                                     zc::crypto::blind_index_key(setup.key_name, "key_name"),
                                     reinterpret_cast<const std::uint8_t*>(VARDATA(clear)), VARSIZE(clear) - VARHDRSZ)),
                                 false};
            }
        } else if (is_update && setup.keep && !enc.is_null && same(plain, get(old_row, plain_col, desc)) &&
                   same(enc, get(old_row, enc_col, desc))) {
            return PointerGetDatum(row);  // nothing changed that needs work
        } else {
            zc::crypto::DataKey key = zc::crypto::active_key(setup.key_name, "key_name");
            auto type = plain_is_bytea ? zc::core::PayloadType::bytea : zc::core::PayloadType::text;
            new_enc = Field{PointerGetDatum(zc::crypto::seal(key, type, bytes.data, bytes.size, context)), false};
            if (setup.blind)
                new_bidx = Field{PointerGetDatum(zc::crypto::blind_index(
                                     zc::crypto::blind_index_key(setup.key_name, "key_name"), bytes.data, bytes.size)),
                                 false};
            if (!setup.keep) new_plain = Field{};
        }
    } else if (!enc.is_null) {
        zc::crypto::Bytes bytes = bytes_of(enc);
        std::string enc_name = setup.col + "_encrypted";
        if (!zc::core::looks_like_envelope(bytes.data, bytes.size))
            throw zc::Error(zc::sqlstate::invalid_parameter_value,
                            "column \"" + enc_name + "\" of relation \"" + RelationGetRelationName(data->tg_relation) +
                                "\" must hold a zerocut ciphertext",
                            "", "Write the plaintext to \"" + setup.col + "\"; the trigger encrypts it.");
        if (setup.blind && (!is_update || !same(enc, get(old_row, enc_col, desc)) || bidx.is_null)) {
            std::string label = "column \"" + enc_name + "\"";
            varlena* clear = zc::crypto::open(bytes.data, bytes.size, context, false, label.c_str());
            new_bidx = Field{PointerGetDatum(zc::crypto::blind_index(
                                 zc::crypto::blind_index_key(setup.key_name, "key_name"),
                                 reinterpret_cast<const std::uint8_t*>(VARDATA(clear)), VARSIZE(clear) - VARHDRSZ)),
                             false};
        }
    } else if (setup.blind) {
        new_bidx = Field{};
    }

    int columns[3];
    Datum values[3];
    bool nulls[3];
    int count = 0;
    auto add = [&](int attnum, const Field& field) {
        columns[count] = attnum;
        values[count] = field.value;
        nulls[count] = field.is_null;
        ++count;
    };
    add(plain_col, new_plain);
    add(enc_col, new_enc);
    if (setup.blind) add(bidx_col, new_bidx);
    int* column_ptr = columns;
    Datum* value_ptr = values;
    bool* null_ptr = nulls;
    HeapTuple result =
        zc::pg::guard([=] { return heap_modify_tuple_by_cols(row, desc, count, column_ptr, value_ptr, null_ptr); });
    return PointerGetDatum(result);
}
