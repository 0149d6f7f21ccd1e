#include "reelforge/safety/watermark.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "reelforge/core/error.hpp"
#include "reelforge/core/hash.hpp"

namespace reelforge::safety {

namespace {

constexpr int kBlock = 8;
constexpr int kBlocksX = kWatermarkGridWidth / kBlock;   // 64
constexpr int kBlocksY = kWatermarkGridHeight / kBlock;  // 36
constexpr int kMinFrameWidth = kWatermarkMinWidth, kMinFrameHeight = kWatermarkMinHeight;

// Mid-frequency coefficients (u + v in 2..4): low enough to survive H.264 at CRF 28 and a
// downscale (the grid is ~4x coarser than 1080p, so u + v = 4 is a ~15 px period there), high
// enough to stay out of the smooth shading that holds most of a frame's energy.
struct Slot {
  int u, v;
};
constexpr std::array<Slot, 12> kSlots = {{{2, 0},
                                          {1, 1},
                                          {0, 2},
                                          {3, 0},
                                          {2, 1},
                                          {1, 2},
                                          {0, 3},
                                          {4, 0},
                                          {3, 1},
                                          {2, 2},
                                          {1, 3},
                                          {0, 4}}};
constexpr int kSlotsPerBlock = static_cast<int>(kSlots.size());
constexpr int kTotalSlots = kBlocksX * kBlocksY * kSlotsPerBlock;  // 27648

constexpr int kPayloadBits = 64;
constexpr int kCrcBits = 16;
constexpr int kConstraint = 7;                              // K of the convolutional code
constexpr int kInfoBits = kPayloadBits + kCrcBits;          // 80
constexpr int kTrellisSteps = kInfoBits + kConstraint - 1;  // 86 (zero tail)
constexpr int kCodedBits = 2 * kTrellisSteps;               // 172
constexpr unsigned kPoly0 = 0133, kPoly1 = 0171;            // the NASA / 802.11 pair
constexpr int kPilotEvery = 4;                              // one slot in four is pilot

// Zoom search for a centred crop: coarse grid, then refined around the best.
constexpr double kZoomMin = 0.95, kZoomMax = 1.40, kZoomCoarseStep = 0.005, kZoomFineStep = 0.001;

// The keyed layout: every slot's chip (+-1) and what it carries (-1 = pilot, else a coded bit).
struct Layout {
  std::vector<int8_t> chip;
  std::vector<int16_t> role;
};

uint64_t key_seed(std::string_view key) {
  return splitmix64(fnv1a64(key) ^ 0x5761746572ull);
}

Layout make_layout(uint64_t seed) {
  Layout l;
  l.chip.resize(kTotalSlots);
  l.role.resize(kTotalSlots);
  uint64_t state = seed;
  auto next = [&state] { return splitmix64(state++); };
  for (auto& c : l.chip) c = (next() & 1) ? 1 : -1;
  // A keyed shuffle spreads pilot and each coded bit over the whole frame, so a crop or a damaged
  // region takes a little of every bit rather than all of a few.
  std::vector<int> order(kTotalSlots);
  for (int i = 0; i < kTotalSlots; ++i) order[i] = i;
  for (int i = kTotalSlots - 1; i > 0; --i) {
    const int j = static_cast<int>(next() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  int data = 0;
  for (int i = 0; i < kTotalSlots; ++i) {
    l.role[order[i]] = (i % kPilotEvery == 0) ? -1 : static_cast<int16_t>(data++ % kCodedBits);
  }
  return l;
}

// Orthonormal 8x8 DCT-II basis images of the slots: basis[s][y * 8 + x].
const std::array<std::array<float, 64>, kSlotsPerBlock>& slot_basis() {
  static const auto basis = [] {
    std::array<std::array<float, 64>, kSlotsPerBlock> b{};
    for (int s = 0; s < kSlotsPerBlock; ++s) {
      const int u = kSlots[s].u, v = kSlots[s].v;
      const double cu = u == 0 ? std::sqrt(1.0 / 8) : 0.5, cv_ = v == 0 ? std::sqrt(1.0 / 8) : 0.5;
      for (int y = 0; y < kBlock; ++y) {
        for (int x = 0; x < kBlock; ++x) {
          b[s][y * kBlock + x] =
              static_cast<float>(cu * cv_ * std::cos((2 * x + 1) * u * M_PI / 16) *
                                 std::cos((2 * y + 1) * v * M_PI / 16));
        }
      }
    }
    return b;
  }();
  return basis;
}

// The basis as a 64 x 12 matrix (CV_32F): pixel index by slot.
const cv::Mat& basis_matrix() {
  static const cv::Mat m = [] {
    cv::Mat b(kBlock * kBlock, kSlotsPerBlock, CV_32F);
    for (int s = 0; s < kSlotsPerBlock; ++s) {
      for (int i = 0; i < kBlock * kBlock; ++i) b.at<float>(i, s) = slot_basis()[s][i];
    }
    return b;
  }();
  return m;
}

uint16_t crc16_ccitt(const uint8_t* data, size_t n) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < n; ++i) {
    crc ^= static_cast<uint16_t>(data[i]) << 8;
    for (int b = 0; b < 8; ++b) crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
  }
  return crc;
}

std::array<uint8_t, 8> payload_bytes(const WatermarkPayload& p) {
  std::array<uint8_t, 8> b{};
  for (int i = 0; i < 4; ++i) {
    b[i] = static_cast<uint8_t>(p.install_id >> (24 - 8 * i));
    b[4 + i] = static_cast<uint8_t>(p.generation_id >> (24 - 8 * i));
  }
  return b;
}

// Payload bits then CRC bits, most significant first.
std::array<uint8_t, kInfoBits> info_bits(const WatermarkPayload& p) {
  const auto bytes = payload_bytes(p);
  const uint16_t crc = crc16_ccitt(bytes.data(), bytes.size());
  std::array<uint8_t, kInfoBits> bits{};
  for (int i = 0; i < kPayloadBits; ++i) bits[i] = (bytes[i / 8] >> (7 - i % 8)) & 1;
  for (int i = 0; i < kCrcBits; ++i) bits[kPayloadBits + i] = (crc >> (15 - i)) & 1;
  return bits;
}

int parity(unsigned x) {
  return __builtin_popcount(x) & 1;
}

std::array<uint8_t, kCodedBits> conv_encode(const std::array<uint8_t, kInfoBits>& info) {
  std::array<uint8_t, kCodedBits> out{};
  unsigned state = 0;  // the last K-1 input bits, newest in bit 0
  for (int t = 0; t < kTrellisSteps; ++t) {
    const unsigned b = t < kInfoBits ? info[t] : 0;
    const unsigned reg = ((state << 1) | b) & 0x7F;
    out[2 * t] = static_cast<uint8_t>(parity(reg & kPoly0));
    out[2 * t + 1] = static_cast<uint8_t>(parity(reg & kPoly1));
    state = reg & 0x3F;
  }
  return out;
}

// Soft-decision Viterbi: `soft[i]` > 0 votes for coded bit i = 1. Starts and ends in state 0.
std::array<uint8_t, kInfoBits> viterbi_decode(const std::array<double, kCodedBits>& soft) {
  constexpr int kStates = 1 << (kConstraint - 1);
  constexpr double kUnreached = -1e300;
  std::array<double, kStates> metric;
  metric.fill(kUnreached);
  metric[0] = 0;
  std::vector<std::array<uint8_t, kStates>> from(kTrellisSteps);  // predecessor state
  for (int t = 0; t < kTrellisSteps; ++t) {
    std::array<double, kStates> next;
    next.fill(kUnreached);
    const int max_input = t < kInfoBits ? 1 : 0;
    for (int s = 0; s < kStates; ++s) {
      if (metric[s] == kUnreached) continue;
      for (int b = 0; b <= max_input; ++b) {
        const unsigned reg = ((static_cast<unsigned>(s) << 1) | b) & 0x7F;
        const int ns = static_cast<int>(reg & 0x3F);
        const double m = metric[s] + (parity(reg & kPoly0) ? soft[2 * t] : -soft[2 * t]) +
                         (parity(reg & kPoly1) ? soft[2 * t + 1] : -soft[2 * t + 1]);
        if (m > next[ns]) {
          next[ns] = m;
          from[t][ns] = static_cast<uint8_t>(s);
        }
      }
    }
    metric = next;
  }
  std::array<uint8_t, kInfoBits> bits{};
  int s = 0;
  for (int t = kTrellisSteps - 1; t >= 0; --t) {
    if (t < kInfoBits) bits[t] = static_cast<uint8_t>(s & 1);  // the input bit entered at t
    s = from[t][s];
  }
  return bits;
}

void check_frame(const cv::Mat& rgb, const char* what) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error(ErrorCategory::InvalidArgument,
                "expected a CV_8UC3 RGB frame, got type " + std::to_string(rgb.type()) +
                    (rgb.empty() ? " (empty)" : ""),
                what);
  }
  if (rgb.cols < kMinFrameWidth || rgb.rows < kMinFrameHeight) {
    throw Error(ErrorCategory::InvalidArgument,
                "frame " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) +
                    " is too small; the watermark needs at least " +
                    std::to_string(kMinFrameWidth) + "x" + std::to_string(kMinFrameHeight),
                what);
  }
}

