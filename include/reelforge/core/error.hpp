#pragma once
// The one exception type of the core library. Front ends translate it into a one-line message
// and an exit code (CLI) or a dialog (Studio); nothing in the core prints errors itself.

#include <stdexcept>
#include <string>

namespace reelforge {

enum class ErrorCategory {
  InvalidArgument,  // a value given by the user is out of range or malformed
  NotFound,         // a file, model or key that was asked for does not exist
  Io,               // reading or writing failed at the operating-system level
  Format,           // a file exists but its content is corrupt or not what it claims to be
  Unsupported,      // well-formed, but a feature or codec this build cannot handle
  Validation,       // a document (storyboard, manifest) breaks a rule of its schema
  Cancelled,        // the user stopped the work
  Internal,         // a broken invariant: a bug in ReelForge
};

const char* to_string(ErrorCategory category);

class Error : public std::runtime_error {
 public:
  // `context` names what the message is about: a file path, a JSON path, a tensor name.
  Error(ErrorCategory category, std::string message, std::string context = {});

  ErrorCategory category() const { return category_; }
  const std::string& message() const { return message_; }
  const std::string& context() const { return context_; }

 private:
  ErrorCategory category_;
  std::string message_;
  std::string context_;
};

// Exit code a command-line front end should use for an error of this category.
int exit_code_for(ErrorCategory category);

[[noreturn]] void fail_invariant(const char* condition, const char* file, int line,
                                 const std::string& detail);

}  // namespace reelforge

// For internal invariants only: user input is validated with a proper Error before it gets here.
#define RF_CHECK(cond, detail)                                                   \
  do {                                                                           \
    if (!(cond)) ::reelforge::fail_invariant(#cond, __FILE__, __LINE__, detail); \
  } while (false)
