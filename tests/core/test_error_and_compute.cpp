#include <dlfcn.h>
#include <gtest/gtest.h>

#include <set>

#include "reelforge/core/cancel.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/core/log.hpp"

using namespace reelforge;

TEST(Error, CarriesCategoryMessageAndContext) {
  Error e(ErrorCategory::Validation, "25 s exceeds the 20 s limit", "/shots/2/duration_s");
  EXPECT_EQ(e.category(), ErrorCategory::Validation);
  EXPECT_EQ(e.message(), "25 s exceeds the 20 s limit");
  EXPECT_EQ(e.context(), "/shots/2/duration_s");
  EXPECT_STREQ(e.what(), "/shots/2/duration_s: 25 s exceeds the 20 s limit");
  EXPECT_STREQ(Error(ErrorCategory::Io, "disk full").what(), "disk full");
}

TEST(Error, EveryCategoryHasADistinctNonZeroExitCode) {
  std::set<int> codes;
  for (auto c : {ErrorCategory::InvalidArgument, ErrorCategory::NotFound, ErrorCategory::Io,
                 ErrorCategory::Format, ErrorCategory::Unsupported, ErrorCategory::Validation,
                 ErrorCategory::Cancelled, ErrorCategory::Internal}) {
    EXPECT_NE(exit_code_for(c), 0);
    EXPECT_STRNE(to_string(c), "error");
    codes.insert(exit_code_for(c));
  }
  EXPECT_EQ(codes.size(), 8u);
}

TEST(Error, InvariantReportsFileAndLine) {
  try {
    RF_CHECK(1 + 1 == 3, "arithmetic");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Internal);
    EXPECT_NE(e.context().find("test_error_and_compute.cpp:"), std::string::npos) << e.context();
    EXPECT_NE(e.message().find("arithmetic"), std::string::npos);
  }
}

TEST(Cancellation, CopiesShareTheFlag) {
  CancellationToken token;
  CancellationToken copy = token;
  EXPECT_NO_THROW(copy.throw_if_cancelled("encode"));
  token.cancel();
  EXPECT_TRUE(copy.cancelled());
  try {
    copy.throw_if_cancelled("encode");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Cancelled);
    EXPECT_EQ(e.context(), "encode");
  }
}

TEST(Compute, ResolvesAutoAndSetsThreads) {
  ComputeOptions options;
  options.device = Device::CPU;
  options.threads = 1;
  ComputeInfo info = init_compute(options);
  EXPECT_EQ(info.device, Device::CPU);
  EXPECT_EQ(info.threads, 1);
  EXPECT_NE(info.dtype, ComputeDType::Auto);
  EXPECT_EQ(info.dtype, info.cpu_has_native_bf16 ? ComputeDType::BFloat16 : ComputeDType::Float32);
  EXPECT_FALSE(info.torch_version.empty());

  options.threads = 0;
  options.dtype = ComputeDType::Float32;
  info = init_compute(options);
  EXPECT_GE(info.threads, 1);
  EXPECT_EQ(info.dtype, ComputeDType::Float32);
  EXPECT_EQ(compute_info().threads, info.threads);
  EXPECT_NE(describe(info).find("threads: "), std::string::npos);
}

TEST(Compute, RejectsUnavailableCudaAndBadNames) {
  ComputeOptions options;
  options.device = Device::CUDA;
  if (!init_compute({}).cuda_available) {
    try {
      init_compute(options);
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::Unsupported);
      EXPECT_NE(std::string(e.what()).find("--device cpu"), std::string::npos);
    }
  }
  EXPECT_THROW(parse_device("gpu"), Error);
  EXPECT_THROW(parse_compute_dtype("fp16"), Error);
  EXPECT_EQ(parse_compute_dtype("bf16"), ComputeDType::BFloat16);
  EXPECT_THROW(parse_log_level("loud"), Error);
  ComputeOptions negative;
  negative.threads = -2;
  EXPECT_THROW(init_compute(negative), Error);
}

namespace reelforge {
namespace {

// OpenBLAS is LibTorch's BLAS on Debian: the guard sets its thread count and puts it back.
TEST(Compute, ScopedBLASThreadsSetsAndRestoresOpenBLAS) {
  init_compute();  // loads LibTorch, and with it the BLAS
  const auto get =
      reinterpret_cast<int (*)()>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (get == nullptr) GTEST_SKIP() << "LibTorch's BLAS is not OpenBLAS in this build";
  const int before = get();
  {
    ScopedBLASThreads one(1);
    EXPECT_EQ(get(), 1);
  }
  EXPECT_EQ(get(), before);
  {
    ScopedBLASThreads ignored(0);  // not a thread count: nothing changes
    EXPECT_EQ(get(), before);
  }
}

}  // namespace
}  // namespace reelforge
