// Still images: loading (RGB order, EXIF orientation), reframing geometry and sizes.

#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/media/image.hpp"
#include "reelforge/media/video_info.hpp"
#include "support/testing.hpp"

namespace fs = std::filesystem;
using namespace reelforge;
using namespace reelforge::media;
namespace rft = reelforge::testing;
using reelforge::testing::TempDir;

namespace {

// A JPEG whose APP1 segment carries an EXIF orientation tag (big-endian TIFF, one IFD entry).
void write_jpeg_with_orientation(const fs::path& path, const cv::Mat& bgr, int orientation) {
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 98}));
  const std::vector<uchar> exif = {
      'E',  'x',  'i', 'f', 0, 0,        // EXIF header
      'M',  'M',  0,   42,  0, 0, 0, 8,  // TIFF header, IFD at offset 8
      0,    1,                           // one entry
      0x01, 0x12, 0,   3,   0, 0, 0, 1, 0, uchar(orientation), 0, 0,  // Orientation, SHORT, 1
      0,    0,    0,   0};                                            // no next IFD
  const size_t length = exif.size() + 2;
  std::vector<uchar> out(jpeg.begin(), jpeg.begin() + 2);  // SOI
  out.insert(out.end(), {0xFF, 0xE1, uchar(length >> 8), uchar(length & 0xFF)});
  out.insert(out.end(), exif.begin(), exif.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), long(out.size()));
}

cv::Vec3d mean_of(const cv::Mat& m, cv::Rect r) {
  const cv::Scalar s = cv::mean(m(r));
  return {s[0], s[1], s[2]};
}

}  // namespace

TEST(MediaImage, LoadsInRgbOrder) {
  TempDir dir;
  cv::Mat bgr(10, 12, CV_8UC3, cv::Scalar(255, 0, 0));  // pure blue in OpenCV's BGR
  ASSERT_TRUE(cv::imwrite((dir / "blue.png").string(), bgr));
  const cv::Mat rgb = load_image(dir / "blue.png");
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
}

TEST(MediaImage, HonoursExifOrientation) {
  TempDir dir;
  // Stored 80x40: red on the left half, blue on the right. Orientation 6 = turn 90 degrees
  // clockwise to display, so the upright picture is 40x80 with red on top.
  cv::Mat bgr(40, 80, CV_8UC3, cv::Scalar(255, 0, 0));
  bgr(cv::Rect(0, 0, 40, 40)).setTo(cv::Scalar(0, 0, 255));
  write_jpeg_with_orientation(dir / "phone.jpg", bgr, 6);
  // Check the file really carries the tag: ignoring it gives the stored layout.
  const cv::Mat raw =
      cv::imread((dir / "phone.jpg").string(), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  ASSERT_EQ(raw.cols, 80);

  const cv::Mat rgb = load_image(dir / "phone.jpg");
  ASSERT_EQ(rgb.cols, 40);
  ASSERT_EQ(rgb.rows, 80);
  const cv::Vec3d top = mean_of(rgb, {5, 5, 30, 30});
  const cv::Vec3d bottom = mean_of(rgb, {5, 45, 30, 30});
  EXPECT_GT(top[0], 200);  // red
  EXPECT_LT(top[2], 60);
  EXPECT_GT(bottom[2], 200);  // blue
  EXPECT_LT(bottom[0], 60);

  const VideoInfo info = probe(dir / "phone.jpg");
  EXPECT_TRUE(info.is_still_image);
  EXPECT_EQ(info.width_px, 40);
  EXPECT_EQ(info.height_px, 80);
  EXPECT_EQ(info.frame_count, 1);
}

TEST(MediaImage, LoadErrors) {
  TempDir dir;
  try {
    load_image(dir / "missing.png");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::NotFound);
  }
  std::ofstream(dir / "text.png") << "not an image";
  try {
    load_image(dir / "text.png");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::Format);
  }
  EXPECT_TRUE(looks_like_image("a/b/photo.JPG"));
  EXPECT_TRUE(looks_like_image("x.webp"));
  EXPECT_FALSE(looks_like_image("clip.mp4"));
}

