#pragma once
// A model on disk is a folder with a `model.json` manifest beside its weights and tokenizer. The
// manifest says what the model is (family, variant, tasks), where each component's files are, the
// sizes, frame counts and fps it was trained for, and its default sampling settings. The pipeline
// reads everything it needs to know about a model from here, so a new model of a known family
// needs a manifest, not code.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace reelforge::models {

enum class Task { TextToVideo, ImageToVideo, VideoToVideo };
const char* to_string(Task task);  // "t2v", "i2v", "v2v"

struct NativeSize {
  int width_px = 0;
  int height_px = 0;
};

struct DiTSpec {
  std::vector<std::string> files;    // relative to the model folder; one file, shards or an index
  std::string model_type = "t2v";    // "t2v" (Wan 2.1) or "ti2v" (Wan 2.2 per-token timesteps)
  std::optional<int> num_heads;      // cannot be inferred from weight shapes; default dim / 128
  std::string prediction = "velocity";  // what the DiT outputs: "velocity" (Wan) or "clean" (x0)
};

struct TextEncoderSpec {
  std::vector<std::string> files;
  std::string tokenizer;             // SentencePiece model file, relative to the model folder
  int text_len = 512;                // tokens per prompt (EOS included)
};

struct VAESpec {
  std::vector<std::string> files;
  std::string version = "2.1";       // "2.1" (z=16, 4x8x8) or "2.2" (z=48, 4x16x16)
  std::vector<double> latent_mean;   // per channel; empty = the published values of the version
  std::vector<double> latent_std;
  // Latent-to-RGB factors for the sampler's live preview (models::LatentPreview): 3 rows of one
  // weight per latent channel, and 3 biases. Empty = the published factors of the version.
  std::vector<std::vector<double>> preview_weight;
  std::vector<double> preview_bias;
};

struct SamplingDefaults {
  int steps = 50;
  double shift = 5.0;
  double guidance = 5.0;
  std::string solver = "unipc";
  // Used for shots without a negative prompt of their own. Wan's manifests put the reference's
  // default (sampling::kWanDefaultNegativePrompt) here; a model trained with empty-text dropout
  // (the built-in one) leaves it empty.
  std::string negative_prompt;
};

struct ModelManifest {
  static constexpr int kFormatVersion = 1;

  std::filesystem::path dir;         // the folder the manifest was read from
  std::string name;                  // unique id used by --model, e.g. "wan2.1-t2v-1.3b"
  std::string display_name;
  std::string family = "wan";
  std::string variant;               // e.g. "wan2.1-t2v-1.3b", "wan2.2-ti2v-5b", "builtin"
  std::string license;
  std::vector<Task> tasks;
  DiTSpec dit;
  TextEncoderSpec text_encoder;
  VAESpec vae;
  double fps = 16;
  int frame_count = 81;              // native frames per window, 1 + 4k
  std::map<std::string, NativeSize> native_sizes;  // "wide", "vertical", "square"
  SamplingDefaults defaults;

  bool supports(Task task) const;
  // Files the manifest names that are not in the folder, relative to it.
  std::vector<std::string> missing_files() const;

  // Reads `dir/model.json`. Error(NotFound) without one, Error(Validation) naming the JSON path of
  // the first problem otherwise.
  static ModelManifest load(const std::filesystem::path& dir);
  static ModelManifest from_json(const nlohmann::json& json, const std::filesystem::path& dir);
  nlohmann::json to_json() const;
  // Writes `dir/model.json` atomically.
  void save() const;
};

}  // namespace reelforge::models
