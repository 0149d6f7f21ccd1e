#include "reelforge/media/video_writer.hpp"

extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
}

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>

#include "media/ffmpeg_util.hpp"
#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"

namespace fs = std::filesystem;

namespace reelforge::media {

using detail::av_error_text;

std::vector<std::string> default_encoder_order() {
  return {"libx264", "mpeg4"};
}

const std::vector<std::string>& encoder_presets() {
  static const std::vector<std::string> presets = {"ultrafast", "superfast", "veryfast", "faster",
                                                   "fast",      "medium",    "slow",     "slower",
                                                   "veryslow",  "placebo"};
  return presets;
}

std::string choose_encoder(const std::vector<std::string>& preference) {
  for (size_t i = 0; i < preference.size(); ++i) {
    if (avcodec_find_encoder_by_name(preference[i].c_str()) == nullptr) continue;
    if (i > 0) {
      spdlog::warn("video encoder {} is not available in this FFmpeg build; using {} instead",
                   preference[0], preference[i]);
    }
    return preference[i];
  }
  std::string names;
  for (const auto& p : preference) names += (names.empty() ? "" : ", ") + p;
  throw Error(ErrorCategory::Unsupported,
              "none of the video encoders " + names + " is available in this FFmpeg build");
}

namespace {

Error bad_option(const std::string& message) {
  return Error(ErrorCategory::InvalidArgument, message);
}

void validate(const VideoWriterOptions& o) {
  const FrameSize s = o.size;
  if (s.width_px <= 0 || s.height_px <= 0 || s.width_px > 8192 || s.height_px > 8192) {
    throw bad_option("video size " + std::to_string(s.width_px) + "x" +
                     std::to_string(s.height_px) + " is out of range; valid: 2..8192 on each side");
  }
  if (s.width_px % 2 != 0 || s.height_px % 2 != 0) {
    throw bad_option("video size " + std::to_string(s.width_px) + "x" +
                     std::to_string(s.height_px) +
                     " has an odd side; yuv420p needs even width and height");
  }
  if (o.fps.num <= 0 || o.fps.den <= 0 || o.fps.value() < kMinFps - 1e-9 ||
      o.fps.value() > kMaxFps + 1e-9) {
    throw bad_option("frame rate " + o.fps.to_string() + " is out of range; valid: 8 to 60");
  }
  if (o.crf < 0 || o.crf > 51) {
    throw bad_option("CRF " + std::to_string(o.crf) +
                     " is out of range; valid: 0 (lossless) to 51");
  }
  const auto& presets = encoder_presets();
  if (std::find(presets.begin(), presets.end(), o.preset) == presets.end()) {
    std::string valid;
    for (const auto& p : presets) valid += (valid.empty() ? "" : ", ") + p;
    throw bad_option("unknown encoder preset '" + o.preset + "'; valid: " + valid);
  }
  if (o.threads < 0) throw bad_option("encoder threads must be 0 (automatic) or more");
}

// A cv::Mat seen as an AVFrame without copying: swscale's frame API would otherwise copy an
// unreferenced source frame (6 MB per 1080p frame).
void wrap_mat(const cv::Mat& rgb, AVFrame* frame) {
  av_frame_unref(frame);
  frame->format = AV_PIX_FMT_RGB24;
  frame->width = rgb.cols;
  frame->height = rgb.rows;
  frame->data[0] = const_cast<uint8_t*>(rgb.data);
  frame->linesize[0] = int(rgb.step[0]);
  frame->buf[0] = av_buffer_create(
      frame->data[0], int(rgb.step[0] * size_t(rgb.rows - 1)) + rgb.cols * 3,
      [](void*, uint8_t*) {}, nullptr, AV_BUFFER_FLAG_READONLY);
  if (frame->buf[0] == nullptr) throw Error(ErrorCategory::Internal, "out of memory (frame wrap)");
}

}  // namespace

struct VideoWriter::Impl {
  fs::path path;
  VideoWriterOptions options;
  std::unique_ptr<AtomicFile> file;
  AVFormatContext* output = nullptr;
  detail::CodecContextPtr encoder_context;
  AVStream* stream = nullptr;
  detail::FramePtr yuv;
  detail::FramePtr rgb_view;
  cv::Mat staging;       // padded copy of the frame being converted
  cv::Mat staging_view;  // its frame-sized window
  detail::PacketPtr packet;
  detail::SwsPtr sws;
  std::string encoder;
  int64_t frames = 0;
  bool finished = false;

  ~Impl() { close_output(); }

