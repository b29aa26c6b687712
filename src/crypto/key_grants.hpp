// Keys per role (issue 17): who may use which key of the keyring.
//
// EXECUTE on zerocut.encrypt()/decrypt() says which functions a role may
// call; zerocut.key_grant says with which keys.  A row (key_name, grantee,
// can_encrypt, can_decrypt), written only by grant_key()/revoke_key(), lets
// every role that has the privileges of `grantee` (has_privs_of_role:
// membership with INHERIT) use the key by name, so a grant outlives
// rotation.  Superusers and the extension's owner need no grant.
//
// Checked by the explicit calls only: encrypt() and blind_index() need the
// encrypt right (a blind index is a lookup oracle), decrypt() and
// decrypt_bytea() the decrypt right on the key the envelope names,
// reencrypt() both, protect_column() the encrypt right for its caller.  The
// protect trigger does not check: protect_column() authorised the key for
// every writer of the table.
//
// The rows of a key are cached per backend and dropped on any relcache
// invalidation of zerocut.key_grant (its statement trigger sends one on every
// change, as zerocut.encryption_keys' does); membership is evaluated at each
// call (PostgreSQL caches it and invalidates it itself).
#pragma once

#include <string>

#include "crypto/keyring.hpp"

namespace zc::crypto {

enum class KeyRight { encrypt, decrypt };

// 42501 `permission denied for key "<name>"` unless the current user may
// use `key_name` for `right`; `function` (e.g. "zerocut.decrypt()") is named
// in the detail.  Refused for a key that does not exist: 42704 naming
// "key_name" (no grant can name such a key).
void require_key_right(const std::string& key_name, KeyRight right, const char* function);

// The same for the key an envelope names (22023 for a malformed envelope,
// 42704 for an unknown key, both naming `argument`).
void require_envelope_right(const Bytes& envelope, KeyRight right, const char* function, const char* argument);

// The arguments of grant_key()/revoke_key() (key_name, role, encrypt,
// decrypt), checked: 42501 unless the caller is a superuser or zerocut's
// owner (EXECUTE on them must not let a role grant itself keys), 22004 for a
// NULL, 42704 for an unknown key or role, each naming the argument.
struct KeyGrantChange {
    std::string key_name, role_name;
    Oid role = InvalidOid;
    bool encrypt = false, decrypt = false;
};
KeyGrantChange key_grant_change(FunctionCallInfo fcinfo, const char* function);

// Adds (grant) or removes (revoke) the rights named in `change`; a row left
// with neither right is deleted.  Also forgets the rows of dropped roles
// (DROP ROLE cannot remove them) and this backend's cached grants, so the
// change holds from the very next call.  Logged to audit_log.system_log.
void apply_key_grant_change(const KeyGrantChange& change, bool grant);

}  // namespace zc::crypto
