#include "pg/copy_access.hpp"

#include "pg/guard.hpp"

extern "C" {
#include "commands/tablespace.h"
#include "utils/lsyscache.h"
}

namespace zc::pg {

namespace {

Param oid_param(Oid value)
{
    return Param{OIDOID, ObjectIdGetDatum(value)};
}

// The catalog queries below run read-write (SpiSession::execute's default):
// a read-only one reads the calling statement's snapshot and misses what
// this transaction made since, e.g. the partition just created (its columns:
// no column grant was copied) or a parent made earlier in the same call.

// "PUBLIC" or the quoted role name (grantee 0 means PUBLIC).
const char* grantee_sql =
    "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END";

void copy_table_grants(SpiSession& spi, Oid from, const std::string& target)
{
    spi.execute(std::string("SELECT a.privilege_type, ") + grantee_sql +
                    ", a.is_grantable::text FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a "
                    "WHERE c.oid = $1 AND a.grantee <> c.relowner ORDER BY 1, 2",
                {oid_param(from)});
    for (const auto& row : spi.rows_text()) {
        std::string sql = "GRANT " + *row[0] + " ON TABLE " + target + " TO " + *row[1];
        if (*row[2] == "true") sql += " WITH GRANT OPTION";
        spi.execute(sql);
    }
}

// Column grants by column name: the two tables have the same columns, not
// necessarily the same attribute numbers.
void copy_column_grants(SpiSession& spi, Oid from, Oid to, const std::string& target)
{
    spi.execute(std::string("SELECT a.privilege_type, pg_catalog.quote_ident(att.attname), ") + grantee_sql +
                    ", a.is_grantable::text FROM pg_catalog.pg_attribute att "
                    "JOIN pg_catalog.pg_class c ON c.oid = att.attrelid, pg_catalog.aclexplode(att.attacl) a "
                    "WHERE att.attrelid = $1 AND att.attnum > 0 AND NOT att.attisdropped AND a.grantee <> c.relowner "
                    "AND EXISTS (SELECT FROM pg_catalog.pg_attribute t WHERE t.attrelid = $2 "
                    "AND t.attname = att.attname AND NOT t.attisdropped) ORDER BY 1, 2, 3",
                {oid_param(from), oid_param(to)});
    for (const auto& row : spi.rows_text()) {
        std::string sql = "GRANT " + *row[0] + " (" + *row[1] + ") ON TABLE " + target + " TO " + *row[2];
        if (*row[3] == "true") sql += " WITH GRANT OPTION";
        spi.execute(sql);
    }
}

void copy_row_security(SpiSession& spi, Oid from, const std::string& target)
{
    spi.execute("SELECT relrowsecurity::text, relforcerowsecurity::text FROM pg_catalog.pg_class WHERE oid = $1",
                {oid_param(from)});
    auto rows = spi.rows_text();
    if (rows.empty()) return;
    if (*rows[0][0] == "true") spi.execute("ALTER TABLE " + target + " ENABLE ROW LEVEL SECURITY");
    if (*rows[0][1] == "true") spi.execute("ALTER TABLE " + target + " FORCE ROW LEVEL SECURITY");
}

// Each policy as CREATE POLICY; its expressions are deparsed under the
// caller's pinned search_path, so every name outside pg_catalog is qualified.
void copy_policies(SpiSession& spi, Oid from, Oid to, const std::string& target)
{
    spi.execute(
        "SELECT pg_catalog.quote_ident(p.polname), "
        "CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, "
        "CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' "
        "WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, "
        "(SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC' "
        "ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ') FROM pg_catalog.unnest(p.polroles) r), "
        "pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) "
        "FROM pg_catalog.pg_policy p WHERE p.polrelid = $1 "
        "AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy q WHERE q.polrelid = $2 AND q.polname = p.polname) "
        "ORDER BY p.polname",
        {oid_param(from), oid_param(to)});
    for (const auto& row : spi.rows_text()) {
        std::string sql =
            "CREATE POLICY " + *row[0] + " ON " + target + " AS " + *row[1] + " FOR " + *row[2] + " TO " + *row[3];
        if (row[4]) sql += " USING (" + *row[4] + ")";
        if (row[5]) sql += " WITH CHECK (" + *row[5] + ")";
        spi.execute(sql);
    }
}

}  // namespace

void copy_access(SpiSession& spi, Oid from, Oid to)
{
    std::string target = qualified_relation_name(to);
    copy_table_grants(spi, from, target);
    copy_column_grants(spi, from, to, target);
    copy_row_security(spi, from, target);
    copy_policies(spi, from, to, target);
}

std::string tablespace_clause(Oid relid)
{
    char* name = guard([=] {
        Oid tablespace = get_rel_tablespace(relid);
        return OidIsValid(tablespace) ? get_tablespace_name(tablespace) : nullptr;
    });
    return name ? " TABLESPACE " + quote_ident(name) : std::string();
}

}  // namespace zc::pg
