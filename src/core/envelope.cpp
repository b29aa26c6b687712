#include "core/envelope.hpp"

#include <cstdio>
#include <cstring>

namespace zc::core {

namespace {

constexpr std::uint8_t magic[envelope_magic_size] = {'Z', 'C', 'E', 0x01};

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

void write_envelope_header(const EnvelopeHeader& header, std::uint8_t* out) noexcept
{
    std::memcpy(out, magic, envelope_magic_size);
    out[4] = static_cast<std::uint8_t>(header.type);
    out[5] = static_cast<std::uint8_t>(header.key_id >> 24);
    out[6] = static_cast<std::uint8_t>(header.key_id >> 16);
    out[7] = static_cast<std::uint8_t>(header.key_id >> 8);
    out[8] = static_cast<std::uint8_t>(header.key_id);
    std::memcpy(out + 9, header.nonce.data(), envelope_nonce_size);
}

ParsedEnvelope parse_envelope(const std::uint8_t* data, std::size_t size) noexcept
{
    ParsedEnvelope parsed;
    if (data == nullptr || size < envelope_overhead) {
        parsed.problem = EnvelopeProblem::too_short;
        return parsed;
    }
    if (std::memcmp(data, magic, 3) != 0) {
        parsed.problem = EnvelopeProblem::bad_magic;
        return parsed;
    }
    if (data[3] != magic[3]) {
        parsed.problem = EnvelopeProblem::bad_version;
        return parsed;
    }
    if (data[4] != static_cast<std::uint8_t>(PayloadType::text) &&
        data[4] != static_cast<std::uint8_t>(PayloadType::bytea)) {
        parsed.problem = EnvelopeProblem::bad_type;
        return parsed;
    }
    parsed.header.type = static_cast<PayloadType>(data[4]);
    parsed.header.key_id = (std::uint32_t{data[5]} << 24) | (std::uint32_t{data[6]} << 16) |
                           (std::uint32_t{data[7]} << 8) | std::uint32_t{data[8]};
    std::memcpy(parsed.header.nonce.data(), data + 9, envelope_nonce_size);
    parsed.ciphertext = data + envelope_header_size;
    parsed.ciphertext_size = size - envelope_overhead;
    parsed.tag = data + size - envelope_tag_size;
    return parsed;
}

bool looks_like_envelope(const std::uint8_t* data, std::size_t size) noexcept
{
    return parse_envelope(data, size).problem == EnvelopeProblem::none;
}

const char* describe(EnvelopeProblem problem) noexcept
{
    switch (problem) {
        case EnvelopeProblem::none:
            return "a zerocut envelope";
        case EnvelopeProblem::too_short:
            return "too short to be a zerocut ciphertext";
        case EnvelopeProblem::bad_magic:
            return "not a zerocut ciphertext (no ZCE header)";
        case EnvelopeProblem::bad_version:
            return "of an unsupported zerocut ciphertext version";
        case EnvelopeProblem::bad_type:
            return "a zerocut ciphertext of unknown payload type";
    }
    return "not a zerocut ciphertext";
}

std::string envelope_aad(const std::uint8_t* header, std::optional<std::string_view> context)
{
    std::string aad(reinterpret_cast<const char*>(header), envelope_header_size);
    if (context) {
        aad.push_back('\x01');
        aad.append(*context);
    } else {
        aad.push_back('\x00');
    }
    return aad;
}

std::string wrapped_key_aad(std::uint32_t id, std::string_view name, std::int32_t version)
{
    std::string aad = "zerocut data key v1";
    aad.push_back('\0');
    for (int shift = 24; shift >= 0; shift -= 8) aad.push_back(static_cast<char>((id >> shift) & 0xff));
    auto v = static_cast<std::uint32_t>(version);
    for (int shift = 24; shift >= 0; shift -= 8) aad.push_back(static_cast<char>((v >> shift) & 0xff));
    aad.append(name);
    return aad;
}

std::string parse_root_key(std::string_view content, std::array<std::uint8_t, data_key_size>& key) noexcept
{
    std::string_view digits = content;
    if (digits.size() >= 2 && digits.substr(digits.size() - 2) == "\r\n")
        digits.remove_suffix(2);
    else if (!digits.empty() && digits.back() == '\n')
        digits.remove_suffix(1);
    if (digits.size() != 2 * data_key_size)
        return "must hold exactly 64 hexadecimal digits (32 bytes), optionally followed by a newline; it holds " +
               std::to_string(content.size()) + " bytes";
    for (std::size_t i = 0; i < data_key_size; ++i) {
        int high = hex_value(digits[2 * i]);
        int low = hex_value(digits[2 * i + 1]);
        if (high < 0 || low < 0) {
            key.fill(0);
            return "must hold only hexadecimal digits (0-9, a-f)";
        }
        key[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return "";
}

std::string check_key_file_mode(bool regular_file, unsigned owner_uid, unsigned server_uid, unsigned mode)
{
    if (!regular_file) return "is not a regular file";
    if (owner_uid != server_uid)
        return "must be owned by the database server's operating system user (uid " + std::to_string(server_uid) +
               "), not uid " + std::to_string(owner_uid);
    if ((mode & 077) != 0) {
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", mode & 07777);
        return std::string("must not be accessible by group or others (mode ") + octal + "; use chmod 600)";
    }
    return "";
}

std::string check_key_name(std::string_view name)
{
    if (name.empty()) return "must not be empty";
    if (name.size() > 63) return "must be at most 63 bytes long";
    for (char c : name)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "must not contain control characters";
    return "";
}

}  // namespace zc::core
