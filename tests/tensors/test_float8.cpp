// F8_E4M3 (float8_e4m3fn) and F8_E5M2 decoding: all 256 codes of each, against tables computed
// here independently of the library (E4M3 from the formula, E5M2 through IEEE half precision,
// whose top byte it is), and loading F8 tensors from a real file.

#include <ATen/ATen.h>
#include <c10/util/Half.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "reelforge/tensors/checkpoint.hpp"

using reelforge::tensors::Checkpoint;
using reelforge::tensors::decode_f8_e4m3;
using reelforge::tensors::decode_f8_e5m2;

namespace {

// (-1)^s * 2^(e-7) * (1 + m/8) for e > 0, (-1)^s * 2^-6 * m/8 for e == 0; S.1111.111 is NaN.
double e4m3_reference(int code) {
  const int s = code >> 7, e = (code >> 3) & 15, m = code & 7;
  if (e == 15 && m == 7) return NAN;
  const double magnitude = e == 0 ? std::ldexp(m / 8.0, -6) : std::ldexp(1.0 + m / 8.0, e - 7);
  return s ? -magnitude : magnitude;
}

double e5m2_reference(int code) {
  uint16_t bits = static_cast<uint16_t>(code << 8);
  c10::Half h;
  std::memcpy(&h, &bits, sizeof bits);
  return static_cast<float>(h);
}

bool same(double expected, float actual) {
  if (std::isnan(expected)) return std::isnan(actual);
  return static_cast<double>(actual) == expected && std::signbit(expected) == std::signbit(actual);
}

}  // namespace

TEST(Float8, E4M3MatchesAnIndependentTableForAll256Codes) {
  for (int code = 0; code < 256; ++code) {
    EXPECT_TRUE(same(e4m3_reference(code), decode_f8_e4m3(static_cast<uint8_t>(code))))
        << "code 0x" << std::hex << code << ": expected " << e4m3_reference(code) << ", got "
        << decode_f8_e4m3(static_cast<uint8_t>(code));
  }
  // Landmarks of float8_e4m3fn.
  EXPECT_EQ(decode_f8_e4m3(0x7e), 448.0f);        // largest finite
  EXPECT_EQ(decode_f8_e4m3(0x78), 256.0f);        // exponent 15 is finite ("fn")
  EXPECT_EQ(decode_f8_e4m3(0x01), 0.001953125f);  // smallest subnormal, 2^-9
  EXPECT_EQ(decode_f8_e4m3(0x08), 0.015625f);     // smallest normal, 2^-6
  EXPECT_EQ(decode_f8_e4m3(0x38), 1.0f);
  EXPECT_TRUE(std::isnan(decode_f8_e4m3(0x7f)));
  EXPECT_TRUE(std::isnan(decode_f8_e4m3(0xff)));
  EXPECT_TRUE(std::signbit(decode_f8_e4m3(0x80)));
  int nans = 0;
  for (int code = 0; code < 256; ++code) nans += std::isnan(decode_f8_e4m3(code)) ? 1 : 0;
  EXPECT_EQ(nans, 2);
}

TEST(Float8, E5M2MatchesAnIndependentTableForAll256Codes) {
  for (int code = 0; code < 256; ++code) {
    EXPECT_TRUE(same(e5m2_reference(code), decode_f8_e5m2(static_cast<uint8_t>(code))))
        << "code 0x" << std::hex << code << ": expected " << e5m2_reference(code) << ", got "
        << decode_f8_e5m2(static_cast<uint8_t>(code));
  }
  EXPECT_EQ(decode_f8_e5m2(0x7b), 57344.0f);  // largest finite
  EXPECT_EQ(decode_f8_e5m2(0x7c), INFINITY);
  EXPECT_EQ(decode_f8_e5m2(0xfc), -INFINITY);
  EXPECT_TRUE(std::isnan(decode_f8_e5m2(0x7d)));
  EXPECT_EQ(decode_f8_e5m2(0x01), std::ldexp(1.0f, -16));  // smallest subnormal
  EXPECT_EQ(decode_f8_e5m2(0x3c), 1.0f);
}

TEST(Float8, F8TensorsLoadAsFloat32OrTheRequestedDType) {
  std::string header = R"({"e4":{"dtype":"F8_E4M3","shape":[2,128],"data_offsets":[0,256]},)"
                       R"("e5":{"dtype":"F8_E5M2","shape":[256],"data_offsets":[256,512]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header;
  for (int pass = 0; pass < 2; ++pass) {
    for (int code = 0; code < 256; ++code) bytes.push_back(static_cast<char>(code));
  }
  const Checkpoint ckpt = Checkpoint::from_safetensors_bytes(bytes);
  EXPECT_EQ(ckpt.info("e4").dtype, reelforge::tensors::DType::F8_E4M3);
  EXPECT_EQ(ckpt.info("e4").byte_size, 256u);
  const at::Tensor e4 = ckpt.load("e4");
  const at::Tensor e5 = ckpt.load("e5");
  ASSERT_EQ(e4.scalar_type(), at::kFloat);
  EXPECT_EQ(e4.sizes(), (std::vector<int64_t>{2, 128}));
  const at::Tensor flat = e4.reshape({256});
  for (int code = 0; code < 256; ++code) {
    EXPECT_TRUE(same(e4m3_reference(code), flat[code].item<float>())) << code;
    EXPECT_TRUE(same(e5m2_reference(code), e5[code].item<float>())) << code;
  }
  const at::Tensor e4_bf16 = ckpt.load("e4", at::kBFloat16);
  EXPECT_EQ(e4_bf16.scalar_type(), at::kBFloat16);
  // Every E4M3 value has 4 significant bits, so bf16 (8 bits) holds it exactly.
  const at::Tensor finite = at::isfinite(e4);
  EXPECT_TRUE(at::equal(e4_bf16.to(at::kFloat).masked_select(finite), e4.masked_select(finite)));
}