  void close_output() noexcept {
    if (output == nullptr) return;
    if (output->pb != nullptr) avio_closep(&output->pb);
    avformat_free_context(output);
    output = nullptr;
  }

  void discard() noexcept {
    close_output();
    encoder_context.reset();
    sws.reset();
    if (file) file->discard();
    file.reset();
  }

  // Configures and opens `name`; Error(Unsupported) when the encoder refuses the settings.
  void open_encoder(const std::string& name) {
    const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
    if (codec == nullptr) throw Error(ErrorCategory::Unsupported, "no encoder " + name);
    detail::CodecContextPtr ctx(avcodec_alloc_context3(codec));
    if (!ctx) throw Error(ErrorCategory::Internal, "out of memory (codec context)");
    ctx->width = options.size.width_px;
    ctx->height = options.size.height_px;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = AVRational{options.fps.den, options.fps.num};
    ctx->framerate = AVRational{options.fps.num, options.fps.den};
    ctx->sample_aspect_ratio = AVRational{1, 1};
    // BT.709 throughout, tagged, so players do not guess (HD players assume 709, SD ones 601).
    ctx->colorspace = AVCOL_SPC_BT709;
    ctx->color_primaries = AVCOL_PRI_BT709;
    ctx->color_trc = AVCOL_TRC_BT709;
    ctx->color_range = AVCOL_RANGE_MPEG;
    // 0 lets the encoder choose (x264: frame threads + lookahead across all cores).
    ctx->thread_count = options.threads;
    if (output->oformat->flags & AVFMT_GLOBALHEADER) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (codec->id == AV_CODEC_ID_H264 && av_opt_find(ctx->priv_data, "crf", nullptr, 0, 0)) {
      av_opt_set(ctx->priv_data, "preset", options.preset.c_str(), 0);
      av_opt_set_double(ctx->priv_data, "crf", options.crf, 0);
    } else {
      // MPEG-4 part 2 has no CRF: a constant quantiser of similar intent (CRF 20 -> q 4).
      const int q = std::clamp(int(std::lround(options.crf / 5.0)), 1, 31);
      ctx->flags |= AV_CODEC_FLAG_QSCALE;
      ctx->global_quality = FF_QP2LAMBDA * q;
    }
    const int err = avcodec_open2(ctx.get(), codec, nullptr);
    if (err < 0) {
      throw Error(ErrorCategory::Unsupported,
                  "encoder " + name + " cannot be opened (" + av_error_text(err) + ")");
    }
    encoder_context = std::move(ctx);
    encoder = name;
  }

