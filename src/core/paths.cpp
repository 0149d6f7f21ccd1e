#include "reelforge/core/paths.hpp"

#include <cstdlib>
#include <system_error>

namespace fs = std::filesystem;

namespace reelforge {
namespace {

std::optional<fs::path> env_path(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return fs::path(v);
}

bool is_resource_root(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "assets", ec) && fs::is_directory(dir / "models", ec);
}

}  // namespace

fs::path executable_path() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p;
}

fs::path resource_root() {
  if (auto env = env_path("REELFORGE_HOME")) return *env;
  for (fs::path dir = executable_path().parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (is_resource_root(dir)) return dir;
    if (dir == dir.root_path()) break;
  }
  const fs::path installed = fs::path(REELFORGE_INSTALL_DATADIR);
  if (is_resource_root(installed)) return installed;
  return fs::path(REELFORGE_SOURCE_DIR);
}

fs::path user_data_dir() {
  if (auto env = env_path("REELFORGE_DATA")) return *env;
  if (auto xdg = env_path("XDG_DATA_HOME")) return *xdg / "reelforge";
  if (auto home = env_path("HOME")) return *home / ".local" / "share" / "reelforge";
  return fs::temp_directory_path() / "reelforge";
}

std::optional<fs::path> fixtures_dir() {
  std::error_code ec;
  if (auto env = env_path("REELFORGE_FIXTURES")) {
    if (fs::is_directory(*env, ec)) return *env;
    return std::nullopt;
  }
  const fs::path shared = fs::path(REELFORGE_SOURCE_DIR).parent_path() / "shared" / "fixtures";
  if (fs::is_directory(shared, ec)) return shared;
  return std::nullopt;
}

}  // namespace reelforge
