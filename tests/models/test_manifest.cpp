#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/inspect.hpp"
#include "reelforge/models/manifest.hpp"
#include "reelforge/models/registry.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using reelforge::Error;
using reelforge::ErrorCategory;
using reelforge::testing::TempDir;
using namespace reelforge::models;

using reelforge::testing::ScopedEnv;

namespace {

json valid_manifest(const std::string& name = "tiny") {
  return json::parse(R"({
    "format": "reelforge.model", "version": 1, "name": ")" + name + R"(", "family": "wan",
    "variant": "wan2.1-t2v-1.3b", "tasks": ["t2v", "v2v"],
    "components": {
      "dit": {"files": ["dit.safetensors"], "model_type": "t2v", "num_heads": 12},
      "text_encoder": {"files": ["umt5.safetensors"], "tokenizer": "spiece.model", "text_len": 512},
      "vae": {"files": ["vae.safetensors"], "version": "2.1"}
    },
    "native": {"fps": 16, "frame_count": 81, "sizes": {"wide": [832, 480], "vertical": [480, 832]}},
    "defaults": {"steps": 30, "shift": 3.0, "guidance": 5.0, "solver": "unipc"}
  })");
}

std::string validation_path(const json& j) {
  try {
    ModelManifest::from_json(j, "/m");
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Validation);
    return e.context();
  }
  ADD_FAILURE() << "expected a validation error for " << j.dump();
  return "";
}

void write_model(const fs::path& dir, const json& j) {
  fs::create_directories(dir);
  reelforge::write_file_atomic(dir / "model.json", j.dump(2));
}

}  // namespace

TEST(ModelManifest, ParsesEveryField) {
  const ModelManifest m = ModelManifest::from_json(valid_manifest(), "/models/tiny");
  EXPECT_EQ(m.name, "tiny");
  EXPECT_EQ(m.display_name, "tiny");
  EXPECT_TRUE(m.supports(Task::TextToVideo));
  EXPECT_FALSE(m.supports(Task::ImageToVideo));
  EXPECT_TRUE(m.supports(Task::VideoToVideo));
  EXPECT_EQ(m.dit.num_heads, 12);
  EXPECT_EQ(m.text_encoder.text_len, 512);
  EXPECT_EQ(m.native_sizes.at("vertical").width_px, 480);
  EXPECT_EQ(m.frame_count, 81);
  EXPECT_EQ(m.defaults.steps, 30);
  EXPECT_DOUBLE_EQ(m.defaults.shift, 3.0);
  // to_json is read back to the same manifest.
  const ModelManifest again = ModelManifest::from_json(m.to_json(), "/models/tiny");
  EXPECT_EQ(again.to_json(), m.to_json());
}

TEST(ModelManifest, ErrorsNameTheJsonPath) {
  json j = valid_manifest();
  j["bogus"] = 1;
  EXPECT_EQ(validation_path(j), "/bogus");
  j = valid_manifest();
  j["native"]["frame_count"] = 80;
  EXPECT_EQ(validation_path(j), "/native/frame_count");
  try {
    ModelManifest::from_json(j, "/m");
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("nearest valid: 77 or 81"), std::string::npos) << e.message();
  }
  j = valid_manifest();
  j["components"]["dit"]["files"] = json::array({"../../etc/passwd"});
  EXPECT_EQ(validation_path(j), "/components/dit/files/0");
  j = valid_manifest();
  j["tasks"] = json::array({"t2i"});
  EXPECT_EQ(validation_path(j), "/tasks/0");
  j = valid_manifest();
  j["version"] = 2;
  EXPECT_EQ(validation_path(j), "/version");
  j = valid_manifest();
  j["components"].erase("vae");
  EXPECT_EQ(validation_path(j), "/components/vae");
  j = valid_manifest();
  j["components"]["vae"]["latent_mean"] = {0.1, 0.2};
  j["components"]["vae"]["latent_std"] = {1.0, -1.0};
  EXPECT_EQ(validation_path(j), "/components/vae/latent_std/1");
  j = valid_manifest();
  j["defaults"]["solver"] = "ddim";
  EXPECT_EQ(validation_path(j), "/defaults/solver");
}

