// Rule 1 of the boundary: a PostgreSQL call that may ereport(ERROR) is made
// through zc::pg::guard().  The longjmp lands here, the ErrorData is copied,
// the error state flushed and the memory context restored; only then, outside
// PG_TRY, a C++ PgError is thrown that keeps SQLSTATE, detail and hint.
//
// The callable given to guard() must not own objects with destructors: the
// longjmp skips them.  Pass plain pointers and scalars; build strings before.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "pg/postgres.hpp"

namespace zc::pg {

// A PostgreSQL error in flight through C++ frames.  The boundary re-raises
// it with ReThrowError(), so the client sees the original error unchanged.
// Every PgError must reach the boundary: the (sub)transaction abort that
// follows is what releases locks, snapshots and SPI state.
class PgError : public std::exception {
public:
    explicit PgError(ErrorData* data) noexcept : data_(data) {}
    const char* what() const noexcept override { return data_->message ? data_->message : "PostgreSQL error"; }
    ErrorData* data() const noexcept { return data_; }
    int sqlerrcode() const noexcept { return data_->sqlerrcode; }

private:
    ErrorData* data_;  // palloc'd in the context current at the failed call
};

[[noreturn]] void throw_pg_error(MemoryContext caller_context);

// True from the moment a PgError is thrown until the boundary re-raises it:
// RAII cleanups (SPI_finish, GUC restore) are then left to the abort.  A
// zc::Error or other C++ exception does not set it, so cleanups run.
bool pg_error_in_flight() noexcept;
void clear_pg_error_in_flight() noexcept;

template <typename Fn>
auto guard(Fn&& fn) -> std::invoke_result_t<Fn>
{
    using Result = std::invoke_result_t<Fn>;
    MemoryContext caller_context = CurrentMemoryContext;
    volatile bool failed = false;
    // A C++ exception must not unwind through PG_TRY (it would leave
    // PG_exception_stack pointing at a dead frame): it is caught inside and
    // thrown again after PG_END_TRY.  Only the longjmp path skips frames.
    std::exception_ptr cpp_exception;
    if constexpr (std::is_void_v<Result>) {
        PG_TRY();
        {
            try {
                fn();
            } catch (...) {
                cpp_exception = std::current_exception();
            }
        }
        PG_CATCH();
        {
            failed = true;
        }
        PG_END_TRY();
        if (failed) throw_pg_error(caller_context);
        if (cpp_exception) std::rethrow_exception(cpp_exception);
    } else {
        static_assert(std::is_scalar_v<Result>, "guard() returns only scalars and pointers");
        volatile Result result{};
        PG_TRY();
        {
            try {
                result = fn();
            } catch (...) {
                cpp_exception = std::current_exception();
            }
        }
        PG_CATCH();
        {
            failed = true;
        }
        PG_END_TRY();
        if (failed) throw_pg_error(caller_context);
        if (cpp_exception) std::rethrow_exception(cpp_exception);
        return result;
    }
}

}  // namespace zc::pg
