#pragma once
// FFmpeg plumbing shared by the reader, the writer and probe(): owning pointers, error text,
// opening an input with ReelForge's error categories, and routing FFmpeg's log into spdlog.
// Internal: FFmpeg's headers stay out of the public ones.

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <filesystem>
#include <memory>
#include <string>

namespace reelforge::media::detail {

std::string av_error_text(int err);

// Sends FFmpeg's own log lines to spdlog at debug level (once per process): the library reports
// failures through Error, so FFmpeg must not print on the user's terminal.
void route_ffmpeg_log();

struct InputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* c) const { sws_freeContext(c); }
};
using InputPtr = std::unique_ptr<AVFormatContext, InputDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

FramePtr make_frame();
PacketPtr make_packet();

// An opened input and its chosen video stream.
struct Input {
  InputPtr format;
  int stream_index = -1;
  AVStream* stream() const { return format->streams[stream_index]; }
};

// Error(NotFound) for a missing file; Error(Format) for an empty file, one FFmpeg cannot read, or
// one without a video stream.
Input open_input(const std::filesystem::path& path);

// Clockwise degrees (0, 90, 180, 270) that turn the stored picture upright.
int stream_rotation_deg(const AVStream* stream);

// True for FFmpeg's still-image demuxers (image2, png_pipe, jpeg_pipe, ...).
bool is_image_demuxer(const AVFormatContext* format);

}  // namespace reelforge::media::detail
