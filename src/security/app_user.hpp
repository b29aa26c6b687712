// Reading the application user (app.current_user_id) in the server: one
// reader for current_app_user_id(), the audit trigger and any later policy
// helper, so all agree on what counts as a user (core/app_user.hpp).
#pragma once

#include <optional>

#include "pg/postgres.hpp"

namespace zc::security {

// The current value of app.current_user_id as a positive int4; nullopt when
// it is unset, '' or not a positive integer.  Never raises for a bad value.
std::optional<int32> current_app_user();

}  // namespace zc::security
