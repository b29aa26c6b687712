// C++ exception types that cross our code on the way to the boundary
// (src/pg/boundary.hpp), which turns each into an ereport(ERROR).
#pragma once

#include <stdexcept>
#include <string>

namespace zc {

// An error we raise ourselves: bad input, a missing object, a broken rule.
// `sqlstate` is a five-character code such as "22023".
class Error : public std::runtime_error {
public:
    Error(const char* sqlstate, const std::string& message, std::string detail = {}, std::string hint = {})
        : std::runtime_error(message), sqlstate_(sqlstate), detail_(std::move(detail)), hint_(std::move(hint))
    {
    }
    const char* sqlstate() const noexcept { return sqlstate_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }

private:
    const char* sqlstate_;
    std::string detail_;
    std::string hint_;
};

// Common SQLSTATEs, named as in PostgreSQL's errcodes.txt.
namespace sqlstate {
inline constexpr const char* invalid_parameter_value = "22023";
inline constexpr const char* null_value_not_allowed = "22004";
inline constexpr const char* numeric_value_out_of_range = "22003";
inline constexpr const char* undefined_table = "42P01";
inline constexpr const char* undefined_column = "42703";
inline constexpr const char* undefined_object = "42704";
inline constexpr const char* wrong_object_type = "42809";
inline constexpr const char* datatype_mismatch = "42804";
inline constexpr const char* duplicate_object = "42710";
inline constexpr const char* feature_not_supported = "0A000";
inline constexpr const char* object_not_in_prerequisite_state = "55000";
inline constexpr const char* insufficient_privilege = "42501";
inline constexpr const char* no_data_found = "P0002";
inline constexpr const char* internal_error = "XX000";
inline constexpr const char* data_corrupted = "XX001";
inline constexpr const char* undefined_file = "58P01";
inline constexpr const char* config_file_error = "F0000";
}  // namespace sqlstate

}  // namespace zc
