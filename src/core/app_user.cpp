#include "core/app_user.hpp"

namespace zc::core {

namespace {
// isspace() in the C locale, as PostgreSQL's int4 input skips.
bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
}  // namespace

std::optional<int32_t> parse_app_user_id(const char* text)
{
    if (text == nullptr) return std::nullopt;
    const char* p = text;
    while (is_blank(*p)) ++p;
    if (*p == '+') ++p;  // '-' is not taken: no negative id is a user
    if (!is_digit(*p)) return std::nullopt;
    int64_t value = 0;
    for (; is_digit(*p); ++p) {
        value = value * 10 + (*p - '0');
        if (value > INT32_MAX) return std::nullopt;  // checked per digit: never overflows
    }
    while (is_blank(*p)) ++p;
    if (*p != '\0' || value == 0) return std::nullopt;
    return static_cast<int32_t>(value);
}

}  // namespace zc::core
