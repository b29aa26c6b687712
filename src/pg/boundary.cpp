#include "pg/boundary.hpp"

#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "core/errors.hpp"
#include "pg/guard.hpp"

namespace zc::pg {

namespace {

template <std::size_t N>
void copy_text(char (&buffer)[N], const char* text) noexcept
{
    if (text == nullptr) {
        buffer[0] = '\0';
        return;
    }
    std::size_t length = std::strlen(text);
    if (length >= N) {
        length = N - 1;
        // Never cut a UTF-8 sequence in half: back off over continuation bytes.
        while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0) == 0x80) --length;
    }
    std::memcpy(buffer, text, length);
    buffer[length] = '\0';
}

int sqlstate_code(const char* sqlstate) noexcept
{
    if (sqlstate == nullptr || std::strlen(sqlstate) != 5) return ERRCODE_INTERNAL_ERROR;
    return MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4]);
}

}  // namespace

void capture_current_exception(FailedCall& out) noexcept
{
    out.pg_error = nullptr;
    out.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    out.message[0] = out.detail[0] = out.hint[0] = '\0';
    try {
        throw;
    } catch (const PgError& error) {
        out.pg_error = error.data();
    } catch (const Error& error) {
        out.sqlerrcode = sqlstate_code(error.sqlstate());
        copy_text(out.message, error.what());
        copy_text(out.detail, error.detail().c_str());
        copy_text(out.hint, error.hint().c_str());
    } catch (const std::bad_alloc&) {
        out.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
        copy_text(out.message, "out of memory in zerocut");
    } catch (const std::exception& error) {
        out.sqlerrcode = ERRCODE_INTERNAL_ERROR;
        std::snprintf(out.message, sizeof(out.message), "internal error in zerocut: %s", error.what());
    } catch (...) {
        out.sqlerrcode = ERRCODE_INTERNAL_ERROR;
        copy_text(out.message, "internal error in zerocut: unknown C++ exception");
    }
}

void raise_failed_call(const FailedCall& failed)
{
    if (failed.pg_error != nullptr) ReThrowError(failed.pg_error);
    ereport(ERROR, (errcode(failed.sqlerrcode), errmsg_internal("%s", failed.message),
                    failed.detail[0] ? errdetail_internal("%s", failed.detail) : 0,
                    failed.hint[0] ? errhint("%s", failed.hint) : 0));
    pg_unreachable();
}

}  // namespace zc::pg