  void open() {
    detail::route_ffmpeg_log();
    validate(options);
    if (options.encoders.empty()) options.encoders = default_encoder_order();
    file = std::make_unique<AtomicFile>(path);
    const std::string temp = file->temp_path().string();
    int err = avformat_alloc_output_context2(&output, nullptr, nullptr, temp.c_str());
    if (err < 0 || output == nullptr) {
      throw Error(ErrorCategory::InvalidArgument,
                  "cannot tell the container from the extension '" + path.extension().string() +
                      "'; use .mp4",
                  path.string());
    }

    std::vector<std::string> remaining = options.encoders;
    while (true) {
      const std::string name = choose_encoder(remaining);
      try {
        open_encoder(name);
        break;
      } catch (const Error& e) {
        remaining.erase(remaining.begin(), std::find(remaining.begin(), remaining.end(), name) + 1);
        if (remaining.empty()) throw;
        spdlog::warn("{}; trying the next encoder", e.message());
      }
    }
    if (avformat_query_codec(output->oformat, encoder_context->codec_id, FF_COMPLIANCE_NORMAL) !=
        1) {
      throw Error(ErrorCategory::Unsupported,
                  std::string("the ") + output->oformat->name + " container cannot hold " +
                      avcodec_get_name(encoder_context->codec_id) + " video",
                  path.string());
    }

    stream = avformat_new_stream(output, nullptr);
    if (stream == nullptr) throw Error(ErrorCategory::Internal, "out of memory (stream)");
    err = avcodec_parameters_from_context(stream->codecpar, encoder_context.get());
    if (err < 0) throw Error(ErrorCategory::Internal, "codec parameters: " + av_error_text(err));
    stream->time_base = encoder_context->time_base;
    stream->avg_frame_rate = encoder_context->framerate;

    const VideoMetadata& m = options.metadata;
    if (!m.title.empty()) av_dict_set(&output->metadata, "title", m.title.c_str(), 0);
    if (!m.comment.empty()) av_dict_set(&output->metadata, "comment", m.comment.c_str(), 0);
    if (m.creation_time) {
      av_dict_set(&output->metadata, "creation_time",
                  format_creation_time(*m.creation_time).c_str(), 0);
    }
    if (!m.reelforge_json.empty()) {
      av_dict_set(&output->metadata, kReelForgeTag, m.reelforge_json.c_str(), 0);
    }

    err = avio_open(&output->pb, temp.c_str(), AVIO_FLAG_WRITE);
    if (err < 0) {
      throw Error(ErrorCategory::Io, "cannot create the video file (" + av_error_text(err) + ")",
                  temp);
    }
    AVDictionary* mux_options = nullptr;
    // faststart: the index goes to the front so players can start before the whole file arrives;
    // use_metadata_tags: keeps tags MP4 has no atom for (our "reelforge" JSON) as mdta keys.
    if (av_opt_find(output->priv_data, "movflags", nullptr, 0, 0) != nullptr) {
      av_dict_set(&mux_options, "movflags", "+faststart+use_metadata_tags", 0);
    }
    err = avformat_write_header(output, &mux_options);
    av_dict_free(&mux_options);
    if (err < 0) {
      throw Error(ErrorCategory::Io, "cannot start the video file (" + av_error_text(err) + ")",
                  path.string());
    }

    // Buffers reused for every frame: allocation per 1080p frame is measurable on small machines.
    yuv = detail::make_frame();
    yuv->format = AV_PIX_FMT_YUV420P;
    yuv->width = options.size.width_px;
    yuv->height = options.size.height_px;
    yuv->color_range = AVCOL_RANGE_MPEG;
    yuv->colorspace = AVCOL_SPC_BT709;
    err = av_frame_get_buffer(yuv.get(), 0);
    if (err < 0) throw Error(ErrorCategory::Internal, "frame buffer: " + av_error_text(err));
    rgb_view = detail::make_frame();
    const int stride_px = (options.size.width_px + 63) / 64 * 64;
    staging.create(options.size.height_px + 1, stride_px, CV_8UC3);
    staging_view = staging(cv::Rect(0, 0, options.size.width_px, options.size.height_px));
    packet = detail::make_packet();

    sws.reset(sws_alloc_context());
    if (!sws) throw Error(ErrorCategory::Internal, "out of memory (swscale)");
    av_opt_set_int(sws.get(), "srcw", options.size.width_px, 0);
    av_opt_set_int(sws.get(), "srch", options.size.height_px, 0);
    av_opt_set_int(sws.get(), "src_format", AV_PIX_FMT_RGB24, 0);
    av_opt_set_int(sws.get(), "dstw", options.size.width_px, 0);
    av_opt_set_int(sws.get(), "dsth", options.size.height_px, 0);
    av_opt_set_int(sws.get(), "dst_format", AV_PIX_FMT_YUV420P, 0);
    // Bicubic chroma filtering, as the ffmpeg program's default scaler does.
    av_opt_set_int(sws.get(), "sws_flags", SWS_BICUBIC, 0);
    // Slice threads (0 = one per core): the conversion runs while x264's threads wait for input.
    av_opt_set_int(sws.get(), "threads", 0, 0);
    err = sws_init_context(sws.get(), nullptr, nullptr);
    if (err < 0) throw Error(ErrorCategory::Internal, "swscale init: " + av_error_text(err));
    sws_setColorspaceDetails(sws.get(), sws_getCoefficients(SWS_CS_ITU709), 1,
                             sws_getCoefficients(SWS_CS_ITU709), 0, 0, 1 << 16, 1 << 16);
  }

