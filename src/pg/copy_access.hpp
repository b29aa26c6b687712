// What a table zerocut creates for another table (a partition, an archive
// table) takes from that table, so that it is no easier to read or write
// than the data it came from: the grants (table and column level), row-level
// security (ENABLE and FORCE) and its policies.  The owner and tablespace are
// given at creation (create the object as the owner, AsTableOwner, with
// tablespace_clause()).
#pragma once

#include <string>

#include "pg/postgres.hpp"
#include "pg/spi.hpp"

namespace zc::pg {

// Copies the grants, RLS flags and policies of `from` onto `to`.  Idempotent
// (a policy `to` already has by name is left alone).  Runs as the current
// user, who must own `to` (and be able to read `from`'s catalog rows): call it
// inside AsTableOwner of `to`.
void copy_access(SpiSession& spi, Oid from, Oid to);

// " TABLESPACE <name>" for `relid`'s own tablespace, or "" when it uses the
// database default.
std::string tablespace_clause(Oid relid);

}  // namespace zc::pg
