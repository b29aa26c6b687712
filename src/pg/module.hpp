// Work done once when the server loads zerocut.so (_PG_init): defining GUCs,
// registering callbacks.  A capability registers its own step from its own
// file, so module.cpp never needs editing:
//
//   static zc::pg::OnLoad define_my_gucs([] { DefineCustomStringVariable(...); });
//
// Steps run in _PG_init; they may call ereport (no C++ objects in their
// frames), and a C++ exception they throw becomes an ERROR.
#pragma once

namespace zc::pg {

using LoadStep = void (*)();

struct OnLoad {
    explicit OnLoad(LoadStep step) noexcept;
};

}  // namespace zc::pg
