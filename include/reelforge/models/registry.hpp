#pragma once
// Finding installed models. The search path is, in order: $REELFORGE_MODELS (a ':'-separated list
// of folders), the front end's extra folders (set_extra_model_folders), the user data folder's
// models/, and the install's models/ folder. A model is any direct subfolder holding a
// model.json; an earlier folder wins when two models share a name.

#include <filesystem>
#include <string>
#include <vector>

#include "reelforge/core/cancel.hpp"
#include "reelforge/models/manifest.hpp"

namespace reelforge::models {

std::vector<std::filesystem::path> model_search_path();

// Folders a front end adds to the search path (the Studio's settings), process-wide and
// thread-safe: a render on a worker thread finds its model in the folders the user chose, as
// the model list does. Replaces the previous list.
void set_extra_model_folders(std::vector<std::filesystem::path> folders);
std::vector<std::filesystem::path> extra_model_folders();

// Where imported models go: user_data_dir()/models.
std::filesystem::path user_models_dir();

// Installs a copy of the model folder `source` as `models_root/<name>`, after checking it: the
// manifest must load, every file it names must be there and readable (inspect_model()), and no
// installed model may have that name. The copy is made in a hidden folder beside the target and
// renamed into place, so an interrupted or cancelled import leaves nothing the registry lists.
// Error(Validation) listing every missing or unreadable piece, Error(InvalidArgument) when the
// name is taken or unusable as a folder name, Error(Io) when copying fails, Error(Cancelled).
ModelManifest import_model(const std::filesystem::path& source,
                           const std::filesystem::path& models_root = user_models_dir(),
                           const CancellationToken& cancel = {});

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
