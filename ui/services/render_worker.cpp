// The one Studio translation unit that includes the pipeline (LibTorch) headers.

#include "services/render_worker.hpp"

#include <QElapsedTimer>
#include <chrono>
#include <filesystem>

#include "reelforge/core/compute.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/pipeline/render_job.hpp"
#include "reelforge/storyboard/io.hpp"
#include "services/display_text.hpp"
#include "services/image_convert.hpp"

namespace fs = std::filesystem;
namespace pipeline = reelforge::pipeline;

namespace {

// Progress events arrive per sampling step and more often (per output frame); the UI needs a
// few per second. Stage changes and previews always pass.
constexpr qint64 kMinUpdateIntervalMs = 40;
constexpr int kThumbnailWidthPx = 320;

}  // namespace

QString toDisplayString(RenderJobState state) {
  switch (state) {
    case RenderJobState::Queued:
      return QObject::tr("queued");
    case RenderJobState::Running:
      return QObject::tr("running");
    case RenderJobState::Done:
      return QObject::tr("done");
    case RenderJobState::Failed:
      return QObject::tr("failed");
    case RenderJobState::Cancelled:
      return QObject::tr("cancelled");
  }
  return {};
}

RenderWorker::RenderWorker(QObject* parent) : QObject(parent) {}

RenderWorker::~RenderWorker() = default;

void RenderWorker::render(const RenderTicket& ticket) {
  RenderOutcome outcome;
  outcome.id = ticket.id;
  outcome.model = QString::fromStdString(ticket.storyboard.project.model);
  outcome.seed = ticket.storyboard.project.seed;
  const RenderJobOptions& o = ticket.options;
  fs::path jobDir;
  try {
    // The compute set-up is process-wide: only touch it when the settings changed.
    if (o.threads != appliedThreads_ || o.device != appliedDevice_) {
      reelforge::ComputeOptions compute;
      compute.device = reelforge::parse_device(o.device.toStdString());
      compute.threads = o.threads;
      reelforge::init_compute(compute);
      appliedThreads_ = o.threads;
      appliedDevice_ = o.device;
    }

    const fs::path output = fs::path(ticket.output.toStdString());
    const fs::path defaultJobDir = pipeline::default_job_dir(output);
    std::error_code ec;
    const bool resumable = ticket.resume && fs::exists(defaultJobDir / "job.json", ec);
    pipeline::RenderJob job = resumable ? pipeline::RenderJob::resume(defaultJobDir) : [&] {
      pipeline::RenderRequest request;
      request.storyboard = ticket.storyboard;
      request.base_dir = fs::path(ticket.baseDir.toStdString());
      request.output = output;
      if (!o.modelDir.isEmpty()) request.model_dir = fs::path(o.modelDir.toStdString());
      if (o.steps > 0) request.options.sampling.steps = o.steps;
      request.options.encoder_preset = o.encoderPreset.toStdString();
      request.options.crf = o.crf;
      request.options.preview_every_steps = o.previewEverySteps;
      request.keep_job = o.keepJobFolder;
      request.visible_watermark = o.visibleWatermark;
      if (!o.moderationPolicy.isEmpty()) {
        request.moderation_policy = fs::path(o.moderationPolicy.toStdString());
      }
      return pipeline::RenderJob(std::move(request));
    }();
    // The settings of now apply to a resumed job too (the user may have fixed them to retry).
    pipeline::RenderRequest& request = job.request();
    request.runtime.device = reelforge::parse_device(o.device.toStdString());
    request.runtime.memory = pipeline::parse_memory_mode(o.memoryMode.toStdString());
    jobDir = job.job_dir();

    QImage thumbnail;
    request.frame_sink = [&thumbnail](const cv::Mat& rgb, int64_t index) {
      if (index == 0)
        thumbnail = imageFromRgb(rgb).scaledToWidth(kThumbnailWidthPx, Qt::SmoothTransformation);
    };

    QElapsedTimer sinceUpdate;
    QString lastStage;
    auto progress = [&](const pipeline::RenderProgress& p) {
      const QString stage = QString::fromStdString(p.stage);
      const bool important = stage != lastStage || !p.preview.empty() || p.stage == "done";
      if (!important && sinceUpdate.isValid() && sinceUpdate.elapsed() < kMinUpdateIntervalMs) {
        return;
      }
      sinceUpdate.restart();
      lastStage = stage;
      RenderUpdate update;
      update.id = ticket.id;
      update.stage = stage;
      update.step = p.step;
      update.total = p.total;
      update.shot = p.shot;
      update.shotCount = p.shot_count;
      update.fraction = p.fraction;
      update.etaSeconds = p.eta_s;
      update.preview = imageFromRgb(p.preview);
      update.message = QString::fromStdString(p.message);
      emit progressed(update);
    };

    const pipeline::RenderResult result = job.run(progress, ticket.cancel);
    outcome.state = RenderJobState::Done;
    outcome.output = QString::fromStdString(result.output.string());
    outcome.jobDir = QString::fromStdString(result.job_dir.string());
    outcome.thumbnail = thumbnail;
    outcome.frames = result.frames;
    outcome.durationSeconds = result.duration_s;
    outcome.width = result.size.width_px;
    outcome.height = result.size.height_px;
    outcome.model = QString::fromStdString(request.storyboard.project.model);
    outcome.seed = request.storyboard.project.seed;
    outcome.windowsSampled = result.windows_sampled;
    outcome.windowsReused = result.windows_reused;
  } catch (const reelforge::Error& e) {
    outcome.state = e.category() == reelforge::ErrorCategory::Cancelled ? RenderJobState::Cancelled
                                                                        : RenderJobState::Failed;
    outcome.error = errorText(e);
  } catch (const std::exception& e) {
    outcome.state = RenderJobState::Failed;
    outcome.error = tr("internal error: %1").arg(QString::fromLocal8Bit(e.what()));
  }
  if (outcome.state != RenderJobState::Done) {
    std::error_code ec;
    if (!jobDir.empty() && fs::exists(jobDir / "job.json", ec)) {
      outcome.jobDir = QString::fromStdString(jobDir.string());
    }
  }
  outcome.finishedAt = QDateTime::currentDateTimeUtc();
  emit finished(outcome);
}
