#include "crypto/protected_columns.hpp"

#include <string>
#include <unordered_map>
#include <vector>

#include "core/errors.hpp"
#include "pg/guard.hpp"
#include "pg/module.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "nodes/pg_list.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace zc::crypto {

namespace {

// relid -> its protected columns (own and its ancestors').  Entries are
// copied out, so an invalidation while a caller holds one is harmless.
std::unordered_map<Oid, std::vector<ProtectedColumn>>& cache()
{
    static std::unordered_map<Oid, std::vector<ProtectedColumn>> instance;
    return instance;
}

Oid registry_relid = InvalidOid;  // zerocut.protected_column, once seen

void on_relcache_invalidation(Datum, Oid relid)
{
    auto& entries = cache();
    if (entries.empty()) return;
    if (relid == InvalidOid || relid == registry_relid) {
        entries.clear();
        return;
    }
    entries.erase(relid);
}

zc::pg::OnLoad register_invalidation([] { CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0); });

Oid find_registry()
{
    return zc::pg::guard([] {
        Oid nsp = get_namespace_oid("zerocut", true);
        return nsp == InvalidOid ? InvalidOid : get_relname_relid("protected_column", nsp);
    });
}

std::vector<ProtectedColumn> load(Oid relid)
{
    std::vector<ProtectedColumn> result;
    Oid registry = find_registry();
    if (registry == InvalidOid) return result;
    registry_relid = registry;
    // The relation and the partitioned tables above it.
    std::string oids = zc::pg::self_and_ancestors_oid_array(relid);
    std::vector<std::vector<std::optional<std::string>>> rows;
    {
        zc::pg::PinnedSearchPath path;
        zc::pg::AsExtensionOwner owner;
        zc::pg::SpiSession spi;
        spi.execute_cached(
            "SELECT relation::oid::int8, column_name::text, key_name, context, blind_index_column IS NOT NULL, "
            "keep_plaintext FROM zerocut.protected_column WHERE relation::oid = ANY ($1::text::oid[]) "
            "ORDER BY relation::oid, column_name",
            {zc::pg::text_param(oids)});
        rows = spi.rows_text();
    }
    for (const auto& row : rows) {
        ProtectedColumn column;
        column.relid = static_cast<Oid>(std::stoul(row[0].value()));
        column.column = row[1].value();
        column.key_name = row[2].value();
        column.context = row[3].value();
        column.blind_index = row[4].value() == "t";
        column.keep_plaintext = row[5].value() == "t";
        result.push_back(std::move(column));
    }
    return result;
}

}  // namespace

std::vector<ProtectedColumn> protected_columns(Oid relid)
{
    if (auto found = cache().find(relid); found != cache().end()) return found->second;
    std::vector<ProtectedColumn> columns = load(relid);
    // Cached only once the registry exists (an invalidation of it must reach us).
    if (registry_relid != InvalidOid) cache()[relid] = columns;
    return columns;
}

std::optional<ProtectedColumn> find_protected_column(Oid relid, const std::string& column)
{
    for (auto& entry : protected_columns(relid))
        if (entry.column == column) return entry;
    return std::nullopt;
}

std::vector<std::string> protected_column_names(Oid relid)
{
    std::vector<std::string> names;
    for (auto& entry : protected_columns(relid)) names.push_back(entry.column);
    return names;
}

}  // namespace zc::crypto
