#include "reelforge/models/latent_geometry.hpp"

#include "reelforge/core/error.hpp"

namespace reelforge::models {
namespace {

Error invalid(const std::string& message) { return Error(ErrorCategory::InvalidArgument, message); }

}  // namespace

std::string nearest_valid(int64_t value, int64_t step, int64_t offset) {
  const int64_t smallest = offset > 0 ? offset : step;
  if (value <= smallest) return "smallest valid: " + std::to_string(smallest);
  const int64_t below = offset + (value - offset) / step * step;
  const int64_t above = below + step;
  if (below == value) return "valid";
  if (below < smallest) return "nearest valid: " + std::to_string(above);
  return "nearest valid: " + std::to_string(below) + " or " + std::to_string(above);
}

int64_t validate_frame_count(int64_t frames, int64_t temporal_stride) {
  RF_CHECK(temporal_stride >= 1, "temporal stride must be positive");
  const std::string rule = "1 + " + std::to_string(temporal_stride) + "k";
  if (frames < 1) {
    throw invalid("frame count " + std::to_string(frames) + " is not " + rule + "; " +
                  nearest_valid(frames, temporal_stride, 1));
  }
  if ((frames - 1) % temporal_stride != 0) {
    throw invalid("frame count " + std::to_string(frames) + " is not " + rule + "; " +
                  nearest_valid(frames, temporal_stride, 1));
  }
  return 1 + (frames - 1) / temporal_stride;
}

void validate_pixel_size(int64_t width_px, int64_t height_px, int64_t vae_stride, int64_t patch) {
  RF_CHECK(vae_stride >= 1 && patch >= 1, "VAE stride and patch size must be positive");
  const int64_t step = vae_stride * patch;
  const auto check = [&](const char* axis, int64_t value) {
    if (value >= step && value % step == 0) return;
    throw invalid(std::string(axis) + " " + std::to_string(value) + " px is not a multiple of " +
                  std::to_string(step) + " (VAE stride " + std::to_string(vae_stride) +
                  " x patch " + std::to_string(patch) + "); " + nearest_valid(value, step));
  };
  check("width", width_px);
  check("height", height_px);
}

void validate_latent_size(int64_t frames, int64_t height, int64_t width,
                          const std::array<int64_t, 3>& patch) {
  const char* const names[3] = {"latent frame count", "latent height", "latent width"};
  const int64_t values[3] = {frames, height, width};
  for (int i = 0; i < 3; ++i) {
    const int64_t step = patch[size_t(i)];
    RF_CHECK(step >= 1, "patch size must be positive");
    if (values[i] >= step && values[i] % step == 0) continue;
    throw invalid(std::string(names[i]) + " " + std::to_string(values[i]) +
                  " is not a positive multiple of the patch size " + std::to_string(step) + "; " +
                  nearest_valid(values[i], step));
  }
}

}  // namespace reelforge::models
