#pragma once
// What `reelforge models inspect` reports about a model folder: its manifest (if any), and for each
// component the files, parameter count, stored dtypes and key layout, read from the checkpoint
// headers only (no weights are loaded).

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reelforge/models/manifest.hpp"

namespace reelforge::models {

struct ComponentInspection {
  std::string component;                  // "dit", "text_encoder", "vae"
  std::vector<std::string> files;         // as named by the manifest (or found in the folder)
  std::vector<std::string> missing_files;
  int64_t parameter_count = 0;
  std::map<std::string, int64_t> dtypes;  // stored dtype -> parameter count
  std::string layout;                     // "wan", "comfyui", "diffusers", "huggingface", "unknown"
  std::string problem;                    // why the files could not be read
};

struct ModelInspection {
  std::filesystem::path dir;
  std::optional<ModelManifest> manifest;
  std::string manifest_problem;  // set when model.json is missing or invalid
  std::vector<ComponentInspection> components;
  std::vector<std::string> missing;  // every missing piece, human-readable
};

// Error(NotFound) when `dir` is not a folder; every other problem is reported, not thrown.
ModelInspection inspect_model(const std::filesystem::path& dir);

// The key layout of a DiT / text-encoder checkpoint, from its tensor names.
std::string detect_dit_layout_name(const std::vector<std::string>& names);
std::string detect_text_encoder_layout_name(const std::vector<std::string>& names);

}  // namespace reelforge::models
