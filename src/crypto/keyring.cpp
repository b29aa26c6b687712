#include "crypto/keyring.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.hpp"
#include "core/errors.hpp"
#include "pg/guard.hpp"
#include "pg/module.hpp"
#include "pg/run_as.hpp"
#include "pg/spi.hpp"
#include "pg/system_log.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "mb/pg_wchar.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace zc::crypto {

namespace {

// `argument "x"`, or the label itself when it names a column ("column ...").
std::string label(const char* argument)
{
    if (std::strncmp(argument, "column ", 7) == 0) return argument;
    return std::string("argument \"") + argument + "\"";
}

// ---- GUC and cache invalidation -------------------------------------------

char* key_file_setting = nullptr;
bool cache_stale = true;  // set by callbacks, acted on at the next lookup
Oid cached_keys_relid = InvalidOid;

void on_key_file_assign(const char*, void*)
{
    cache_stale = true;
}

void on_relcache_invalidation(Datum, Oid relid)
{
    if (relid == InvalidOid || relid == cached_keys_relid) cache_stale = true;
}

void define_key_file_guc()
{
    DefineCustomStringVariable(
        "zerocut.key_file", "File holding zerocut's root key (64 hex digits).",
        "Owned by the server's operating-system user, mode 0600 or stricter. Relative paths are taken from the "
        "data directory. The root key wraps the data keys in zerocut.encryption_keys.",
        &key_file_setting, "", PGC_SUSET, GUC_SUPERUSER_ONLY, nullptr, on_key_file_assign, nullptr);
    CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0);
}

zc::pg::OnLoad define_crypto_gucs(define_key_file_guc);

struct Cache {
    std::unordered_map<std::uint32_t, DataKey> by_id;
    std::unordered_map<std::string, std::uint32_t> active_by_name;
    std::unordered_map<std::string, std::uint32_t> first_by_name;
};

Cache& cache()
{
    static Cache instance;
    if (cache_stale) {
        instance.by_id.clear();  // DataKey destructors wipe the material
        instance.active_by_name.clear();
        instance.first_by_name.clear();
        cached_keys_relid = InvalidOid;
        cache_stale = false;
    }
    return instance;
}

// ---- small OpenSSL helpers -------------------------------------------------

struct Wiped {  // a 32-byte secret on the stack, wiped when the scope ends
    Key32 bytes{};
    ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

[[noreturn]] void openssl_failure(const char* what)
{
    throw Error(sqlstate::internal_error, std::string("OpenSSL failure in zerocut: ") + what);
}

void hkdf(const Key32& input, const char* info, Key32& out)
{
    static const unsigned char salt[] = "zerocut keyring v1";
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr),
                                                                    &EVP_PKEY_CTX_free);
    std::size_t length = out.size();
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
        EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt, sizeof salt - 1) <= 0 ||
        EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), input.data(), static_cast<int>(input.size())) <= 0 ||
        EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), reinterpret_cast<const unsigned char*>(info),
                                    static_cast<int>(std::strlen(info))) <= 0 ||
        EVP_PKEY_derive(ctx.get(), out.data(), &length) <= 0 || length != out.size())
        openssl_failure("HKDF");
}

// AES-256-GCM, fetched once (OpenSSL 3 would otherwise look the
// implementation up on every init).
EVP_CIPHER* aes_256_gcm()
{
    static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (cipher == nullptr) openssl_failure("EVP_CIPHER_fetch(AES-256-GCM)");
    return cipher;
}

// One context per direction, keyed lazily: consecutive calls with the same
// data key only set a new nonce (no key schedule).  forget_cipher_keys()
// wipes it after the root-derived wrapping key was used.
struct CipherState {
    EVP_CIPHER_CTX* ctx = nullptr;
    Key32 key{};
    bool keyed = false;
};

