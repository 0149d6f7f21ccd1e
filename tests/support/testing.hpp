#pragma once
// Shared helpers for the GoogleTest suites: scratch folders, running programs (the `reelforge`
// CLI under test, the `ffmpeg` program that makes reference media), and fixture discovery.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace reelforge::testing {

// A fresh folder under the system temp dir, removed with its content when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a program with arguments (no shell), capturing its output.
RunResult run_program(const std::vector<std::string>& argv);
// Runs the `reelforge` binary built beside the tests.
RunResult run_cli(const std::vector<std::string>& args);
// Runs the `ffmpeg` program quietly with `args`; fails the test (ADD_FAILURE) and returns false on error.
bool run_ffmpeg(const std::vector<std::string>& args);

// The golden fixtures folder, or "" when absent. When absent and $CI is set, the caller must fail.
std::filesystem::path fixtures_or_empty();
bool running_in_ci();

// Sets an environment variable (inherited by programs the test runs) and restores the previous
// value, or its absence, when it goes out of scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Files shipped with the tests (tests/data).
std::filesystem::path test_data(const std::string& name);

}  // namespace reelforge::testing