// The mark on the working grid (CV_32FC1): per block, the sum of the slots' basis images times
// amplitude * chip * (+1 pilot or coded bit 1, -1 coded bit 0).
cv::Mat grid_pattern(const Layout& layout, const std::array<uint8_t, kCodedBits>& coded,
                     double amplitude) {
  const auto& basis = slot_basis();
  cv::Mat grid(kWatermarkGridHeight, kWatermarkGridWidth, CV_32FC1, cv::Scalar(0));
  for (int by = 0; by < kBlocksY; ++by) {
    for (int bx = 0; bx < kBlocksX; ++bx) {
      std::array<float, 64> block{};
      const int base = (by * kBlocksX + bx) * kSlotsPerBlock;
      for (int s = 0; s < kSlotsPerBlock; ++s) {
        const int slot = base + s;
        const int role = layout.role[slot];
        const double sign = role < 0 ? 1.0 : (coded[role] ? 1.0 : -1.0);
        const auto a = static_cast<float>(amplitude * layout.chip[slot] * sign);
        for (int i = 0; i < 64; ++i) block[i] += a * basis[s][i];
      }
      for (int y = 0; y < kBlock; ++y) {
        float* row = grid.ptr<float>(by * kBlock + y) + bx * kBlock;
        for (int x = 0; x < kBlock; ++x) row[x] = block[y * kBlock + x];
      }
    }
  }
  return grid;
}

