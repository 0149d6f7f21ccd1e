// `reelforge dataset`: writes sample clips of the built-in model's procedural world.

#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "option_parsing.hpp"
#include "progress_printer.hpp"
#include "reelforge/dataset/samples.hpp"

namespace reelforge::cli {

const char* const kDatasetUsage = R"(Usage: reelforge dataset -o DIR [options]

Writes clips of the procedural world the built-in model is trained on (shapes of a colour and size
moving over a background), with a captions.jsonl of their varied captions, canonical captions and
attributes: to see what the model learns from, and which combinations it never sees.

  -o, --output DIR     the folder to write (created)
  --count N            clips (default 16)
  --split S            train or heldout (the attribute combinations kept out of training)
  --aspect A           16:9, 9:16 or 1:1 (default: all three in turn)
  --short-side N       pixels of the short side (default 72)
  --frames N           frames per clip (default 32)
  --fps N              frame rate (default 16)
  --seed N             the sampler's seed (default 0)
  --world-mix LIST     training clips drawn from a narrower or reweighted world, as
                       `reelforge train --world-mix` takes it (e.g. star,big,white,gray,second=0)
  --object S,C,Z,M     render this object instead of sampling: shape, colour, size, motion, e.g.
                       square,yellow,big,grow (see the names in captions.jsonl)
  --background B       with --object: night, gray, sky, sunset, sky_over_grass or sea (default gray)
  --still FILE         also write the first frame of the first clip as an image (a keyframe))";

int run_dataset(Args& args) {
  dataset::SampleOptions options;
  const auto output = args.option("--output", "-o");
  if (auto n = args.integer("--count", 1, 100000)) options.count = static_cast<int>(*n);
  if (auto s = args.option("--split")) {
    options.split = named("--split", [&] { return dataset::parse_split(*s); });
  }
  if (auto a = args.option("--aspect")) {
    options.aspect = named("--aspect", [&] { return media::parse_aspect(*a); });
  }
  if (auto n = args.integer("--short-side", 16, 1080)) options.short_side_px = static_cast<int>(*n);
  if (auto n = args.integer("--frames", 2, 1000)) options.frames = static_cast<int>(*n);
  if (auto f = args.option("--fps")) options.fps = parse_fps_option("--fps", *f).value();
  if (auto n = args.integer("--seed", 0, std::numeric_limits<long long>::max())) {
    options.seed = static_cast<uint64_t>(*n);
  }
  const auto world_mix = args.option("--world-mix");
  const auto object = args.option("--object");
  const auto background = args.option("--background");
  const auto still = args.option("--still");
  args.finish();
  if (!output) throw Error(ErrorCategory::InvalidArgument, "missing -o/--output DIR");
  if (world_mix) {
    if (object)
      throw Error(ErrorCategory::InvalidArgument, "--world-mix and --object exclude each other");
    if (options.split != dataset::Split::Train) {
      throw Error(
          ErrorCategory::InvalidArgument,
          "--world-mix draws training clips; held-out clips are always the world's own mix");
    }
    options.mix = named("--world-mix", [&] { return dataset::parse_world_mix(*world_mix); });
  }
  if (background && !object) {
    throw Error(ErrorCategory::InvalidArgument, "--background needs --object");
  }
  if (object) {
    std::vector<std::string> parts;
    std::stringstream in(*object);
    for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
    if (parts.size() != 4) {
      throw Error(ErrorCategory::InvalidArgument,
                  "--object: '" + *object + "' is not SHAPE,COLOUR,SIZE,MOTION");
    }
    dataset::ObjectSpec o;
    o.shape = named("--object", [&] { return dataset::parse_shape(parts[0]); });
    o.color = named("--object", [&] { return dataset::parse_color(parts[1]); });
    o.size = named("--object", [&] { return dataset::parse_size(parts[2]); });
    o.motion = named("--object", [&] { return dataset::parse_motion(parts[3]); });
    // Start where the motion has room to show.
    if (o.motion == dataset::Motion::Left) o.x0 = 0.8F;
    if (o.motion == dataset::Motion::Right) o.x0 = 0.2F;
    if (o.motion == dataset::Motion::Up) o.y0 = 0.8F;
    if (o.motion == dataset::Motion::Down) o.y0 = 0.2F;
    o.speed = 0.6F;
    dataset::ClipSpec spec;
    spec.background =
        background ? named("--background", [&] { return dataset::parse_background(*background); })
                   : dataset::Background::Gray;
    spec.objects = {o};
    options.spec = spec;
  }
  {
    ProgressPrinter printer;
    dataset::write_samples(*output, options, printer.callback(), interrupt_token());
  }
  if (still) {
    if (!options.spec) throw Error(ErrorCategory::InvalidArgument, "--still needs --object");
    dataset::write_still(
        *still, *options.spec,
        dataset::sample_size(options.aspect.value_or(media::Aspect::Wide), options.short_side_px));
    std::printf("wrote the first frame to %s\n", still->c_str());
  }
  std::printf("wrote %d clips and captions.jsonl to %s\n", options.count, output->c_str());
  return 0;
}

}  // namespace reelforge::cli
