// The safetensors reader through Checkpoint: real files written by the test (by hand, byte for
// byte, and with save_safetensors), the shared golden fixtures (written by Python's safetensors),
// and one malformed file per validation rule.

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/tensors/checkpoint.hpp"
#include "reelforge/tensors/safetensors_writer.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using reelforge::Error;
using reelforge::ErrorCategory;
using reelforge::tensors::Checkpoint;
using reelforge::tensors::DType;

namespace {

// A file image from a header JSON text and a data area, exactly as given (no padding, no checks).
std::string image(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good());
}

std::string floats_le(std::initializer_list<float> values) {
  std::string s;
  for (float v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);  // x86: LE
  return s;
}

// Opens the image from memory and from a file; both must fail the same way. Returns the message.
std::string open_error(const std::string& bytes, ErrorCategory expected = ErrorCategory::Format) {
  reelforge::testing::TempDir dir;
  const fs::path path = dir / "bad.safetensors";
  write_bytes(path, bytes);
  std::string message;
  try {
    Checkpoint::open(path);
    ADD_FAILURE() << "open() accepted a malformed file";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), expected) << e.what();
    EXPECT_EQ(e.context(), path.string()) << "the error must name the file: " << e.what();
    message = e.message();
  }
  try {
    Checkpoint::from_safetensors_bytes(bytes, "mem");
    ADD_FAILURE() << "from_safetensors_bytes() accepted a malformed image";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), expected) << e.what();
    EXPECT_EQ(e.message(), message);
  }
  return message;
}

#define EXPECT_OPEN_FAILS(bytes, fragment)                          \
  do {                                                              \
    const std::string msg_ = open_error(bytes);                     \
    EXPECT_NE(msg_.find(fragment), std::string::npos)               \
        << "message '" << msg_ << "' lacks '" << (fragment) << "'"; \
  } while (false)

}  // namespace