  void drain_packets() {
    while (true) {
      int err = avcodec_receive_packet(encoder_context.get(), packet.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      if (err < 0) {
        throw Error(ErrorCategory::Internal,
                    "the video encoder failed (" + av_error_text(err) + ")", path.string());
      }
      av_packet_rescale_ts(packet.get(), encoder_context->time_base, stream->time_base);
      packet->stream_index = stream->index;
      err = av_interleaved_write_frame(output, packet.get());  // takes the packet's reference
      if (err < 0) {
        throw Error(ErrorCategory::Io, "writing the video failed (" + av_error_text(err) + ")",
                    path.string());
      }
    }
  }

  void encode(const AVFrame* frame) {
    const int err = avcodec_send_frame(encoder_context.get(), frame);
    if (err < 0) {
      throw Error(ErrorCategory::Internal, "the video encoder failed (" + av_error_text(err) + ")",
                  path.string());
    }
    drain_packets();
  }

  void write(const cv::Mat& rgb) {
    int err = av_frame_make_writable(yuv.get());
    if (err < 0) throw Error(ErrorCategory::Internal, "frame buffer: " + av_error_text(err));
    // swscale's SIMD readers may read a little past the end of a row; a staging copy with an
    // aligned stride and a spare row keeps that inside our allocation (a memcpy per frame, ~1%
    // of x264's time per frame even at ultrafast).
    rgb.copyTo(staging_view);
    wrap_mat(staging_view, rgb_view.get());
    err = sws_scale_frame(sws.get(), yuv.get(), rgb_view.get());
    av_frame_unref(rgb_view.get());
    if (err < 0) throw Error(ErrorCategory::Internal, "colour conversion: " + av_error_text(err));
    yuv->pts = frames;
    encode(yuv.get());
    ++frames;
  }

  void finish() {
    encode(nullptr);  // flush the encoder's delayed frames
    int err = av_write_trailer(output);
    if (err < 0) {
      throw Error(ErrorCategory::Io, "finishing the video failed (" + av_error_text(err) + ")",
                  path.string());
    }
    err = avio_closep(&output->pb);
    if (err < 0) {
      throw Error(ErrorCategory::Io, "closing the video failed (" + av_error_text(err) + ")",
                  path.string());
    }
    close_output();
    file->commit();
    finished = true;
  }
};

VideoWriter::VideoWriter(const fs::path& path, VideoWriterOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->options = std::move(options);
  try {
    impl_->open();
  } catch (...) {
    impl_->discard();
    throw;
  }
  spdlog::debug("writing {} ({}x{} @ {} fps, {}, crf {}, preset {})", path.string(),
                impl_->options.size.width_px, impl_->options.size.height_px,
                impl_->options.fps.to_string(), impl_->encoder, impl_->options.crf,
                impl_->options.preset);
}

VideoWriter::~VideoWriter() {
  if (impl_) impl_->discard();
}
VideoWriter::VideoWriter(VideoWriter&&) noexcept = default;
VideoWriter& VideoWriter::operator=(VideoWriter&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->discard();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void VideoWriter::write(const cv::Mat& rgb) {
  if (!impl_ || impl_->finished || !impl_->file) {
    throw Error(ErrorCategory::Internal, "VideoWriter::write after finish() or discard()");
  }
  const FrameSize expected = impl_->options.size;
  if (rgb.type() != CV_8UC3) {
    throw Error(ErrorCategory::InvalidArgument,
                "frame " + std::to_string(impl_->frames) + " has type " +
                    cv::typeToString(rgb.type()) + "; expected CV_8UC3 (8-bit RGB)",
                impl_->path.string());
  }
  if (rgb.cols != expected.width_px || rgb.rows != expected.height_px) {
    throw Error(ErrorCategory::InvalidArgument,
                "frame " + std::to_string(impl_->frames) + " is " + std::to_string(rgb.cols) + "x" +
                    std::to_string(rgb.rows) + "; expected " + std::to_string(expected.width_px) +
                    "x" + std::to_string(expected.height_px),
                impl_->path.string());
  }
  try {
    impl_->options.cancel.throw_if_cancelled("encoding " + impl_->path.string());
    impl_->write(rgb);
  } catch (...) {
    impl_->discard();
    throw;
  }
  if (impl_->options.progress) {
    impl_->options.progress({"encode", impl_->frames, impl_->options.expected_frames, {}});
  }
}

void VideoWriter::finish() {
  if (!impl_ || !impl_->file) {
    throw Error(ErrorCategory::Internal, "VideoWriter::finish after discard()");
  }
  if (impl_->finished) return;
  if (impl_->frames == 0) {
    impl_->discard();
    throw Error(ErrorCategory::InvalidArgument, "no frames were written", impl_->path.string());
  }
  try {
    impl_->options.cancel.throw_if_cancelled("encoding " + impl_->path.string());
    impl_->finish();
  } catch (...) {
    impl_->discard();
    throw;
  }
  if (impl_->options.progress) {
    impl_->options.progress({"encode", impl_->frames, impl_->frames, "done"});
  }
  spdlog::info("wrote {} ({} frames, {})", impl_->path.string(), impl_->frames, impl_->encoder);
}

void VideoWriter::discard() noexcept {
  if (impl_ && !impl_->finished) impl_->discard();
}

int64_t VideoWriter::frames_written() const {
  return impl_ ? impl_->frames : 0;
}
const std::string& VideoWriter::encoder() const {
  return impl_->encoder;
}
const fs::path& VideoWriter::path() const {
  return impl_->path;
}
bool VideoWriter::finished() const {
  return impl_ && impl_->finished;
}

}  // namespace reelforge::media
