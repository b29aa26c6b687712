#include "crypto/key_grants.hpp"

#include <string>
#include <unordered_map>
#include <vector>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "pg/guard.hpp"
#include "pg/module.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "pg/system_log.hpp"
#include "pg/values.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace zc::crypto {

namespace {

struct Grant {
    Oid grantee;
    bool encrypt;
    bool decrypt;
};

// key name -> its rows in zerocut.key_grant.
std::unordered_map<std::string, std::vector<Grant>> grants_by_key;
Oid grant_table_relid = InvalidOid;  // zerocut.key_grant, once seen

void on_relcache_invalidation(Datum, Oid relid)
{
    if (relid == InvalidOid || relid == grant_table_relid) grants_by_key.clear();
}

zc::pg::OnLoad register_invalidation([] { CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0); });

// The grants of `key_name`, copied: a syscache miss in has_privs_of_role()
// may process invalidations and clear the cache under a reference.
std::vector<Grant> grants_of(const std::string& key_name)
{
    if (auto found = grants_by_key.find(key_name); found != grants_by_key.end()) return found->second;
    // The table's OID first: the callback must know it before anything is
    // cached, or an invalidation could be missed.
    Oid relid = zc::pg::guard([] {
        Oid nsp = get_namespace_oid("zerocut", true);
        return nsp == InvalidOid ? InvalidOid : get_relname_relid("key_grant", nsp);
    });
    // Fail closed: a 0.1.0 install running this library before ALTER
    // EXTENSION ... UPDATE has no grants yet, and EXECUTE alone no longer
    // licenses a key.
    if (relid == InvalidOid)
        throw Error(sqlstate::object_not_in_prerequisite_state, "zerocut.key_grant does not exist", "",
                    "Run ALTER EXTENSION zerocut UPDATE (it grants the keys to the roles that could use them).");
    grant_table_relid = relid;
    std::vector<std::vector<std::optional<std::string>>> rows;
    {
        zc::pg::PinnedSearchPath path;
        zc::pg::AsExtensionOwner owner;  // the table is not readable by PUBLIC
        zc::pg::SpiSession spi;
        spi.execute_cached(
            "SELECT grantee::oid::int8, can_encrypt, can_decrypt FROM zerocut.key_grant WHERE key_name = $1",
            {zc::pg::text_param(key_name)}, true);
        rows = spi.rows_text();
    }
    std::vector<Grant> grants;
    for (const auto& row : rows)
        grants.push_back(
            Grant{static_cast<Oid>(std::stoul(row[0].value())), row[1].value() == "t", row[2].value() == "t"});
    grants_by_key[key_name] = grants;
    return grants;
}

bool is_superuser()
{
    return zc::pg::guard([] { return superuser(); });
}

}  // namespace

void require_key_right(const std::string& key_name, KeyRight right, const char* function)
{
    if (is_superuser()) return;
    std::vector<Grant> grants = grants_of(key_name);
    const Grant* rows = grants.data();
    std::size_t count = grants.size();
    bool decrypt = right == KeyRight::decrypt;
    bool granted = zc::pg::guard([=] {
        Oid user = GetUserId();
        for (std::size_t i = 0; i < count; ++i)
            if ((decrypt ? rows[i].decrypt : rows[i].encrypt) && has_privs_of_role(user, rows[i].grantee)) return true;
        return false;
    });
    // The owner last: looking it up costs a catalog scan, and it is rarely
    // anything but a superuser.
    if (granted || GetUserId() == zc::pg::extension_owner()) return;
    // No grant can name a key that does not exist: say so, as for a superuser.
    if (!key_exists(key_name)) no_such_key(key_name, "key_name");
    const char* right_name = decrypt ? "decrypt" : "encrypt";
    Oid user = GetUserId();
    std::string role = zc::pg::guard([=] { return GetUserNameFromId(user, false); });
    throw Error(sqlstate::insufficient_privilege, "permission denied for key \"" + key_name + "\"",
                std::string(function) + " needs the " + right_name + " right on the key, which role \"" + role +
                    "\" does not have (directly or through a role whose privileges it inherits)",
                "A superuser or zerocut's owner grants it: SELECT zerocut.grant_key(" +
                    zc::pg::quote_literal(key_name) + ", " + zc::pg::quote_literal(role) + ", encrypt => " +
                    (decrypt ? "false" : "true") + ", decrypt => " + (decrypt ? "true" : "false") + ");");
}