TEST(Safetensors, ReadsAHandWrittenFile) {
  reelforge::testing::TempDir dir;
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"I64","shape":[2],"data_offsets":[12,28]},)"
      R"("a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"e":{"dtype":"F16","shape":[0,4],"data_offsets":[28,28]}})";
  std::string data = floats_le({1.5f, -2.0f, 3.25f});
  const int64_t longs[2] = {-7, 1LL << 40};
  data.append(reinterpret_cast<const char*>(longs), sizeof longs);
  write_bytes(dir / "m.safetensors", image(header, data));

  const Checkpoint ckpt = Checkpoint::open(dir / "m.safetensors");
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a", "b", "e"}));
  EXPECT_TRUE(ckpt.contains("a"));
  EXPECT_FALSE(ckpt.contains("c"));
  EXPECT_EQ(ckpt.metadata().at("format"), "pt");
  EXPECT_EQ(ckpt.info("b").dtype, DType::I64);
  EXPECT_EQ(ckpt.info("b").shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(ckpt.info("b").byte_size, 16u);
  EXPECT_EQ(ckpt.info("e").numel(), 0);

  const at::Tensor a = ckpt.load("a");
  EXPECT_EQ(a.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(a, at::tensor({1.5f, -2.0f, 3.25f})));
  const at::Tensor b = ckpt.load("b");
  EXPECT_EQ(b.scalar_type(), at::kLong);
  EXPECT_EQ(b[0].item<int64_t>(), -7);
  EXPECT_EQ(b[1].item<int64_t>(), 1LL << 40);
  EXPECT_EQ(ckpt.load("e").sizes(), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(ckpt.load("a", at::kDouble).scalar_type(), at::kDouble);
  EXPECT_EQ(ckpt.files(), (std::vector<fs::path>{dir / "m.safetensors"}));

  try {
    ckpt.info("blocks.0.q");
    FAIL() << "info() of a missing key must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
    EXPECT_NE(e.message().find("blocks.0.q"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ckpt.load("nope"), Error);
}

TEST(Safetensors, LoadedTensorsOutliveTheCheckpoint) {
  at::Tensor kept;
  {
    const Checkpoint ckpt =
        Checkpoint::from_safetensors_bytes(reelforge::tensors::serialize_safetensors(
            {{"w", at::arange(6, at::kFloat).reshape({2, 3})}}));
    kept = ckpt.load("w");
  }
  EXPECT_TRUE(at::equal(kept, at::arange(6, at::kFloat).reshape({2, 3})));
}

TEST(Safetensors, RoundTripsEveryLibTorchDType) {
  reelforge::testing::TempDir dir;
  const at::Tensor base = at::randn({3, 5}, at::kDouble) * 100;
  reelforge::tensors::NamedTensors tensors = {
      {"f64", base},
      {"f32", base.to(at::kFloat)},
      {"f16", base.to(at::kHalf)},
      {"bf16", base.to(at::kBFloat16)},
      {"i64", base.to(at::kLong)},
      {"i32", base.to(at::kInt)},
      {"i16", base.to(at::kShort)},
      {"i8", base.clamp(-128, 127).to(at::kChar)},
      {"u8", base.abs().clamp(0, 255).to(at::kByte)},
      {"bool", base.gt(0)},
      {"scalar", at::scalar_tensor(2.5, at::kFloat)},
      {"odd", at::arange(7, at::kHalf)},  // 14 bytes: puts the next tensor off a 4-byte boundary
      {"after_odd", at::arange(5, at::kFloat)},
      {"strided", base.to(at::kFloat).t()}};
  reelforge::tensors::save_safetensors(dir / "all.safetensors", tensors, {{"k", "v"}});
  const Checkpoint ckpt = Checkpoint::open(dir / "all.safetensors");
  ASSERT_EQ(ckpt.names().size(), tensors.size());
  for (const auto& [name, expected] : tensors) {
    SCOPED_TRACE(name);
    const at::Tensor got = ckpt.load(name);
    EXPECT_EQ(got.scalar_type(), expected.scalar_type());
    EXPECT_EQ(got.sizes(), expected.sizes());
    EXPECT_TRUE(got.is_contiguous());
    EXPECT_TRUE(at::equal(got, expected));
  }
  // Conversions on load: one rounding from the stored values.
  EXPECT_TRUE(at::equal(ckpt.load("bf16", at::kFloat), base.to(at::kBFloat16).to(at::kFloat)));
  EXPECT_TRUE(at::equal(ckpt.load("f16", at::kFloat), base.to(at::kHalf).to(at::kFloat)));
  EXPECT_TRUE(at::equal(ckpt.load("f32", at::kBFloat16), base.to(at::kFloat).to(at::kBFloat16)));
  EXPECT_TRUE(at::equal(ckpt.load("i8", at::kFloat), tensors[7].second.to(at::kFloat)));
  EXPECT_EQ(ckpt.metadata().at("k"), "v");
}

TEST(Safetensors, MisalignedOffsetsAreAcceptedAndLoadCorrectly) {
  // The format does not require data_offsets to be multiples of the element size (the reference
  // reader accepts such files), so neither do we: misaligned tensors are copied before use.
  std::string data = "\x01";
  data += floats_le({0.5f, 6.0f});
  const double d = -3.75;
  data.append(reinterpret_cast<const char*>(&d), sizeof d);
  const std::string header = R"({"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]},)"
                             R"("d":{"dtype":"F64","shape":[],"data_offsets":[9,17]}})";
  for (const std::string& pad : {std::string(), std::string(3, ' ')}) {  // odd header lengths too
    const Checkpoint ckpt = Checkpoint::from_safetensors_bytes(image(header + pad, data));
    EXPECT_TRUE(at::equal(ckpt.load("f"), at::tensor({0.5f, 6.0f})));
    EXPECT_EQ(ckpt.load("d").item<double>(), -3.75);
    EXPECT_EQ(ckpt.load("f", at::kBFloat16).to(at::kFloat)[1].item<float>(), 6.0f);
  }
}

