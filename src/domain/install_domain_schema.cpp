// zerocut.install_domain_schema() RETURNS text
//
// Runs the idempotent SQL files installed in $sharedir/extension/zerocut_domain
// (the repository's domain/ folder) in name order and returns their names, comma-separated.
// Each capability adds its own file there; none of the objects created
// belong to the extension, so DROP EXTENSION leaves them and their rows.
// Every file is recorded in the migration ledger as version
// "zerocut.domain.<file>" with its checksum (docs/migrations.md); a second
// run runs the files again (they repair what is missing) and leaves rows
// whose checksum is unchanged as they are.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "migrate/migration_ledger.hpp"
#include "pg/boundary.hpp"
#include "pg/job_lock.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

extern "C" {
#include "utils/timestamp.h"
#include "commands/extension.h"
}

namespace {

std::filesystem::path domain_directory()
{
    char share_path[MAXPGPATH];
    zc::pg::guard([&] { get_share_path(my_exec_path, share_path); });
    return std::filesystem::path(share_path) / "extension" / "zerocut_domain";
}

std::vector<std::filesystem::path> domain_files()
{
    std::filesystem::path directory = domain_directory();
    std::error_code error;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(directory, error))
        if (entry.path().extension() == ".sql") files.push_back(entry.path());
    if (error || files.empty())
        throw zc::Error(zc::sqlstate::undefined_file, "zerocut's domain SQL files are missing",
                        "looked in " + directory.string(), "Reinstall zerocut with `make install`.");
    std::sort(files.begin(), files.end());
    return files;
}

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path);
    if (!in) throw zc::Error(zc::sqlstate::undefined_file, "cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Names the domain file in a PostgreSQL error it raised.  The context SPI
// adds would quote the whole file; the file name says more, in one line.
[[noreturn]] void rethrow_with_file(const zc::pg::PgError& error, const std::string& file)
{
    ErrorData* data = error.data();
    const char* name = file.c_str();
    zc::pg::guard([=] { data->context = psprintf("zerocut domain file %s", name); });
    throw error;
}

// Runs every file in one SPI session; returns the names applied.
std::string apply_domain_files()
{
    std::vector<std::filesystem::path> files = domain_files();
    zc::pg::SpiSession spi;
    zc::pg::PinnedSearchPath pinned;
    pinned.set("client_min_messages", "warning");  // no "already exists, skipping" noise
    // Two installers at once would race on CREATE ... IF NOT EXISTS.
    zc::pg::lock_installer();
    // Before ALTER EXTENSION zerocut UPDATE to 0.2.0 there is no ledger.
    bool ledger = zc::migrate::ledger_exists();
    std::string caller = zc::migrate::current_user_name();
    std::string applied;
    for (const auto& file : files) {
        std::string sql = read_file(file);
        TimestampTz started = zc::pg::guard([] { return GetCurrentTimestamp(); });
        try {
            spi.execute(sql);
        } catch (const zc::pg::PgError& error) {
            rethrow_with_file(error, file.filename().string());
        }
        int64 elapsed_us = zc::pg::guard([] { return GetCurrentTimestamp(); }) - started;
        if (ledger) zc::migrate::record_domain_step(spi, file.filename().string(), sql, caller, started, elapsed_us);
        applied += (applied.empty() ? "" : ",") + file.filename().string();
    }
    return applied;
}

}  // namespace

ZC_FUNCTION(zc_install_domain_schema)
{
    // Called from an extension script, every object would become a member
    // of that extension and DROP EXTENSION would take the tables with it.
    if (creating_extension)
        throw zc::Error(zc::sqlstate::object_not_in_prerequisite_state,
                        "install_domain_schema() cannot run inside CREATE EXTENSION or ALTER EXTENSION",
                        "Domain objects must not become extension members.",
                        "Call SELECT zerocut.install_domain_schema(); after CREATE EXTENSION.");
    // The result is built after SPI_finish, in the caller's memory context.
    return zc::pg::text_datum(apply_domain_files());
}