// Slot values of a working-grid image, block by block; `valid[b]` says whether block b lies
// inside the area the observed frame covers.
struct Observation {
  std::vector<float> value;    // kTotalSlots
  std::vector<uint8_t> valid;  // kBlocksX * kBlocksY
};

Observation observe(const cv::Mat& grid, double zoom) {
  // Undo a centred zoom: canvas pixel x shows observed pixel z * x + (W/2 - 0.5)(1 - z).
  const double cx = kWatermarkGridWidth / 2.0 - 0.5, cy = kWatermarkGridHeight / 2.0 - 0.5;
  cv::Mat canvas;
  if (zoom == 1.0) {
    canvas = grid;
  } else {
    const cv::Matx23d m(zoom, 0, cx * (1 - zoom), 0, zoom, cy * (1 - zoom));
    cv::warpAffine(grid, canvas, m, grid.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                   cv::BORDER_REPLICATE);
  }
  Observation o;
  o.value.assign(kTotalSlots, 0.f);
  o.valid.assign(kBlocksX * kBlocksY, 0);
  // Blocks as rows of a matrix times the slots' basis images as columns: one GEMM instead of a
  // scalar loop per block (the zoom search calls this ~70 times per clip).
  cv::Mat blocks(kBlocksX * kBlocksY, kBlock * kBlock, CV_32F);
  std::vector<int> block_ids;
  block_ids.reserve(kBlocksX * kBlocksY);
  for (int by = 0; by < kBlocksY; ++by) {
    const double y0 = zoom * (by * kBlock) + cy * (1 - zoom);
    const double y1 = zoom * (by * kBlock + kBlock - 1) + cy * (1 - zoom);
    if (y0 < 0 || y1 > kWatermarkGridHeight - 1) continue;
    for (int bx = 0; bx < kBlocksX; ++bx) {
      const double x0 = zoom * (bx * kBlock) + cx * (1 - zoom);
      const double x1 = zoom * (bx * kBlock + kBlock - 1) + cx * (1 - zoom);
      if (x0 < 0 || x1 > kWatermarkGridWidth - 1) continue;
      float* dst = blocks.ptr<float>(static_cast<int>(block_ids.size()));
      for (int y = 0; y < kBlock; ++y) {
        const float* row = canvas.ptr<float>(by * kBlock + y) + bx * kBlock;
        std::copy(row, row + kBlock, dst + y * kBlock);
      }
      const int b = by * kBlocksX + bx;
      o.valid[b] = 1;
      block_ids.push_back(b);
    }
  }
  if (!block_ids.empty()) {
    const cv::Mat coeffs = blocks.rowRange(0, static_cast<int>(block_ids.size())) * basis_matrix();
    for (size_t k = 0; k < block_ids.size(); ++k) {
      const float* c = coeffs.ptr<float>(static_cast<int>(k));
      std::copy(c, c + kSlotsPerBlock, o.value.begin() + block_ids[k] * kSlotsPerBlock);
    }
  }
  // Edges and textures of the picture give a few huge coefficients that would drown the mark;
  // clipping at a robust scale (2.5 x the MAD estimate of sigma) keeps their vote bounded.
  std::vector<float> mags;
  mags.reserve(kTotalSlots);
  for (int i = 0; i < kTotalSlots; ++i) {
    if (o.valid[i / kSlotsPerBlock]) mags.push_back(std::abs(o.value[i]));
  }
  if (!mags.empty()) {
    auto mid = mags.begin() + static_cast<std::ptrdiff_t>(mags.size() / 2);
    std::nth_element(mags.begin(), mid, mags.end());
    const float clip = std::max(2.5f * 1.4826f * *mid, 1e-6f);
    for (auto& v : o.value) v = std::clamp(v, -clip, clip);
  }
  return o;
}

