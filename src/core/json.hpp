// JSON text helpers for the metadata our jobs write to audit_log.system_log.
#pragma once

#include <string>
#include <string_view>

namespace zc::core {

// `text` as a JSON string literal, quotes included ("a\"b").
std::string json_string(std::string_view text);

}  // namespace zc::core
