#include "media/ffmpeg_util.hpp"

extern "C" {
#include <libavutil/display.h>
}

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdarg>
#include <mutex>
#include <string_view>

#include "reelforge/core/error.hpp"

namespace fs = std::filesystem;

namespace reelforge::media::detail {
namespace {

void log_to_spdlog(void* avcl, int level, const char* fmt, va_list args) {
  if (level > av_log_get_level()) return;
  // FFmpeg often emits one line in several calls; collect them per thread until the newline.
  thread_local std::string pending;
  thread_local int print_prefix = 1;
  char line[1024];
  av_log_format_line2(avcl, level, fmt, args, line, sizeof line, &print_prefix);
  pending += line;
  if (pending.empty() || pending.back() != '\n') return;
  pending.pop_back();
  spdlog::debug("ffmpeg: {}", pending);
  pending.clear();
}

}  // namespace

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

void route_ffmpeg_log() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Warnings and errors only: FFmpeg's info level is per-file chatter (x264's statistics).
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(log_to_spdlog);
  });
}

FramePtr make_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) throw Error(ErrorCategory::Internal, "out of memory allocating an AVFrame");
  return f;
}

PacketPtr make_packet() {
  PacketPtr p(av_packet_alloc());
  if (!p) throw Error(ErrorCategory::Internal, "out of memory allocating an AVPacket");
  return p;
}

Input open_input(const fs::path& path) {
  route_ffmpeg_log();
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCategory::NotFound, "no such file", path.string());
  if (fs::is_directory(path, ec)) {
    throw Error(ErrorCategory::InvalidArgument, "is a folder, not a media file", path.string());
  }
  if (fs::file_size(path, ec) == 0 && !ec) {
    throw Error(ErrorCategory::Format, "the file is empty", path.string());
  }
  Input input;
  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (err < 0) {
    throw Error(ErrorCategory::Format,
                "not a video or image FFmpeg can read (" + av_error_text(err) + ")", path.string());
  }
  input.format.reset(raw);
  err = avformat_find_stream_info(raw, nullptr);
  if (err < 0) {
    throw Error(
        ErrorCategory::Format,
        "cannot read the stream layout, the file may be damaged (" + av_error_text(err) + ")",
        path.string());
  }
  for (unsigned i = 0; i < raw->nb_streams; ++i) {
    AVStream* st = raw->streams[i];
    if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    // An album cover inside an audio file is not a video.
    if (st->disposition & AV_DISPOSITION_ATTACHED_PIC) continue;
    if (input.stream_index < 0 || st->disposition & AV_DISPOSITION_DEFAULT) {
      input.stream_index = int(i);
      if (st->disposition & AV_DISPOSITION_DEFAULT) break;
    }
  }
  if (input.stream_index < 0) {
    throw Error(ErrorCategory::Format, "the file has no video stream", path.string());
  }
  const AVCodecParameters* par = input.stream()->codecpar;
  if (par->width <= 0 || par->height <= 0) {
    throw Error(ErrorCategory::Format,
                "the video stream has no frame size, the file may be damaged", path.string());
  }
  return input;
}

int stream_rotation_deg(const AVStream* stream) {
  const uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
  if (matrix == nullptr) return 0;
  // av_display_rotation_get gives the counter-clockwise angle the picture must be turned by;
  // VideoInfo speaks clockwise, as phone metadata ("rotate" tags) do.
  const double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(ccw)) return 0;
  long cw = std::lround(-ccw);
  cw = ((cw % 360) + 360) % 360;
  // Only quarter turns exist in practice; snap anything else to the nearest one.
  return int(((cw + 45) / 90) % 4) * 90;
}

bool is_image_demuxer(const AVFormatContext* format) {
  const std::string_view name = format->iformat->name;
  if (name == "image2") return true;
  constexpr std::string_view kPipe = "_pipe";
  return name.size() > kPipe.size() && name.substr(name.size() - kPipe.size()) == kPipe;
}

}  // namespace reelforge::media::detail
