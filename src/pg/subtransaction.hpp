// Optional work that must not fail its caller, run the way a PL/pgSQL
// block with an EXCEPTION clause runs its body: in an internal
// subtransaction.  On a PostgreSQL error or a zc::Error the subtransaction
// is rolled back, which releases what the work took (locks, SPI
// connections, GUC changes, catalog changes), and the error's message is
// returned; on success nothing is.  A cancel or statement timeout (57014)
// is raised again after the rollback, and any other C++ exception is
// rethrown after it: neither is the work's own failure.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace zc::pg {

// `sqlstate`, when given, receives the failure's SQLSTATE (XX000 for a
// zc::Error without one).
std::optional<std::string> in_subtransaction(const std::function<void()>& work, std::string* sqlstate = nullptr);

// Like in_subtransaction(), for work that may fail in a few known ways
// (e.g. a lock not granted): a PostgreSQL error whose SQLSTATE `expected`
// accepts rolls the subtransaction back and its message is returned; any
// other error is raised again after the rollback as it was (SQLSTATE,
// detail and hint), and a C++ exception is rethrown.
std::optional<std::string> in_subtransaction_expecting(const std::function<void()>& work,
                                                       const std::function<bool(int sqlerrcode)>& expected);

// A look that must leave nothing behind: `work` runs in an internal
// subtransaction that is always rolled back, so every lock its queries took
// is released (a plain UnlockRelation cannot release the executor's own
// lock), while the C++ results it stored stay.  Its errors propagate after
// the rollback (a PostgreSQL error raised again from a copy).
void in_rolled_back_subtransaction(const std::function<void()>& work);

}  // namespace zc::pg
