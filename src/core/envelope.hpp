// zerocut's ciphertext envelope and root-key-file format: pure byte layout,
// no OpenSSL and no postgres.h, unit-tested in test/unit/envelope_test.cpp.
//
// Envelope v1 (what zerocut.encrypt() returns), 37 bytes of overhead:
//
//   offset  size  field
//   0       3     magic "ZCE"
//   3       1     format version, 0x01
//   4       1     payload type: 't' (text) or 'b' (bytea)
//   5       4     data key id, unsigned big-endian (zerocut.encryption_keys.id)
//   9       12    AES-GCM nonce (random per message)
//   21      n     AES-256-GCM ciphertext of the payload
//   21+n    16    GCM tag
//
// The associated data authenticated by the tag is the 21-byte header
// followed by one byte (0 = no context, 1 = context) and the context bytes,
// so the key id, type, nonce and context cannot be changed undetected.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zc::core {

inline constexpr std::size_t envelope_magic_size = 4;  // "ZCE" + version
inline constexpr std::size_t envelope_header_size = 21;
inline constexpr std::size_t envelope_nonce_size = 12;
inline constexpr std::size_t envelope_tag_size = 16;
inline constexpr std::size_t envelope_overhead = envelope_header_size + envelope_tag_size;
inline constexpr std::size_t data_key_size = 32;

enum class PayloadType : std::uint8_t { text = 't', bytea = 'b' };

struct EnvelopeHeader {
    PayloadType type = PayloadType::text;
    std::uint32_t key_id = 0;
    std::array<std::uint8_t, envelope_nonce_size> nonce{};
};

// Writes the 21-byte header to `out` (which must have room for it).
void write_envelope_header(const EnvelopeHeader& header, std::uint8_t* out) noexcept;

// Why bytes are not an envelope.
enum class EnvelopeProblem { none, too_short, bad_magic, bad_version, bad_type };

struct ParsedEnvelope {
    EnvelopeProblem problem = EnvelopeProblem::none;
    EnvelopeHeader header;
    const std::uint8_t* ciphertext = nullptr;  // into the parsed buffer
    std::size_t ciphertext_size = 0;
    const std::uint8_t* tag = nullptr;
};

// Splits `data` into header, ciphertext and tag; sets `problem` when the
// bytes cannot be an envelope (this authenticates nothing).
ParsedEnvelope parse_envelope(const std::uint8_t* data, std::size_t size) noexcept;

// True when the bytes have the envelope's shape (magic, version, type, length).
bool looks_like_envelope(const std::uint8_t* data, std::size_t size) noexcept;

// Human-readable reason for a parse problem (never includes the data).
const char* describe(EnvelopeProblem problem) noexcept;

// The associated data: header bytes, then 0, or 1 and the context.
std::string envelope_aad(const std::uint8_t* header, std::optional<std::string_view> context);

// Associated data binding a wrapped data key to its row (id, name, version).
std::string wrapped_key_aad(std::uint32_t id, std::string_view name, std::int32_t version);

// The content of a root key file: exactly 64 hex digits, optionally followed
// by one "\n" (or "\r\n").  Fills `key` and returns "" on success, else the
// reason (which never quotes the content).
std::string parse_root_key(std::string_view content, std::array<std::uint8_t, data_key_size>& key) noexcept;

// Ownership/permission rule for the key file: a regular file owned by the
// server's user with no group or other permission bits.  Returns "" when
// acceptable, else the reason.
std::string check_key_file_mode(bool regular_file, unsigned owner_uid, unsigned server_uid, unsigned mode);

// Blind-index and data-key names: 1..63 bytes, no control characters.
std::string check_key_name(std::string_view name);

}  // namespace zc::core

namespace zc::core {

}  // namespace zc::core
