#include "support/testing.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "reelforge/core/paths.hpp"

namespace fs = std::filesystem;

namespace reelforge::testing {

TempDir::TempDir() {
  std::random_device rd;
  std::ostringstream name;
  name << "reelforge-test-" << ::getpid() << "-" << std::hex << rd() << rd();
  path_ = fs::temp_directory_path() / name.str();
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

std::string drain(int fd) {
  std::string s;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, size_t(n));
  return s;
}

}  // namespace

RunResult run_program(const std::vector<std::string>& argv) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) return result;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    ::execvp(cargv[0], cargv.data());
    std::_Exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  std::string err;
  std::thread err_reader([&] { err = drain(err_pipe[0]); });
  result.out = drain(out_pipe[0]);
  err_reader.join();
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.err = err;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

RunResult run_cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{REELFORGE_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

bool run_ffmpeg(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = run_program(argv);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "ffmpeg failed (" << r.exit_code << "): " << r.err;
    return false;
  }
  return true;
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::string(ci) != "0" && std::string(ci) != "false";
}

fs::path fixtures_or_empty() {
  auto dir = fixtures_dir();
  return dir ? *dir : fs::path();
}

fs::path test_data(const std::string& name) { return fs::path(REELFORGE_TEST_DATA) / name; }

ScopedEnv::ScopedEnv(const char* name, const std::string& value) : name_(name) {
  if (const char* old = std::getenv(name)) old_ = old;
  ::setenv(name, value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (old_) {
    ::setenv(name_, old_->c_str(), 1);
  } else {
    ::unsetenv(name_);
  }
}

}  // namespace reelforge::testing
