#include "reelforge/models/inspect.hpp"

#include <algorithm>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"

namespace fs = std::filesystem;

namespace reelforge::models {
namespace {

bool any_starts_with(const std::vector<std::string>& names, const std::string& prefix) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
}

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Official Wan folders have no model.json; find their components by the published file names so
// inspect can still say what is there.
std::vector<std::string> find_files(const fs::path& dir, const std::vector<std::string>& patterns) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    for (const std::string& p : patterns) {
      const bool prefix_match = p.back() == '*' && name.rfind(p.substr(0, p.size() - 1), 0) == 0 &&
                                name.find(".safetensors") != std::string::npos &&
                                name.find(".index.json") == std::string::npos;
      if (name == p || prefix_match) found.push_back(name);
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

ComponentInspection inspect_component(const fs::path& dir, const std::string& component,
                                      const std::vector<std::string>& files) {
  ComponentInspection c;
  c.component = component;
  c.files = files;
  std::vector<std::string> names;
  for (const std::string& f : files) {
    std::error_code ec;
    if (!fs::exists(dir / f, ec)) {
      c.missing_files.push_back(f);
      continue;
    }
    try {
      const tensors::Checkpoint checkpoint = tensors::Checkpoint::open(dir / f);
      for (const std::string& name : checkpoint.names()) {
        const tensors::TensorInfo& info = checkpoint.info(name);
        c.parameter_count += info.numel();
        c.dtypes[tensors::to_string(info.dtype)] += info.numel();
        names.push_back(name);
      }
    } catch (const Error& e) {
      c.problem = e.what();
    }
  }
  if (!names.empty()) {
    if (component == "dit") c.layout = detect_dit_layout_name(names);
    else if (component == "text_encoder") c.layout = detect_text_encoder_layout_name(names);
    else c.layout = any_starts_with(names, "decoder.up_blocks.") ? "diffusers" : "wan";
  }
  return c;
}

}  // namespace

std::string detect_dit_layout_name(const std::vector<std::string>& names) {
  if (any_starts_with(names, "model.diffusion_model.")) return "comfyui";
  if (any_starts_with(names, "condition_embedder.")) return "diffusers";
  if (has(names, "patch_embedding.weight") && any_starts_with(names, "blocks.0.self_attn.")) return "wan";
  return "unknown";
}

std::string detect_text_encoder_layout_name(const std::vector<std::string>& names) {
  if (has(names, "shared.weight") || any_starts_with(names, "encoder.block.")) return "huggingface";
  if (has(names, "token_embedding.weight")) return "wan";
  return "unknown";
}

ModelInspection inspect_model(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(ErrorCategory::NotFound, "not a folder", dir.string());
  ModelInspection result;
  result.dir = dir;
  std::vector<std::string> dit_files, te_files, vae_files;
  std::string tokenizer;
  try {
    result.manifest = ModelManifest::load(dir);
    dit_files = result.manifest->dit.files;
    te_files = result.manifest->text_encoder.files;
    vae_files = result.manifest->vae.files;
    tokenizer = result.manifest->text_encoder.tokenizer;
  } catch (const Error& e) {
    result.manifest_problem = e.what();
    result.missing.push_back("model.json (" + e.message() + ")");
    dit_files = find_files(dir, {"diffusion_pytorch_model*", "wan2.1_t2v*", "wan2.2_ti2v*"});
    te_files = find_files(dir, {"models_t5_umt5-xxl-enc-bf16.pth", "umt5_xxl_fp16.safetensors",
                                "umt5_xxl_fp8_e4m3fn_scaled.safetensors"});
    vae_files = find_files(dir, {"Wan2.1_VAE.pth", "Wan2.2_VAE.pth", "wan_2.1_vae.safetensors",
                                 "wan2.2_vae.safetensors"});
    if (fs::exists(dir / "google" / "umt5-xxl" / "spiece.model", ec)) tokenizer = "google/umt5-xxl/spiece.model";
  }
  const std::pair<const char*, const std::vector<std::string>*> parts[] = {
      {"dit", &dit_files}, {"text_encoder", &te_files}, {"vae", &vae_files}};
  for (const auto& [component, files] : parts) {
    ComponentInspection c = inspect_component(dir, component, *files);
    if (files->empty()) result.missing.push_back(std::string(component) + " weights");
    for (const std::string& f : c.missing_files) result.missing.push_back(f);
    if (!c.problem.empty()) result.missing.push_back(std::string(component) + ": " + c.problem);
    result.components.push_back(std::move(c));
  }
  if (tokenizer.empty()) result.missing.push_back("tokenizer (spiece.model)");
  else if (!fs::exists(dir / tokenizer, ec)) result.missing.push_back(tokenizer);
  return result;
}

}  // namespace reelforge::models
