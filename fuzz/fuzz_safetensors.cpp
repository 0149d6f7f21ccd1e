// libFuzzer target for the safetensors reader: arbitrary bytes are opened as a safetensors file
// image (Checkpoint::from_safetensors_bytes, the same parser and validation as open() on a mapped
// file) and every tensor it accepts is loaded, in its stored dtype and converted to float32.
// reelforge::Error is the only exception the reader may throw; anything else escaping (a c10 or
// nlohmann exception, std::bad_alloc) and any sanitizer report is a bug.
//
// Built two ways: with libFuzzer (fuzz/safetensors.cmake, REELFORGE_FUZZ=ON, clang), and included
// by tests/tensors/test_fuzz_regressions.cpp, which replays tests/data/fuzz/safetensors/ in the
// ordinary gcc build.

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using reelforge::tensors::Checkpoint;
  try {
    const Checkpoint ckpt = Checkpoint::from_safetensors_bytes(
        std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    for (const std::string& name : ckpt.names()) {
      const auto& info = ckpt.info(name);
      // Anything the validation let through must load, with the shape the header declared.
      try {
        const at::Tensor stored = ckpt.load(name);
        const at::Tensor as_float = ckpt.load(name, at::kFloat);
        if (stored.sizes().vec() != info.shape || as_float.sizes().vec() != info.shape ||
            stored.numel() != info.numel()) {
          std::fprintf(stderr, "safetensors fuzz: '%s' loaded with the wrong shape\n",
                       name.c_str());
          std::abort();
        }
      } catch (const reelforge::Error& e) {
        // The only load-time rejection: BOOL bytes other than 0/1.
        if (info.dtype != reelforge::tensors::DType::Bool) {
          std::fprintf(stderr, "safetensors fuzz: load of '%s' failed after open: %s\n",
                       name.c_str(), e.what());
          std::abort();
        }
      }
    }
  } catch (const reelforge::Error&) {
    // Rejected input: the expected outcome for most fuzzer inputs.
  }
  return 0;
}