// Pilot correlation normalised by its own spread: about N(0, 1) when there is no mark, because
// the chips are independent of the picture.
double pilot_score(const Layout& layout, const Observation& o) {
  double num = 0, den = 0;
  for (int i = 0; i < kTotalSlots; ++i) {
    if (layout.role[i] >= 0 || !o.valid[i / kSlotsPerBlock]) continue;
    num += layout.chip[i] * o.value[i];
    den += double(o.value[i]) * o.value[i];
  }
  return den > 0 ? num / std::sqrt(den) : 0.0;
}

}  // namespace

WatermarkEmbedder::WatermarkEmbedder(std::string_view key, double amplitude)
    : seed_(key_seed(key)), amplitude_(amplitude) {
  if (!(amplitude > 0 && amplitude <= 64)) {
    throw Error(ErrorCategory::InvalidArgument,
                "watermark amplitude " + std::to_string(amplitude) + " is outside (0, 64]");
  }
}

void WatermarkEmbedder::embed(cv::Mat& rgb_frame, const WatermarkPayload& payload) {
  check_frame(rgb_frame, "watermark embed");
  if (cached_positive_.empty() || cached_size_ != rgb_frame.size() || cached_payload_ != payload) {
    const cv::Mat grid =
        grid_pattern(make_layout(seed_), conv_encode(info_bits(payload)), amplitude_);
    cv::Mat full;
    cv::resize(grid, full, rgb_frame.size(), 0, 0, cv::INTER_LINEAR);
    // Rounding the offset first is exact: round(p + d) = p + round(d) for integer pixels p.
    // It is kept as its positive and negative parts in 8 bits, so marking a frame is two
    // saturating 8-bit passes (a pixel never has both, so saturation is as for one addition).
    cv::Mat pos, neg;
    full.convertTo(pos, CV_8U);        // saturates negatives to 0
    full.convertTo(neg, CV_8U, -1.0);  // saturates positives to 0
    cv::merge(std::vector<cv::Mat>{pos, pos, pos}, cached_positive_);
    cv::merge(std::vector<cv::Mat>{neg, neg, neg}, cached_negative_);
    cached_size_ = rgb_frame.size();
    cached_payload_ = payload;
  }
  cv::add(rgb_frame, cached_positive_, rgb_frame);
  cv::subtract(rgb_frame, cached_negative_, rgb_frame);
}