TEST(SafetensorsValidation, RejectsFilesShorterThanTheLengthField) {
  EXPECT_OPEN_FAILS(std::string(), "shorter than the 8-byte header length");
  EXPECT_OPEN_FAILS(std::string(5, '\0'), "file is 5 bytes");
}

TEST(SafetensorsValidation, RejectsHeaderLengthBeyondTheFile) {
  std::string bytes = image("{}", "");
  bytes[0] = 100;  // claims 100 header bytes, the file has 2
  EXPECT_OPEN_FAILS(bytes, "runs past the end");
}

TEST(SafetensorsValidation, RejectsHeaderLengthAboveTheLimit) {
  std::string bytes = image("{}", "");
  bytes[0] = 0;
  bytes[4] = 1;  // 2^32 bytes
  EXPECT_OPEN_FAILS(bytes, "above the 100 MB limit");
  bytes = std::string(8, '\xff') + "{}";
  EXPECT_OPEN_FAILS(bytes, "above the 100 MB limit");
}

TEST(SafetensorsValidation, RejectsBadJson) {
  EXPECT_OPEN_FAILS(image(R"({"a":{"dtype":"F32",)", ""), "not valid JSON");
  EXPECT_OPEN_FAILS(image("\x89PNG\r\n\x1a\n", ""), "not valid JSON");
  EXPECT_OPEN_FAILS(image("{\"a\xff\":1}", ""), "not valid JSON");  // not UTF-8
  EXPECT_OPEN_FAILS(image("[1,2,3]", ""), "not an object");
  EXPECT_OPEN_FAILS(image(std::string(64, '[') + std::string(64, ']'), ""), "nested deeper");
}

TEST(SafetensorsValidation, RejectsNonObjectEntries) {
  EXPECT_OPEN_FAILS(image(R"({"a":[1,2]})", ""), "entry 'a' is not an object");
  EXPECT_OPEN_FAILS(image(R"({"a":"F32"})", ""), "entry 'a' is not an object");
  EXPECT_OPEN_FAILS(image(R"({"__metadata__":[]})", ""), "\"__metadata__\" is not an object");
  EXPECT_OPEN_FAILS(image(R"({"__metadata__":{"n":1}})", ""), "is not a string");
  EXPECT_OPEN_FAILS(image(R"({"a":{"dtype":"F32","shape":[1]}})", "1234"), "lacks one of");
  EXPECT_OPEN_FAILS(image(R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", "1234"),
                    "\"dtype\" is not a string");
  EXPECT_OPEN_FAILS(image(R"({"a":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", "1234"),
                    "\"shape\" is not an array");
  EXPECT_OPEN_FAILS(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "1234"),
                    "expected [begin, end]");
  EXPECT_OPEN_FAILS(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}})", "1234"),
                    "expected [begin, end]");
}

TEST(SafetensorsValidation, RejectsOffsetsOutsideTheDataArea) {
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::string(8, '\0')),
      "ends at data offset 12 but the data area is only 8 bytes");
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", std::string(8, '\0')),
      "end before begin");
  EXPECT_OPEN_FAILS(image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", "x"),
                    "non-negative");
  EXPECT_OPEN_FAILS(
      image(
          R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}})",
          "x"),
      "ends at data offset 18446744073709551615");
}

TEST(SafetensorsValidation, RejectsOverlappingTensors) {
  const std::string msg = open_error(image(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      std::string(12, '\0')));
  EXPECT_NE(msg.find("'a' [0, 8) and 'b' [4, 12) overlap"), std::string::npos) << msg;
  // The same range twice is an overlap as well; empty tensors anywhere are not.
  EXPECT_OPEN_FAILS(
      image(
          R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
          std::string(4, '\0')),
      "overlap");
  EXPECT_NO_THROW(Checkpoint::from_safetensors_bytes(image(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}})",
      std::string(4, '\0'))));
}