CipherState& cipher_state(bool encrypt)
{
    static CipherState sealing, opening;
    CipherState& state = encrypt ? sealing : opening;
    if (state.ctx == nullptr && (state.ctx = EVP_CIPHER_CTX_new()) == nullptr) openssl_failure("EVP_CIPHER_CTX_new");
    return state;
}

void forget_cipher_keys() noexcept
{
    for (bool encrypt : {true, false}) {
        CipherState& state = cipher_state(encrypt);
        EVP_CIPHER_CTX_reset(state.ctx);  // frees (and cleanses) the key schedule
        OPENSSL_cleanse(state.key.data(), state.key.size());
        state.keyed = false;
    }
}

EVP_CIPHER_CTX* keyed_context(bool encrypt, const std::uint8_t* key, const std::uint8_t* nonce)
{
    CipherState& state = cipher_state(encrypt);
    bool same_key = state.keyed && CRYPTO_memcmp(state.key.data(), key, state.key.size()) == 0;
    int ok = encrypt ? EVP_EncryptInit_ex(state.ctx, same_key ? nullptr : aes_256_gcm(), nullptr,
                                          same_key ? nullptr : key, nonce)
                     : EVP_DecryptInit_ex(state.ctx, same_key ? nullptr : aes_256_gcm(), nullptr,
                                          same_key ? nullptr : key, nonce);
    if (ok != 1) {
        state.keyed = false;
        openssl_failure(encrypt ? "EncryptInit" : "DecryptInit");
    }
    if (!same_key) {
        std::memcpy(state.key.data(), key, state.key.size());
        state.keyed = true;
    }
    return state.ctx;
}

// The associated data, fed in parts (for an envelope: the same bytes as
// core::envelope_aad(): header, 0 or 1, context).
using AadParts = std::initializer_list<std::string_view>;

void feed_aad(EVP_CIPHER_CTX* ctx, AadParts aad, bool encrypt)
{
    for (std::string_view part : aad) {
        if (part.empty()) continue;
        int length = 0;
        auto* bytes = reinterpret_cast<const unsigned char*>(part.data());
        int ok = encrypt ? EVP_EncryptUpdate(ctx, nullptr, &length, bytes, static_cast<int>(part.size()))
                         : EVP_DecryptUpdate(ctx, nullptr, &length, bytes, static_cast<int>(part.size()));
        if (ok != 1) openssl_failure("aad");
    }
}

void gcm_seal(const std::uint8_t* key, const std::uint8_t* nonce, AadParts aad, const std::uint8_t* in,
              std::size_t size, std::uint8_t* out, std::uint8_t* tag)
{
    EVP_CIPHER_CTX* ctx = keyed_context(true, key, nonce);
    feed_aad(ctx, aad, true);
    int length = 0;
    if (size > 0 && EVP_EncryptUpdate(ctx, out, &length, in, static_cast<int>(size)) != 1)
        openssl_failure("EncryptUpdate");
    if (EVP_EncryptFinal_ex(ctx, out + (size > 0 ? length : 0), &length) != 1) openssl_failure("EncryptFinal");
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, core::envelope_tag_size, tag) != 1) openssl_failure("GET_TAG");
}

// Returns false when authentication fails (and then wipes `out`).
bool gcm_open(const std::uint8_t* key, const std::uint8_t* nonce, AadParts aad, const std::uint8_t* in,
              std::size_t size, const std::uint8_t* tag, std::uint8_t* out)
{
    EVP_CIPHER_CTX* ctx = keyed_context(false, key, nonce);
    feed_aad(ctx, aad, false);
    int length = 0;
    if (size > 0 && EVP_DecryptUpdate(ctx, out, &length, in, static_cast<int>(size)) != 1)
        openssl_failure("DecryptUpdate");
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, core::envelope_tag_size, const_cast<std::uint8_t*>(tag)) != 1)
        openssl_failure("SET_TAG");
    bool ok = EVP_DecryptFinal_ex(ctx, out + (size > 0 ? length : 0), &length) == 1;
    if (!ok && size > 0) OPENSSL_cleanse(out, size);  // never hand back unauthenticated bytes
    return ok;
}

