// The training stages, the clip pool and export. See trainer.hpp for the method.

#include "reelforge/training/trainer.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/core/hash.hpp"
#include "reelforge/core/stopwatch.hpp"
#include "reelforge/dataset/world.hpp"
#include "reelforge/models/latent_preview.hpp"
#include "reelforge/models/model_writer.hpp"
#include "reelforge/models/tokenizer.hpp"
#include "reelforge/models/wan_dit.hpp"
#include "reelforge/pipeline/generator.hpp"
#include "reelforge/pipeline/model_runtime.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"
#include "reelforge/training/dit_trainable.hpp"
#include "reelforge/training/flow_matching.hpp"
#include "reelforge/training/silhouette.hpp"
#include "reelforge/training/umt5_trainable.hpp"
#include "reelforge/training/vae_trainable.hpp"

namespace reelforge::training {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr char kConfigFile[] = "config.json";
constexpr char kTokenizerFile[] = "spiece.model";
constexpr char kVAECheckpoint[] = "vae_state.safetensors";
constexpr char kDiTCheckpoint[] = "dit_state.safetensors";
constexpr char kDecoderCheckpoint[] = "decoder_state.safetensors";
constexpr char kVAEStatsFile[] = "vae_stats.json";
constexpr char kLossLog[] = "loss.tsv";
constexpr char kDiTPrefix[] = "dit/";
constexpr char kTextPrefix[] = "text/";
constexpr char kSilhouettePrefix[] = "silhouette/";
// The least sigma a clean-latent prediction's velocity is divided by in the loss.
constexpr double kMinPredictionSigma = 0.05;

Error invalid(const std::string& message, const fs::path& where = {}) {
  return Error(ErrorCategory::InvalidArgument, message, where.string());
}

const char* checkpoint_file(TrainStage stage) {
  switch (stage) {
    case TrainStage::VAE:
      return kVAECheckpoint;
    case TrainStage::DiT:
      return kDiTCheckpoint;
    case TrainStage::Decoder:
      return kDecoderCheckpoint;
  }
  return kVAECheckpoint;
}

// The VAE weights the decoder stage trains: the decoder and conv2, which maps latents into it.
// The encoder and conv1 (its head to mu / log-variance) define the latent space and stay frozen.
bool is_decoder_weight(const std::string& name) {
  return name.rfind("decoder.", 0) == 0 || name.rfind("conv2.", 0) == 0;
}

// Trainable copies of the decoder side of VAE weights.
NamedWeights decoder_part(const NamedWeights& vae) {
  NamedWeights decoder;
  for (const auto& [name, w] : vae) {
    if (is_decoder_weight(name)) decoder.emplace(name, w.detach().clone().requires_grad_(true));
  }
  return decoder;
}

at::ScalarType torch_dtype(ComputeDType dtype) {
  return dtype == ComputeDType::Float32 ? at::kFloat : at::kBFloat16;
}

// Every random draw of step `step` of a stage comes from here, so a resumed run draws what the
// uninterrupted run would have drawn.
std::mt19937_64 step_rng(uint64_t seed, TrainStage stage, int64_t step, uint64_t stream = 0) {
  // The decoder stage came later: its own seed keeps its draws apart from the VAE stage's without
  // changing what the first two stages draw.
  if (stage == TrainStage::Decoder) {
    seed = splitmix64(seed ^ 0x6465636f646572ULL);
    stage = TrainStage::VAE;
  }
  return std::mt19937_64(
      splitmix64(seed ^ splitmix64(uint64_t(step) * 4 + uint64_t(stage) * 2 + stream * 7919)));
}

std::vector<std::pair<std::string, models::NativeSize>> bucket_list(const TrainConfig& c) {
  return {c.buckets.begin(), c.buckets.end()};
}

// Clip frames [1, 3, T, H, W] in [-1, 1]. With `coverage`, also the objects' coverage of those
// frames [T, H, W] in [0, 1].
at::Tensor render_video(const dataset::ClipSpec& spec, models::NativeSize size, int frames,
                        int first, int count, at::Tensor* coverage = nullptr) {
  std::vector<cv::Mat> covered;
  const std::vector<cv::Mat> all = dataset::render_clip(
      spec, {size.width_px, size.height_px}, frames, coverage ? &covered : nullptr);
  const std::vector<cv::Mat> window(all.begin() + first, all.begin() + first + count);
  if (coverage) {
    std::vector<at::Tensor> planes;
    for (int i = first; i < first + count; ++i) {
      planes.push_back(at::from_blob(covered[size_t(i)].data, {size.height_px, size.width_px},
                                     at::kByte)
                           .to(at::kFloat) /
                       255.0);
    }
    *coverage = at::stack(planes);
  }
  return pipeline::frames_to_video(window, at::kCPU);
}

// Where the objects are on the latent grid [F, h, w], in [0, 1]: their coverage [T, H, W] pooled
// over the pixel frames of each latent frame (the first alone, then groups of the temporal
// stride, as the causal VAE encodes them) and over each latent pixel's block, then grown by one
// latent pixel, which the VAE also uses to draw the edges.
at::Tensor latent_object_mask(const at::Tensor& coverage, const models::WanVAEConfig& vae) {
  const int64_t ts = vae.temporal_stride(), ss = vae.spatial_stride();
  const int64_t frames = coverage.size(0), height = coverage.size(1), width = coverage.size(2);
  const at::Tensor rest =
      coverage.narrow(0, 1, frames - 1).view({(frames - 1) / ts, ts, height, width}).amax(1);
  const at::Tensor per_latent_frame = at::cat({coverage.narrow(0, 0, 1), rest}, 0);  // [F, H, W]
  const at::Tensor pooled = at::max_pool2d(per_latent_frame.unsqueeze(1), {ss, ss}, {ss, ss});
  return at::max_pool2d(pooled, {3, 3}, {1, 1}, {1, 1}).squeeze(1);  // [F, h, w]
}

// Silhouette values per DiT token: the map's cells under each token, in the DiT's token order.
int64_t silhouette_cells(const TrainConfig& c) {
  const int64_t ss = c.vae.spatial_stride();
  return (c.dit.patch_size[1] * ss / kSilhouetteCell) *
         (c.dit.patch_size[2] * ss / kSilhouetteCell);
}

int64_t silhouette_tap(const TrainConfig& c) {
  return c.silhouette_block > 0 ? c.silhouette_block : std::max<int64_t>(1, c.dit.num_layers / 2);
}

std::string loss_log_header(const TrainConfig& c) {
  return std::string("stage\tstep\tloss\tgrad_norm\tseconds_per_step") +
         (c.silhouette_loss_weight > 0 ? "\tsilhouette_loss\n" : "\n");
}

std::string tokenizer_corpus(const TrainConfig& c) {
  std::mt19937_64 rng(splitmix64(c.seed ^ 0x746f6bULL));
  std::ostringstream out;
  for (int i = 0; i < c.tokenizer_corpus_captions; ++i) {
    out << dataset::caption(dataset::sample_clip(rng, dataset::Split::Train), rng) << '\n';
  }
  // The held-out combinations are made of words the training captions also use; add the
  // canonical phrasing so evaluation prompts tokenise like training ones.
  for (int i = 0; i < 200; ++i) {
    out << dataset::canonical_caption(dataset::sample_clip(rng, dataset::Split::Train)) << '\n';
  }
  return out.str();
}

// Differences between two configs' JSON, first one found, as "path: a vs b".
std::string first_difference(const json& a, const json& b, const std::string& path = "") {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) return path + key + ": only in the run's config";
      const std::string d = first_difference(value, b.at(key), path + key + ".");
      if (!d.empty()) return d;
    }
    for (const auto& [key, value] : b.items()) {
      if (!a.contains(key)) return path + key + ": missing from the run's config";
    }
    return "";
  }
  if (a != b) return path.substr(0, path.size() - 1) + ": " + a.dump() + " vs " + b.dump();
  return "";
}

