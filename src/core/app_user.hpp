// The application user of a session: the custom setting app.current_user_id,
// which the app sets per transaction (zerocut.set_app_user(), SET LOCAL) and
// which row-level security policies and the audit trigger read.  One parser,
// so every reader agrees on what counts as a user.
#pragma once

#include <cstdint>
#include <optional>

namespace zc::core {

inline constexpr const char* app_user_setting = "app.current_user_id";

// The setting's text as a user id: a positive int4, written in decimal with
// an optional '+' and leading zeros ("+5" and "007" are 5, as the ::integer
// cast reads them), blanks around it allowed.  nullopt, never an error, for
// everything else: nullptr (unset), "" (what a pooled connection keeps once
// a SET LOCAL ends), blanks only, junk, hex or exponents, zero, negatives,
// and values above 2147483647.
std::optional<int32_t> parse_app_user_id(const char* text);

}  // namespace zc::core