// Random nonces drawn from a pool refilled by RAND_bytes 4 KB at a time (one
// DRBG call per ~340 envelopes instead of one each).  The pool belongs to the
// process that filled it (MyProcPid), so a forked child never reuses it.
void random_nonce(std::uint8_t* out)
{
    static std::uint8_t pool[4096 - 4096 % core::envelope_nonce_size];
    static std::size_t used = sizeof pool;
    static int owner = 0;
    if (owner != MyProcPid || used + core::envelope_nonce_size > sizeof pool) {
        if (RAND_bytes(pool, static_cast<int>(sizeof pool)) != 1) openssl_failure("RAND_bytes");
        used = 0;
        owner = MyProcPid;
    }
    std::memcpy(out, pool + used, core::envelope_nonce_size);
    OPENSSL_cleanse(pool + used, core::envelope_nonce_size);
    used += core::envelope_nonce_size;
}

std::string_view header_view(const std::uint8_t* header)
{
    return std::string_view(reinterpret_cast<const char*>(header), core::envelope_header_size);
}

std::string_view context_flag(const std::optional<std::string_view>& context)
{
    return context ? std::string_view("\x01", 1) : std::string_view("\x00", 1);
}

// ---- the root key file -----------------------------------------------------

constexpr const char* key_file_hint =
    "As the database server's operating-system user: openssl rand -hex 32 > zerocut.key && chmod 600 zerocut.key "
    "(in the data directory, or any absolute path); then as a superuser: LOAD 'zerocut'; ALTER SYSTEM SET "
    "zerocut.key_file = 'zerocut.key'; SELECT pg_reload_conf(); (before PostgreSQL 17, ALTER SYSTEM knows the "
    "setting only in a session that loaded zerocut)";

// Reads and checks the root key file; derives the key-wrapping key into `out`.
void load_wrapping_key(Key32& out)
{
    std::string path = key_file_setting ? key_file_setting : "";
    if (path.empty())
        throw Error(sqlstate::object_not_in_prerequisite_state, "zerocut.key_file is not set", "", key_file_hint);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int error = errno;
        if (error == ENOENT)
            throw Error(sqlstate::undefined_file, "zerocut.key_file \"" + path + "\" does not exist", "",
                        key_file_hint);
        throw Error(sqlstate::config_file_error,
                    "cannot open zerocut.key_file \"" + path + "\": " + std::strerror(error), "", key_file_hint);
    }
    struct stat info {};
    std::string problem;
    if (::fstat(fd, &info) != 0) problem = std::string("cannot be examined: ") + std::strerror(errno);
    if (problem.empty())
        problem = core::check_key_file_mode(S_ISREG(info.st_mode), info.st_uid, ::geteuid(), info.st_mode);
    char buffer[80];
    ssize_t got = 0;
    if (problem.empty()) {
        got = ::read(fd, buffer, sizeof buffer);
        if (got < 0) problem = std::string("cannot be read: ") + std::strerror(errno);
    }
    ::close(fd);
    Wiped root;
    if (problem.empty())
        problem = core::parse_root_key(std::string_view(buffer, static_cast<std::size_t>(got)), root.bytes);
    OPENSSL_cleanse(buffer, sizeof buffer);
    if (!problem.empty())
        throw Error(sqlstate::config_file_error, "zerocut.key_file \"" + path + "\" " + problem, "", key_file_hint);
    hkdf(root.bytes, "zerocut key wrapping v1", out);
}

// ---- zerocut.encryption_keys ----------------------------------------------

Oid keys_relid()
{
    if (cached_keys_relid != InvalidOid) return cached_keys_relid;
    Oid relid = zc::pg::guard([] {
        Oid nsp = get_namespace_oid("zerocut", true);
        return nsp == InvalidOid ? InvalidOid : get_relname_relid("encryption_keys", nsp);
    });
    if (relid == InvalidOid)
        throw Error(sqlstate::undefined_table, "zerocut.encryption_keys does not exist", "",
                    "The keyring is installed by CREATE EXTENSION zerocut.");
    cached_keys_relid = relid;
    return relid;
}