void append_log(const fs::path& file, const std::string& lines) {
  if (lines.empty()) return;
  std::ofstream out(file, std::ios::app | std::ios::binary);
  out << lines;
  if (!out.flush()) throw Error(ErrorCategory::Io, "cannot append to the loss log", file.string());
}

// Loads inference networks from trainable weights through the real loaders (a safetensors image
// in memory), so what is evaluated and exported is exactly what a user's model folder holds.
tensors::Checkpoint as_checkpoint(const NamedWeights& weights, const std::string& label) {
  return tensors::Checkpoint::from_safetensors_bytes(
      tensors::serialize_safetensors(export_weights(weights, at::kFloat)), label);
}

NamedWeights with_prefix(const NamedWeights& weights, const std::string& prefix) {
  NamedWeights out;
  for (const auto& [name, w] : weights) {
    if (name.rfind(prefix, 0) == 0) out.emplace(name.substr(prefix.size()), w);
  }
  return out;
}

struct VAEStats {
  std::vector<double> mean, std;
  double reconstruction_psnr_db = 0;
  std::string imported_from;  // the model folder the VAE came from, if it was not trained here
};

VAEStats read_stats(const fs::path& file) {
  const json j = json::parse(read_file(file));
  VAEStats stats;
  stats.mean = j.at("latent_mean").get<std::vector<double>>();
  stats.std = j.at("latent_std").get<std::vector<double>>();
  return stats;
}

void write_stats(const fs::path& file, const VAEStats& stats) {
  json j = {{"latent_mean", stats.mean}, {"latent_std", stats.std},
            {"reconstruction_psnr_db", stats.reconstruction_psnr_db}};
  if (!stats.imported_from.empty()) j["imported_from"] = stats.imported_from;
  write_file_atomic(file, j.dump(2) + "\n");
}

models::WanVAE inference_vae(const TrainConfig& c, const NamedWeights& weights,
                             const VAEStats& stats) {
  models::WanVAELoadOptions options;
  options.device = Device::CPU;
  options.dtype = c.dtype;
  options.expected_version = models::WanVAEVersion::V2_1;
  options.latent_mean = stats.mean;
  options.latent_std = stats.std;
  return models::WanVAE::load(as_checkpoint(weights, "trained VAE"), options);
}

NamedWeights fresh_vae_weights(const TrainConfig& c) {
  models::WanVAELoadOptions options;
  options.device = Device::CPU;
  options.dtype = ComputeDType::Float32;
  options.latent_mean.assign(size_t(c.vae.z_dim), 0.0);
  options.latent_std.assign(size_t(c.vae.z_dim), 1.0);
  return trainable_copy(
      models::WanVAE::random(c.vae, options, splitmix64(c.seed ^ 0x766165ULL)).named_parameters());
}

// The latent statistics of un-normalised means over 48 clips of every bucket, and the VAE's
// reconstruction PSNR on them. Half the clips are held-out: the figure should not flatter the VAE.
VAEStats measure_vae(const TrainConfig& c, const NamedWeights& vae_weights) {
  at::NoGradGuard no_grad;
  const auto buckets = bucket_list(c);
  VAEStats unnormalised;
  unnormalised.mean.assign(size_t(c.vae.z_dim), 0.0);
  unnormalised.std.assign(size_t(c.vae.z_dim), 1.0);
  const models::WanVAE raw = inference_vae(c, vae_weights, unnormalised);
  std::mt19937_64 rng(splitmix64(c.seed ^ 0x73746174ULL));
  std::vector<at::Tensor> flat;
  double squared_error = 0, samples = 0;
  for (int i = 0; i < 48; ++i) {
    const auto& [name, size] = buckets[size_t(i) % buckets.size()];
    const at::Tensor video = render_video(
        dataset::sample_clip(rng, i % 2 == 0 ? dataset::Split::Train : dataset::Split::HeldOut),
        size, c.frame_count, 0, c.frame_count);
    const at::Tensor z = raw.encode(video);
    flat.push_back(z.transpose(0, 1).reshape({c.vae.z_dim, -1}));
    const at::Tensor error = (raw.decode(z).clamp(-1.0, 1.0) - video) * 0.5;  // in [0, 1] units
    squared_error += error.pow(2).sum().item<double>();
    samples += double(error.numel());
  }
  const at::Tensor all = at::cat(flat, 1).to(at::kDouble);
  const at::Tensor mean = all.mean(1), sd = all.std(1).clamp_min(1e-3);
  VAEStats stats;
  stats.mean.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
  stats.std.assign(sd.data_ptr<double>(), sd.data_ptr<double>() + sd.numel());
  stats.reconstruction_psnr_db =
      10.0 * std::log10(1.0 / std::max(1e-12, squared_error / samples));
  return stats;
}

