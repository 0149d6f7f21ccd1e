// TrainConfig: the recipes and their JSON form (config.json of a run folder).

#include <nlohmann/json.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/training/silhouette.hpp"
#include "reelforge/training/trainer.hpp"

namespace reelforge::training {
namespace {

using nlohmann::json;

Error invalid(const std::string& message) {
  return Error(ErrorCategory::InvalidArgument, message);
}

json optimizer_json(const AdamWSettings& s) {
  return {{"learning_rate", s.learning_rate},
          {"beta1", s.beta1},
          {"beta2", s.beta2},
          {"eps", s.eps},
          {"weight_decay", s.weight_decay},
          {"grad_clip", s.grad_clip},
          {"ema_decay", s.ema_decay},
          {"warmup_steps", s.warmup_steps},
          {"final_lr_fraction", s.final_lr_fraction}};
}

template <typename T>
T field(const json& j, const std::string& path, const std::string& key) {
  if (!j.contains(key)) {
    throw Error(ErrorCategory::Validation, "training config has no '" + path + key + "'");
  }
  try {
    return j.at(key).get<T>();
  } catch (const json::exception& e) {
    throw Error(ErrorCategory::Validation,
                "training config '" + path + key + "' has the wrong type: " + e.what());
  }
}

AdamWSettings optimizer_from(const json& j, const std::string& path) {
  AdamWSettings s;
  s.learning_rate = field<double>(j, path, "learning_rate");
  s.beta1 = field<double>(j, path, "beta1");
  s.beta2 = field<double>(j, path, "beta2");
  s.eps = field<double>(j, path, "eps");
  s.weight_decay = field<double>(j, path, "weight_decay");
  s.grad_clip = field<double>(j, path, "grad_clip");
  s.ema_decay = field<double>(j, path, "ema_decay");
  s.warmup_steps = field<int64_t>(j, path, "warmup_steps");
  s.final_lr_fraction = field<double>(j, path, "final_lr_fraction");
  return s;
}

template <typename E, size_t N>
json weights_json(const std::array<double, N>& weights) {
  json out = json::object();
  for (size_t i = 0; i < N; ++i) out[dataset::to_string(E(i))] = weights[i];
  return out;
}

template <typename E, size_t N>
std::array<double, N> weights_from(const json& j, const std::string& path) {
  std::array<double, N> weights{};
  for (size_t i = 0; i < N; ++i) weights[i] = field<double>(j, path, dataset::to_string(E(i)));
  return weights;
}

json world_mix_json(const dataset::WorldMix& mix) {
  return {{"shape", weights_json<dataset::Shape>(mix.shape)},
          {"color", weights_json<dataset::ObjectColor>(mix.color)},
          {"size", weights_json<dataset::Size>(mix.size)},
          {"motion", weights_json<dataset::Motion>(mix.motion)},
          {"background", weights_json<dataset::Background>(mix.background)},
          {"second_object", mix.second_object}};
}

dataset::WorldMix world_mix_from(const json& j) {
  dataset::WorldMix mix;
  mix.shape = weights_from<dataset::Shape, dataset::kShapeCount>(
      field<json>(j, "world_mix.", "shape"), "world_mix.shape.");
  mix.color = weights_from<dataset::ObjectColor, dataset::kColorCount>(
      field<json>(j, "world_mix.", "color"), "world_mix.color.");
  mix.size = weights_from<dataset::Size, dataset::kSizeCount>(field<json>(j, "world_mix.", "size"),
                                                              "world_mix.size.");
  mix.motion = weights_from<dataset::Motion, dataset::kMotionCount>(
      field<json>(j, "world_mix.", "motion"), "world_mix.motion.");
  mix.background = weights_from<dataset::Background, dataset::kBackgroundCount>(
      field<json>(j, "world_mix.", "background"), "world_mix.background.");
  mix.second_object = field<double>(j, "world_mix.", "second_object");
  return mix;
}

}  // namespace

TrainConfig TrainConfig::builtin() {
  TrainConfig c;
  c.buckets = {{"wide", {112, 64}}, {"vertical", {64, 112}}, {"square", {80, 80}}};
  c.frame_count = 17;
  c.fps = 16;
  c.vocab = 512;

  // 4x4x4 compression (three stages, both downsamplings also temporal): a VAE this small learns
  // sharp shape edges in minutes at 4x, not at Wan's 8x. The DiT's 4x4 patches make a token cover
  // 16x16 pixels either way.
  c.vae.version = models::WanVAEVersion::V2_1;
  c.vae.dim = 16;
  c.vae.dec_dim = 16;
  c.vae.z_dim = 8;
  c.vae.dim_mult = {1, 2, 4};
  c.vae.num_res_blocks = 1;
  c.vae.attn_scales = {};
  c.vae.temporal_downsample = {true, true};

  c.text.vocab = c.vocab;
  c.text.dim = 128;
  c.text.dim_attn = 128;
  c.text.dim_ffn = 256;
  c.text.num_heads = 4;
  c.text.num_layers = 2;

  c.dit.model_type = models::WanModelType::TI2V;
  c.dit.patch_size = {1, 4, 4};
  c.dit.in_dim = c.dit.out_dim = c.vae.z_dim;
  c.dit.dim = 256;
  c.dit.ffn_dim = 1024;
  c.dit.freq_dim = 256;
  c.dit.text_dim = c.text.dim;
  c.dit.text_len = 32;
  c.dit.num_heads = 4;
  c.dit.num_layers = 6;

  c.vae_steps = 3500;
  c.vae_batch = 4;
  c.vae_long_from_step = 500;
  c.vae_long_batch = 2;
  c.checkpoint_every = 100;
  c.vae_optimizer.learning_rate = 1e-3;
  c.vae_optimizer.weight_decay = 0.0;
  c.vae_optimizer.ema_decay = 0.998;
  c.vae_optimizer.warmup_steps = 100;
  // Sized from `reelforge bench train` (1.13 s per DiT step here, bf16, machine idle): 6,000
  // steps are about two hours, so the rate decays to a tenth by then and the EMA is short.
  c.dit_steps = 6000;
  c.dit_optimizer.learning_rate = 6e-4;
  c.dit_optimizer.ema_decay = 0.999;
  c.dit_optimizer.warmup_steps = 300;
  c.dit_optimizer.final_lr_fraction = 0.1;
  c.object_loss_weight = 4.0;
  c.decoder_optimizer.learning_rate = 5e-4;
  c.decoder_optimizer.weight_decay = 0.0;
  c.decoder_optimizer.ema_decay = 0.998;
  c.decoder_optimizer.warmup_steps = 100;
  c.decoder_optimizer.final_lr_fraction = 0.1;
  return c;
}

TrainConfig TrainConfig::smoke() {
  TrainConfig c = builtin();
  c.buckets = {{"wide", {48, 32}}, {"square", {32, 32}}};
  c.frame_count = 9;
  c.vocab = 96;
  c.tokenizer_corpus_captions = 400;
  c.vae.dim = c.vae.dec_dim = 4;
  c.vae.z_dim = 4;
  c.text.vocab = c.vocab;
  c.text.dim = c.text.dim_attn = 16;
  c.text.dim_ffn = 32;
  c.text.num_heads = 2;
  c.text.num_layers = 1;
  c.dit.in_dim = c.dit.out_dim = c.vae.z_dim;
  c.dit.dim = 32;
  c.dit.ffn_dim = 64;
  c.dit.freq_dim = 32;
  c.dit.text_dim = c.text.dim;
  c.dit.text_len = 24;
  c.dit.num_heads = 2;
  c.dit.num_layers = 1;
  c.vae_steps = 3;
  c.vae_batch = 2;
  c.vae_long_from_step = 2;
  c.vae_long_batch = 1;
  c.dit_steps = 4;
  c.dit_batch = 3;
  c.pool_clips = 8;
  c.pool_refresh = 1;
  c.checkpoint_every = 2;
  c.decoder_steps = 2;
  c.vae_optimizer.warmup_steps = c.dit_optimizer.warmup_steps = 1;
  c.decoder_optimizer.warmup_steps = 1;
  return c;
}

void TrainConfig::validate() const {
  if (buckets.empty()) throw invalid("the training config has no aspect buckets");
  if (dit.patch_size[0] != 1 || dit.patch_size[1] < 1 || dit.patch_size[2] < 1) {
    throw invalid("the DiT's patch must be 1 latent frame deep (image conditioning sets timesteps "
                  "per latent frame) and at least 1x1");
  }
  const int64_t stride_h = vae.spatial_stride() * dit.patch_size[1];
  const int64_t stride_w = vae.spatial_stride() * dit.patch_size[2];
  for (const auto& [name, size] : buckets) {
    if (size.width_px <= 0 || size.height_px <= 0 || size.width_px % stride_w != 0 ||
        size.height_px % stride_h != 0) {
      throw invalid("bucket '" + name + "' is " + std::to_string(size.width_px) + "x" +
                    std::to_string(size.height_px) + "; width and height must be positive " +
                    "multiples of " + std::to_string(stride_w) + " and " +
                    std::to_string(stride_h) + " (VAE stride x patch)");
    }
    if (std::min(size.width_px, size.height_px) < 32) {
      throw invalid("bucket '" + name + "' is smaller than 32 pixels on a side");
    }
  }
  if (frame_count < 5 || (frame_count - 1) % 4 != 0) {
    throw invalid("frame_count " + std::to_string(frame_count) + " is not 1 + 4k (>= 5)");
  }
  if (vae_frames < 1 || (vae_frames - 1) % 4 != 0 || vae_frames > frame_count) {
    throw invalid("vae_frames " + std::to_string(vae_frames) + " is not 1 + 4k <= frame_count");
  }
  if (vae.version != models::WanVAEVersion::V2_1) {
    throw invalid("the trainer builds Wan 2.1-style VAEs only");
  }
  vae.validate();
  if (dit.in_dim != vae.z_dim || dit.out_dim != vae.z_dim) {
    throw invalid("the DiT's in/out dim (" + std::to_string(dit.in_dim) + "/" +
                  std::to_string(dit.out_dim) + ") must equal the VAE's z_dim " +
                  std::to_string(vae.z_dim));
  }
  if (dit.text_dim != text.dim) {
    throw invalid("the DiT's text_dim " + std::to_string(dit.text_dim) +
                  " must equal the text encoder's dim " + std::to_string(text.dim));
  }
  if (text.vocab != vocab) throw invalid("text.vocab must equal vocab");
  dit.validate();
  text.validate();
  if (vae_batch < 1 || vae_long_batch < 1 || dit_batch < 1)
    throw invalid("batch sizes must be >= 1");
  if (pool_clips < int(buckets.size()) * dit_batch / 2) {
    throw invalid("pool_clips " + std::to_string(pool_clips) +
                  " is too small for the batch; use at least buckets x batch / 2");
  }
  if (shift <= 0) throw invalid("shift must be > 0");
  if (!(object_loss_weight >= 0)) throw invalid("object_loss_weight must be >= 0");
  if (!(sigma_loss_power >= 0 && sigma_loss_power <= 8)) {
    throw invalid("sigma_loss_power must be in [0, 8]");
  }
  if (!(sigma_logit_spread >= 0 && sigma_logit_spread <= 4)) {
    throw invalid("sigma_logit_spread must be in [0, 4]");
  }
  world_mix.validate();
  if (!(silhouette_loss_weight >= 0)) throw invalid("silhouette_loss_weight must be >= 0");
  if (silhouette_block < 0 || silhouette_block > dit.num_layers) {
    throw invalid("silhouette_block must be in [0, " + std::to_string(dit.num_layers) +
                  "] (the DiT's blocks; 0 = half of them)");
  }
  if (silhouette_loss_weight > 0 &&
      (stride_h % kSilhouetteCell != 0 || stride_w % kSilhouetteCell != 0)) {
    throw invalid("the silhouette head needs tokens a whole number of " +
                  std::to_string(kSilhouetteCell) + "-pixel cells across");
  }
  if (vae_steps < 0 || dit_steps < 0 || decoder_steps < 0) {
    throw invalid("step targets must be >= 0");
  }
  for (const AdamWSettings* o : {&vae_optimizer, &dit_optimizer, &decoder_optimizer}) {
    if (!(o->learning_rate > 0) || !(o->final_lr_fraction > 0) || o->final_lr_fraction > 1) {
      throw invalid("learning rates must be > 0 and final_lr_fraction in (0, 1]");
    }
  }
  const double p = first_frame_prob + first_two_prob + last_frame_prob;
  if (p < 0 || p > 1 || text_dropout < 0 || text_dropout > 1) {
    throw invalid("conditioning and dropout probabilities must be in [0, 1] and sum to <= 1");
  }
}

json TrainConfig::to_json() const {
  json b = json::object();
  for (const auto& [name, size] : buckets) b[name] = {size.width_px, size.height_px};
  return {
      {"seed", seed},
      {"dtype", reelforge::to_string(dtype)},
      {"buckets", b},
      {"frame_count", frame_count},
      {"fps", fps},
      {"vocab", vocab},
      {"tokenizer_corpus_captions", tokenizer_corpus_captions},
      {"vae",
       {{"dim", vae.dim},
        {"z_dim", vae.z_dim},
        {"dim_mult", vae.dim_mult},
        {"num_res_blocks", vae.num_res_blocks},
        {"attn_scales", vae.attn_scales},
        {"temporal_downsample", vae.temporal_downsample}}},
      {"text",
       {{"dim", text.dim},
        {"dim_attn", text.dim_attn},
        {"dim_ffn", text.dim_ffn},
        {"num_heads", text.num_heads},
        {"num_layers", text.num_layers},
        {"num_buckets", text.num_buckets}}},
      {"dit",
       {{"model_type", models::to_string(dit.model_type)},
        {"patch_size", dit.patch_size},
        {"dim", dit.dim},
        {"ffn_dim", dit.ffn_dim},
        {"freq_dim", dit.freq_dim},
        {"text_len", dit.text_len},
        {"num_heads", dit.num_heads},
        {"num_layers", dit.num_layers},
        {"prediction", models::to_string(dit.prediction)}}},
      {"vae_steps", vae_steps},
      {"vae_batch", vae_batch},
      {"vae_frames", vae_frames},
      {"vae_latent_penalty", vae_latent_penalty},
      {"vae_edge_weight", vae_edge_weight},
      {"vae_long_from_step", vae_long_from_step},
      {"vae_long_batch", vae_long_batch},
      {"vae_optimizer", optimizer_json(vae_optimizer)},
      {"dit_steps", dit_steps},
      {"dit_batch", dit_batch},
      {"shift", shift},
      {"text_dropout", text_dropout},
      {"first_frame_prob", first_frame_prob},
      {"first_two_prob", first_two_prob},
      {"last_frame_prob", last_frame_prob},
      {"object_loss_weight", object_loss_weight},
      {"sigma_loss_power", sigma_loss_power},
      {"sigma_logit_spread", sigma_logit_spread},
      {"world_mix", world_mix_json(world_mix)},
      {"silhouette_loss_weight", silhouette_loss_weight},
      {"silhouette_block", silhouette_block},
      {"decoder_steps", decoder_steps},
      {"decoder_optimizer", optimizer_json(decoder_optimizer)},
      {"pool_clips", pool_clips},
      {"pool_refresh", pool_refresh},
      {"dit_optimizer", optimizer_json(dit_optimizer)},
      {"checkpoint_every", checkpoint_every},
  };
}

TrainConfig TrainConfig::from_json(const json& j) {
  TrainConfig c = builtin();
  c.seed = field<uint64_t>(j, "", "seed");
  c.dtype = parse_compute_dtype(field<std::string>(j, "", "dtype"));
  c.buckets.clear();
  const json buckets = field<json>(j, "", "buckets");
  for (const auto& [name, size] : buckets.items()) {
    const auto wh = size.get<std::vector<int>>();
    if (wh.size() != 2) {
      throw Error(ErrorCategory::Validation,
                  "training config 'buckets." + name + "' is not [w, h]");
    }
    c.buckets[name] = {wh[0], wh[1]};
  }
  c.frame_count = field<int>(j, "", "frame_count");
  c.fps = field<double>(j, "", "fps");
  c.vocab = field<int>(j, "", "vocab");
  c.tokenizer_corpus_captions = field<int>(j, "", "tokenizer_corpus_captions");
  const json v = field<json>(j, "", "vae");
  c.vae.dim = c.vae.dec_dim = field<int64_t>(v, "vae.", "dim");
  c.vae.z_dim = field<int64_t>(v, "vae.", "z_dim");
  c.vae.dim_mult = field<std::vector<int64_t>>(v, "vae.", "dim_mult");
  c.vae.num_res_blocks = field<int64_t>(v, "vae.", "num_res_blocks");
  c.vae.attn_scales = field<std::vector<double>>(v, "vae.", "attn_scales");
  c.vae.temporal_downsample = field<std::vector<bool>>(v, "vae.", "temporal_downsample");
  const json t = field<json>(j, "", "text");
  c.text.vocab = c.vocab;
  c.text.dim = field<int64_t>(t, "text.", "dim");
  c.text.dim_attn = field<int64_t>(t, "text.", "dim_attn");
  c.text.dim_ffn = field<int64_t>(t, "text.", "dim_ffn");
  c.text.num_heads = field<int64_t>(t, "text.", "num_heads");
  c.text.num_layers = field<int64_t>(t, "text.", "num_layers");
  c.text.num_buckets = field<int64_t>(t, "text.", "num_buckets");
  const json d = field<json>(j, "", "dit");
  c.dit.model_type = models::parse_wan_model_type(field<std::string>(d, "dit.", "model_type"));
  c.dit.patch_size = field<std::array<int64_t, 3>>(d, "dit.", "patch_size");
  c.dit.in_dim = c.dit.out_dim = c.vae.z_dim;
  c.dit.dim = field<int64_t>(d, "dit.", "dim");
  c.dit.ffn_dim = field<int64_t>(d, "dit.", "ffn_dim");
  c.dit.freq_dim = field<int64_t>(d, "dit.", "freq_dim");
  c.dit.text_dim = c.text.dim;
  c.dit.text_len = field<int64_t>(d, "dit.", "text_len");
  c.dit.num_heads = field<int64_t>(d, "dit.", "num_heads");
  c.dit.num_layers = field<int64_t>(d, "dit.", "num_layers");
  // Runs started before the clean-latent prediction existed predict the velocity.
  c.dit.prediction = d.contains("prediction")
                         ? models::parse_wan_prediction(field<std::string>(d, "dit.", "prediction"))
                         : models::WanPrediction::Velocity;
  c.vae_steps = field<int64_t>(j, "", "vae_steps");
  c.vae_batch = field<int>(j, "", "vae_batch");
  c.vae_frames = field<int>(j, "", "vae_frames");
  c.vae_latent_penalty = field<double>(j, "", "vae_latent_penalty");
  c.vae_edge_weight = field<double>(j, "", "vae_edge_weight");
  c.vae_long_from_step = field<int64_t>(j, "", "vae_long_from_step");
  c.vae_long_batch = field<int>(j, "", "vae_long_batch");
  c.vae_optimizer = optimizer_from(field<json>(j, "", "vae_optimizer"), "vae_optimizer.");
  c.dit_steps = field<int64_t>(j, "", "dit_steps");
  c.dit_batch = field<int>(j, "", "dit_batch");
  c.shift = field<double>(j, "", "shift");
  c.text_dropout = field<double>(j, "", "text_dropout");
  c.first_frame_prob = field<double>(j, "", "first_frame_prob");
  c.first_two_prob = field<double>(j, "", "first_two_prob");
  c.last_frame_prob = field<double>(j, "", "last_frame_prob");
  // Runs started before the object weighting existed trained without it.
  c.object_loss_weight =
      j.contains("object_loss_weight") ? field<double>(j, "", "object_loss_weight") : 0.0;
  // ... and before the noise-level weighting existed, with the plain velocity loss.
  c.sigma_loss_power =
      j.contains("sigma_loss_power") ? field<double>(j, "", "sigma_loss_power") : 0.0;
  // ... and before the logit-normal noise levels, with uniform ones.
  c.sigma_logit_spread =
      j.contains("sigma_logit_spread") ? field<double>(j, "", "sigma_logit_spread") : 0.0;
  // ... and before the world mix, with the world's own, or only its shapes weighted.
  if (j.contains("world_mix")) {
    c.world_mix = world_mix_from(field<json>(j, "", "world_mix"));
  } else if (j.contains("shape_weights")) {
    c.world_mix.shape = weights_from<dataset::Shape, dataset::kShapeCount>(
        field<json>(j, "", "shape_weights"), "shape_weights.");
  }
  // ... and before the silhouette head, without it.
  c.silhouette_loss_weight =
      j.contains("silhouette_loss_weight") ? field<double>(j, "", "silhouette_loss_weight") : 0.0;
  c.silhouette_block = j.contains("silhouette_block") ? field<int>(j, "", "silhouette_block") : 0;
  c.pool_clips = field<int>(j, "", "pool_clips");
  c.pool_refresh = field<int>(j, "", "pool_refresh");
  c.dit_optimizer = optimizer_from(field<json>(j, "", "dit_optimizer"), "dit_optimizer.");
  // Runs started before the decoder stage existed have none; raising decoder_steps gives them
  // one with the recipe's settings.
  c.decoder_steps = j.contains("decoder_steps") ? field<int64_t>(j, "", "decoder_steps") : 0;
  c.decoder_optimizer = j.contains("decoder_optimizer")
                            ? optimizer_from(field<json>(j, "", "decoder_optimizer"),
                                             "decoder_optimizer.")
                            : builtin().decoder_optimizer;
  c.checkpoint_every = field<int64_t>(j, "", "checkpoint_every");
  return c;
}

void TrainConfig::set_dit_width(int64_t width) {
  const int64_t head_size = dit.head_dim();
  if (width < head_size || width % head_size != 0) {
    throw invalid("the DiT's width must be a positive multiple of its head size " +
                  std::to_string(head_size) + " (got " + std::to_string(width) + ")");
  }
  dit.ffn_dim = dit.ffn_dim * width / dit.dim;
  dit.num_heads = width / head_size;
  dit.dim = width;
}

int64_t TrainConfig::steps_target(TrainStage stage) const {
  switch (stage) {
    case TrainStage::VAE:
      return vae_steps;
    case TrainStage::DiT:
      return dit_steps;
    case TrainStage::Decoder:
      return decoder_steps;
  }
  return 0;
}

const char* to_string(TrainStage stage) {
  switch (stage) {
    case TrainStage::VAE:
      return "vae";
    case TrainStage::DiT:
      return "dit";
    case TrainStage::Decoder:
      return "decoder";
  }
  return "?";
}

TrainStage parse_train_stage(const std::string& name) {
  if (name == "vae") return TrainStage::VAE;
  if (name == "dit") return TrainStage::DiT;
  if (name == "decoder") return TrainStage::Decoder;
  throw invalid("unknown training stage '" + name + "'; valid: vae, dit, decoder");
}

}  // namespace reelforge::training
