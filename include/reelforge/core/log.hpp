#pragma once
// Logging set-up. The core logs through spdlog's default logger with these meanings:
//   error - the user's task failed;  warn - it succeeded in a degraded way;
//   info  - milestones a user would want in a log;  debug - for developers.

#include <string_view>

namespace reelforge {

enum class LogLevel { Error, Warn, Info, Debug };

// Sends log lines to stderr at `level` and above. Safe to call more than once.
void init_logging(LogLevel level);
// Parses "error", "warn", "info" or "debug"; Error(InvalidArgument) otherwise.
LogLevel parse_log_level(std::string_view name);

}  // namespace reelforge