// Maps a DiT's patch embedding and head from patch `from` onto a finer patch `to` as if the
// picture were magnified by the ratio: a fine token sees what a coarse token saw, zoomed in, so
// the fine kernel is the coarse one summed over each ratio-sized block, and the head predicts the
// coarse output averaged over each block. RoPE counts tokens, so the blocks see the same
// magnified picture. Returns `saved` unchanged for every other weight, and when `to` is not a
// finer patch (the shape check after it then refuses the model).
at::Tensor adapt_to_patch(const std::string& name, const at::Tensor& saved,
                          const std::array<int64_t, 3>& from, const std::array<int64_t, 3>& to,
                          int64_t out_dim) {
  const bool embedding = name == "patch_embedding.weight";
  const bool head = name == "head.head.weight" || name == "head.head.bias";
  if ((!embedding && !head) || from == to) return saved;
  std::array<int64_t, 3> ratio{};
  for (size_t i = 0; i < 3; ++i) {
    if (from[i] < to[i] || from[i] % to[i] != 0) return saved;
    ratio[i] = from[i] / to[i];
  }
  if (embedding) {
    const int64_t d = saved.size(0), c = saved.size(1);
    return saved.view({d, c, to[0], ratio[0], to[1], ratio[1], to[2], ratio[2]}).sum({3, 5, 7});
  }
  // head rows are ordered (pt, ph, pw, C); a bias is a weight with one column.
  const at::Tensor rows = saved.dim() == 1 ? saved.unsqueeze(1) : saved;
  const int64_t cols = rows.size(1);
  const at::Tensor fine =
      rows.view({to[0], ratio[0], to[1], ratio[1], to[2], ratio[2], out_dim, cols})
          .mean({1, 3, 5})
          .reshape({-1, cols});
  return saved.dim() == 1 ? fine.squeeze(1) : fine;
}

// How a DiT of `layers` blocks starts from a model's DiT of `model_layers` <= `layers`: the model's
// blocks spread evenly over the deeper stack, in order (entry j is the model block that block j
// copies), and -1 for each block between them, which starts as the identity. Equal depths map
// block for block; a shallower stack maps block for block too, and the model's extra blocks are
// then refused as weights the network does not have.
std::vector<int64_t> spread_blocks(int64_t model_layers, int64_t layers) {
  std::vector<int64_t> from(static_cast<size_t>(layers), -1);
  if (model_layers >= layers) {
    for (int64_t j = 0; j < layers; ++j) from[size_t(j)] = j;
    return from;
  }
  for (int64_t i = 0; i < model_layers; ++i) from[size_t(i * layers / model_layers)] = i;
  return from;
}

// The block and member of a DiT weight "blocks.N.<member>"; std::nullopt for a weight outside the
// blocks. Error(Format) naming the weight and `model_dir` when the name starts with "blocks." but
// is not "blocks.N.<member>" with N a block number.
std::optional<models::WanBlockWeightName> split_block_weight(const std::string& name,
                                                             const fs::path& model_dir) {
  if (name.rfind(models::kWanBlockPrefix, 0) != 0) return std::nullopt;
  auto weight = models::split_wan_block_weight_name(name);
  if (!weight) {
    throw Error(ErrorCategory::Format,
                "the model's DiT weight '" + name +
                    "' is not named blocks.N.<member> with a block number N",
                model_dir.string());
  }
  return weight;
}

// The number of blocks of the DiT in `checkpoint`, the model in `model_dir` (named in errors).
int64_t block_count(const tensors::Checkpoint& checkpoint, const fs::path& model_dir) {
  int64_t count = 0;
  for (const std::string& name : checkpoint.names()) {
    if (const auto weight = split_block_weight(name, model_dir)) {
      count = std::max(count, weight->block + 1);
    }
  }
  return count;
}

// A new block adds nothing to the residual stream while its output projections are zero. Wan's
// cross-attention has no gate, so adaLN-zero's zero modulation alone would not make it so. The
// rest of the block keeps its fresh initialisation, so the projections' gradients are not zero.
void make_identity_block(NamedWeights& dit_weights, int64_t block) {
  at::NoGradGuard no_grad;
  for (const char* layer : {"self_attn.o", "cross_attn.o", "ffn.2"}) {
    for (const char* part : {".weight", ".bias"}) {
      dit_weights.at(kDiTPrefix + models::wan_block_weight_name(block, std::string(layer) + part))
          .zero_();
    }
  }
}

// Copies the tensors of `checkpoint` into `into` (fresh weights of the config's networks), with
// `prefix` stripped from into's names; `source`, when given, names the checkpoint tensor each of
// into's takes (none: it keeps its fresh value). Every weight must be there in the same shape, and
// the checkpoint must hold nothing else: a model of another architecture is refused, naming why.
void copy_weights(const tensors::Checkpoint& checkpoint, NamedWeights& into,
                  const std::string& prefix, const std::string& component,
                  const fs::path& model_dir,
                  const std::function<at::Tensor(const std::string&, const at::Tensor&)>& adapt =
                      {},
                  const std::function<std::optional<std::string>(const std::string&)>& source =
                      {}) {
  at::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& [full_name, w] : into) {
    if (full_name.rfind(prefix, 0) != 0) continue;
    const std::optional<std::string> from =
        source ? source(full_name.substr(prefix.size())) : full_name.substr(prefix.size());
    if (!from) continue;
    const std::string& name = *from;
    if (!checkpoint.contains(name)) {
      throw Error(ErrorCategory::Format,
                  "the model's " + component + " has no '" + name +
                      "', which the training recipe's network needs: it is of another architecture",
                  model_dir.string());
    }
    at::Tensor saved = checkpoint.load(name, at::kFloat);
    if (adapt) saved = adapt(name, saved);
    if (saved.sizes() != w.sizes()) {
      throw Error(ErrorCategory::Format,
                  "the model's " + component + " weight '" + name + "' has shape " +
                      c10::str(saved.sizes()) + "; the training recipe's network has " +
                      c10::str(w.sizes()),
                  model_dir.string());
    }
    w.copy_(saved);
    used.insert(name);
  }
  for (const std::string& name : checkpoint.names()) {
    if (used.count(name) == 0) {
      throw Error(ErrorCategory::Format,
                  "the model's " + component + " has '" + name +
                      "', which the training recipe's network does not: it is of another "
                      "architecture",
                  model_dir.string());
    }
  }
}

