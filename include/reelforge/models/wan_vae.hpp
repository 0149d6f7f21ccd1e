#pragma once
// The Wan video VAEs in plain ATen ops: Wan 2.1 (`wan/modules/vae.py`, 4x8x8 compression, z=16)
// and Wan 2.2 (`wan/modules/vae2_2.py`, 2x2 patchify, residual stages with AvgDown3D / DupUp3D
// shortcuts, 4x16x16 compression, z=48). Both are causal in time: video frame 0 is encoded alone,
// then groups of 4 frames each give one latent frame, with per-layer feature caches carrying the
// causal context from chunk to chunk. The float32 path matches the reference to 1e-4 (golden
// fixtures vae21_tiny / vae22_tiny).
//
// Latents crossing this interface are always normalised, (mu - mean) / std per channel, as the
// DiT sees them. The mean / std come from the options (the model manifest) and default to the
// values published with the real checkpoints.
//
// The config is inferred from the weights, and the official checkpoints (.pth or safetensors),
// ComfyUI's repackaged files (same names, maybe prefixed) and diffusers' AutoencoderKLWan names
// (2.1 only) are recognised from their keys.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reelforge/core/cancel.hpp"
#include "reelforge/core/compute.hpp"

namespace reelforge::tensors {
class Checkpoint;
}

namespace reelforge::models {

struct VAESpec;  // models/manifest.hpp

enum class WanVAEVersion { V2_1, V2_2 };
const char* to_string(WanVAEVersion version);                  // "2.1", "2.2"
WanVAEVersion parse_wan_vae_version(const std::string& name);  // "2.1" | "2.2"; Error otherwise

// The constructor arguments of the reference WanVAE_ (dropout is inference-irrelevant).
struct WanVAEConfig {
  WanVAEVersion version = WanVAEVersion::V2_1;
  int64_t dim = 96;      // encoder base width
  int64_t dec_dim = 96;  // decoder base width (2.1: always == dim)
  int64_t z_dim = 16;
  std::vector<int64_t> dim_mult{1, 2, 4, 4};
  int64_t num_res_blocks = 2;
  std::vector<double> attn_scales;  // scales (1, 1/2, ...) with an attention block after each res
  std::vector<bool> temporal_downsample{false, true, true};  // the reference's temperal_downsample

  // Pixels per latent pixel: 2^(stages - 1), times the 2x2 patchify for 2.2 (8 or 16).
  int64_t spatial_stride() const;
  // Frames per latent frame after the first: 2^(number of temporal downsamples) (4).
  int64_t temporal_stride() const;
  // Channels the encoder sees / the decoder emits: 3, or 12 after the 2.2 patchify.
  int64_t io_channels() const;

  // The released VAEs: "2.1" (dim 96, z 16) and "2.2" (dim 160, dec_dim 256, z 48).
  static WanVAEConfig preset(WanVAEVersion version);
  // From the tensor shapes under their official names (see WanVAEKeyMap). The version is told
  // by the key structure (2.2's grouped `downsamples.i.downsamples.j`), dim / dec_dim / z_dim /
  // dim_mult / num_res_blocks / temporal flags / attention scales by the tensors present and
  // their shapes. Error(Format) when something needed is missing or inconsistent.
  static WanVAEConfig from_weights(const std::map<std::string, std::vector<int64_t>>& shapes);
  // From a fixture's `config` JSON (dim, z_dim, dim_mult, num_res_blocks, attn_scales,
  // temperal_downsample, and dec_dim for 2.2).
  static WanVAEConfig from_json_text(WanVAEVersion version, const std::string& json);

  // Error(InvalidArgument) for configs the model cannot run.
  void validate() const;
};

// How a checkpoint names the VAE weights.
enum class WanVAELayout {
  Auto,       // detect from the keys
  Official,   // Wan2.1_VAE.pth / Wan2.2_VAE.pth names, also ComfyUI's wan_2.1_vae / wan2.2_vae
  Diffusers,  // AutoencoderKLWan (2.1 only)
};
const char* to_string(WanVAELayout layout);

// Which layout a checkpoint uses, the prefix in front of every VAE key (e.g. ComfyUI's "vae." in
// bundled checkpoints, or "first_stage_model.") and each checkpoint key's official name.
struct WanVAEKeyMap {
  WanVAELayout layout = WanVAELayout::Official;
  std::string prefix;
  std::map<std::string, std::string> to_canonical;  // checkpoint key -> official name

