#include "reelforge/media/encode_benchmark.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "reelforge/core/atomic_file.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/media/synthetic.hpp"
#include "reelforge/media/video_writer.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace reelforge::media {
namespace {

// A scratch folder removed with its content when the benchmark ends, however it ends.
class ScratchDir {
 public:
  explicit ScratchDir(const fs::path& requested) {
    if (!requested.empty()) {
      fs::create_directories(requested);
      path_ = requested;
      return;
    }
    std::random_device rd;
    std::ostringstream name;
    name << "reelforge-bench-" << ::getpid() << "-" << std::hex << rd();
    path_ = fs::temp_directory_path() / name.str();
    fs::create_directories(path_);
    owned_ = true;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (owned_) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool owned_ = false;
};

struct ProgramRun {
  int exit_code = -1;
  std::string log;  // stderr
};

// Runs `argv` with stderr captured to `log_path`, polling `cancel` so Ctrl-C stops it too.
ProgramRun run_program(const std::vector<std::string>& argv, const fs::path& log_path,
                       const CancellationToken& cancel) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    throw Error(ErrorCategory::NotFound,
                "cannot run '" + argv[0] + "' (" + std::strerror(err) + "); is FFmpeg installed?");
  }
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (cancel.cancelled()) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, &status, 0);
      cancel.throw_if_cancelled("benchmark");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ProgramRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::error_code ec;
  if (fs::exists(log_path, ec)) run.log = read_file(log_path);
  return run;
}

// ffmpeg -benchmark ends with "bench: utime=1.2s stime=0.1s rtime=3.4s"; rtime is the wall time
// of the transcode itself, without process start-up and library loading.
double parse_rtime(const std::string& log) {
  const auto at = log.rfind("rtime=");
  if (at == std::string::npos) return -1;
  return std::strtod(log.c_str() + at + 6, nullptr);
}

int64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto s = fs::file_size(p, ec);
  return ec ? 0 : int64_t(s);
}

}  // namespace

EncodeBenchmarkResult run_encode_benchmark(const EncodeBenchmarkOptions& options,
                                           const ProgressCallback& progress,
                                           const CancellationToken& cancel) {
  if (options.frames < 1 || options.frames > 100000) {
    throw Error(ErrorCategory::InvalidArgument, "frame count " + std::to_string(options.frames) +
                                                    " is out of range; valid: 1 to 100000");
  }
  if (options.rounds < 1 || options.rounds > 100) {
    throw Error(ErrorCategory::InvalidArgument, "rounds must be 1 to 100");
  }
  ScratchDir dir(options.work_dir);
  const FrameSize size = options.size;
  const fs::path raw_path = dir.path() / "frames.rgb";
  const size_t frame_bytes = size_t(size.width_px) * size_t(size.height_px) * 3;

  // Both sides read the same raw file, so neither pays for making the frames.
  {
    std::ofstream raw(raw_path, std::ios::binary | std::ios::trunc);
    if (!raw) throw Error(ErrorCategory::Io, "cannot create the frame file", raw_path.string());
    for (int i = 0; i < options.frames; ++i) {
      cancel.throw_if_cancelled("benchmark");
      const cv::Mat frame = synthetic_frame(size, i);
      raw.write(reinterpret_cast<const char*>(frame.data), std::streamsize(frame_bytes));
      if (progress) progress({"prepare", i + 1, options.frames, "making test frames"});
    }
    raw.flush();
    if (!raw)
      throw Error(ErrorCategory::Io, "writing the frame file failed (disk full?)",
                  raw_path.string());
  }

  EncodeBenchmarkResult result;
  result.frames = options.frames;
  result.size = size;
  const fs::path ours_path = dir.path() / "ours.mp4";
  const fs::path ffmpeg_path = dir.path() / "ffmpeg.mp4";
  const fs::path log_path = dir.path() / "ffmpeg.log";

  // Same settings on both sides: codec, preset, CRF, yuv420p, BT.709 matrix, bicubic chroma
  // filtering, +faststart, and automatic threads (the default of both).
  const std::vector<std::string> ffmpeg_argv = {
      options.ffmpeg_program,
      "-hide_banner",
      "-nostdin",
      "-y",
      "-benchmark",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgb24",
      "-s",
      std::to_string(size.width_px) + "x" + std::to_string(size.height_px),
      "-framerate",
      options.fps.to_string(),
      "-i",
      raw_path.string(),
      "-vf",
      "scale=out_color_matrix=bt709:out_range=tv:flags=bicubic",
      "-c:v",
      "libx264",
      "-preset",
      options.preset,
      "-crf",
      std::to_string(options.crf),
      "-pix_fmt",
      "yuv420p",
      "-colorspace",
      "bt709",
      "-color_primaries",
      "bt709",
      "-color_trc",
      "bt709",
      "-movflags",
      "+faststart",
      ffmpeg_path.string()};
  for (const auto& a : ffmpeg_argv)
    result.ffmpeg_command += (result.ffmpeg_command.empty() ? "" : " ") + a;

  cv::Mat frame(size.height_px, size.width_px, CV_8UC3);
  for (int round = 0; round < options.rounds; ++round) {
    // Ours: open, every frame from the raw file, finish (the faststart rewrite included).
    {
      std::ifstream raw(raw_path, std::ios::binary);
      VideoWriterOptions w;
      w.size = size;
      w.fps = options.fps;
      w.crf = options.crf;
      w.preset = options.preset;
      w.cancel = cancel;
      const auto start = std::chrono::steady_clock::now();
      VideoWriter writer(ours_path, w);
      for (int i = 0; i < options.frames; ++i) {
        raw.read(reinterpret_cast<char*>(frame.data), std::streamsize(frame_bytes));
        if (!raw)
          throw Error(ErrorCategory::Io, "reading the frame file failed", raw_path.string());
        writer.write(frame);
        if (progress) progress({"ours", i + 1, options.frames, "reelforge VideoWriter"});
      }
      writer.finish();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      result.encoder = writer.encoder();
      if (round == 0 || seconds < result.ours.seconds) result.ours.seconds = seconds;
      result.ours.bytes = size_of(ours_path);
    }
    // The ffmpeg program on the same frames.
    {
      if (progress) progress({"ffmpeg", 0, 1, "ffmpeg program"});
      const ProgramRun run = run_program(ffmpeg_argv, log_path, cancel);
      if (run.exit_code != 0) {
        const std::string tail =
            run.log.size() > 600 ? run.log.substr(run.log.size() - 600) : run.log;
        throw Error(ErrorCategory::Io, "the ffmpeg program failed (exit " +
                                           std::to_string(run.exit_code) + "): " + tail);
      }
      const double seconds = parse_rtime(run.log);
      if (seconds <= 0) {
        throw Error(ErrorCategory::Format,
                    "ffmpeg -benchmark printed no rtime; its output: " + run.log);
      }
      if (round == 0 || seconds < result.ffmpeg.seconds) result.ffmpeg.seconds = seconds;
      result.ffmpeg.bytes = size_of(ffmpeg_path);
      if (progress) progress({"ffmpeg", 1, 1, "ffmpeg program"});
    }
  }
  result.ours.fps = options.frames / result.ours.seconds;
  result.ffmpeg.fps = options.frames / result.ffmpeg.seconds;
  result.ratio = result.ours.fps / result.ffmpeg.fps;
  return result;
}

}  // namespace reelforge::media