NamedWeights fresh_dit_and_text_weights(const TrainConfig& c) {
  NamedWeights out;
  for (auto& [name, w] : init_dit_weights(c.dit, splitmix64(c.seed ^ 0x646974ULL))) {
    out.emplace(kDiTPrefix + name, w);
  }
  models::UMT5LoadOptions text_options;  // CPU float32
  const models::UMT5Encoder text =
      models::UMT5Encoder::random(c.text, text_options, splitmix64(c.seed ^ 0x747874ULL));
  for (auto& [name, w] : trainable_copy(text.named_parameters())) {
    out.emplace(kTextPrefix + name, w);
  }
  if (c.silhouette_loss_weight > 0) {
    // From zero, so that a head added to a trained DiT leaves its first steps as they were.
    const int64_t cells = silhouette_cells(c);
    out.emplace(std::string(kSilhouettePrefix) + "head.weight",
                at::zeros({cells, c.dit.dim}).set_requires_grad(true));
    out.emplace(std::string(kSilhouettePrefix) + "head.bias",
                at::zeros({cells}).set_requires_grad(true));
  }
  return out;
}

// Steps, timing and the smoothed loss of one call of train().
class StageMeter {
 public:
  StageMeter(TrainStage stage, int64_t total) : stage_(stage), total_(total) {}

  TrainProgress record(int64_t step, double loss, double grad_norm, double step_seconds) {
    smoothed_ = count_ == 0 ? loss : 0.98 * smoothed_ + 0.02 * loss;
    // Ignore the first step's timing (allocations, caches): it would skew the ETA for a while.
    if (count_ > 0) {
      seconds_ = seconds_ == 0 ? step_seconds : 0.95 * seconds_ + 0.05 * step_seconds;
    }
    ++count_;
    TrainProgress p;
    p.stage = stage_;
    p.phase = "train";
    p.step = step;
    p.total = total_;
    p.loss = smoothed_;
    p.grad_norm = grad_norm;
    p.seconds_per_step = seconds_ > 0 ? seconds_ : step_seconds;
    p.eta_s = p.seconds_per_step * double(std::max<int64_t>(0, total_ - step));
    return p;
  }

 private:
  TrainStage stage_;
  int64_t total_;
  int64_t count_ = 0;
  double smoothed_ = 0;
  double seconds_ = 0;
};

using Clock = std::chrono::steady_clock;

// Clips encoded by the frozen VAE, per bucket, refreshed a few at a time so that the DiT sees a
// slowly changing sample of the world at a fraction of the cost of encoding every batch.
struct PoolEntry {
  at::Tensor latent;       // [z, F, h, w] normalised, bf16
  at::Tensor object_mask;  // [F, h, w] latent_object_mask, when the loss weights objects
  at::Tensor silhouette;   // [F, H / 2, W / 2] silhouette_map, with the silhouette head
  dataset::ClipSpec spec;
};

class ClipPool {
 public:
  ClipPool(const TrainConfig& c, const models::WanVAE& vae) : c_(c), vae_(vae) {
    buckets_ = bucket_list(c);
    pools_.resize(buckets_.size());
    capacity_ = std::max<size_t>(size_t(c.dit_batch), size_t(c.pool_clips) / buckets_.size());
  }

  size_t buckets() const { return buckets_.size(); }
  size_t capacity() const { return capacity_; }
  const models::NativeSize& size(size_t b) const { return buckets_[b].second; }

  // Encodes `count` new clips for bucket b, replacing random ones once the pool is full.
  void add(size_t b, int count, std::mt19937_64& rng) {
    std::vector<dataset::ClipSpec> specs;
    std::vector<at::Tensor> videos, masks, silhouettes;
    const bool weighted = c_.object_loss_weight > 0, outlined = c_.silhouette_loss_weight > 0;
    for (int i = 0; i < count; ++i) {
      specs.push_back(dataset::sample_clip(rng, dataset::Split::Train, c_.world_mix));
      at::Tensor coverage;
      videos.push_back(render_video(specs.back(), size(b), c_.frame_count, 0, c_.frame_count,
                                    weighted || outlined ? &coverage : nullptr));
      masks.push_back(weighted ? latent_object_mask(coverage, c_.vae) : at::Tensor());
      silhouettes.push_back(outlined ? silhouette_map(coverage, c_.vae.temporal_stride())
                                     : at::Tensor());
    }
    at::Tensor latents;
    {
      at::NoGradGuard no_grad;
      latents = vae_.encode(at::cat(videos, 0)).to(at::kBFloat16);  // [n, z, F, h, w]
    }
    auto& pool = pools_[b];
    for (int i = 0; i < count; ++i) {
      PoolEntry entry{latents[i].clone(), masks[size_t(i)], silhouettes[size_t(i)],
                      specs[size_t(i)]};
      if (pool.size() < capacity_) {
        pool.push_back(std::move(entry));
      } else {
        pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)] = std::move(entry);
      }
    }
  }

  const std::vector<PoolEntry>& entries(size_t b) const { return pools_[b]; }

 private:
  const TrainConfig& c_;
  const models::WanVAE& vae_;
  std::vector<std::pair<std::string, models::NativeSize>> buckets_;
  std::vector<std::vector<PoolEntry>> pools_;
  size_t capacity_ = 0;
};

}  // namespace

// ---- the run folder -----------------------------------------------------------------------------

Trainer::Trainer(fs::path run_dir, TrainConfig config)
    : run_dir_(std::move(run_dir)), config_(std::move(config)) {}

