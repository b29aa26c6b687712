#include "security/app_user.hpp"

#include "core/app_user.hpp"
#include "pg/guard.hpp"

namespace zc::security {

std::optional<int32> current_app_user()
{
    // missing_ok: a session that never set it has no such setting (NULL).
    // No privilege restriction: any role may read and set a custom setting.
    const char* setting = zc::pg::guard([] { return GetConfigOption(core::app_user_setting, true, false); });
    return core::parse_app_user_id(setting);
}

}  // namespace zc::security
