// The migration ledger's pure parts (docs/migrations.md): what a migration's
// checksum is computed over, and which versions are acceptable.  Unit-tested.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace zc::core {

// The text a migration checksum covers: `sql` with every CRLF and every lone
// CR turned into LF, so the same file saved with Windows or old Mac line
// endings is the same migration.  Nothing else changes: whitespace,
// comments and case are part of the SQL.
std::string normalize_line_endings(std::string_view sql);

// Lower-case hex of `size` bytes.
std::string to_hex(const unsigned char* bytes, std::size_t size);

// True when `text` is empty or only ASCII whitespace.
bool is_blank(std::string_view text);

// Versions beginning with this are zerocut's own (install_domain_schema()
// records "zerocut.domain.<step>"); apply_migration() refuses them.
inline constexpr std::string_view reserved_version_prefix = "zerocut.";

// The longest version, in characters (also a CHECK on the ledger table).
inline constexpr int max_version_length = 200;

// What is wrong with `version` as a user migration's version (empty or
// blank, a control character, the reserved prefix), or nullopt.  The
// message completes `argument "p_version" ...`.  The length is checked by
// the caller, in the database's characters.
std::optional<std::string> version_problem(std::string_view version, bool allow_reserved);

}  // namespace zc::core
