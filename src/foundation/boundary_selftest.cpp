// zerocut.boundary_selftest(kind text) RETURNS text
//
// Raises each kind of error the boundary handles, so the regression suite
// can prove that SQLSTATE, detail and hint reach the client, that the session
// keeps working and that no C++ object outlives a failed call.
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/values.hpp"

namespace {

// Counts live instances: a failed call must leave the count at zero.
struct Tracked {
    static inline long live = 0;
    std::vector<char> payload = std::vector<char>(256, 'x');
    Tracked() { ++live; }
    ~Tracked() { --live; }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
};

void raise_postgres_division_by_zero()
{
    Tracked held;  // must be destroyed although PostgreSQL longjmps
    zc::pg::guard([] { return DirectFunctionCall2(int4div, Int32GetDatum(1), Int32GetDatum(0)); });
}

// A C++ exception thrown by the callable given to guard(): it must come out
// of guard() as the same exception, not terminate the backend.
void throw_inside_guard()
{
    Tracked held;
    zc::pg::guard(
        [] { throw zc::Error(zc::sqlstate::invalid_parameter_value, "selftest: thrown inside guard()", "", ""); });
}

void raise_through_spi()
{
    Tracked held;
    zc::pg::SpiSession spi;
    spi.execute(
        "DO $$ BEGIN RAISE EXCEPTION 'selftest: raised by SQL' USING ERRCODE = 'P0001', "
        "DETAIL = 'detail from SQL', HINT = 'hint from SQL'; END $$");
}

}  // namespace

ZC_FUNCTION(zc_boundary_selftest)
{
    zc::pg::require_arg(fcinfo, 0, "kind");
    std::string kind = zc::pg::text_arg(fcinfo, 0);
    Tracked held;
    if (kind == "ok") return zc::pg::text_datum("ok");
    if (kind == "live_objects") return zc::pg::text_datum(std::to_string(Tracked::live - 1));
    if (kind == "cpp_error")
        throw zc::Error(zc::sqlstate::invalid_parameter_value, "selftest: raised by C++", "detail from C++",
                        "hint from C++");
    if (kind == "cpp_std_exception") throw std::logic_error("selftest: std::logic_error");
    if (kind == "cpp_bad_alloc") throw std::bad_alloc();
    if (kind == "cpp_unknown") throw 42;
    if (kind == "pg_error") raise_postgres_division_by_zero();
    if (kind == "pg_spi_error") raise_through_spi();
    if (kind == "cpp_inside_guard") throw_inside_guard();
    throw zc::Error(zc::sqlstate::invalid_parameter_value, "unknown selftest kind \"" + kind + "\"", "",
                    "Use one of: ok, live_objects, cpp_error, cpp_std_exception, cpp_bad_alloc, "
                    "cpp_unknown, pg_error, pg_spi_error, cpp_inside_guard.");
}