Trainer Trainer::create_or_resume(const fs::path& run_dir, const TrainConfig& config) {
  config.validate();
  const fs::path config_file = run_dir / kConfigFile;
  if (fs::exists(config_file)) {
    Trainer existing = resume(run_dir);
    // Step targets and the checkpoint interval may change between pieces (to train longer), and
    // the world mix (a curriculum widens the world as the model learns it); anything else would
    // change what earlier steps meant.
    json before = existing.config().to_json(), after = config.to_json();
    for (const char* key :
         {"vae_steps", "dit_steps", "decoder_steps", "checkpoint_every", "world_mix"}) {
      before.erase(key);
      after.erase(key);
    }
    const std::string diff = first_difference(before, after);
    if (!diff.empty()) {
      throw invalid("the run folder was started with another training config (" + diff +
                        "); resume it with its own config or start a new folder",
                    run_dir);
    }
    write_file_atomic(config_file, config.to_json().dump(2) + "\n");
    return Trainer(run_dir, config);
  }
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec)
    throw Error(ErrorCategory::Io, "cannot create the run folder: " + ec.message(),
                run_dir.string());
  models::train_t5_tokenizer(tokenizer_corpus(config), config.vocab, run_dir / kTokenizerFile);
  write_file_atomic(config_file, config.to_json().dump(2) + "\n");
  append_log(run_dir / kLossLog, loss_log_header(config));
  return Trainer(run_dir, config);
}

Trainer Trainer::resume(const fs::path& run_dir) {
  const fs::path config_file = run_dir / kConfigFile;
  if (!fs::exists(config_file)) {
    throw Error(ErrorCategory::NotFound, "not a training run folder (no config.json)",
                run_dir.string());
  }
  json j;
  try {
    j = json::parse(read_file(config_file));
  } catch (const json::exception& e) {
    throw Error(ErrorCategory::Validation, std::string("config.json is not JSON: ") + e.what(),
                config_file.string());
  }
  TrainConfig config = TrainConfig::from_json(j);
  config.validate();
  return Trainer(run_dir, config);
}

namespace {

tensors::Checkpoint open_component(const models::ModelManifest& manifest,
                                   const std::vector<std::string>& files, const char* component) {
  return tensors::Checkpoint::open(pipeline::component_checkpoint_path(manifest, files, component));
}

// The model's DiT and text encoder into the run's fresh `dit_weights`: a coarser patch magnified,
// a shallower stack spread with identity blocks between, the head zeroed for another prediction.
void copy_dit_and_text(const models::ModelManifest& manifest, const fs::path& model_dir,
                       const TrainConfig& config, NamedWeights& dit_weights) {
  const tensors::Checkpoint dit = open_component(manifest, manifest.dit.files, "DiT");
  std::array<int64_t, 3> model_patch = config.dit.patch_size;
  if (dit.contains("patch_embedding.weight")) {
    const std::vector<int64_t>& kernel = dit.info("patch_embedding.weight").shape;
    if (kernel.size() == 5) model_patch = {kernel[2], kernel[3], kernel[4]};
  }
  const std::vector<int64_t> from_block =
      spread_blocks(block_count(dit, model_dir), config.dit.num_layers);
  copy_weights(
      dit, dit_weights, kDiTPrefix, "DiT", model_dir,
      [&](const std::string& name, const at::Tensor& saved) {
        return adapt_to_patch(name, saved, model_patch, config.dit.patch_size, config.dit.out_dim);
      },
      [&](const std::string& name) -> std::optional<std::string> {
        const std::optional<models::WanBlockWeightName> weight =
            split_block_weight(name, model_dir);
        if (!weight) return name;
        const int64_t block = from_block[size_t(weight->block)];
        if (block < 0) return std::nullopt;
        return models::wan_block_weight_name(block, weight->member);
      });
  for (size_t j = 0; j < from_block.size(); ++j) {
    if (from_block[j] < 0) make_identity_block(dit_weights, int64_t(j));
  }
  if (manifest.dit.prediction != models::to_string(config.dit.prediction)) {
    // The head's outputs meant the other quantity: it starts again from zero (a clean-latent
    // network's first guess is then the mean latent), on the model's features.
    at::NoGradGuard no_grad;
    for (const char* name : {"head.head.weight", "head.head.bias"}) {
      dit_weights.at(std::string(kDiTPrefix) + name).zero_();
    }
  }
  copy_weights(open_component(manifest, manifest.text_encoder.files, "text encoder"), dit_weights,
               kTextPrefix, "text encoder", model_dir);
}

}  // namespace

Trainer Trainer::create_from_model(const fs::path& run_dir, const TrainConfig& config,
                                   const fs::path& model_dir, ModelImport import) {
  config.validate();
  if (fs::exists(run_dir / kConfigFile)) {
    throw invalid("the run folder already holds a run; a run can start from a model only when new",
                  run_dir);
  }
  const models::ModelManifest manifest = models::ModelManifest::load(model_dir);
  NamedWeights vae_weights = fresh_vae_weights(config);
  copy_weights(open_component(manifest, manifest.vae.files, "VAE"), vae_weights, "", "VAE",
               model_dir);
  NamedWeights dit_weights = fresh_dit_and_text_weights(config);
  if (import == ModelImport::Everything) {
    copy_dit_and_text(manifest, model_dir, config, dit_weights);
  }
  const size_t z = size_t(config.vae.z_dim);
  if (manifest.vae.latent_mean.size() != z || manifest.vae.latent_std.size() != z) {
    throw Error(ErrorCategory::Format,
                "model.json's vae.latent_mean / latent_std need " + std::to_string(z) +
                    " values each (the DiT learnt latents normalised by them)",
                model_dir.string());
  }
  const fs::path tokenizer = manifest.dir / manifest.text_encoder.tokenizer;
  const std::string tokenizer_bytes = read_file(tokenizer);

  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec)
    throw Error(ErrorCategory::Io, "cannot create the run folder: " + ec.message(),
                run_dir.string());
  write_file_atomic(run_dir / kTokenizerFile, tokenizer_bytes);
  // The reconstruction figure is measured again; the normalisation is the model's own, which its
  // DiT was trained with.
  VAEStats stats = measure_vae(config, vae_weights);
  stats.mean = manifest.vae.latent_mean;
  stats.std = manifest.vae.latent_std;
  stats.imported_from = fs::absolute(model_dir).lexically_normal().string();
  write_stats(run_dir / kVAEStatsFile, stats);
  const std::map<std::string, std::string> origin = {{"config", config.to_json().dump()},
                                                     {"imported_from", stats.imported_from}};
  AdamW vae_state(std::move(vae_weights), config.vae_optimizer);
  vae_state.set_step_count(config.vae_steps);
  auto vae_meta = origin;
  vae_meta["stage"] = to_string(TrainStage::VAE);
  vae_state.save(run_dir / kVAECheckpoint, vae_meta);
  AdamW dit_state(std::move(dit_weights), config.dit_optimizer);
  auto dit_meta = origin;
  dit_meta["stage"] = to_string(TrainStage::DiT);
  dit_state.save(run_dir / kDiTCheckpoint, dit_meta);
  // config.json last: until it exists the folder is not a run, and a failed import can be retried.
  write_file_atomic(run_dir / kLossLog, loss_log_header(config));
  write_file_atomic(run_dir / kConfigFile, config.to_json().dump(2) + "\n");
  return Trainer(run_dir, config);
}

