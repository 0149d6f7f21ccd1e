#!/usr/bin/env bash
# The README's main job (`make demo`). Until the built-in model and the generation pipeline land,
# it prepares the demo storyboard's media the way a creator does before image- and video-to-video:
# validates the storyboard, reframes its keyframe into a vertical 1080p clip and its source clip into
# a wide 720p clip, and probes the results.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
RF="$BUILD_DIR/src/reelforge"
OUT=out/demo
mkdir -p "$OUT"

echo "== storyboard"
"$RF" storyboard validate assets/storyboards/demo.json
"$RF" storyboard show assets/storyboards/demo.json

echo "== keyframe -> 5 s vertical 1080p clip"
"$RF" convert assets/media/keyframe.jpg -o "$OUT/keyframe-vertical-1080p.mp4" \
  --aspect 9:16 --resolution 1080p --duration 5 --fill
"$RF" probe "$OUT/keyframe-vertical-1080p.mp4"

echo "== source clip -> wide 720p at 24 fps"
"$RF" convert assets/media/source.mp4 -o "$OUT/source-wide-720p.mp4" \
  --aspect 16:9 --resolution 720p --fps 24 --fit
"$RF" probe "$OUT/source-wide-720p.mp4"

echo "demo: wrote $OUT/keyframe-vertical-1080p.mp4 and $OUT/source-wide-720p.mp4"
