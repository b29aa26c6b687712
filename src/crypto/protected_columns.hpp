// The registry of protected columns: zerocut.protected_column, one row per
// column zerocut.protect_column() protects, written by it as the extension's
// owner.  Read here, cached per backend:
//
//  - by protect_column_trigger(), which works only for a relation and column
//    recorded there (with the same key, context and options as its trigger
//    arguments): the trigger function cannot be turned into an encryption or
//    blind-index oracle on a table of one's own;
//  - by the audit trigger (src/audit/audit_relation.cpp), which redacts every
//    protected column as it redacts zerocut.audit_redact_columns: no path
//    puts a protected column's plaintext in the log.
//
// The cache of a relation lists its own protected columns and those of the
// partitioned tables it is a partition of.  It is dropped on a relcache
// invalidation of that relation (ATTACH/DETACH PARTITION, DDL) or of
// zerocut.protected_column (its statement trigger sends one for every
// relation: changes to it are rare).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg/postgres.hpp"

namespace zc::crypto {

struct ProtectedColumn {
    Oid relid = InvalidOid;  // the table protect_column() was given
    std::string column, key_name, context;
    bool blind_index = false, keep_plaintext = false;
};

// The columns protected on `relid` or on a partitioned table it belongs to.
// Empty when there are none (or the registry does not exist, e.g. during an
// upgrade from 0.1.0).
std::vector<ProtectedColumn> protected_columns(Oid relid);

// The protected column `column` of `relid` (or of an ancestor), if any.
std::optional<ProtectedColumn> find_protected_column(Oid relid, const std::string& column);

// The names of the protected (plaintext) columns of `relid`: what the audit
// trigger must never write in clear.
std::vector<std::string> protected_column_names(Oid relid);

}  // namespace zc::crypto