std::vector<std::uint8_t> from_hex(const std::string& hex)
{
    std::vector<std::uint8_t> out;
    out.reserve(hex.size() / 2);
    auto value = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(value(hex[i]) * 16 + value(hex[i + 1])));
    return out;
}

constexpr std::size_t wrapped_size = core::envelope_nonce_size + core::data_key_size + core::envelope_tag_size;

DataKey unwrap_row(const std::vector<std::optional<std::string>>& row)
{
    DataKey key;
    key.id = static_cast<std::uint32_t>(std::stoul(row[0].value()));
    key.name = row[1].value();
    key.version = std::stoi(row[2].value());
    std::vector<std::uint8_t> wrapped = from_hex(row[3].value_or(""));
    if (wrapped.size() != wrapped_size)
        throw Error(sqlstate::data_corrupted,
                    "data key " + std::to_string(key.id) + " in zerocut.encryption_keys is damaged",
                    "its wrapped key has " + std::to_string(wrapped.size()) + " bytes");
    Wiped wrapping, data_key;
    load_wrapping_key(wrapping.bytes);
    std::string aad = core::wrapped_key_aad(key.id, key.name, key.version);
    bool unwrapped = gcm_open(wrapping.bytes.data(), wrapped.data(), {aad}, wrapped.data() + core::envelope_nonce_size,
                              core::data_key_size, wrapped.data() + core::envelope_nonce_size + core::data_key_size,
                              data_key.bytes.data());
    forget_cipher_keys();
    if (!unwrapped)
        throw Error(sqlstate::config_file_error,
                    "cannot unwrap data key " + std::to_string(key.id) + " (\"" + key.name + "\" version " +
                        std::to_string(key.version) + "): zerocut.key_file holds a different root key",
                    "", "Point zerocut.key_file at the root key the keyring was created with.");
    hkdf(data_key.bytes, "zerocut encryption v1", key.encryption_key);
    hkdf(data_key.bytes, "zerocut blind index v1", key.blind_index_key);
    return key;
}

// Throws F0000 when the root key in zerocut.key_file cannot unwrap `row`
// (an existing data key): `function` would otherwise add a key under the
// wrong root key.
void require_keyring_root_key(const std::vector<std::optional<std::string>>& row, const char* function)
{
    try {
        DataKey check = unwrap_row(row);
    } catch (const Error& e) {
        if (std::strcmp(e.sqlstate(), sqlstate::config_file_error) != 0) throw;
        throw Error(sqlstate::config_file_error,
                    std::string("zerocut.") + function +
                        "(): zerocut.key_file holds a different root key than the keyring's; nothing was changed",
                    e.what(),
                    "Point zerocut.key_file at the root key the keyring was created with: a data key wrapped by "
                    "another root key could not be read with the right one.");
    }
}

constexpr const char* select_columns =
    "SELECT id, name, version, pg_catalog.encode(wrapped_key, 'hex') "
    "FROM zerocut.encryption_keys ";

// Loads rows matching `where` ($1 = param) into the cache; returns the first id.
std::optional<std::uint32_t> load_keys(const std::string& where, const zc::pg::Param& param)
{
    // Whatever is cached from here on must be dropped when the keyring
    // changes: the invalidation callback listens to the table's OID, which a
    // cache reset forgets.
    cache();
    keys_relid();
    std::vector<std::vector<std::optional<std::string>>> rows;
    {
        zc::pg::PinnedSearchPath path;
        zc::pg::AsExtensionOwner owner;  // the keyring is not readable by PUBLIC
        zc::pg::SpiSession spi;
        spi.execute_cached(select_columns + where, {param}, true);
        rows = spi.rows_text();
    }
    if (rows.empty()) return std::nullopt;
    std::uint32_t first = static_cast<std::uint32_t>(std::stoul(rows[0][0].value()));
    Cache& c = cache();
    if (c.by_id.find(first) == c.by_id.end()) {
        DataKey key = unwrap_row(rows[0]);
        c.by_id.emplace(first, key);
    }
    return first;
}

}  // namespace