  // Error(Format) when nothing looks like a Wan VAE. Keys starting with an ignore prefix are
  // skipped (a fixture's "input.", "output.", "debug.").
  static WanVAEKeyMap detect(const std::vector<std::string>& names,
                             WanVAELayout layout = WanVAELayout::Auto,
                             const std::vector<std::string>& ignore_prefixes = {});
  // diffusers AutoencoderKLWan name -> official Wan 2.1 name (nullopt when not a VAE weight).
  // Decoder up_blocks hold `resnets_per_up_block` (num_res_blocks + 1) resnets and one upsampler,
  // which sit at consecutive flat indices of the official `decoder.upsamples`.
  static std::optional<std::string> diffusers_to_official(const std::string& name,
                                                          int64_t resnets_per_up_block = 3);
  // The inverse, for writing diffusers-style files (tests, converters).
  static std::string official_to_diffusers(const std::string& name,
                                           int64_t resnets_per_up_block = 3);
};

// Spatial tiling of decode / encode, to bound memory at large frame sizes: tiles of
// `tile_latent` latent pixels, neighbours sharing `overlap_latent` of them. The parts that run at
// latent resolution (the decoder's first conv and middle blocks with their frame-wide attention,
// the encoder's middle and head) run untiled; only the high-resolution stages are tiled. In each
// overlap the outer quarter next to a tile's edge is dropped and the middle half is blended
// linearly, which keeps a tiled decode within ~45-60 dB PSNR of the untiled one (tests).
// Any frame size works: the last tile of a row or column is moved back to end at the border.
struct WanVAETiling {
  int64_t tile_latent = 0;     // tile edge in latent pixels; 0 = no tiling (unless auto)
  int64_t overlap_latent = 6;  // 0 <= overlap < tile_latent
  // When tile_latent is 0: tile the decode automatically when one chunk's working set
  // (estimate_decode_bytes) would exceed this many bytes. 0 = never.
  int64_t auto_budget_bytes = 0;
};

struct WanVAELoadOptions {
  Device device = Device::Auto;             // Auto: compute_info().device
  ComputeDType dtype = ComputeDType::Auto;  // Auto: compute_info().dtype
  WanVAELayout layout = WanVAELayout::Auto;
  // Latent normalisation per channel (z_dim values each); empty = the published values of the
  // version (Wan's WanVAE / Wan2_2_VAE wrappers). A manifest's vae.latent_mean / latent_std go
  // here.
  std::vector<double> latent_mean;
  std::vector<double> latent_std;
  // Checkpoint keys to leave alone (fixtures: "input.", "output.", "debug.").
  std::vector<std::string> ignore_prefixes;
  // When set, weights of the other version are Error(Format) (a manifest's vae.version).
  std::optional<WanVAEVersion> expected_version;

  // The manifest's VAE settings: version and latent normalisation (empty = published values).
  static WanVAELoadOptions from_spec(const VAESpec& spec);
};

// The published normalisation of the released VAEs (hard-coded in Wan's wrappers).
const std::vector<double>& wan_vae_default_mean(WanVAEVersion version);
const std::vector<double>& wan_vae_default_std(WanVAEVersion version);

struct WanVAEDecodeOptions {
  WanVAETiling tiling;
  const CancellationToken* cancel = nullptr;  // checked before every latent frame
};

// Convolution FLOPs (multiply-adds x 2) run by every WanVAE in this process so far, for the
// benchmarks: the difference across a decode is its cost.
int64_t wan_vae_conv_flops();

// Receives decoded frames chunk by chunk: `frames` [B, 3, n, H, W] float32 on the model's
// device, unclamped, where n is 1 for the first latent frame and temporal_stride() after it;
// `first_frame` is the index of frames[:, :, 0] in the whole video.
using WanVAEFrameSink = std::function<void(const at::Tensor& frames, int64_t first_frame)>;

// A Wan VAE with its weights on one device. Copies share the (immutable) weights, so one model
// can serve several threads; the per-call caches live in the streams, not in the model.
// Convolutions run in the compute dtype (float32 or bf16); norms, attention softmax and the
// latent (de)normalisation in float32.
class WanVAE {
 public:
  static WanVAE load(const tensors::Checkpoint& weights, const WanVAELoadOptions& options = {});
  // Random weights at the config's sizes, created in place (benchmarks, tests): convs
  // N(0, 1/sqrt(fan_in)) x gain, biases N(0, 0.02), norm gammas 1.
  static WanVAE random(const WanVAEConfig& config, const WanVAELoadOptions& options = {},
                       uint64_t seed = 0);

