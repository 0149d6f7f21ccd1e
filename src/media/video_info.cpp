// probe(): what a file holds, from the container and a demux-only pass over its packets.

#include "reelforge/media/video_info.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "media/ffmpeg_util.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/image.hpp"

namespace fs = std::filesystem;

namespace reelforge::media {
namespace {

// A 20 s clip at 60 fps has 1200 frames; beyond this we trust the container's own figures.
constexpr int64_t kMaxScannedPackets = 20000;

void read_metadata(const AVFormatContext* format, VideoInfo& info) {
  const AVDictionaryEntry* tag = nullptr;
  while ((tag = av_dict_get(format->metadata, "", tag, AV_DICT_IGNORE_SUFFIX)) != nullptr) {
    info.tags[tag->key] = tag->value;
  }
  auto get = [&](const char* key) -> std::string {
    auto it = info.tags.find(key);
    return it == info.tags.end() ? std::string() : it->second;
  };
  info.metadata.title = get("title");
  info.metadata.comment = get("comment");
  info.metadata.creation_time = parse_creation_time(get("creation_time"));
  info.metadata.reelforge_json = get(kReelForgeTag);
}

void describe_still(const fs::path& path, VideoInfo& info) {
  info.is_still_image = true;
  info.frame_count = 1;
  info.frame_count_exact = true;
  info.fps = 0;
  info.duration_s = 0;
  // FFmpeg ignores EXIF orientation; OpenCV applies it. A reduced decode (1/8 scale, cheap for
  // JPEG) tells whether the upright picture has its sides swapped.
  const cv::Mat small = cv::imread(path.string(), cv::IMREAD_REDUCED_COLOR_8);
  if (!small.empty() && info.coded_width_px != info.coded_height_px &&
      (small.cols > small.rows) != (info.coded_width_px > info.coded_height_px)) {
    std::swap(info.width_px, info.height_px);
  }
}

}  // namespace

VideoInfo probe(const fs::path& path) {
  detail::Input input = detail::open_input(path);
  AVFormatContext* format = input.format.get();
  const AVStream* stream = input.stream();
  const AVCodecParameters* par = stream->codecpar;

  VideoInfo info;
  info.container = format->iformat->name;
  info.codec = avcodec_get_name(par->codec_id);
  const char* pix = av_get_pix_fmt_name(AVPixelFormat(par->format));
  info.pixel_format = pix ? pix : "";
  info.coded_width_px = par->width;
  info.coded_height_px = par->height;
  info.rotation_deg = detail::stream_rotation_deg(stream);
  const bool swapped = info.rotation_deg == 90 || info.rotation_deg == 270;
  info.width_px = swapped ? par->height : par->width;
  info.height_px = swapped ? par->width : par->height;
  read_metadata(format, info);

  if (detail::is_image_demuxer(format)) {
    describe_still(path, info);
    return info;
  }

  // Demux (not decode) the packets: exact frame count, real timestamps, and truncation shows up.
  struct Stamp {
    int64_t pts;
    int64_t duration;
  };
  std::vector<Stamp> stamps;
  int64_t packets = 0;
  bool complete = false;
  detail::PacketPtr packet = detail::make_packet();
  while (packets < kMaxScannedPackets) {
    const int err = av_read_frame(format, packet.get());
    if (err == AVERROR_EOF) {
      complete = true;
      break;
    }
    if (err < 0) {
      throw Error(ErrorCategory::Format,
                  "the file is damaged or truncated (" + detail::av_error_text(err) + ")",
                  path.string());
    }
    if (packet->stream_index == input.stream_index) {
      ++packets;
      const int64_t ts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
      if (ts != AV_NOPTS_VALUE) stamps.push_back({ts, packet->duration});
    }
    av_packet_unref(packet.get());
  }
  if (complete && stream->nb_frames > 0 && packets < stream->nb_frames) {
    throw Error(ErrorCategory::Format,
                "the file is truncated: its index lists " + std::to_string(stream->nb_frames) +
                    " frames but only " + std::to_string(packets) + " are present",
                path.string());
  }
  if (packets == 0) {
    throw Error(ErrorCategory::Format, "the video stream has no frames", path.string());
  }
  if (complete && packets == 1 && looks_like_image(path)) {
    describe_still(path, info);
    return info;
  }

  const double tb = av_q2d(stream->time_base);
  std::sort(stamps.begin(), stamps.end(),
            [](const Stamp& a, const Stamp& b) { return a.pts < b.pts; });
  std::vector<int64_t> deltas;
  for (size_t i = 1; i < stamps.size(); ++i) deltas.push_back(stamps[i].pts - stamps[i - 1].pts);
  int64_t median_delta = 0;
  if (!deltas.empty()) {
    std::vector<int64_t> sorted = deltas;
    std::nth_element(sorted.begin(), sorted.begin() + long(sorted.size() / 2), sorted.end());
    median_delta = sorted[sorted.size() / 2];
    const auto [lo, hi] = std::minmax_element(deltas.begin(), deltas.end());
    // Millisecond time bases (Matroska, WebM) jitter by a tick at rates like 29.97; real
    // variable rates differ by far more.
    const double tolerance = std::max(2.0, 0.05 * double(median_delta));
    info.variable_frame_rate = deltas.size() >= 2 && double(*hi - *lo) > tolerance;
  }

  const AVRational avg = stream->avg_frame_rate.num > 0 && stream->avg_frame_rate.den > 0
                             ? stream->avg_frame_rate
                             : stream->r_frame_rate;
  if (complete && stamps.size() == size_t(packets) && !stamps.empty()) {
    int64_t last_duration = stamps.back().duration > 0 ? stamps.back().duration : median_delta;
    if (last_duration <= 0 && avg.num > 0)
      last_duration = av_rescale_q(1, av_inv_q(avg), stream->time_base);
    info.duration_s = double(stamps.back().pts - stamps.front().pts + last_duration) * tb;
    info.frame_count = packets;
    info.frame_count_exact = true;
  } else {
    if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
      info.duration_s = double(stream->duration) * tb;
    } else if (format->duration != AV_NOPTS_VALUE && format->duration > 0) {
      info.duration_s = double(format->duration) / AV_TIME_BASE;
    }
  }
  if (info.variable_frame_rate && info.duration_s > 0 && info.frame_count_exact) {
    info.fps = double(info.frame_count) / info.duration_s;
  } else if (avg.num > 0 && avg.den > 0) {
    info.fps = av_q2d(avg);
  } else if (median_delta > 0) {
    info.fps = 1.0 / (double(median_delta) * tb);
  }
  if (!info.frame_count_exact) {
    if (stream->nb_frames > 0) {
      info.frame_count = stream->nb_frames;
      info.frame_count_exact = true;
    } else {
      info.frame_count = std::llround(info.duration_s * info.fps);
    }
  }
  return info;
}

}  // namespace reelforge::media