TEST(SafetensorsValidation, RejectsByteCountsThatDoNotMatchShapeAndDType) {
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(12, '\0')),
      "F32 [3] = 12 bytes, but its data_offsets [0, 8] span 8 bytes");
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,16]}})", std::string(16, '\0')),
      "span 16 bytes");
}

TEST(SafetensorsValidation, RejectsNegativeDimsAndOverflowingShapes) {
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,4]}})", std::string(4, '\0')),
      "dimensions must be non-negative integers");
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", std::string(4, '\0')),
      "dimensions must be non-negative integers");
  // 2^32 * 2^32 wraps to 0 in 64 bits; a reader that multiplies blindly would accept [0, 0].
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", ""),
      "overflows");
  // 2^62 elements of 8 bytes would wrap the byte count to 0 (a bug this test caught once).
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", ""),
      "overflows");
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"F64","shape":[0,18446744073709551615],"data_offsets":[0,0]}})", ""),
      "overflows");
}

TEST(SafetensorsValidation, RejectsUnknownDTypes) {
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')),
      "unknown dtype 'F31'; valid: F64, F32");
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')),
      "unknown dtype 'f32'");
  // Real safetensors dtypes this build cannot represent are Unsupported, not Format.
  const std::string msg = open_error(
      image(R"({"a":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')),
      ErrorCategory::Unsupported);
  EXPECT_NE(msg.find("dtype U32"), std::string::npos) << msg;
}

TEST(SafetensorsValidation, RejectsTruncatedFiles) {
  const std::string full = reelforge::tensors::serialize_safetensors(
      {{"a", at::ones({16}, at::kFloat)}, {"b", at::ones({16}, at::kFloat)}});
  ASSERT_NO_THROW(Checkpoint::from_safetensors_bytes(full));
  EXPECT_OPEN_FAILS(full.substr(0, full.size() - 1),
                    "ends at data offset 128 but the data area is only 127 bytes");
  EXPECT_OPEN_FAILS(full.substr(0, full.size() - 64), "truncated file");
  EXPECT_OPEN_FAILS(full.substr(0, 20), "runs past the end");
}

TEST(SafetensorsValidation, RejectsDuplicateNames) {
  EXPECT_OPEN_FAILS(
      image(
          R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
          "xy"),
      "key 'a' twice");
  EXPECT_OPEN_FAILS(
      image(R"({"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})", "x"),
      "key 'dtype' twice");
}

TEST(SafetensorsValidation, RejectsBoolBytesOtherThanZeroAndOne) {
  const Checkpoint ckpt = Checkpoint::from_safetensors_bytes(
      image(R"({"ok":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]},)"
            R"("bad":{"dtype":"BOOL","shape":[2],"data_offsets":[2,4]}})",
            std::string("\x01\x00\x00\x07", 4)));
  EXPECT_TRUE(at::equal(ckpt.load("ok"), at::tensor({1, 0}).to(at::kBool)));
  try {
    ckpt.load("bad");
    FAIL() << "a BOOL byte of 7 must be rejected";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Format);
    EXPECT_NE(e.message().find("'bad' holds the byte 7"), std::string::npos) << e.what();
  }
}

