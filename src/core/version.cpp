#include "core/version.hpp"

#include <fmt/format.h>

namespace zc::core {

int postgres_major(int version_num)
{
    return version_num / 10000;
}

std::string format_version(const BuildInfo& info)
{
    return fmt::format("zerocut {} (PostgreSQL {}, fmt {}.{}.{}, {})", info.extension_version,
                       postgres_major(info.postgres_version_num), info.fmt_version / 10000,
                       info.fmt_version / 100 % 100, info.fmt_version % 100, info.openssl_version);
}

}  // namespace zc::core
