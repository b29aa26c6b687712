// The text of zerocut.version(): pure formatting, unit-tested.
#pragma once

#include <string>

namespace zc::core {

struct BuildInfo {
    std::string extension_version;  // from zerocut.control
    int postgres_version_num;       // PG_VERSION_NUM the module was built against
    int fmt_version;                // FMT_VERSION, e.g. 90100
    std::string openssl_version;    // OpenSSL_version(OPENSSL_VERSION)
};

// "zerocut 0.1.0 (PostgreSQL 15, fmt 9.1.0, OpenSSL 3.0.19 ...)"
std::string format_version(const BuildInfo& info);

// 150004 -> 15; 90624 -> 9 (majors before 10 had two parts; not supported).
int postgres_major(int version_num);

}  // namespace zc::core