TEST(SafetensorsFixtures, ReadsEveryGoldenFixture) {
  const fs::path dir = reelforge::testing::fixtures_or_empty();
  if (dir.empty()) {
    if (reelforge::testing::running_in_ci()) FAIL() << "golden fixtures missing in CI";
    GTEST_SKIP() << "golden fixtures not found (set REELFORGE_FIXTURES)";
  }
  int files = 0;
  for (const auto& item : fs::directory_iterator(dir / "wan")) {
    if (item.path().extension() != ".safetensors") continue;
    SCOPED_TRACE(item.path().string());
    ++files;
    const Checkpoint ckpt = Checkpoint::open(item.path());
    EXPECT_EQ(ckpt.metadata().at("format"), "wan-golden-fixture/1");
    EXPECT_TRUE(nlohmann::json::parse(ckpt.metadata().at("config")).is_object());
    uint64_t total = 0;
    for (const auto& name : ckpt.names()) {
      const at::Tensor t = ckpt.load(name);
      EXPECT_EQ(t.sizes().vec(), ckpt.info(name).shape) << name;
      total += ckpt.info(name).byte_size;
    }
    // The fixtures store tensors back to back: the data area is exactly the sum of the tensors.
    std::ifstream in(item.path(), std::ios::binary);
    uint64_t header_len = 0;
    in.read(reinterpret_cast<char*>(&header_len), 8);
    EXPECT_EQ(8 + header_len + total, fs::file_size(item.path()));
  }
  EXPECT_EQ(files, 6);
  const Checkpoint dit = Checkpoint::open(dir / "wan" / "dit_t2v_tiny.safetensors");
  EXPECT_EQ(dit.info("input.x_0").shape, (std::vector<int64_t>{16, 3, 8, 8}));
  EXPECT_EQ(dit.info("input.seq_len").dtype, DType::I64);
  EXPECT_EQ(dit.load("input.seq_len").item<int64_t>(), 50);
  const at::Tensor t = dit.load("input.t");
  EXPECT_FLOAT_EQ(t[0].item<float>(), 900.0f);
  EXPECT_FLOAT_EQ(t[1].item<float>(), 37.5f);
  EXPECT_EQ(dit.info("debug.rope_freqs").dtype, DType::F64);
}

namespace {

// Resident set size of this process in bytes (from /proc/self/statm).
int64_t resident_bytes() {
  std::ifstream in("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST(SafetensorsLaziness, OpeningAndLoadingOneTensorDoNotReadTheOthers) {
  // A 3 GiB tensor in a sparse file (holes cost no disk): if open() or load("small") touched its
  // bytes, the resident size would grow by gigabytes.
  reelforge::testing::TempDir dir;
  const uint64_t big = 3ull << 30;
  const std::string header = R"({"big":{"dtype":"U8","shape":[)" + std::to_string(big) +
                             R"(],"data_offsets":[0,)" + std::to_string(big) +
                             R"(]},"small":{"dtype":"F32","shape":[2],"data_offsets":[)" +
                             std::to_string(big) + "," + std::to_string(big + 8) + "]}}";
  const fs::path path = dir / "sparse.safetensors";
  {
    std::ofstream out(path, std::ios::binary);
    std::string head = image(header, "");
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    out.seekp(static_cast<std::streamoff>(head.size() + big));
    const std::string small = floats_le({4.0f, -8.0f});
    out.write(small.data(), 8);
  }
  const int64_t before = resident_bytes();
  const Checkpoint ckpt = Checkpoint::open(path);
  EXPECT_EQ(ckpt.info("big").byte_size, big);
  EXPECT_TRUE(at::equal(ckpt.load("small"), at::tensor({4.0f, -8.0f})));
  EXPECT_LT(resident_bytes() - before, int64_t{64} << 20);

  // The bytes are read at load time, from the file as it is then: rewriting "small" on disk after
  // open() changes what load() returns (a reader that copied at open would return the old values).
  {
    std::fstream io(path, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(static_cast<std::streamoff>(8 + header.size() + big));
    const std::string replaced = floats_le({1.0f, 2.0f});
    io.write(replaced.data(), 8);
  }
  EXPECT_TRUE(at::equal(ckpt.load("small"), at::tensor({1.0f, 2.0f})));
}

TEST(SafetensorsLaziness, AHugeDeclaredDataAreaThatIsTruncatedFailsAtOpen) {
  reelforge::testing::TempDir dir;
  const std::string bytes = image(
      R"({"w":{"dtype":"BF16","shape":[1048576,4096],"data_offsets":[0,8589934592]}})", "tiny");
  const std::string msg = open_error(bytes);
  EXPECT_NE(msg.find("ends at data offset 8589934592 but the data area is only 4 bytes"),
            std::string::npos)
      << msg;
}
