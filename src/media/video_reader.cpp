#include "reelforge/media/video_reader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>

#include "media/ffmpeg_util.hpp"
#include "reelforge/core/error.hpp"

namespace fs = std::filesystem;

namespace reelforge::media {
namespace {

const int* coefficients_for(AVColorSpace space) {
  switch (space) {
    case AVCOL_SPC_BT709:
      return sws_getCoefficients(SWS_CS_ITU709);
    case AVCOL_SPC_FCC:
      return sws_getCoefficients(SWS_CS_FCC);
    case AVCOL_SPC_SMPTE240M:
      return sws_getCoefficients(SWS_CS_SMPTE240M);
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return sws_getCoefficients(SWS_CS_BT2020);
    // Untagged files get BT.601, as the ffmpeg program decodes them.
    default:
      return sws_getCoefficients(SWS_CS_ITU601);
  }
}

bool is_full_range(const AVFrame* f) {
  switch (f->format) {
    case AV_PIX_FMT_YUVJ420P:
    case AV_PIX_FMT_YUVJ422P:
    case AV_PIX_FMT_YUVJ444P:
    case AV_PIX_FMT_YUVJ440P:
    case AV_PIX_FMT_YUVJ411P:
      return true;
    default:
      return f->color_range == AVCOL_RANGE_JPEG;
  }
}

}  // namespace

struct VideoReader::Impl {
  fs::path path;
  VideoReaderOptions options;
  VideoInfo info;

  // Stills go through OpenCV, which honours EXIF orientation.
  cv::Mat still;
  bool still_done = false;

  detail::Input input;
  detail::CodecContextPtr decoder;
  detail::PacketPtr packet;
  SwsContext* sws = nullptr;
  const int* sws_coefficients = nullptr;
  int sws_full_range = -1;
  AVRational time_base{1, 1};
  int64_t default_duration = 1;  // in time_base units, for frames that carry none

  // Resampling keeps the frame on screen (current) and the one after it (next).
  detail::FramePtr current, next;
  bool have_current = false, have_next = false;
  int64_t current_time = 0, next_time = 0;  // time_base units from the first frame
  int64_t current_duration = 0, next_duration = 0;
  cv::Mat convert_buffer;  // padded swscale output, reused
  cv::Mat current_rgb;     // `current` converted, rotated and reframed; empty until needed
  int64_t first_pts = AV_NOPTS_VALUE;
  int64_t last_pts = AV_NOPTS_VALUE;

  bool demux_eof = false;
  bool decoder_eof = false;
  int64_t decoded = 0;
  int64_t rejected_packets = 0;
  int64_t out_index = 0;
  double timestamp_s = 0;

  ~Impl() { sws_freeContext(sws); }