// A trained VAE's own latent-preview factors: read, written back, and checked for shape.
TEST(ModelManifest, PreviewFactorsRoundTripAndAreValidated) {
  json j = valid_manifest();
  j["components"]["vae"]["latent_mean"] = {0.0, 0.5};
  j["components"]["vae"]["latent_std"] = {1.0, 2.0};
  j["components"]["vae"]["preview"] = {{"weight", {{0.1, 0.2}, {0.3, 0.4}, {0.5, 0.6}}},
                                       {"bias", {0.0, -0.1, 0.1}}};
  const ModelManifest m = ModelManifest::from_json(j, "/m");
  ASSERT_EQ(m.vae.preview_weight.size(), 3U);
  EXPECT_EQ(m.vae.preview_weight[2][1], 0.6);
  EXPECT_EQ(m.vae.preview_bias[1], -0.1);
  const ModelManifest again = ModelManifest::from_json(m.to_json(), "/m");
  EXPECT_EQ(again.vae.preview_weight, m.vae.preview_weight);
  EXPECT_EQ(again.vae.preview_bias, m.vae.preview_bias);

  json bad = j;
  bad["components"]["vae"]["preview"]["weight"][1] = {0.3};  // not one per latent channel
  EXPECT_EQ(validation_path(bad), "/components/vae/preview/weight/1");
  bad = j;
  bad["components"]["vae"]["preview"]["bias"] = {0.0, 1.0};
  EXPECT_EQ(validation_path(bad), "/components/vae/preview/bias");
  bad = j;
  bad["components"]["vae"]["preview"]["weight"] = {{0.1, 0.2}};
  EXPECT_EQ(validation_path(bad), "/components/vae/preview/weight");
}

// What the DiT predicts: Wan's velocity unless the manifest says "clean", which is written back
// (and only then, so a velocity model's manifest stays as it was).
TEST(ModelManifest, DiTPredictionDefaultsToVelocityAndIsValidated) {
  const ModelManifest velocity = ModelManifest::from_json(valid_manifest(), "/m");
  EXPECT_EQ(velocity.dit.prediction, "velocity");
  EXPECT_FALSE(velocity.to_json()["components"]["dit"].contains("prediction"));
  json j = valid_manifest();
  j["components"]["dit"]["prediction"] = "clean";
  const ModelManifest clean = ModelManifest::from_json(j, "/m");
  EXPECT_EQ(clean.dit.prediction, "clean");
  EXPECT_EQ(ModelManifest::from_json(clean.to_json(), "/m").dit.prediction, "clean");
  j["components"]["dit"]["prediction"] = "epsilon";
  EXPECT_EQ(validation_path(j), "/components/dit/prediction");
}

TEST(ModelManifest, LoadReportsMissingFilesAndBadJson) {
  TempDir dir;
  write_model(dir / "m", valid_manifest());
  std::ofstream(dir / "m" / "dit.safetensors") << "x";
  const ModelManifest m = ModelManifest::load(dir / "m");
  EXPECT_EQ(m.missing_files(), (std::vector<std::string>{"umt5.safetensors", "spiece.model", "vae.safetensors"}));
  fs::create_directories(dir / "broken");
  std::ofstream(dir / "broken" / "model.json") << "{ not json";
  try {
    ModelManifest::load(dir / "broken");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Validation);
    EXPECT_NE(e.context().find("model.json"), std::string::npos);
  }
  EXPECT_THROW(ModelManifest::load(dir / "nothing-here"), Error);
}

TEST(ModelRegistry, SearchPathOrderAndLookup) {
  TempDir a, b;
  write_model(a / "first", valid_manifest("shared-name"));
  write_model(b / "second", valid_manifest("shared-name"));
  write_model(b / "other", valid_manifest("other"));
  fs::create_directories(b / "bad");
  std::ofstream(b / "bad" / "model.json") << "[]";
  ScopedEnv env("REELFORGE_MODELS", a.path().string() + ":" + b.path().string());
  const auto path = model_search_path();
  ASSERT_GE(path.size(), 3u);
  EXPECT_EQ(path[0], a.path());
  EXPECT_EQ(path[1], b.path());

  int readable = 0, unreadable = 0;
  for (const auto& m : list_models()) (m.problem.empty() ? readable : unreadable)++;
  EXPECT_GE(readable, 2);
  EXPECT_GE(unreadable, 1);
  EXPECT_EQ(find_model("shared-name").dir, a / "first") << "the earlier folder wins";
  EXPECT_EQ(find_model("other").dir, b / "other");
  try {
    find_model("missing-model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
    EXPECT_NE(e.message().find("other"), std::string::npos) << "lists what is installed: " << e.message();
  }
}

TEST(ModelInspect, LayoutNamesFromKeys) {
  EXPECT_EQ(detect_dit_layout_name({"patch_embedding.weight", "blocks.0.self_attn.q.weight"}), "wan");
  EXPECT_EQ(detect_dit_layout_name({"model.diffusion_model.patch_embedding.weight"}), "comfyui");
  EXPECT_EQ(detect_dit_layout_name({"condition_embedder.time_proj.weight"}), "diffusers");
  EXPECT_EQ(detect_dit_layout_name({"foo"}), "unknown");
  EXPECT_EQ(detect_text_encoder_layout_name({"shared.weight"}), "huggingface");
  EXPECT_EQ(detect_text_encoder_layout_name({"token_embedding.weight"}), "wan");
}

TEST(ModelInspect, FolderWithoutManifestListsWhatIsMissing) {
  TempDir dir;
  const auto info = inspect_model(dir.path());
  EXPECT_FALSE(info.manifest.has_value());
  EXPECT_FALSE(info.missing.empty());
  EXPECT_THROW(inspect_model(dir / "nope"), Error);
}
