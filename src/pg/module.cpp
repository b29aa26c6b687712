#include "pg/module.hpp"

#include <array>
#include <cstddef>

#include "pg/boundary.hpp"
#include "pg/postgres.hpp"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace zc::pg {

namespace {

// A fixed array, not a std::vector: it is filled by static constructors,
// before any allocator-backed object could be relied on, and never frees.
constexpr std::size_t max_load_steps = 64;
std::array<LoadStep, max_load_steps> load_steps{};
std::size_t load_step_count = 0;

}  // namespace

OnLoad::OnLoad(LoadStep step) noexcept
{
    if (load_step_count < max_load_steps) load_steps[load_step_count++] = step;
}

}  // namespace zc::pg

void _PG_init(void)
{
    // Steps are plain C-style code calling PostgreSQL (ereport may longjmp
    // straight through them); a C++ exception is still stopped here.
    zc::pg::FailedCall failed;  // NOLINT(cppcoreguidelines-pro-type-member-init): filled on failure only
    bool step_failed = false;
    try {
        for (std::size_t i = 0; i < zc::pg::load_step_count; ++i) zc::pg::load_steps[i]();
    } catch (...) {
        zc::pg::capture_current_exception(failed);
        step_failed = true;
    }
    if (step_failed) zc::pg::raise_failed_call(failed);
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("zerocut");
#else
    EmitWarningsOnPlaceholders("zerocut");
#endif
}