  void open() {
    info = probe(path);
    if (options.size && (options.size->width_px <= 0 || options.size->height_px <= 0)) {
      throw Error(ErrorCategory::InvalidArgument, "the requested frame size is not positive");
    }
    if (options.fps && (options.fps->num <= 0 || options.fps->den <= 0)) {
      throw Error(ErrorCategory::InvalidArgument, "the requested frame rate is not positive");
    }
    if (info.is_still_image) {
      still = load_image(path);
      return;
    }
    input = detail::open_input(path);
    AVStream* stream = input.stream();
    time_base = stream->time_base;
    const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
    if (codec == nullptr) {
      throw Error(ErrorCategory::Unsupported,
                  std::string("this FFmpeg build cannot decode ") +
                      avcodec_get_name(stream->codecpar->codec_id),
                  path.string());
    }
    decoder.reset(avcodec_alloc_context3(codec));
    if (!decoder) throw Error(ErrorCategory::Internal, "out of memory (decoder)");
    int err = avcodec_parameters_to_context(decoder.get(), stream->codecpar);
    if (err < 0) throw Error(ErrorCategory::Format, "bad codec parameters", path.string());
    decoder->pkt_timebase = time_base;
    decoder->thread_count = 0;  // automatic: frame and slice threads
    err = avcodec_open2(decoder.get(), codec, nullptr);
    if (err < 0) {
      throw Error(ErrorCategory::Unsupported,
                  "cannot open the " + std::string(codec->name) + " decoder (" +
                      detail::av_error_text(err) + ")",
                  path.string());
    }
    const AVRational rate =
        stream->avg_frame_rate.num > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
    if (rate.num > 0 && rate.den > 0) {
      default_duration = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(rate), time_base));
    }
    packet = detail::make_packet();
    current = detail::make_frame();
    next = detail::make_frame();
  }

  Error damaged(int err) const {
    return Error(ErrorCategory::Format,
                 "the file is damaged or truncated (" + detail::av_error_text(err) + ")",
                 path.string());
  }

  // Decodes the next frame into `frame`; false at the end of the stream.
  bool decode(AVFrame* frame) {
    while (true) {
      int err = avcodec_receive_frame(decoder.get(), frame);
      if (err == 0) {
        ++decoded;
        return true;
      }
      if (err == AVERROR_EOF) {
        decoder_eof = true;
        return false;
      }
      if (err != AVERROR(EAGAIN)) throw damaged(err);
      if (demux_eof) {
        // Defensive: a decoder that wants input after the flush packet has nothing more.
        return false;
      }
      err = av_read_frame(input.format.get(), packet.get());
      if (err == AVERROR_EOF) {
        demux_eof = true;
        avcodec_send_packet(decoder.get(), nullptr);  // flush: the delayed frames come out
        continue;
      }
      if (err < 0) throw damaged(err);
      if (packet->stream_index == input.stream_index) {
        err = avcodec_send_packet(decoder.get(), packet.get());
        if (err == AVERROR_INVALIDDATA) {
          // A corrupt packet: decoders conceal what follows; give up only if nothing decodes.
          ++rejected_packets;
          spdlog::debug("{}: skipping a corrupt packet", path.string());
        } else if (err < 0 && err != AVERROR(EAGAIN)) {
          av_packet_unref(packet.get());
          throw damaged(err);
        }
      }
      av_packet_unref(packet.get());
    }
  }

  // Decodes into `frame` and works out its time from the first frame and its duration.
  bool decode_timed(AVFrame* frame, int64_t& time, int64_t& duration) {
    if (!decode(frame)) return false;
    int64_t pts = frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = last_pts == AV_NOPTS_VALUE ? 0 : last_pts + default_duration;
    if (first_pts == AV_NOPTS_VALUE) first_pts = pts;
    last_pts = pts;
    time = pts - first_pts;
    duration = frame->pkt_duration > 0 ? frame->pkt_duration : default_duration;
    return true;
  }

  void no_frames_check() const {
    if (decoded == 0) {
      throw Error(ErrorCategory::Format, "no video frame could be decoded; the file is damaged",
                  path.string());
    }
  }

  // Colour conversion to RGB, then upright, then reframed.
  void process(const AVFrame* frame, cv::Mat& out) {
    sws = sws_getCachedContext(sws, frame->width, frame->height, AVPixelFormat(frame->format),
                               frame->width, frame->height, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr,
                               nullptr, nullptr);
    if (sws == nullptr) {
      throw Error(ErrorCategory::Unsupported,
                  std::string("cannot convert pixel format ") +
                      av_get_pix_fmt_name(AVPixelFormat(frame->format)) + " to RGB",
                  path.string());
    }
    const int* coefficients = coefficients_for(frame->colorspace);
    const int full = is_full_range(frame) ? 1 : 0;
    if (coefficients != sws_coefficients || full != sws_full_range) {
      sws_setColorspaceDetails(sws, coefficients, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                               1 << 16, 1 << 16);
      sws_coefficients = coefficients;
      sws_full_range = full;
    }
    // swscale's SIMD writers may run past the end of a row: convert into a buffer with an aligned
    // stride and a spare row, never straight into a tight cv::Mat.
    const int stride_px = (frame->width + 63) / 64 * 64;
    if (convert_buffer.rows != frame->height + 1 || convert_buffer.cols != stride_px) {
      convert_buffer.create(frame->height + 1, stride_px, CV_8UC3);
    }
    uint8_t* dst[4] = {convert_buffer.data, nullptr, nullptr, nullptr};
    int dst_stride[4] = {int(convert_buffer.step[0]), 0, 0, 0};
    sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, dst_stride);
    const cv::Mat rgb = convert_buffer(cv::Rect(0, 0, frame->width, frame->height));
    cv::Mat upright;
    switch (info.rotation_deg) {
      case 90:
        cv::rotate(rgb, upright, cv::ROTATE_90_CLOCKWISE);
        break;
      case 180:
        cv::rotate(rgb, upright, cv::ROTATE_180);
        break;
      case 270:
        cv::rotate(rgb, upright, cv::ROTATE_90_COUNTERCLOCKWISE);
        break;
      default:
        upright = rgb;
        break;
    }
    if (options.size &&
        (upright.cols != options.size->width_px || upright.rows != options.size->height_px)) {
      out = reframe(upright, *options.size, options.fit);
    } else if (upright.data == convert_buffer.data) {
      rgb.copyTo(out);  // a continuous frame of its own; the buffer is reused for the next one
    } else {
      out = upright;
    }
  }

  bool past_max_duration(double t_s) const {
    return options.max_duration_s && t_s >= *options.max_duration_s - 1e-9;
  }

  bool read_still(cv::Mat& rgb) {
    if (still_done) return false;
    still_done = true;
    timestamp_s = 0;
    if (options.size) {
      rgb = reframe(still, *options.size, options.fit);
    } else {
      still.copyTo(rgb);
    }
    ++out_index;
    return true;
  }

  bool read_every_frame(cv::Mat& rgb) {
    int64_t time = 0, duration = 0;
    if (decoder_eof || !decode_timed(current.get(), time, duration)) {
      no_frames_check();
      return false;
    }
    const double t_s = double(time) * av_q2d(time_base);
    if (past_max_duration(t_s)) return false;
    process(current.get(), rgb);
    timestamp_s = t_s;
    ++out_index;
    return true;
  }

  bool read_resampled(cv::Mat& rgb) {
    const FrameRate fps = *options.fps;
    const AVRational frame_period{fps.den, fps.num};
    const double t_s = double(out_index) * fps.den / fps.num;
    if (past_max_duration(t_s)) return false;
    if (!have_current) {
      if (!decode_timed(current.get(), current_time, current_duration)) {
        no_frames_check();
        return false;
      }
      have_current = true;
      have_next = decode_timed(next.get(), next_time, next_duration);
    }
    // Advance to the latest frame shown at or before the output time.
    while (have_next && av_compare_ts(next_time, time_base, out_index, frame_period) <= 0) {
      std::swap(current, next);
      current_time = next_time;
      current_duration = next_duration;
      current_rgb.release();
      have_next = decode_timed(next.get(), next_time, next_duration);
    }
    // After the last frame, the clip ends when that frame's display time does.
    if (!have_next &&
        av_compare_ts(out_index, frame_period, current_time + current_duration, time_base) >= 0) {
      return false;
    }
    if (current_rgb.empty()) process(current.get(), current_rgb);
    current_rgb.copyTo(rgb);
    timestamp_s = t_s;
    ++out_index;
    return true;
  }
};

