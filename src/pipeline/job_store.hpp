#pragma once
// The job folder of a render (see render_job.hpp): job.json, the encoded prompts and the sampled
// latents of every window. Each file is written atomically, so a crash leaves either the old or
// the new version. Saved latents are tagged with the plan's fingerprint: a folder left by a
// different storyboard, model or setting is never mistaken for this job's work.

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace reelforge::pipeline {

class JobStore {
 public:
  static constexpr const char* kFormatName = "reelforge.job";
  static constexpr int kFormatVersion = 1;

  // Opens (creating it when needed) the folder for a job whose plan has `fingerprint`. Saved work
  // with another fingerprint is removed.
  JobStore(std::filesystem::path dir, std::string fingerprint);

  const std::filesystem::path& dir() const { return dir_; }
  void write_job(const nlohmann::json& job) const;
  // job.json of a folder. Error(NotFound) / Error(Format).
  static nlohmann::json read_job(const std::filesystem::path& dir);

  std::map<std::string, at::Tensor> load_texts() const;
  void save_texts(const std::map<std::string, at::Tensor>& texts) const;

  std::optional<at::Tensor> load_window(size_t shot, const std::string& shot_id,
                                        int window) const;
  void save_window(size_t shot, const std::string& shot_id, int window,
                   const at::Tensor& latent) const;
  void remove() const;

 private:
  std::filesystem::path window_path(size_t shot, const std::string& shot_id, int window) const;
  std::filesystem::path dir_;
  std::string fingerprint_;
};

}  // namespace reelforge::pipeline
