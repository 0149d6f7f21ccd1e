#pragma once
// Writing clips of the procedural world to disk, to look at what the built-in model learns from
// (`reelforge dataset`): one MP4 per clip and a captions.jsonl with each clip's caption, canonical
// caption, attributes and split.

#include <cstdint>
#include <filesystem>
#include <optional>

#include "reelforge/core/cancel.hpp"
#include "reelforge/dataset/world.hpp"
#include "reelforge/media/presets.hpp"

namespace reelforge::dataset {

struct SampleOptions {
  int count = 16;
  Split split = Split::Train;
  // The aspect of every clip, or nullopt to cycle wide, vertical and square.
  std::optional<media::Aspect> aspect;
  int short_side_px = 72;  // wide 128x72, vertical 72x128, square 72x72
  int frames = 32;
  double fps = 16;
  uint64_t seed = 0;
  // The training clips' mix (Split::Train only: held-out clips are the world's own mix).
  WorldMix mix;
  // Render exactly this clip instead of sampling (e.g. a keyframe or source clip for the built-in
  // model); every one of `count` clips is the same spec.
  std::optional<ClipSpec> spec;
};

// The frame size of a sample of `aspect` with the given short side (even sides).
media::FrameSize sample_size(media::Aspect aspect, int short_side_px);

// Writes clip-NNNN.mp4 files and captions.jsonl into `dir` (created), each file atomically.
// Deterministic for the options. Error(InvalidArgument) for counts, sizes or rates out of range.
void write_samples(const std::filesystem::path& dir, const SampleOptions& options,
                   const ProgressCallback& progress = {},
                   const CancellationToken& cancel = CancellationToken());

// Writes the first frame of `spec` at `size` as an image (PNG or JPEG by the extension),
// atomically: a keyframe for image-to-video with the built-in model.
void write_still(const std::filesystem::path& file, const ClipSpec& spec, media::FrameSize size);

}  // namespace reelforge::dataset