VideoReader::VideoReader(const fs::path& path, VideoReaderOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->options = std::move(options);
  impl_->open();
}

VideoReader::~VideoReader() = default;
VideoReader::VideoReader(VideoReader&&) noexcept = default;
VideoReader& VideoReader::operator=(VideoReader&&) noexcept = default;

const VideoInfo& VideoReader::info() const {
  return impl_->info;
}

bool VideoReader::read(cv::Mat& rgb) {
  if (impl_->info.is_still_image) return impl_->read_still(rgb);
  if (impl_->options.fps) return impl_->read_resampled(rgb);
  return impl_->read_every_frame(rgb);
}

double VideoReader::timestamp_s() const {
  return impl_->timestamp_s;
}
int64_t VideoReader::frames_read() const {
  return impl_->out_index;
}

int64_t VideoReader::expected_frames() const {
  const VideoInfo& info = impl_->info;
  if (info.is_still_image) return 1;
  double duration = info.duration_s;
  if (impl_->options.max_duration_s) duration = std::min(duration, *impl_->options.max_duration_s);
  if (impl_->options.fps) {
    return std::max<int64_t>(1, int64_t(std::ceil(duration * impl_->options.fps->value() - 1e-6)));
  }
  if (!impl_->options.max_duration_s) return info.frame_count;
  return std::min<int64_t>(info.frame_count, int64_t(std::ceil(duration * info.fps - 1e-6)));
}

}  // namespace reelforge::media