int64_t Trainer::steps_done(TrainStage stage) const {
  const fs::path file = run_dir_ / checkpoint_file(stage);
  if (!fs::exists(file)) return 0;
  const auto checkpoint = tensors::Checkpoint::open(file);  // metadata() is a view into it
  const auto& meta = checkpoint.metadata();
  const auto it = meta.find("step");
  return it == meta.end() ? 0 : std::stoll(it->second);
}

// ---- training -----------------------------------------------------------------------------------

int64_t Trainer::train(TrainStage stage, const TrainLimits& limits,
                       const TrainProgressCallback& progress) {
  // No budget (`--steps 0 --export`): return before building the pool and the latent stats.
  if (limits.max_steps == 0) return 0;
  const TrainConfig& c = config_;
  const at::ScalarType dt = torch_dtype(c.dtype);
  const bool is_vae = stage == TrainStage::VAE;
  const bool is_dit = stage == TrainStage::DiT;
  const fs::path checkpoint = run_dir_ / checkpoint_file(stage);
  const int64_t target = c.steps_target(stage);
  const auto started = Clock::now();
  const auto buckets = bucket_list(c);
  std::optional<ScopedBLASThreads> blas_threads;
  if (dt == at::kBFloat16) blas_threads.emplace(1);

  // The frozen VAE and the tokenizer for the DiT stage.
  std::optional<models::WanVAE> vae;
  std::optional<models::T5Tokenizer> tokenizer;
  if (!is_vae && steps_done(TrainStage::VAE) < c.vae_steps) {
    throw invalid(std::string("the ") + (is_dit ? "DiT" : "decoder") +
                      " stage needs the VAE stage finished first (" +
                      std::to_string(steps_done(TrainStage::VAE)) + " of " +
                      std::to_string(c.vae_steps) + " steps done)",
                  run_dir_);
  }
  if (is_dit) {
    AdamW vae_state(fresh_vae_weights(c), c.vae_optimizer);
    vae_state.load(run_dir_ / kVAECheckpoint);
    const fs::path stats_file = run_dir_ / kVAEStatsFile;
    if (!fs::exists(stats_file)) {
      if (progress) progress({stage, "stats", 0, target});
      write_stats(stats_file, measure_vae(c, vae_state.ema()));
    }
    vae.emplace(inference_vae(c, vae_state.ema(), read_stats(stats_file)));
    models::TokenizerOptions token_options;
    token_options.text_len = c.dit.text_len;
    tokenizer.emplace(models::T5Tokenizer::load(run_dir_ / kTokenizerFile, token_options));
  }

  // The decoder stage: the VAE's EMA split into the frozen encoder side and the decoder to train.
  NamedWeights frozen_encoder;
  const auto initial_weights = [&]() -> NamedWeights {
    if (is_vae) return fresh_vae_weights(c);
    if (is_dit) return fresh_dit_and_text_weights(c);
    AdamW vae_state(fresh_vae_weights(c), c.vae_optimizer);
    vae_state.load(run_dir_ / kVAECheckpoint);
    for (const auto& [name, w] : vae_state.ema()) {
      if (!is_decoder_weight(name)) frozen_encoder.emplace(name, w.detach());
    }
    return decoder_part(vae_state.ema());
  };
  AdamW optimizer(initial_weights(), is_vae   ? c.vae_optimizer
                                     : is_dit ? c.dit_optimizer
                                              : c.decoder_optimizer);
  if (fs::exists(checkpoint)) optimizer.load(checkpoint);
  const NamedWeights dit_w = with_prefix(optimizer.weights(), kDiTPrefix);
  const NamedWeights text_w = with_prefix(optimizer.weights(), kTextPrefix);
  const NamedWeights silhouette_w = with_prefix(optimizer.weights(), kSilhouettePrefix);

  std::optional<ClipPool> pool;
  if (is_dit) {
    pool.emplace(c, *vae);
    std::mt19937_64 rng = step_rng(c.seed, stage, optimizer.step_count(), 1);
    for (size_t b = 0; b < pool->buckets(); ++b) {
      for (size_t done = 0; done < pool->capacity(); done += 8) {
        if (limits.cancel) limits.cancel->throw_if_cancelled("training");
        pool->add(b, int(std::min<size_t>(8, pool->capacity() - done)), rng);
        if (progress) {
          progress({stage, "pool",
                    int64_t(b * pool->capacity() + std::min(done + 8, pool->capacity())),
                    int64_t(pool->buckets() * pool->capacity())});
        }
      }
    }
  }

  StageMeter meter(stage, target);
  std::ostringstream log;
  int64_t done_now = 0;
  const auto save = [&] {
    optimizer.save(checkpoint, {{"stage", to_string(stage)}, {"config", c.to_json().dump()}});
    append_log(run_dir_ / kLossLog, log.str());
    log.str("");
  };

  while (optimizer.step_count() < target) {
    if (limits.max_steps >= 0 && done_now >= limits.max_steps) break;
    if (limits.max_seconds >= 0 && seconds_since(started) >= limits.max_seconds) break;
    if (limits.cancel && limits.cancel->cancelled()) {
      save();
      limits.cancel->throw_if_cancelled("training");
    }
    const auto step_start = Clock::now();
    const int64_t step = optimizer.step_count();
    std::mt19937_64 rng = step_rng(c.seed, stage, step);
    const size_t b = size_t(step) % buckets.size();
    const models::NativeSize size = buckets[b].second;
    at::manual_seed(int64_t(splitmix64(c.seed + uint64_t(step)) >> 1));

    at::Tensor loss, silhouette_loss;
    if (!is_dit) {
      const bool whole = !is_vae || (c.vae_long_from_step >= 0 && step >= c.vae_long_from_step);
      const int frames = whole ? c.frame_count : c.vae_frames;
      std::vector<at::Tensor> clips;
      for (int i = 0; i < (whole ? c.vae_long_batch : c.vae_batch); ++i) {
        const int first = std::uniform_int_distribution<int>(0, c.frame_count - frames)(rng);
        clips.push_back(render_video(dataset::sample_clip(rng, dataset::Split::Train, c.world_mix),
                                     size, c.frame_count, first, frames));
      }
      const at::Tensor video = at::cat(clips, 0);
      at::Tensor mu;
      if (is_vae) {
        mu = vae_encode_moments(optimizer.weights(), c.vae, video, dt).first;
      } else {
        at::NoGradGuard frozen;
        mu = vae_encode_moments(frozen_encoder, c.vae, video, dt).first;
      }
      const at::Tensor recon = vae_decode(optimizer.weights(), c.vae, mu, dt);
      const at::Tensor contrast =
          (video - at::avg_pool3d(video, {1, 7, 7}, {1, 1, 1}, {0, 3, 3}, false, false))
              .abs()
              .mean(1, /*keepdim=*/true);
      const at::Tensor weight = (contrast * c.vae_edge_weight + 1.0).detach();
      const at::Tensor error = recon - video;
      loss = (error.abs() * weight).mean() + (error.pow(2) * weight).mean();
      if (is_vae) loss = loss + mu.pow(2).mean() * c.vae_latent_penalty;
    } else {
      const auto& entries = pool->entries(b);
      std::vector<at::Tensor> latents, object_masks, silhouettes;
      std::vector<std::string> captions;
      std::uniform_real_distribution<double> unit(0.0, 1.0);
      for (int i = 0; i < c.dit_batch; ++i) {
        const PoolEntry& e =
            entries[std::uniform_int_distribution<size_t>(0, entries.size() - 1)(rng)];
        latents.push_back(e.latent.to(at::kFloat));
        if (c.object_loss_weight > 0) object_masks.push_back(e.object_mask);
        if (c.silhouette_loss_weight > 0) silhouettes.push_back(e.silhouette);
        captions.push_back(unit(rng) < c.text_dropout ? std::string()
                                                      : dataset::caption(e.spec, rng));
      }
      const at::Tensor x0 = at::stack(latents);  // [B, z, F, h, w]
      const int64_t batch = x0.size(0), frames = x0.size(2);
      const int64_t per_frame =
          (x0.size(3) / c.dit.patch_size[1]) * (x0.size(4) / c.dit.patch_size[2]);
      // Per sample: the noise level and which latent frames are given clean.
      std::vector<float> sigmas;
      at::Tensor known = at::zeros({batch, frames});  // 1 = conditioning frame
      for (int64_t i = 0; i < batch; ++i) {
        sigmas.push_back(float(draw_sigma(rng, c.shift, c.sigma_logit_spread)));
        const double r = unit(rng);
        if (r < c.first_frame_prob) {
          known[i][0].fill_(1);
        } else if (r < c.first_frame_prob + c.first_two_prob) {
          known[i].narrow(0, 0, std::min<int64_t>(2, frames - 1)).fill_(1);
        } else if (r < c.first_frame_prob + c.first_two_prob + c.last_frame_prob) {
          known[i][frames - 1].fill_(1);
        }
      }
      const at::Tensor sigma = at::tensor(sigmas).view({batch, 1, 1, 1, 1});
      const at::Tensor noise = at::randn_like(x0);
      const at::Tensor keep = known.view({batch, 1, frames, 1, 1});
      const at::Tensor xt = ((1.0 - sigma) * x0 + sigma * noise) * (1.0 - keep) + x0 * keep;
      // Per-token timesteps: sigma x 1000 on generated tokens, 0 on known ones (Wan 2.2 TI2V).
      const at::Tensor generated =
          (1.0 - known).repeat_interleave(per_frame, 1);  // [B, F * tokens per frame]
      const at::Tensor t = sigma.view({batch, 1}) * 1000.0 * generated;

      const models::TokenBatch tokens = tokenizer->encode(captions);
      const at::Tensor text = umt5_forward(text_w, c.text, tokens.ids, tokens.mask, dt) *
                              tokens.mask.unsqueeze(-1).to(at::kFloat);
      at::Tensor hidden;  // the residual stream the silhouette head reads
      const DiTTap tap =
          c.silhouette_loss_weight > 0 ? DiTTap{silhouette_tap(c), &hidden} : DiTTap{};
      // A clean-latent output becomes a velocity by dividing by sigma, clamped (as JiT does) so
      // that the few nearly clean samples do not swamp the loss.
      const at::Tensor v = models::velocity_from_output(
          c.dit.prediction, dit_forward(dit_w, c.dit, xt, t, text, dt, tap), xt,
          sigma.clamp_min(kMinPredictionSigma));
      const at::Tensor target_v = noise - x0;
      at::Tensor weight = (1.0 - keep).expand_as(x0);
      if (c.object_loss_weight > 0) {
        const at::Tensor objects = at::stack(object_masks).unsqueeze(1);  // [B, 1, F, h, w]
        weight = weight * (1.0 + c.object_loss_weight * objects);
      }
      loss = flow_matching_loss(v, target_v, weight, sigma, c.sigma_loss_power);
      if (c.silhouette_loss_weight > 0) {
        const int64_t ss = c.vae.spatial_stride();
        const at::Tensor outline = silhouette_tokens(
            at::stack(silhouettes), c.dit.patch_size[1] * ss, c.dit.patch_size[2] * ss);
        const at::Tensor predicted =
            at::linear(hidden, training::weight(silhouette_w, "head.weight"),
                       training::weight(silhouette_w, "head.bias"));
        silhouette_loss = training::silhouette_loss(predicted, outline, generated);
      }
    }
    (silhouette_loss.defined() ? loss + silhouette_loss * c.silhouette_loss_weight : loss)
        .backward();
    const double grad_norm = optimizer.step(scheduled_lr_scale(optimizer.settings(), step, target));
    if (is_dit) {
      std::mt19937_64 refresh = step_rng(c.seed, stage, step, 2);
      pool->add(b, c.pool_refresh, refresh);
    }
    ++done_now;
    const double loss_value = loss.item<double>();
    const TrainProgress p =
        meter.record(optimizer.step_count(), loss_value, grad_norm, seconds_since(step_start));
    log << to_string(stage) << '\t' << optimizer.step_count() << '\t' << loss_value << '\t'
        << grad_norm << '\t' << seconds_since(step_start);
    if (silhouette_loss.defined()) log << '\t' << silhouette_loss.item<double>();
    log << '\n';
    if (progress) progress(p);
    if (optimizer.step_count() % c.checkpoint_every == 0) save();
  }
  save();
  return done_now;
}

