// The keyring behind zerocut.encrypt()/decrypt()/blind_index(): the root key
// file (GUC zerocut.key_file), data keys wrapped by it in
// zerocut.encryption_keys, a per-backend cache of unwrapped keys, and
// AES-256-GCM sealing/opening of envelopes (src/core/envelope.hpp).
//
// Cache: data-key rows never change once written (rotation adds a version
// and only flips `status`), so a key cached by id stays right; the name ->
// active version map is dropped whenever zerocut.encryption_keys gets a
// relcache invalidation (create_key/rotate_key send one; it reaches every
// backend at commit and this one at the next command) or zerocut.key_file
// changes.  The root key itself is never cached: it is read, used to unwrap
// and wiped on each cache miss.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/envelope.hpp"
#include "pg/postgres.hpp"

namespace zc::crypto {

using Key32 = std::array<std::uint8_t, core::data_key_size>;

// Unwrapped data key material, derived with HKDF-SHA256 from the data key:
// one key for AES-256-GCM, one for blind-index HMACs.  Wiped on destruction.
struct DataKey {
    std::uint32_t id = 0;
    std::string name;
    std::int32_t version = 0;
    Key32 encryption_key{};
    Key32 blind_index_key{};
    DataKey() = default;
    DataKey(const DataKey&) = default;
    DataKey& operator=(const DataKey&) = default;
    ~DataKey();
};

// The key with this id (any status); 42704 when there is none.
DataKey key_by_id(std::uint32_t id, const char* argument);
// The active version of the key named `name`; 42704 when there is none.
DataKey active_key(const std::string& name, const char* argument);
// The blind-index key of `name`: derived from its first version, so
// rotation never changes blind indexes.
DataKey blind_index_key(const std::string& name, const char* argument);

// Whether a key named `name` exists (any version).
bool key_exists(const std::string& name);
// 42704: `argument "<argument>": encryption key "<name>" does not exist`.
[[noreturn]] void no_such_key(const std::string& name, const char* argument);

struct NewKey {
    std::uint32_t id;
    std::int32_t version;
};
// Creates `name` (version 1) or rotates it (next version becomes active).
NewKey add_key_version(const std::string& name, bool rotate);

// AES-256-GCM envelope of `size` bytes at `data`, as a palloc'd bytea.
bytea* seal(const DataKey& key, core::PayloadType type, const std::uint8_t* data, std::size_t size,
            std::optional<std::string_view> context);

// Authenticates and decrypts an envelope into a palloc'd varlena (text or
// bytea, same layout).  `want_text` insists on a text payload and checks its
// encoding.  Every failure is an ERROR naming `argument`, never showing data.
varlena* open(const std::uint8_t* envelope, std::size_t size, std::optional<std::string_view> context, bool want_text,
              const char* argument, core::PayloadType* type_out = nullptr);

// The id of the data key an envelope names (after a shape check).
std::uint32_t envelope_key_id(const std::uint8_t* envelope, std::size_t size, const char* argument);

// HMAC-SHA256 of `data` with the blind-index key, as a palloc'd bytea.
bytea* blind_index(const DataKey& key, const std::uint8_t* data, std::size_t size);

// Bytes of a varlena argument (detoasted, palloc'd in the current context).
struct Bytes {
    const std::uint8_t* data;
    std::size_t size;
};
Bytes bytes_arg(FunctionCallInfo fcinfo, int n);
// A text argument or nullopt when it is NULL (the optional context).
std::optional<std::string> optional_text_arg(FunctionCallInfo fcinfo, int n);

}  // namespace zc::crypto
