#pragma once
// Finding installed models. The search path is, in order: $REELFORGE_MODELS (a ':'-separated list
// of folders), the user data folder's models/, and the install's models/ folder. A model is any
// direct subfolder holding a model.json; an earlier folder wins when two models share a name.

#include <filesystem>
#include <string>
#include <vector>

#include "reelforge/models/manifest.hpp"

namespace reelforge::models {

std::vector<std::filesystem::path> model_search_path();

struct InstalledModel {
  ModelManifest manifest;
  std::string problem;  // why the manifest could not be read; empty when it was
  std::filesystem::path dir;
};

// Every model folder on the search path, readable or not (unreadable ones carry `problem`).
std::vector<InstalledModel> list_models();

// The model called `name`, or a folder path holding a model.json. Error(NotFound) listing the
// installed models otherwise.
ModelManifest find_model(const std::string& name_or_dir);

// The model ReelForge ships (models/builtin), trained by its own trainer.
inline constexpr const char* kBuiltinModelName = "builtin";

// The model to use when none is named: the first readable text-to-video model on the search
// path other than the built-in one (a model the user installed), else the built-in one.
std::string default_model_name();

}  // namespace reelforge::models