bool key_exists(const std::string& name)
{
    zc::pg::PinnedSearchPath path;
    zc::pg::AsExtensionOwner owner;
    zc::pg::SpiSession spi;
    return spi.query_text("SELECT 1 FROM zerocut.encryption_keys WHERE name = $1 LIMIT 1", {zc::pg::text_param(name)})
        .has_value();
}

void no_such_key(const std::string& name, const char* argument)
{
    throw Error(sqlstate::undefined_object, label(argument) + ": encryption key \"" + name + "\" does not exist", "",
                "Create it with SELECT zerocut.create_key(" + zc::pg::quote_literal(name) +
                    "); (as a superuser or a role granted it).");
}

DataKey::~DataKey()
{
    OPENSSL_cleanse(encryption_key.data(), encryption_key.size());
    OPENSSL_cleanse(blind_index_key.data(), blind_index_key.size());
}

DataKey key_by_id(std::uint32_t id, const char* argument)
{
    if (auto found = cache().by_id.find(id); found != cache().by_id.end()) return found->second;
    if (id > static_cast<std::uint32_t>(PG_INT32_MAX) ||
        !load_keys("WHERE id = $1", zc::pg::int4_param(static_cast<int32>(id))))
        throw Error(sqlstate::undefined_object, label(argument) + " was encrypted with data key " + std::to_string(id) +
                                                    ", which does not exist in zerocut.encryption_keys");
    return cache().by_id.at(id);
}

DataKey active_key(const std::string& name, const char* argument)
{
    Cache& c = cache();
    if (auto found = c.active_by_name.find(name); found != c.active_by_name.end())
        return key_by_id(found->second, argument);
    auto id = load_keys("WHERE name = $1 AND status = 'active'", zc::pg::text_param(name));
    if (!id) no_such_key(name, argument);
    cache().active_by_name[name] = *id;
    return cache().by_id.at(*id);
}

DataKey blind_index_key(const std::string& name, const char* argument)
{
    Cache& c = cache();
    if (auto found = c.first_by_name.find(name); found != c.first_by_name.end())
        return key_by_id(found->second, argument);
    auto id = load_keys("WHERE name = $1 AND version = 1", zc::pg::text_param(name));
    if (!id) {
        if (key_exists(name))
            throw Error(sqlstate::undefined_object,
                        label(argument) + ": version 1 of encryption key \"" + name +
                            "\", from which its blind indexes are derived, no longer exists",
                        "",
                        "Restore version 1 from a backup of zerocut.encryption_keys: no other version gives the "
                        "same blind indexes.");
        no_such_key(name, argument);
    }
    cache().first_by_name[name] = *id;
    return cache().by_id.at(*id);
}