// ---- export -------------------------------------------------------------------------------------

models::ModelManifest Trainer::export_model(const fs::path& dir,
                                            const models::ModelManifest& identity) const {
  const TrainConfig& c = config_;
  for (TrainStage stage : {TrainStage::VAE, TrainStage::DiT}) {
    if (!fs::exists(run_dir_ / checkpoint_file(stage))) {
      throw invalid(std::string("nothing to export: the ") + to_string(stage) +
                        " stage has no checkpoint yet",
                    run_dir_);
    }
  }
  AdamW vae_state(fresh_vae_weights(c), c.vae_optimizer);
  vae_state.load(run_dir_ / kVAECheckpoint);
  NamedWeights vae_weights = vae_state.ema();
  if (fs::exists(run_dir_ / kDecoderCheckpoint)) {
    AdamW decoder_state(decoder_part(vae_weights), c.decoder_optimizer);
    decoder_state.load(run_dir_ / kDecoderCheckpoint);
    for (const auto& [name, w] : decoder_state.ema()) vae_weights[name] = w;
  }
  AdamW dit_state(fresh_dit_and_text_weights(c), c.dit_optimizer);
  dit_state.load(run_dir_ / kDiTCheckpoint);
  const VAEStats stats = read_stats(run_dir_ / kVAEStatsFile);

  models::WanDiTLoadOptions dit_options;
  dit_options.device = Device::CPU;
  dit_options.dtype = ComputeDType::Float32;
  dit_options.hints.num_heads = c.dit.num_heads;
  dit_options.hints.model_type = c.dit.model_type;
  dit_options.hints.text_len = c.dit.text_len;
  dit_options.hints.prediction = c.dit.prediction;
  models::UMT5LoadOptions text_options;
  models::WanVAELoadOptions vae_options;
  vae_options.device = Device::CPU;
  vae_options.dtype = ComputeDType::Float32;
  vae_options.latent_mean = stats.mean;
  vae_options.latent_std = stats.std;

  const models::ModelComponents components{
      models::WanDiT::load(as_checkpoint(with_prefix(dit_state.ema(), kDiTPrefix), "trained DiT"),
                           dit_options),
      models::UMT5Encoder::load(
          as_checkpoint(with_prefix(dit_state.ema(), kTextPrefix), "trained text encoder"),
          text_options),
      models::WanVAE::load(as_checkpoint(vae_weights, "trained VAE"), vae_options),
      run_dir_ / kTokenizerFile};

  // Live-preview factors of this latent space, fitted on decoded clips of every bucket.
  models::ModelManifest m = identity;
  {
    at::NoGradGuard no_grad;
    std::mt19937_64 rng(splitmix64(c.seed ^ 0x70726576ULL));
    std::vector<at::Tensor> latents, frames;
    const auto buckets = bucket_list(c);
    const models::NativeSize square = buckets.front().second;
    for (int i = 0; i < 12; ++i) {
      const at::Tensor z =
          components.vae.encode(render_video(dataset::sample_clip(rng, dataset::Split::Train),
                                             square, c.frame_count, 0, c.frame_count));
      latents.push_back(z);
      frames.push_back(components.vae.decode(z));
    }
    const models::LatentPreview preview =
        models::LatentPreview::fit(at::cat(latents, 0), at::cat(frames, 0));
    const at::Tensor w = preview.weight().to(at::kDouble), b = preview.bias().to(at::kDouble);
    m.vae.preview_weight.assign(3, std::vector<double>(size_t(c.vae.z_dim)));
    for (int64_t r = 0; r < 3; ++r) {
      for (int64_t i = 0; i < c.vae.z_dim; ++i) {
        m.vae.preview_weight[size_t(r)][size_t(i)] = w[r][i].item<double>();
      }
    }
    m.vae.preview_bias = {b[0].item<double>(), b[1].item<double>(), b[2].item<double>()};
  }
  m.tasks = {models::Task::TextToVideo, models::Task::ImageToVideo, models::Task::VideoToVideo};
  m.text_encoder.text_len = int(c.dit.text_len);
  m.fps = c.fps;
  m.frame_count = c.frame_count;
  m.native_sizes = c.buckets;
  m.vae.latent_mean = stats.mean;
  m.vae.latent_std = stats.std;
  m.defaults.shift = c.shift;
  m.defaults.negative_prompt.clear();
  models::SaveModelOptions save_options;
  save_options.weight_dtype = models::WeightDType::BFloat16;
  return models::save_model(dir, m, components, save_options);
}

}  // namespace reelforge::training
