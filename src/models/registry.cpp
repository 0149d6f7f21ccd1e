#include "reelforge/models/registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <set>
#include <sstream>

#include "reelforge/core/error.hpp"
#include "reelforge/core/paths.hpp"
#include "reelforge/models/inspect.hpp"

namespace fs = std::filesystem;

namespace reelforge::models {

namespace {

std::mutex& extra_folders_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<fs::path>& extra_folders() {
  static std::vector<fs::path> folders;
  return folders;
}

}  // namespace

void set_extra_model_folders(std::vector<fs::path> folders) {
  std::lock_guard<std::mutex> lock(extra_folders_mutex());
  extra_folders() = std::move(folders);
}

std::vector<fs::path> extra_model_folders() {
  std::lock_guard<std::mutex> lock(extra_folders_mutex());
  return extra_folders();
}

fs::path user_models_dir() {
  return user_data_dir() / "models";
}

std::vector<fs::path> model_search_path() {
  std::vector<fs::path> path;
  if (const char* env = std::getenv("REELFORGE_MODELS"); env != nullptr && *env != '\0') {
    std::stringstream list(env);
    std::string item;
    while (std::getline(list, item, ':')) {
      if (!item.empty()) path.emplace_back(item);
    }
  }
  for (fs::path& folder : extra_model_folders()) path.push_back(std::move(folder));
  path.push_back(user_models_dir());
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

ModelManifest import_model(const fs::path& source, const fs::path& models_root,
                           const CancellationToken& cancel) {
  const ModelInspection inspection = inspect_model(source);  // Error(NotFound) for no folder
  std::vector<std::string> problems;
  if (!inspection.manifest) problems.push_back("model.json: " + inspection.manifest_problem);
  for (const std::string& missing : inspection.missing) problems.push_back("missing " + missing);
  for (const ComponentInspection& component : inspection.components) {
    if (!component.problem.empty()) {
      problems.push_back(component.component + ": " + component.problem);
    }
  }
  if (!problems.empty()) {
    std::string message = "the folder is not a complete model:";
    for (const std::string& p : problems) message += "\n  " + p;
    throw Error(ErrorCategory::Validation, message, source.string());
  }
  const ModelManifest& manifest = *inspection.manifest;
  const std::string& name = manifest.name;
  if (name.empty() || name == "." || name == ".." || name.front() == '.' ||
      name.find_first_of("/\\:") != std::string::npos) {
    throw Error(ErrorCategory::InvalidArgument,
                "model name '" + name + "' cannot name a folder (no '/', '\\', ':' or leading '.')",
                source.string());
  }
  for (const InstalledModel& m : list_models()) {
    if (m.problem.empty() && m.manifest.name == name) {
      throw Error(ErrorCategory::InvalidArgument,
                  "a model called '" + name + "' is already installed in " + m.dir.string(),
                  source.string());
    }
  }
  const fs::path target = models_root / name;
  std::error_code ec;
  if (fs::exists(target, ec)) {
    throw Error(ErrorCategory::InvalidArgument,
                "the folder " + target.string() + " already exists; remove it or rename the model",
                source.string());
  }
  const fs::path staging = models_root / ("." + name + ".importing");
  fs::create_directories(models_root, ec);
  if (ec)
    throw Error(ErrorCategory::Io, "cannot create the models folder: " + ec.message(),
                models_root.string());
  fs::remove_all(staging, ec);  // left by an import that was killed
  try {
    fs::create_directories(staging);
    for (auto it = fs::recursive_directory_iterator(source);
         it != fs::recursive_directory_iterator(); ++it) {
      cancel.throw_if_cancelled("model import");
      const fs::path relative = fs::relative(it->path(), source);
      if (it->is_directory()) {
        fs::create_directories(staging / relative);
      } else {
        fs::copy_file(it->path(), staging / relative);  // follows symlinks: the copy owns its data
      }
    }
    fs::rename(staging, target);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ec);
    throw Error(ErrorCategory::Io, std::string("copying the model failed: ") + e.what(),
                source.string());
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  return ModelManifest::load(target);
}

}  // namespace reelforge::models