WatermarkDetector::WatermarkDetector(std::string_view key)
    : seed_(key_seed(key)),
      sum_(kWatermarkGridHeight, kWatermarkGridWidth, CV_64FC1, cv::Scalar(0)) {}

void WatermarkDetector::add_frame(const cv::Mat& rgb_frame) {
  check_frame(rgb_frame, "watermark detect");
  // Any luma weights summing to 1 see the mark whole, since it was added to R, G and B alike.
  cv::Mat gray, gray_f, grid;
  cv::cvtColor(rgb_frame, gray, cv::COLOR_RGB2GRAY);
  // Halving first takes OpenCV's fast 2x2 path: a 1080p frame costs ~1 ms instead of ~3.5 ms
  // for one area resize by 3.75. The 8-bit rounding it adds is noise far below the picture's.
  while (gray.cols >= 2 * kWatermarkGridWidth && gray.rows >= 2 * kWatermarkGridHeight) {
    cv::Mat half;
    cv::resize(gray, half, cv::Size(gray.cols / 2, gray.rows / 2), 0, 0, cv::INTER_AREA);
    gray = half;
  }
  gray.convertTo(gray_f, CV_32F);
  cv::resize(gray_f, grid, cv::Size(kWatermarkGridWidth, kWatermarkGridHeight), 0, 0,
             cv::INTER_AREA);
  cv::accumulate(grid, sum_);
  ++frames_;
}

WatermarkResult WatermarkDetector::result() const {
  WatermarkResult r;
  r.frames = frames_;
  if (frames_ == 0) return r;
  cv::Mat mean;
  sum_.convertTo(mean, CV_32F, 1.0 / static_cast<double>(frames_));
  const Layout layout = make_layout(seed_);

  double best_zoom = 1.0;
  double best = pilot_score(layout, observe(mean, 1.0));
  // An uncropped clip aligns at once; otherwise search the zoom of a centred crop.
  if (best < 2 * kWatermarkDetectionThreshold) {
    auto search = [&](double lo, double hi, double step) {
      for (double z = lo; z <= hi + 1e-9; z += step) {
        const double s = pilot_score(layout, observe(mean, z));
        if (s > best) best = s, best_zoom = z;
      }
    };
    search(kZoomMin, kZoomMax, kZoomCoarseStep);
    const double centre = best_zoom;
    search(std::max(kZoomMin, centre - kZoomCoarseStep),
           std::min(kZoomMax, centre + kZoomCoarseStep), kZoomFineStep);
  }
  r.confidence = best;
  r.zoom = best_zoom;

  const Observation o = observe(mean, best_zoom);
  std::array<double, kCodedBits> soft{};
  for (int i = 0; i < kTotalSlots; ++i) {
    const int role = layout.role[i];
    if (role >= 0 && o.valid[i / kSlotsPerBlock]) soft[role] += layout.chip[i] * o.value[i];
  }
  const auto info = viterbi_decode(soft);
  WatermarkPayload p;
  for (int i = 0; i < 32; ++i) p.install_id = (p.install_id << 1) | info[i];
  for (int i = 32; i < 64; ++i) p.generation_id = (p.generation_id << 1) | info[i];
  const bool crc_ok = info_bits(p) == info;
  const auto coded = conv_encode(info);
  int errors = 0;
  for (int i = 0; i < kCodedBits; ++i) errors += (soft[i] > 0) != (coded[i] == 1);
  r.bit_error_rate = static_cast<double>(errors) / kCodedBits;
  r.found = crc_ok && best >= kWatermarkDetectionThreshold;
  if (r.found) r.payload = p;
  return r;
}

}  // namespace reelforge::safety
