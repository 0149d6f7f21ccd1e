#include "reelforge/models/registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>

#include "reelforge/core/error.hpp"
#include "reelforge/core/paths.hpp"

namespace fs = std::filesystem;

namespace reelforge::models {

std::vector<fs::path> model_search_path() {
  std::vector<fs::path> path;
  if (const char* env = std::getenv("REELFORGE_MODELS"); env != nullptr && *env != '\0') {
    std::stringstream list(env);
    std::string item;
    while (std::getline(list, item, ':')) {
      if (!item.empty()) path.emplace_back(item);
    }
  }
  path.push_back(user_data_dir() / "models");
  path.push_back(resource_root() / "models");
  return path;
}

std::vector<InstalledModel> list_models() {
  std::vector<InstalledModel> models;
  std::set<std::string> names;
  for (const fs::path& root : model_search_path()) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    std::vector<fs::path> dirs;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
      if (entry.is_directory(ec) && fs::exists(entry.path() / "model.json", ec)) dirs.push_back(entry.path());
    }
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path& dir : dirs) {
      InstalledModel m;
      m.dir = dir;
      try {
        m.manifest = ModelManifest::load(dir);
        if (!names.insert(m.manifest.name).second) continue;  // shadowed by an earlier folder
      } catch (const Error& e) {
        m.problem = e.what();
      }
      models.push_back(std::move(m));
    }
  }
  return models;
}

ModelManifest find_model(const std::string& name_or_dir) {
  std::error_code ec;
  if (name_or_dir.find('/') != std::string::npos && fs::is_directory(name_or_dir, ec)) {
    return ModelManifest::load(name_or_dir);
  }
  std::string available;
  for (const InstalledModel& m : list_models()) {
    if (!m.problem.empty()) continue;
    if (m.manifest.name == name_or_dir) return m.manifest;
    available += (available.empty() ? "" : ", ") + m.manifest.name;
  }
  throw Error(ErrorCategory::NotFound,
              "no installed model called '" + name_or_dir + "'; installed: " +
                  (available.empty() ? "none (see reelforge models list)" : available));
}

std::string default_model_name() {
  for (const InstalledModel& m : list_models()) {
    if (m.problem.empty() && m.manifest.name != kBuiltinModelName &&
        m.manifest.supports(Task::TextToVideo)) {
      return m.manifest.name;
    }
  }
  return kBuiltinModelName;
}

}  // namespace reelforge::models