TEST(MediaImage, LetterboxPadsBlackBars) {
  const cv::Mat white(100, 100, CV_8UC3, cv::Scalar::all(255));
  // Square into wide: pillarbox, 90x90 picture centred at x = 35.
  const cv::Mat wide = reframe(white, {160, 90}, Fit::Letterbox);
  ASSERT_EQ(wide.size(), cv::Size(160, 90));
  EXPECT_EQ(cv::countNonZero(wide.reshape(1)(cv::Rect(0, 0, 35 * 3, 90))), 0);
  EXPECT_EQ(cv::countNonZero(wide.reshape(1)(cv::Rect(125 * 3, 0, 35 * 3, 90))), 0);
  EXPECT_EQ(mean_of(wide, {35, 0, 90, 90}), cv::Vec3d(255, 255, 255));
  // Wide into vertical: letterbox bars top and bottom.
  const cv::Mat landscape(90, 160, CV_8UC3, cv::Scalar::all(255));
  const cv::Mat tall = reframe(landscape, {90, 160}, Fit::Letterbox);
  ASSERT_EQ(tall.size(), cv::Size(90, 160));
  // 160x90 scaled to width 90 -> height 50.625 -> 51 rows, starting at (160 - 51) / 2 = 54.
  EXPECT_EQ(mean_of(tall, {0, 0, 90, 54}), cv::Vec3d(0, 0, 0));
  EXPECT_EQ(mean_of(tall, {0, 105, 90, 55}), cv::Vec3d(0, 0, 0));
  EXPECT_GT(mean_of(tall, {0, 56, 90, 47})[0], 250);
}

TEST(MediaImage, FillCropsTheCentre) {
  // Three 100-wide stripes (red, green, blue): filling a square keeps only the green one.
  cv::Mat stripes(100, 300, CV_8UC3);
  stripes(cv::Rect(0, 0, 100, 100)).setTo(cv::Scalar(255, 0, 0));
  stripes(cv::Rect(100, 0, 100, 100)).setTo(cv::Scalar(0, 255, 0));
  stripes(cv::Rect(200, 0, 100, 100)).setTo(cv::Scalar(0, 0, 255));
  const cv::Mat square = reframe(stripes, {50, 50}, Fit::Fill);
  ASSERT_EQ(square.size(), cv::Size(50, 50));
  EXPECT_EQ(mean_of(square, {0, 0, 50, 50}), cv::Vec3d(0, 255, 0));
  // Enlarging (Lanczos) keeps the centre too.
  const cv::Mat big = reframe(stripes, {400, 400}, Fit::Fill);
  ASSERT_EQ(big.size(), cv::Size(400, 400));
  const cv::Vec3d centre = mean_of(big, {20, 20, 360, 360});
  EXPECT_GT(centre[1], 250);
  EXPECT_LT(centre[0], 3);
  EXPECT_LT(centre[2], 3);
}

TEST(MediaImage, OddSizesGiveExactPresetSizes) {
  cv::Mat odd(211, 333, CV_8UC3);
  cv::randu(odd, 0, 255);
  for (Aspect a : {Aspect::Wide, Aspect::Vertical, Aspect::Square}) {
    for (Resolution r : {Resolution::P480, Resolution::P720, Resolution::P1080}) {
      const FrameSize s = preset_size(a, r);
      for (Fit fit : {Fit::Fill, Fit::Letterbox}) {
        const cv::Mat out = reframe(odd, s, fit);
        EXPECT_EQ(out.cols, s.width_px);
        EXPECT_EQ(out.rows, s.height_px);
        EXPECT_EQ(out.type(), CV_8UC3);
      }
    }
  }
  // And down to odd, tiny sizes.
  EXPECT_EQ(reframe(odd, {3, 7}, Fit::Letterbox).size(), cv::Size(3, 7));
  EXPECT_EQ(reframe(odd, {3, 7}, Fit::Fill).size(), cv::Size(3, 7));
}

TEST(MediaImage, ReframeRejectsBadInput) {
  const cv::Mat rgb(10, 10, CV_8UC3, cv::Scalar::all(1));
  EXPECT_THROW(reframe(cv::Mat(), {10, 10}, Fit::Fill), Error);
  EXPECT_THROW(reframe(rgb, {0, 10}, Fit::Fill), Error);
  try {
    reframe(cv::Mat(10, 10, CV_8UC1), {10, 10}, Fit::Fill);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("CV_8UC1"), std::string::npos) << e.what();
  }
}

TEST(MediaImage, PresetSizes) {
  EXPECT_EQ(preset_size(Aspect::Wide, Resolution::P1080), (FrameSize{1920, 1080}));
  EXPECT_EQ(preset_size(Aspect::Vertical, Resolution::P1080), (FrameSize{1080, 1920}));
  EXPECT_EQ(preset_size(Aspect::Square, Resolution::P1080), (FrameSize{1080, 1080}));
  EXPECT_EQ(preset_size(Aspect::Wide, Resolution::P720), (FrameSize{1280, 720}));
  EXPECT_EQ(preset_size(Aspect::Vertical, Resolution::P480), (FrameSize{480, 854}));
  EXPECT_EQ(parse_aspect("9:16"), Aspect::Vertical);
  EXPECT_THROW(parse_aspect("4:3"), Error);
  EXPECT_THROW(parse_resolution("4k"), Error);
}