  const WanVAEConfig& config() const;
  at::Device device() const;
  at::ScalarType compute_dtype() const;
  int64_t parameter_count() const;
  int64_t weight_bytes() const;
  const at::Tensor& latent_mean() const;  // [z] float32
  const at::Tensor& latent_std() const;   // [z] float32
  // Every parameter under its official name and checkpoint shape (to save / convert / compare).
  std::vector<std::pair<std::string, at::Tensor>> named_parameters() const;

  // Video [B, 3, T, H, W] in [-1, 1] (any float dtype) -> normalised latent
  // [B, z, 1 + (T - 1) / 4, H / s, W / s] float32. Error(InvalidArgument) unless T = 1 + 4k
  // (naming the nearest valid counts), the channel count is 3 and H, W are multiples of the
  // spatial stride s (naming the nearest valid sizes). Tiling applies only when asked for.
  at::Tensor encode(const at::Tensor& video, const WanVAEDecodeOptions& options = {}) const;
  // The un-normalised mu and log_var [B, z, F, h, w] (the reference's conv1 output halves).
  std::pair<at::Tensor, at::Tensor> encode_moments(const at::Tensor& video,
                                                   const WanVAEDecodeOptions& options = {}) const;
  // Normalised latent [B, z, F, h, w] -> video [B, 3, 1 + 4 (F - 1), h s, w s] float32,
  // unclamped (as WanVAE_.decode; clamp to [-1, 1] for display).
  at::Tensor decode(const at::Tensor& latent, const WanVAEDecodeOptions& options = {}) const;
  // As decode(), handing each chunk of frames to `sink` as soon as it is ready instead of
  // keeping the whole clip: peak memory does not grow with the clip length.
  void decode_streaming(const at::Tensor& latent, const WanVAEFrameSink& sink,
                        const WanVAEDecodeOptions& options = {}) const;

  // Incremental decode, one latent frame (or more) at a time, e.g. while the sampler or an
  // encoder is still producing the next ones. Holds the causal caches of every tile.
  class DecodeStream {
   public:
    // latent [B, z, n, h, w] normalised, n >= 1; returns the frames they decode to
    // [B, 3, frames, H, W] float32 (1 + 4 (n - 1) for the stream's first call, 4 n after).
    // Every call must have the same B, h, w.
    at::Tensor push(const at::Tensor& latent);
    int64_t frames_out() const;  // video frames produced so far
    ~DecodeStream();
    DecodeStream(DecodeStream&&) noexcept;
    DecodeStream& operator=(DecodeStream&&) noexcept;
    struct State;

   private:
    friend class WanVAE;
    explicit DecodeStream(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
  };
  DecodeStream decode_stream(const WanVAEDecodeOptions& options = {}) const;

  // Incremental encode: push frame 0 alone or with more, then groups of 4 frames; returns the
  // normalised latent frames completed so far by this push (possibly none: [B, z, 0, h, w]).
  // Frames that do not yet fill a group of 4 are kept until the next push.
  class EncodeStream {
   public:
    at::Tensor push(const at::Tensor& video);
    int64_t frames_in() const;
    ~EncodeStream();
    EncodeStream(EncodeStream&&) noexcept;
    EncodeStream& operator=(EncodeStream&&) noexcept;
    struct State;

   private:
    friend class WanVAE;
    explicit EncodeStream(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
  };
  EncodeStream encode_stream(const WanVAEDecodeOptions& options = {}) const;

  // Rough bytes of activations one decode chunk needs at latent size h x w (batch 1): what
  // automatic tiling compares with its budget.
  int64_t estimate_decode_bytes(int64_t latent_h, int64_t latent_w) const;

  // The plain path for the ordinary causal convolutions: the whole sequence at once with 2 zero
  // frames in front, no caches. Only meaningful for modules without temporal resampling; exposed
  // so tests can check the cached path against it.
  static at::Tensor causal_conv3d_reference(const at::Tensor& x, const at::Tensor& weight,
                                            const at::Tensor& bias);

  struct Impl;

 private:
  explicit WanVAE(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace reelforge::models
