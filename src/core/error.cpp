#include "reelforge/core/error.hpp"

namespace reelforge {
namespace {
std::string compose(const std::string& message, const std::string& context) {
  return context.empty() ? message : context + ": " + message;
}
}  // namespace

const char* to_string(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::InvalidArgument: return "invalid argument";
    case ErrorCategory::NotFound: return "not found";
    case ErrorCategory::Io: return "i/o error";
    case ErrorCategory::Format: return "bad format";
    case ErrorCategory::Unsupported: return "unsupported";
    case ErrorCategory::Validation: return "invalid document";
    case ErrorCategory::Cancelled: return "cancelled";
    case ErrorCategory::Internal: return "internal error";
  }
  return "error";
}

Error::Error(ErrorCategory category, std::string message, std::string context)
    : std::runtime_error(compose(message, context)),
      category_(category),
      message_(std::move(message)),
      context_(std::move(context)) {}

int exit_code_for(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::InvalidArgument: return 2;
    case ErrorCategory::NotFound: return 3;
    case ErrorCategory::Io: return 4;
    case ErrorCategory::Format: return 5;
    case ErrorCategory::Unsupported: return 6;
    case ErrorCategory::Validation: return 7;
    case ErrorCategory::Cancelled: return 130;
    case ErrorCategory::Internal: return 70;
  }
  return 1;
}

void fail_invariant(const char* condition, const char* file, int line, const std::string& detail) {
  throw Error(ErrorCategory::Internal,
              std::string("invariant failed: ") + condition + (detail.empty() ? "" : " (" + detail + ")"),
              std::string(file) + ":" + std::to_string(line));
}

}  // namespace reelforge
