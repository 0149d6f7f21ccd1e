#!/usr/bin/env bash
# The README's main job (`make demo`): renders the demo storyboard (three shots: text-to-video,
# image-to-video from a keyframe, video-to-video from a source clip; about 8 s, wide 1080p at 24 fps)
# with the built-in model shipped in models/builtin, offline, and describes the result.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
RF="$BUILD_DIR/src/reelforge"
OUT=out/demo
mkdir -p "$OUT"

"$RF" storyboard show assets/storyboards/demo.json
"$RF" render assets/storyboards/demo.json --model builtin -o "$OUT/demo.mp4"
"$RF" probe "$OUT/demo.mp4"
echo "demo: wrote $OUT/demo.mp4"