NewKey add_key_version(const std::string& name, bool rotate)
{
    if (std::string problem = core::check_key_name(name); !problem.empty())
        throw Error(sqlstate::invalid_parameter_value, "argument \"name\" " + problem);
    Oid relid = keys_relid();
    Wiped wrapping, data_key;
    load_wrapping_key(wrapping.bytes);  // fail before changing anything
    NewKey created{};
    {
        zc::pg::PinnedSearchPath path;
        zc::pg::AsExtensionOwner owner;  // the keyring is not readable by PUBLIC
        zc::pg::SpiSession spi;
        spi.execute("LOCK TABLE zerocut.encryption_keys IN SHARE ROW EXCLUSIVE MODE");
        // The root key must be the keyring's: a key wrapped by another one
        // would be unreadable once the right file is back.
        spi.execute(std::string(select_columns) + "ORDER BY id LIMIT 1");
        auto existing = spi.rows_text();
        if (!existing.empty()) require_keyring_root_key(existing[0], rotate ? "rotate_key" : "create_key");
        auto latest = spi.query_text("SELECT max(version) FROM zerocut.encryption_keys WHERE name = $1",
                                     {zc::pg::text_param(name)});
        if (!rotate && latest)
            throw Error(sqlstate::duplicate_object, "argument \"name\": encryption key \"" + name + "\" already exists",
                        "", "Use zerocut.rotate_key() to make a new version active.");
        if (rotate && !latest)
            throw Error(sqlstate::undefined_object, "argument \"name\": encryption key \"" + name + "\" does not exist",
                        "", "Create it with zerocut.create_key().");
        created.version = latest ? std::stoi(*latest) + 1 : 1;
        created.id = static_cast<std::uint32_t>(
            std::stoul(spi.query_text("SELECT nextval('zerocut.encryption_keys_id_seq')").value()));
        std::uint8_t wrapped[wrapped_size];
        if (RAND_bytes(data_key.bytes.data(), static_cast<int>(data_key.bytes.size())) != 1 ||
            RAND_bytes(wrapped, core::envelope_nonce_size) != 1)
            openssl_failure("RAND_bytes");
        std::string aad = core::wrapped_key_aad(created.id, name, created.version);
        gcm_seal(wrapping.bytes.data(), wrapped, {aad}, data_key.bytes.data(), core::data_key_size,
                 wrapped + core::envelope_nonce_size, wrapped + core::envelope_nonce_size + core::data_key_size);
        forget_cipher_keys();
        const char* raw = reinterpret_cast<const char*>(wrapped);
        bytea* wrapped_datum = zc::pg::guard([=] {
            bytea* value = static_cast<bytea*>(palloc(VARHDRSZ + wrapped_size));
            SET_VARSIZE(value, VARHDRSZ + wrapped_size);
            std::memcpy(VARDATA(value), raw, wrapped_size);
            return value;
        });
        if (rotate)
            spi.execute("UPDATE zerocut.encryption_keys SET status = 'retired' WHERE name = $1 AND status = 'active'",
                        {zc::pg::text_param(name)});
        spi.execute(
            "INSERT INTO zerocut.encryption_keys (id, name, version, status, wrapped_key) "
            "VALUES ($1, $2, $3, 'active', $4)",
            {zc::pg::int4_param(static_cast<int32>(created.id)), zc::pg::text_param(name),
             zc::pg::int4_param(created.version), zc::pg::Param{BYTEAOID, PointerGetDatum(wrapped_datum)}});
        zc::pg::guard([=] { CacheInvalidateRelcacheByRelid(relid); });
        std::string metadata = "{\"key\": " + core::json_string(name) + ", \"id\": " + std::to_string(created.id) +
                               ", \"version\": " + std::to_string(created.version) + "}";
        zc::pg::write_system_log(
            spi, "INFO", std::string("crypto: ") + (rotate ? "rotated" : "created") + " encryption key", metadata);
    }
    cache_stale = true;
    return created;
}

bytea* seal(const DataKey& key, core::PayloadType type, const std::uint8_t* data, std::size_t size,
            std::optional<std::string_view> context)
{
    if (size > MaxAllocSize - VARHDRSZ - core::envelope_overhead)
        throw Error(sqlstate::numeric_value_out_of_range, "value is too large to encrypt (at most 1 GB)");
    std::size_t total = core::envelope_overhead + size;
    bytea* out = zc::pg::guard([=] { return static_cast<bytea*>(palloc(VARHDRSZ + total)); });
    SET_VARSIZE(out, VARHDRSZ + total);
    auto* bytes = reinterpret_cast<std::uint8_t*>(VARDATA(out));
    core::EnvelopeHeader header;
    header.type = type;
    header.key_id = key.id;
    random_nonce(header.nonce.data());
    core::write_envelope_header(header, bytes);
    gcm_seal(key.encryption_key.data(), header.nonce.data(),
             {header_view(bytes), context_flag(context), context.value_or(std::string_view())}, data, size,
             bytes + core::envelope_header_size, bytes + core::envelope_header_size + size);
    return out;
}

