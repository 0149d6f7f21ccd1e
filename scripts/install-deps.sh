#!/usr/bin/env bash
# Installs the Debian 12 packages ReelForge builds and runs with. Idempotent: when every package is
# already installed it does not touch apt at all. Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # LibTorch (CPU) and a fast BLAS for it: without the pthread OpenBLAS, matmul is ~20x slower
  libtorch-dev libopenblas0-pthread
  # Qt 6 Widgets and Qt Test (the Studio app), SQLite for the gallery
  qt6-base-dev libsqlite3-dev
  # FFmpeg libraries (decode/encode) and the ffmpeg program (tests and the encode benchmark)
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev ffmpeg
  # image operations
  libopencv-dev
  # logging, JSON, tests, tokenizer, signatures
  libspdlog-dev nlohmann-json3-dev libgtest-dev libgmock-dev libsentencepiece-dev libssl-dev
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install packages" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
