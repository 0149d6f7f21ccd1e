# fuzz_safetensors: libFuzzer target for the safetensors header parser and tensor decoding
# (included from fuzz/CMakeLists.txt, so REELFORGE_FUZZ=ON and clang are already checked there).
#   cmake -S . -B build-fuzz-st -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
#         -DREELFORGE_FUZZ=ON -DREELFORGE_BUILD_TESTS=OFF -DREELFORGE_BUILD_BENCH=OFF
#   cmake --build build-fuzz-st --target fuzz_safetensors
#   build-fuzz-st/fuzz/fuzz_safetensors -dict=fuzz/safetensors.dict -max_total_time=600 \
#       -rss_limit_mb=4096 NEW_CORPUS_DIR tests/data/fuzz/safetensors
# Crashing or slow inputs go to tests/data/fuzz/safetensors/, replayed by the normal test
# FuzzRegressions.* (tests/tensors/test_fuzz_regressions.cpp) on every build.
#
# The target compiles the tensors module (and the two core files it uses) itself, instrumented,
# and does not link reelforge_core: it builds without the rest of the library.
if(NOT DEFINED REELFORGE_FUZZ_FLAGS)
  set(REELFORGE_FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer -g)
endif()
file(GLOB FUZZ_TENSORS_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/tensors/*.cpp)
add_executable(fuzz_safetensors ${CMAKE_CURRENT_LIST_DIR}/fuzz_safetensors.cpp
  ${FUZZ_TENSORS_SOURCES} ${PROJECT_SOURCE_DIR}/src/core/error.cpp
  ${PROJECT_SOURCE_DIR}/src/core/atomic_file.cpp)
target_include_directories(fuzz_safetensors PRIVATE ${PROJECT_SOURCE_DIR}/include
  ${PROJECT_SOURCE_DIR}/src)
# vptr checks need RTTI from every library; LibTorch's is not instrumented.
target_compile_options(fuzz_safetensors PRIVATE ${REELFORGE_FUZZ_FLAGS} -fno-sanitize=vptr)
target_link_options(fuzz_safetensors PRIVATE ${REELFORGE_FUZZ_FLAGS} -fno-sanitize=vptr)
target_link_libraries(fuzz_safetensors PRIVATE ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json
  spdlog::spdlog)
