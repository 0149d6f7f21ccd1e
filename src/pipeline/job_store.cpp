#include "job_store.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"

namespace reelforge::pipeline {
namespace fs = std::filesystem;

namespace {
constexpr const char* kFingerprintKey = "reelforge.job.fingerprint";
constexpr const char* kTextsFile = "texts.safetensors";
constexpr const char* kJobFile = "job.json";
}  // namespace

JobStore::JobStore(fs::path dir, std::string fingerprint)
    : dir_(std::move(dir)), fingerprint_(std::move(fingerprint)) {
  std::error_code ec;
  fs::create_directories(dir_ / "latents", ec);
  if (ec) {
    throw Error(ErrorCategory::Io, "cannot create the job folder: " + ec.message(), dir_.string());
  }
  // Work of another plan (the storyboard or settings changed) is of no use: drop it.
  for (const auto& entry : fs::directory_iterator(dir_ / "latents", ec)) {
    try {
      const tensors::Checkpoint saved = tensors::Checkpoint::open(entry.path());
      const auto& meta = saved.metadata();
      const auto it = meta.find(kFingerprintKey);
      if (it != meta.end() && it->second == fingerprint_) continue;
    } catch (const Error&) {
    }
    spdlog::info("removing saved work of a different render: {}", entry.path().string());
    fs::remove(entry.path(), ec);
  }
}

void JobStore::write_job(const nlohmann::json& job) const {
  nlohmann::json j = job;
  j["format"] = kFormatName;
  j["version"] = kFormatVersion;
  j["fingerprint"] = fingerprint_;
  write_file_atomic(dir_ / kJobFile, j.dump(2) + "\n");
}

nlohmann::json JobStore::read_job(const fs::path& dir) {
  const fs::path file = dir / kJobFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    throw Error(ErrorCategory::NotFound, "not a render job folder (no job.json)", dir.string());
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCategory::Format, std::string("job.json is not valid JSON: ") + e.what(),
                file.string());
  }
  if (!j.is_object() || j.value("format", "") != kFormatName) {
    throw Error(ErrorCategory::Format, "job.json is not a ReelForge render job", file.string());
  }
  if (j.value("version", 0) > kFormatVersion) {
    throw Error(ErrorCategory::Format,
                "job.json is version " + std::to_string(j.value("version", 0)) +
                    "; this ReelForge reads up to version " + std::to_string(kFormatVersion),
                file.string());
  }
  return j;
}

std::map<std::string, at::Tensor> JobStore::load_texts() const {
  std::map<std::string, at::Tensor> texts;
  const fs::path file = dir_ / kTextsFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) return texts;
  try {
    const tensors::Checkpoint saved = tensors::Checkpoint::open(file);
    const auto& meta = saved.metadata();
    const auto fp = meta.find(kFingerprintKey);
    if (fp == meta.end() || fp->second != fingerprint_) return texts;
    for (const std::string& name : saved.names()) {
      const auto prompt = meta.find(name);
      if (prompt != meta.end()) texts[prompt->second] = saved.load(name, at::kFloat);
    }
  } catch (const Error& e) {
    spdlog::warn("ignoring unreadable saved prompts ({}); encoding them again", e.message());
    texts.clear();
  }
  return texts;
}

void JobStore::save_texts(const std::map<std::string, at::Tensor>& texts) const {
  tensors::NamedTensors named;
  std::map<std::string, std::string> meta{{kFingerprintKey, fingerprint_}};
  int i = 0;
  for (const auto& [prompt, context] : texts) {
    const std::string name = "text." + std::to_string(i++);
    named.emplace_back(name, context.to(at::kCPU, at::kFloat).contiguous());
    meta[name] = prompt;
  }
  tensors::save_safetensors(dir_ / kTextsFile, named, meta);
}

fs::path JobStore::window_path(size_t shot, const std::string& shot_id, int window) const {
  return dir_ / "latents" /
         (std::to_string(shot) + "-" + shot_id + "-w" + std::to_string(window) + ".safetensors");
}

std::optional<at::Tensor> JobStore::load_window(size_t shot, const std::string& shot_id,
                                                int window) const {
  const fs::path file = window_path(shot, shot_id, window);
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  try {
    const tensors::Checkpoint saved = tensors::Checkpoint::open(file);
    const auto it = saved.metadata().find(kFingerprintKey);
    if (it == saved.metadata().end() || it->second != fingerprint_) return std::nullopt;
    return saved.load("latent", at::kFloat);
  } catch (const Error& e) {
    spdlog::warn("ignoring unreadable saved window {} ({}); sampling it again", file.string(),
                 e.message());
    return std::nullopt;
  }
}

void JobStore::save_window(size_t shot, const std::string& shot_id, int window,
                           const at::Tensor& latent) const {
  tensors::save_safetensors(window_path(shot, shot_id, window),
                            {{"latent", latent.to(at::kCPU, at::kFloat).contiguous()}},
                            {{kFingerprintKey, fingerprint_}});
}

void JobStore::remove() const {
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) spdlog::warn("could not remove the job folder {}: {}", dir_.string(), ec.message());
}

}  // namespace reelforge::pipeline
