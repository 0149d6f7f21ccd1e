#include "reelforge/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

#include "reelforge/core/error.hpp"

namespace reelforge {

void init_logging(LogLevel level) {
  static auto logger = [] {
    auto l = spdlog::stderr_color_mt("reelforge");
    l->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
    spdlog::set_default_logger(l);
    return l;
  }();
  switch (level) {
    case LogLevel::Error: logger->set_level(spdlog::level::err); break;
    case LogLevel::Warn: logger->set_level(spdlog::level::warn); break;
    case LogLevel::Info: logger->set_level(spdlog::level::info); break;
    case LogLevel::Debug: logger->set_level(spdlog::level::debug); break;
  }
}

LogLevel parse_log_level(std::string_view name) {
  if (name == "error") return LogLevel::Error;
  if (name == "warn") return LogLevel::Warn;
  if (name == "info") return LogLevel::Info;
  if (name == "debug") return LogLevel::Debug;
  throw Error(ErrorCategory::InvalidArgument,
              "unknown log level '" + std::string(name) + "'; valid: error, warn, info, debug");
}

}  // namespace reelforge
