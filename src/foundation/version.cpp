// zerocut.version() RETURNS text
#include <fmt/core.h>
#include <openssl/crypto.h>

#include "core/version.hpp"
#include "pg/boundary.hpp"
#include "pg/values.hpp"

#ifndef ZEROCUT_VERSION
#error "ZEROCUT_VERSION must be defined by the build (from zerocut.control)"
#endif

ZC_FUNCTION(zc_version)
{
    zc::core::BuildInfo info{ZEROCUT_VERSION, PG_VERSION_NUM, FMT_VERSION, OpenSSL_version(OPENSSL_VERSION)};
    std::string text = zc::core::format_version(info);
    return zc::pg::text_datum(text);
}