void require_envelope_right(const Bytes& envelope, KeyRight right, const char* function, const char* argument)
{
    if (is_superuser()) return;  // no key lookup on the common path
    DataKey key = key_by_id(envelope_key_id(envelope.data, envelope.size, argument), argument);
    require_key_right(key.name, right, function);
}

KeyGrantChange key_grant_change(FunctionCallInfo fcinfo, const char* function)
{
    Oid user = GetUserId();
    if (!zc::pg::is_trusted_role(user))
        throw Error(sqlstate::insufficient_privilege, std::string("permission denied for function ") + function,
                    "Only a superuser or zerocut's owner may grant or revoke keys: EXECUTE on the function alone would "
                    "let a role grant keys to itself.");
    const char* names[] = {"key_name", "role", "encrypt", "decrypt"};
    for (int i = 0; i < 4; ++i) zc::pg::require_arg(fcinfo, i, names[i]);
    KeyGrantChange change;
    change.key_name = zc::pg::text_arg(fcinfo, 0);
    change.role_name = NameStr(*PG_GETARG_NAME(1));
    change.encrypt = PG_GETARG_BOOL(2);
    change.decrypt = PG_GETARG_BOOL(3);
    if (!key_exists(change.key_name)) no_such_key(change.key_name, "key_name");
    const char* role_name = change.role_name.c_str();
    change.role = zc::pg::guard([=] { return get_role_oid(role_name, true); });
    if (change.role == InvalidOid)
        throw Error(
            sqlstate::undefined_object, "argument \"role\": role \"" + change.role_name + "\" does not exist", "",
            change.role_name == "public" ? "Keys are granted to roles, not to PUBLIC: grant them to a group role."
                                         : "");
    return change;
}

void apply_key_grant_change(const KeyGrantChange& change, bool grant)
{
    auto flag = [](bool value) { return zc::pg::text_param(value ? "true" : "false"); };
    {
        zc::pg::PinnedSearchPath path;
        zc::pg::AsExtensionOwner owner;  // zerocut's own table, our SQL only
        zc::pg::SpiSession spi;
        zc::pg::Param key = zc::pg::text_param(change.key_name);
        zc::pg::Param role = zc::pg::Param{OIDOID, ObjectIdGetDatum(change.role)};
        if (grant && (change.encrypt || change.decrypt))
            spi.execute(
                "INSERT INTO zerocut.key_grant AS g (key_name, grantee, can_encrypt, can_decrypt) "
                "VALUES ($1, $2::regrole, $3::boolean, $4::boolean) ON CONFLICT (key_name, grantee) DO UPDATE "
                "SET can_encrypt = g.can_encrypt OR EXCLUDED.can_encrypt, "
                "can_decrypt = g.can_decrypt OR EXCLUDED.can_decrypt",
                {key, role, flag(change.encrypt), flag(change.decrypt)});
        if (!grant) {
            // A grant left with neither right is deleted (a CHECK wants one).
            spi.execute(
                "DELETE FROM zerocut.key_grant WHERE key_name = $1 AND grantee = $2::regrole "
                "AND NOT ((can_encrypt AND NOT $3::boolean) OR (can_decrypt AND NOT $4::boolean))",
                {key, role, flag(change.encrypt), flag(change.decrypt)});
            spi.execute(
                "UPDATE zerocut.key_grant SET can_encrypt = can_encrypt AND NOT $3::boolean, "
                "can_decrypt = can_decrypt AND NOT $4::boolean WHERE key_name = $1 AND grantee = $2::regrole",
                {key, role, flag(change.encrypt), flag(change.decrypt)});
        }
        // DROP ROLE leaves a role's rows behind (a regrole is no dependency);
        // its OID, if ever reused, must not inherit them.
        spi.execute(
            "DELETE FROM zerocut.key_grant g WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid = "
            "g.grantee::oid)");
        std::string metadata = "{\"key\": " + core::json_string(change.key_name) +
                               ", \"role\": " + core::json_string(change.role_name) +
                               ", \"encrypt\": " + (change.encrypt ? "true" : "false") +
                               ", \"decrypt\": " + (change.decrypt ? "true" : "false") + "}";
        zc::pg::write_system_log(spi, "INFO", grant ? "crypto: granted key" : "crypto: revoked key", metadata);
    }
    grants_by_key.clear();
}

}  // namespace zc::crypto
