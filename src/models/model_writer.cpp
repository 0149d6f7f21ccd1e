#include "reelforge/models/model_writer.hpp"

#include <ATen/ATen.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <system_error>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/latent_geometry.hpp"
#include "reelforge/models/sentencepiece.hpp"
#include "reelforge/models/tokenizer.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"

namespace fs = std::filesystem;

namespace reelforge::models {
namespace {

Error invalid(const std::string& message, const fs::path& dir) {
  return Error(ErrorCategory::InvalidArgument, message, dir.string());
}

std::string str(int64_t v) {
  return std::to_string(v);
}

// The checks that need only the configs and the manifest: what makes the parts one model.
void check_fit(const WanDiTConfig& dit, const UMT5Config& text, const WanVAEConfig& vae,
               const ModelManifest& m, const fs::path& dir) {
  if (dit.text_dim != text.dim) {
    throw invalid("the DiT's text_dim " + str(dit.text_dim) +
                      " differs from the text encoder's dim " + str(text.dim) +
                      "; they must be equal",
                  dir);
  }
  if (dit.in_dim != vae.z_dim || dit.out_dim != vae.z_dim) {
    throw invalid("the DiT's in_dim / out_dim " + str(dit.in_dim) + " / " + str(dit.out_dim) +
                      " differ from the VAE's z_dim " + str(vae.z_dim) +
                      "; all three must be equal",
                  dir);
  }
  if (dit.text_len != m.text_encoder.text_len) {
    throw invalid("the manifest's text_len " + str(m.text_encoder.text_len) +
                      " differs from the DiT's text_len " + str(dit.text_len) +
                      " (the length prompts are padded to); they must be equal",
                  dir);
  }
  const size_t z = size_t(vae.z_dim);
  if (m.vae.latent_mean.size() != m.vae.latent_std.size()) {
    throw invalid("the manifest has " + str(int64_t(m.vae.latent_mean.size())) +
                      " latent means but " + str(int64_t(m.vae.latent_std.size())) +
                      " stds; give z_dim (" + str(vae.z_dim) + ") of each, or neither",
                  dir);
  }
  if (!m.vae.latent_mean.empty() && m.vae.latent_mean.size() != z) {
    throw invalid("the manifest has " + str(int64_t(m.vae.latent_mean.size())) +
                      " latent means for a VAE with z_dim " + str(vae.z_dim),
                  dir);
  }
  if (m.vae.latent_mean.empty() && wan_vae_default_mean(vae.version).size() != z) {
    throw invalid("a Wan " + std::string(to_string(vae.version)) + " VAE with z_dim " +
                      str(vae.z_dim) + " needs its own latent_mean / latent_std in the manifest " +
                      "(the published values are for z_dim " +
                      str(int64_t(wan_vae_default_mean(vae.version).size())) + ")",
                  dir);
  }
  for (const auto& [aspect, size] : m.native_sizes) {
    try {
      validate_pixel_size(size.width_px, size.height_px, vae.spatial_stride(), dit.patch_size[1]);
      if (dit.patch_size[2] != dit.patch_size[1]) {
        validate_pixel_size(size.width_px, size.height_px, vae.spatial_stride(), dit.patch_size[2]);
      }
    } catch (const Error& e) {
      throw invalid("native size '" + aspect + "': " + e.message(), dir);
    }
  }
  int64_t latent_frames = 0;
  try {
    latent_frames = validate_frame_count(m.frame_count, vae.temporal_stride());
  } catch (const Error& e) {
    throw invalid("native frame_count: " + e.message(), dir);
  }
  if (latent_frames % dit.patch_size[0] != 0) {
    throw invalid("native frame_count " + str(m.frame_count) + " gives " + str(latent_frames) +
                      " latent frames, not a multiple of the DiT's temporal patch " +
                      str(dit.patch_size[0]),
                  dir);
  }
}

tensors::NamedTensors stored(std::vector<std::pair<std::string, at::Tensor>> params,
                             WeightDType dtype) {
  const at::ScalarType target = dtype == WeightDType::BFloat16 ? at::kBFloat16 : at::kFloat;
  for (auto& [name, t] : params) {
    if (t.is_floating_point()) t = t.to(at::kCPU, target);
  }
  return params;
}

const std::map<std::string, std::string> kWeightsMetadata{{"format", "pt"}};

// splitmix64: independent, reproducible seeds for the three networks from one spec seed.
uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Prompts in the style users write, built from word lists by fixed index arithmetic (not a
// library RNG, whose sequences differ between standard libraries), so the corpus and hence the
// trained tokenizer are the same everywhere.
std::string tokenizer_corpus() {
  static const std::vector<std::string> kSizes = {"small",  "big",  "tiny",  "huge",
                                                  "little", "tall", "round", "shiny"};
  static const std::vector<std::string> kColours = {"red",    "blue",   "green", "yellow", "orange",
                                                    "purple", "white",  "black", "pink",   "grey",
                                                    "golden", "silver", "brown", "cyan"};
  static const std::vector<std::string> kSubjects = {"ball",
                                                     "cube",
                                                     "square",
                                                     "circle",
                                                     "triangle",
                                                     "star",
                                                     "cat",
                                                     "dog",
                                                     "bird",
                                                     "car",
                                                     "boat",
                                                     "tree",
                                                     "cloud",
                                                     "balloon",
                                                     "robot",
                                                     "fish",
                                                     "kite",
                                                     "train",
                                                     "flower",
                                                     "horse",
                                                     "leaf",
                                                     "paper plane",
                                                     "hot air balloon",
                                                     "butterfly"};
  static const std::vector<std::string> kMotions = {
      "rolls", "moves",  "flies",   "spins", "bounces", "floats", "slides", "jumps", "walks",
      "runs",  "drifts", "rotates", "grows", "shrinks", "falls",  "rises",  "swims", "glides"};
  static const std::vector<std::string> kDirections = {"to the left",
                                                       "to the right",
                                                       "upward",
                                                       "downward",
                                                       "across the screen",
                                                       "in a circle",
                                                       "towards the camera",
                                                       "away from the camera",
                                                       "slowly",
                                                       "quickly",
                                                       "back and forth",
                                                       "around the centre",
                                                       "gently",
                                                       "in a straight line"};
  static const std::vector<std::string> kScenes = {
      "on a sandy beach",     "in a green forest", "over a busy city", "under a clear blue sky",
      "on a dark background", "in a snowy field",  "at sunset",        "in the rain",
      "on a wooden table",    "in outer space",    "near a calm lake", "inside a bright room",
      "on a mountain road",   "in a quiet garden", "above the ocean",  "in a neon street at night"};
  static const std::vector<std::string> kCamera = {"The camera pans left.",
                                                   "The camera pans right.",
                                                   "Slow zoom in.",
                                                   "Slow zoom out.",
                                                   "Static shot.",
                                                   "Close-up shot.",
                                                   "Wide shot.",
                                                   "Aerial view.",
                                                   "Tracking shot.",
                                                   "Handheld camera, shallow depth of field."};
  static const std::vector<std::string> kStyles = {
      "Cinematic lighting.", "Soft morning light.", "Vivid colours.",  "High detail, 4K.",
      "Watercolor style.",   "Pixel art.",          "Photorealistic.", "Cartoon style.",
      "Neon glow.",          "Film grain, 35mm."};
  auto pick = [](const std::vector<std::string>& words, size_t i, size_t mul, size_t add) {
    return words[(i * mul + add) % words.size()];
  };
  std::string corpus;
  for (size_t i = 0; i < 480; ++i) {
    std::string line = (i % 5 == 0 ? "The " : "A ") + pick(kSizes, i, 3, 0) + " " +
                       pick(kColours, i, 5, 1) + " " + pick(kSubjects, i, 7, 2) + " " +
                       pick(kMotions, i, 11, 3) + " " + pick(kDirections, i, 13, 4) + " " +
                       pick(kScenes, i, 17, 5) + ".";
    if (i % 3 == 0) line += " " + pick(kCamera, i, 19, 6);
    if (i % 4 == 1) line += " " + pick(kStyles, i, 23, 7);
    if (i % 9 == 0) line = "Shot " + std::to_string(i / 9 + 1) + ": " + line;
    if (i % 7 == 3) line[0] = char(line[0] - 'A' + 'a');  // prompts are not always capitalised
    corpus += line + "\n";
  }
  // Every letter, digit and common punctuation mark, so ordinary prompts never need <unk>.
  corpus +=
      "The quick brown fox jumps over the lazy dog.\n"
      "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG!\n"
      "Jackdaws love my big sphinx of quartz; zebras, oxen and jellyfish (0123456789) vex me?\n"
      "\"A wizard's job is to vex chumps quickly in fog\" - said the narrator: 5% & 10/10 @ #1.\n";
  return corpus;
}

// ---- the little of the protobuf wire format that without_scratch_paths() needs ----

Error unreadable_model() {
  return Error(ErrorCategory::Internal,
               "the SentencePiece trainer wrote a model this writer cannot "
               "read back (not a protobuf ModelProto)");
}

uint64_t read_varint(std::string_view s, size_t& pos) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && pos < s.size(); shift += 7) {
    const auto byte = uint8_t(s[pos++]);
    v |= uint64_t(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return v;
  }
  throw unreadable_model();
}

void write_varint(std::string& out, uint64_t v) {
  for (; v >= 0x80; v >>= 7) out.push_back(char((v & 0x7f) | 0x80));
  out.push_back(char(v));
}

struct WireField {
  uint64_t number = 0;
  uint64_t wire_type = 0;
  std::string_view raw;      // tag and value, as stored
  std::string_view payload;  // the bytes of a length-delimited value
};

std::vector<WireField> wire_fields(std::string_view message) {
  std::vector<WireField> fields;
  size_t pos = 0;
  while (pos < message.size()) {
    const size_t start = pos;
    const uint64_t tag = read_varint(message, pos);
    WireField f;
    f.number = tag >> 3;
    f.wire_type = tag & 7;
    size_t skip = 0;
    switch (f.wire_type) {
      case 0:  // varint
        read_varint(message, pos);
        break;
      case 1:  // 64-bit
        skip = 8;
        break;
      case 5:  // 32-bit
        skip = 4;
        break;
      case 2: {  // length-delimited
        skip = size_t(read_varint(message, pos));
        if (skip > message.size() - pos) throw unreadable_model();
        f.payload = message.substr(pos, skip);
        break;
      }
      default:
        throw unreadable_model();
    }
    if (skip > message.size() - pos) throw unreadable_model();
    pos += skip;
    f.raw = message.substr(start, pos - start);
    fields.push_back(f);
  }
  return fields;
}

void append_bytes_field(std::string& out, uint64_t number, std::string_view payload) {
  write_varint(out, number << 3 | 2);
  write_varint(out, payload.size());
  out.append(payload);
}

// SentencePiece keeps its TrainerSpec in the model, including the corpus path and the output
// prefix (ModelProto.trainer_spec = 2; TrainerSpec.input = 1, model_prefix = 2). Those name the
// scratch folder, which differs from run to run, so they are replaced by fixed names: the same
// corpus then gives the same bytes, and no local path leaks into a model folder.
std::string without_scratch_paths(std::string_view model) {
  std::string out;
  for (const WireField& f : wire_fields(model)) {
    if (f.number != 2 || f.wire_type != 2) {
      out.append(f.raw);
      continue;
    }
    std::string spec;
    for (const WireField& g : wire_fields(f.payload)) {
      if (g.wire_type == 2 && g.number == 1) {
        append_bytes_field(spec, 1, "corpus.txt");
      } else if (g.wire_type == 2 && g.number == 2) {
        append_bytes_field(spec, 2, "spiece");
      } else {
        spec.append(g.raw);
      }
    }
    append_bytes_field(out, 2, spec);
  }
  return out;
}

// A scratch folder for the trainer, removed on scope exit. SentencePiece's flags are split at
// spaces, so its path must not contain any.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    std::error_code ec;
    const fs::path base = fs::temp_directory_path(ec);
    if (ec) throw Error(ErrorCategory::Io, "no temporary folder: " + ec.message());
    path_ = base / ("reelforge-spiece-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter.fetch_add(1)));
    if (path_.string().find_first_of(" \t\n") != std::string::npos) {
      throw Error(ErrorCategory::Unsupported,
                  "the SentencePiece trainer cannot use a temporary folder whose path has spaces; "
                  "set TMPDIR to one without",
                  path_.string());
    }
    fs::create_directories(path_, ec);
    if (ec) {
      throw Error(ErrorCategory::Io, "cannot create a folder: " + ec.message(), path_.string());
    }
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

const char* to_string(WeightDType dtype) {
  switch (dtype) {
    case WeightDType::Float32:
      return "float32";
    case WeightDType::BFloat16:
      return "bf16";
  }
  return "?";
}

ModelManifest save_model(const fs::path& dir, const ModelManifest& manifest,
                         const ModelComponents& components, const SaveModelOptions& options) {
  const WanDiTConfig& dit = components.dit.config();
  const UMT5Config& text = components.text_encoder.config();
  const WanVAEConfig& vae = components.vae.config();

  ModelManifest m = manifest;
  m.dir = dir;
  m.dit.files = {kDiTWeightsFile};
  m.dit.model_type = to_string(dit.model_type);
  m.dit.num_heads = int(dit.num_heads);
  m.dit.prediction = to_string(dit.prediction);
  m.text_encoder.files = {kTextEncoderWeightsFile};
  m.text_encoder.tokenizer = kTokenizerFile;
  m.vae.files = {kVAEWeightsFile};
  m.vae.version = to_string(vae.version);

  check_fit(dit, text, vae, m, dir);
  {
    const T5Tokenizer tokenizer = T5Tokenizer::load(components.tokenizer_model);
    if (tokenizer.vocab_size() > text.vocab) {
      throw invalid("the tokenizer " + components.tokenizer_model.string() + " has " +
                        str(tokenizer.vocab_size()) + " pieces, more than the text encoder's " +
                        "vocabulary of " + str(text.vocab) + "; it is not this encoder's tokenizer",
                    dir);
    }
  }
  // The schema's own rules (name, tasks, ranges), before anything is written.
  ModelManifest::from_json(m.to_json(), dir);

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw Error(ErrorCategory::Io, "cannot create the model folder: " + ec.message(), dir.string());
  }
  // Without a manifest the folder is not a model, so nobody loads it while the weights change.
  fs::remove(dir / "model.json", ec);
  if (ec) {
    throw Error(ErrorCategory::Io, "cannot replace the old model.json: " + ec.message(),
                (dir / "model.json").string());
  }

  tensors::save_safetensors(dir / kDiTWeightsFile,
                            stored(components.dit.named_parameters(), options.weight_dtype),
                            kWeightsMetadata);
  tensors::save_safetensors(
      dir / kTextEncoderWeightsFile,
      stored(components.text_encoder.named_parameters(), options.weight_dtype), kWeightsMetadata);
  tensors::save_safetensors(dir / kVAEWeightsFile,
                            stored(components.vae.named_parameters(), options.weight_dtype),
                            kWeightsMetadata);
  const fs::path tokenizer_target = dir / kTokenizerFile;
  if (!fs::exists(tokenizer_target, ec) ||
      !fs::equivalent(components.tokenizer_model, tokenizer_target, ec)) {
    write_file_atomic(tokenizer_target, read_file(components.tokenizer_model));
  }
  m.save();
  return m;
}

RandomModelSpec::RandomModelSpec() {
  dit.model_type = WanModelType::T2V;
  dit.patch_size = {1, 2, 2};
  dit.in_dim = 16;
  dit.out_dim = 16;
  dit.dim = 64;
  dit.ffn_dim = 128;
  dit.freq_dim = 32;
  dit.text_dim = 32;
  dit.text_len = 64;
  dit.num_heads = 2;
  dit.num_layers = 2;

  text.vocab = 0;  // the tokenizer's
  text.dim = 32;
  text.dim_attn = 32;
  text.dim_ffn = 64;
  text.num_heads = 2;
  text.num_layers = 2;

  vae = WanVAEConfig::preset(WanVAEVersion::V2_1);  // the real structure, narrower
  vae.dim = 8;
  vae.dec_dim = 8;

  tasks = {Task::TextToVideo, Task::VideoToVideo};
  native_sizes = {{"wide", {80, 48}}, {"vertical", {48, 80}}, {"square", {64, 64}}};
  defaults.steps = 4;
  defaults.shift = 5.0;
  defaults.guidance = 5.0;
  defaults.solver = "unipc";
}

RandomModelSpec RandomModelSpec::tiny(WanModelType type) {
  RandomModelSpec spec;
  spec.dit.model_type = type;
  if (type == WanModelType::TI2V) {
    spec.name = "tiny-random-ti2v";
    spec.variant = "tiny-random-ti2v";
    spec.tasks = {Task::TextToVideo, Task::ImageToVideo, Task::VideoToVideo};
  }
  return spec;
}

void train_t5_tokenizer(const std::string& corpus, int vocab, const fs::path& out_model) {
  ScratchDir scratch;
  {
    std::ofstream file(scratch.path() / "corpus.txt", std::ios::binary);
    file << corpus;
    if (!file.flush()) {
      throw Error(ErrorCategory::Io, "cannot write the tokenizer corpus",
                  (scratch.path() / "corpus.txt").string());
    }
  }
  // One thread and the whole corpus (no sentence sampling) keep the training deterministic.
  train_sentencepiece("--input=" + (scratch.path() / "corpus.txt").string() +
                      " --model_prefix=" + (scratch.path() / "spiece").string() +
                      " --model_type=unigram --vocab_size=" + std::to_string(vocab) +
                      " --hard_vocab_limit=false --character_coverage=1.0"
                      " --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --pad_piece=<pad>"
                      " --eos_piece=</s> --unk_piece=<unk> --minloglevel=2 --num_threads=1");
  write_file_atomic(out_model, without_scratch_paths(read_file(scratch.path() / "spiece.model")));
}

ModelManifest write_random_model(const fs::path& dir, const RandomModelSpec& spec) {
  if (spec.tokenizer_vocab < 8) {
    throw invalid("tokenizer_vocab " + str(spec.tokenizer_vocab) +
                      " is too small; use at least 8 (pad, </s>, unk and a few pieces)",
                  dir);
  }
  spec.dit.validate();
  spec.vae.validate();

  ModelManifest m;
  m.name = spec.name;
  m.display_name = spec.display_name;
  m.variant = spec.variant;
  m.license = "none: random weights";
  m.tasks = spec.tasks;
  m.text_encoder.text_len = int(spec.dit.text_len);
  m.fps = spec.fps;
  m.frame_count = spec.frame_count;
  m.native_sizes = spec.native_sizes;
  m.defaults = spec.defaults;
  m.vae.latent_mean = spec.latent_mean;
  m.vae.latent_std = spec.latent_std;
  if (m.vae.latent_mean.empty() && m.vae.latent_std.empty() &&
      wan_vae_default_mean(spec.vae.version).size() != size_t(spec.vae.z_dim)) {
    m.vae.latent_mean.assign(size_t(spec.vae.z_dim), 0.0);
    m.vae.latent_std.assign(size_t(spec.vae.z_dim), 1.0);
  }
  // Fail on a mismatched spec before spending time on training.
  {
    UMT5Config text = spec.text;
    if (text.vocab == 0) text.vocab = spec.tokenizer_vocab;
    text.validate();
    check_fit(spec.dit, text, spec.vae, m, dir);
  }

  ScratchDir scratch;
  const fs::path tokenizer_file = scratch.path() / "spiece.model";
  train_t5_tokenizer(tokenizer_corpus(), spec.tokenizer_vocab, tokenizer_file);

  UMT5Config text = spec.text;
  if (text.vocab == 0) text.vocab = T5Tokenizer::load(tokenizer_file).vocab_size();

  WanDiTLoadOptions dit_options;
  dit_options.device = Device::CPU;
  dit_options.dtype = ComputeDType::Float32;
  UMT5LoadOptions text_options;  // CPU, float32
  WanVAELoadOptions vae_options;
  vae_options.device = Device::CPU;
  vae_options.dtype = ComputeDType::Float32;
  vae_options.latent_mean = m.vae.latent_mean;
  vae_options.latent_std = m.vae.latent_std;

  const ModelComponents components{
      WanDiT::random(spec.dit, dit_options, derive_seed(spec.seed, 0)),
      UMT5Encoder::random(text, text_options, derive_seed(spec.seed, 1)),
      WanVAE::random(spec.vae, vae_options, derive_seed(spec.seed, 2)), tokenizer_file};
  SaveModelOptions save_options;
  save_options.weight_dtype = spec.weight_dtype;
  return save_model(dir, m, components, save_options);
}

}  // namespace reelforge::models
