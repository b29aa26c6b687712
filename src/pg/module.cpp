#include "pg/module.hpp"

#include <array>
#include <cstddef>

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
    // Every step is plain C-style code calling PostgreSQL: no C++ objects
    // live in these frames, so ereport may longjmp straight through.
    for (std::size_t i = 0; i < zc::pg::load_step_count; ++i) zc::pg::load_steps[i]();
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("zerocut");
#else
    EmitWarningsOnPlaceholders("zerocut");
#endif
}
