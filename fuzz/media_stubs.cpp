// The fuzz target's stand-ins for media::load_image and media::probe. The fuzzer validates with
// MediaChecks::None, so the storyboard code never calls them; they exist so the target links
// without FFmpeg, LibTorch and the rest of reelforge_core, and is instrumented end to end. If a
// change ever makes validation decode media while fuzzing, these abort and the fuzzer says so.

#include <cstdio>
#include <cstdlib>

#include "reelforge/media/image.hpp"
#include "reelforge/media/video_info.hpp"

namespace reelforge::media {

cv::Mat load_image(const std::filesystem::path& path) {
  std::fprintf(stderr, "fuzz: media::load_image(%s) called with media checks off\n", path.c_str());
  std::abort();
}

VideoInfo probe(const std::filesystem::path& path) {
  std::fprintf(stderr, "fuzz: media::probe(%s) called with media checks off\n", path.c_str());
  std::abort();
}

}  // namespace reelforge::media