std::uint32_t envelope_key_id(const std::uint8_t* envelope, std::size_t size, const char* argument)
{
    core::ParsedEnvelope parsed = core::parse_envelope(envelope, size);
    if (parsed.problem != core::EnvelopeProblem::none)
        throw Error(sqlstate::invalid_parameter_value, label(argument) + " is " + core::describe(parsed.problem));
    return parsed.header.key_id;
}

varlena* open(const std::uint8_t* envelope, std::size_t size, std::optional<std::string_view> context, bool want_text,
              const char* argument, core::PayloadType* type_out)
{
    core::ParsedEnvelope parsed = core::parse_envelope(envelope, size);
    if (parsed.problem != core::EnvelopeProblem::none)
        throw Error(sqlstate::invalid_parameter_value, label(argument) + " is " + core::describe(parsed.problem));
    DataKey key = key_by_id(parsed.header.key_id, argument);
    std::size_t plain_size = parsed.ciphertext_size;
    varlena* out = zc::pg::guard([=] { return static_cast<varlena*>(palloc(VARHDRSZ + plain_size)); });
    SET_VARSIZE(out, VARHDRSZ + plain_size);
    auto* plain = reinterpret_cast<std::uint8_t*>(VARDATA(out));
    if (!gcm_open(key.encryption_key.data(), parsed.header.nonce.data(),
                  {header_view(envelope), context_flag(context), context.value_or(std::string_view())},
                  parsed.ciphertext, plain_size, parsed.tag, plain))
        throw Error(
            sqlstate::invalid_parameter_value,
            label(argument) + " failed authentication: it was altered or truncated, or the context does not match",
            context ? "a context was given" : "no context was given (NULL)",
            "Decrypt with the same context the value was encrypted with.");
    if (type_out) *type_out = parsed.header.type;
    if (want_text) {
        if (parsed.header.type != core::PayloadType::text)
            throw Error("42804", label(argument) + " holds an encrypted bytea value", "",
                        "Use zerocut.decrypt_bytea().");
        const char* chars = reinterpret_cast<const char*>(plain);
        int length = static_cast<int>(plain_size);
        bool valid = zc::pg::guard([=] { return pg_verifymbstr(chars, length, true); });
        if (!valid)
            throw Error("22021", label(argument) + " decrypts to text that is invalid in the database encoding");
    }
    return out;
}

bytea* blind_index(const DataKey& key, const std::uint8_t* data, std::size_t size)
{
    constexpr std::size_t digest_size = 32;
    bytea* out = zc::pg::guard([] { return static_cast<bytea*>(palloc(VARHDRSZ + digest_size)); });
    SET_VARSIZE(out, VARHDRSZ + digest_size);
    unsigned int length = 0;
    static const std::uint8_t empty = 0;
    if (HMAC(EVP_sha256(), key.blind_index_key.data(), static_cast<int>(key.blind_index_key.size()),
             size > 0 ? data : &empty, size, reinterpret_cast<unsigned char*>(VARDATA(out)), &length) == nullptr ||
        length != digest_size)
        openssl_failure("HMAC");
    return out;
}

Bytes bytes_arg(FunctionCallInfo fcinfo, int n)
{
    varlena* value = zc::pg::guard([=] { return PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(n)); });
    return Bytes{reinterpret_cast<const std::uint8_t*>(VARDATA_ANY(value)), VARSIZE_ANY_EXHDR(value)};
}

std::optional<std::string> optional_text_arg(FunctionCallInfo fcinfo, int n)
{
    if (PG_NARGS() <= n || PG_ARGISNULL(n)) return std::nullopt;
    Bytes bytes = bytes_arg(fcinfo, n);
    return std::string(reinterpret_cast<const char*>(bytes.data), bytes.size);
}

}  // namespace zc::crypto
