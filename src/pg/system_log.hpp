// Writing zerocut's own actions to audit_log.system_log, and other small
// services every capability needs.
#pragma once

#include <string>

#include "pg/spi.hpp"

namespace zc::pg {

// Inserts one row (level, message, metadata) into audit_log.system_log.
// `metadata_json` is a JSON object's text.  In a database without the domain
// schema the row is skipped and a NOTICE says so once per backend; returns
// whether the row was written.  The row is written as the log's owner, and
// only when a trusted role (run_as.hpp) owns the log: 42501 otherwise.
bool write_system_log(SpiSession& spi, const std::string& level, const std::string& message,
                      const std::string& metadata_json);

// ereport(NOTICE) / ereport(WARNING) with a plain message (and a hint).
void notice(const std::string& message);
void warning(const std::string& message);
void warning(const std::string& message, const std::string& hint);

// True on a hot standby (jobs then return early with a NOTICE).
bool in_recovery();

}  // namespace zc::pg
