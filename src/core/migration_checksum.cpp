#include "core/migration_checksum.hpp"

namespace zc::core {

std::string normalize_line_endings(std::string_view sql)
{
    std::string out;
    out.reserve(sql.size());
    for (std::size_t i = 0; i < sql.size(); ++i) {
        if (sql[i] != '\r') {
            out.push_back(sql[i]);
            continue;
        }
        out.push_back('\n');
        if (i + 1 < sql.size() && sql[i + 1] == '\n') ++i;  // CRLF: one LF
    }
    return out;
}

std::string to_hex(const unsigned char* bytes, std::size_t size)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(digits[bytes[i] >> 4]);
        out.push_back(digits[bytes[i] & 0x0F]);
    }
    return out;
}

bool is_blank(std::string_view text)
{
    for (char c : text)
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
    return true;
}

std::optional<std::string> version_problem(std::string_view version, bool allow_reserved)
{
    if (is_blank(version)) return "must not be empty";
    for (char c : version)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return "must not contain control characters";
    if (!allow_reserved && version.substr(0, reserved_version_prefix.size()) == reserved_version_prefix)
        return "must not begin with \"" + std::string(reserved_version_prefix) +
               "\": those versions are zerocut's own steps";
    return std::nullopt;
}

}  // namespace zc::core
