// The render queue and its dock with a real tiny random-weight model (models::write_random_model):
// jobs render real MP4s on the worker thread through the core's RenderJob; cancel, retry (resumed
// from the job folder), failures with the core's message, and the UI thread's responsiveness
// while a job runs.

#include <QApplication>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <filesystem>

#include "docks/gallery_dock.hpp"
#include "docks/render_queue_dock.hpp"
#include "models/gallery_index.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/media/video_info.hpp"
#include "reelforge/models/model_writer.hpp"
#include "services/render_queue.hpp"
#include "services/studio_settings.hpp"
#include "widgets/preview_player.hpp"

namespace fs = std::filesystem;
namespace storyboard = reelforge::storyboard;

namespace {

constexpr char kModelName[] = "tiny-queue";
constexpr int kRenderTimeoutMs = 300000;  // 2 shared cores under a training run: be patient

storyboard::Storyboard board(double duration_s,
                             const std::string& prompt = "a red ball rolls left") {
  storyboard::Storyboard sb;
  sb.title = "queue test";
  sb.project.model = kModelName;
  sb.project.fps = 16;
  sb.project.quality = storyboard::QualityPreset::Draft;  // the model's native 80x48
  sb.project.seed = 7;
  storyboard::Shot shot;
  shot.id = "one";
  shot.prompt = prompt;
  shot.duration_s = duration_s;
  sb.shots.push_back(shot);
  return sb;
}

// Waits, with a running event loop, until the running job has sampled more than `fraction` of
// its work. False when it ended first or took too long.
bool waitForProgress(RenderQueue& queue, int id, double fraction) {
  QDeadlineTimer deadline(kRenderTimeoutMs);
  while (!deadline.hasExpired()) {
    const std::optional<RenderJobInfo> job = queue.job(id);
    if (!job || (job->state != RenderJobState::Queued && job->state != RenderJobState::Running)) {
      qWarning("job %d ended before %.2f: %s %s", id, fraction,
               qPrintable(toDisplayString(job->state)), qPrintable(job->error));
      return false;
    }
    if (job->stage == QLatin1String("sample") && job->fraction > fraction) return true;
    QTest::qWait(5);
  }
  return false;
}

// Waits, with a running event loop, until the job reaches one of the end states; Running when
// it does not in time (so the caller's comparison fails).
RenderJobState waitForEnd(RenderQueue& queue, int id) {
  QDeadlineTimer deadline(kRenderTimeoutMs);
  while (!deadline.hasExpired()) {
    const std::optional<RenderJobInfo> job = queue.job(id);
    if (job && job->state != RenderJobState::Queued && job->state != RenderJobState::Running) {
      return job->state;
    }
    QTest::qWait(20);
  }
  return RenderJobState::Running;
}

}  // namespace

class TestQueue : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void rendersAJobWithProgressAndPreviews();
  void cancelsARunningJobAndRetriesFromItsJobFolder();
  void cancelsAQueuedJobBeforeItRuns();
  void reportsTheCoresErrorAndRetriesAFailedJob();
  void dockShowsJobsAndItsButtonsAct();
  void uiStaysResponsiveWhileAJobRuns();

 private:
  RenderJobOptions options() const;
  QString output(const QString& name) const { return QDir(dir_.path()).filePath(name); }

  QTemporaryDir dir_;
  std::unique_ptr<StudioSettings> settings_;
};

void TestQueue::initTestCase() {
  QVERIFY(dir_.isValid());
  // The install key and the moderation audit log go to a scratch user data folder.
  qputenv("REELFORGE_DATA", QDir(dir_.path()).filePath(QStringLiteral("data")).toUtf8());
  reelforge::models::RandomModelSpec spec = reelforge::models::RandomModelSpec::tiny();
  spec.name = kModelName;
  const fs::path models = fs::path(dir_.path().toStdString()) / "models";
  reelforge::models::write_random_model(models / kModelName, spec);
  // The model is found the way the app finds it: through a model folder in the settings.
  settings_ = std::make_unique<StudioSettings>(QDir(dir_.path()).filePath(QStringLiteral("s.ini")));
  settings_->setModelFolders({QString::fromStdString(models.string())});
  settings_->setDevice(QStringLiteral("cpu"));
  settings_->setThreads(1);  // the other core stays free for the UI thread and the test
}

RenderJobOptions TestQueue::options() const {
  RenderJobOptions o = settings_->renderOptions();
  o.encoderPreset = QStringLiteral("ultrafast");
  o.previewEverySteps = 1;
  return o;
}

void TestQueue::rendersAJobWithProgressAndPreviews() {
  RenderQueue queue;
  // Finished renders land in the gallery's Recent page.
  GalleryIndex gallery(output(QStringLiteral("gallery/gallery.sqlite")));
  GalleryDock galleryDock(&gallery);
  galleryDock.watchQueue(&queue);
  QSignalSpy added(&queue, &RenderQueue::jobAdded);
  QSignalSpy finished(&queue, &RenderQueue::jobFinished);
  QStringList stages;
  int previews = 0;
  double lastFraction = 0;
  bool fractionWentBack = false;
  connect(&queue, &RenderQueue::jobChanged, this, [&](int id) {
    const auto job = queue.job(id);
    if (job->state != RenderJobState::Running) return;
    if (stages.isEmpty() || stages.last() != job->stage) stages << job->stage;
    if (!job->preview.isNull()) ++previews;
    if (job->fraction + 1e-9 < lastFraction) fractionWentBack = true;
    lastFraction = job->fraction;
  });

  const QString clip = output(QStringLiteral("first.mp4"));
  const int id = queue.addJob(board(1.0), dir_.path(), clip, options());
  QCOMPARE(added.count(), 1);
  QCOMPARE(queue.rowCount(), 1);
  QCOMPARE(queue.runningJobId(), id);
  QCOMPARE(queue.job(id)->state, RenderJobState::Running);  // started at once: the line was empty

  QCOMPARE(waitForEnd(queue, id), RenderJobState::Done);
  const auto job = queue.job(id);
  QVERIFY2(job->error.isEmpty(), qPrintable(job->error));
  QCOMPARE(finished.count(), 1);
  QVERIFY(QFileInfo::exists(clip));
  QCOMPARE(job->outcome.output, clip);
  const reelforge::media::VideoInfo info = reelforge::media::probe(clip.toStdString());
  QCOMPARE(info.width_px, 80);
  QCOMPARE(info.height_px, 48);
  QCOMPARE(info.frame_count, job->outcome.frames);
  QCOMPARE(info.frame_count, 16ll);
  QVERIFY(!job->outcome.thumbnail.isNull());
  QCOMPARE(job->outcome.model, QString::fromLatin1(kModelName));
  QCOMPARE(job->outcome.seed, quint64(7));
  QCOMPARE(job->fraction, 1.0);
  QVERIFY2(stages.contains(QStringLiteral("sample")), qPrintable(stages.join(',')));
  QVERIFY2(stages.contains(QStringLiteral("encode")), qPrintable(stages.join(',')));
  QVERIFY(previews > 0);
  QVERIFY(!fractionWentBack);
  QVERIFY(queue.isIdle());
  QVERIFY(job->storyboardJson.contains(QStringLiteral("a red ball rolls left")));
  const QList<GalleryEntry> recent = gallery.search(QStringLiteral("red ball"));
  QCOMPARE(recent.size(), 1);
  QCOMPARE(recent[0].clipPath, clip);
  QCOMPARE(recent[0].model, QString::fromLatin1(kModelName));
  QCOMPARE(recent[0].seed, quint64(7));
  QCOMPARE(recent[0].storyboardJson, job->storyboardJson);
  QVERIFY(!QImage(recent[0].thumbnailPath).isNull());
  QCOMPARE(galleryDock.recentList()->count(), 1);

  // The player reads the render's own metadata and its signed provenance sidecar.
  PreviewPlayer player;
  QSignalSpy opened(&player, &PreviewPlayer::clipOpened);
  player.openClip(clip);
  QVERIFY(opened.wait(10000));
  QCOMPARE(player.frameCount(), 16);
  QCOMPARE(player.clipInfo().model, QString::fromLatin1(kModelName));
  QCOMPARE(player.clipInfo().seed, quint64(7));
  QCOMPARE(player.clipInfo().prompts, QStringList{QStringLiteral("a red ball rolls left")});
  QCOMPARE(player.clipInfo().provenance, QStringLiteral("signed and intact"));
  QVERIFY(!queue.removeJob(12345));
  QVERIFY(queue.removeJob(id));
  QCOMPARE(queue.rowCount(), 0);
}

void TestQueue::cancelsARunningJobAndRetriesFromItsJobFolder() {
  RenderQueue queue;
  const QString clip = output(QStringLiteral("cancelled.mp4"));
  RenderJobOptions o = options();
  o.steps = 8;
  // Several sampling windows (17 native frames each), so some are saved before the cancel.
  const int id = queue.addJob(board(6.0), dir_.path(), clip, o);
  // The core weighs stages by their measured cost (decoding dominates with the tiny model), so
  // 0.09 is a few windows in: their latents are in the job folder by then.
  QVERIFY(waitForProgress(queue, id, 0.09));
  QVERIFY(queue.cancel(id));
  QCOMPARE(waitForEnd(queue, id), RenderJobState::Cancelled);
  QVERIFY(!QFileInfo::exists(clip));  // nothing under the final name
  const auto cancelled = queue.job(id);
  QVERIFY2(!cancelled->outcome.jobDir.isEmpty(), "the job folder should be kept for a retry");
  QVERIFY(QFileInfo::exists(cancelled->outcome.jobDir + QStringLiteral("/job.json")));
  QVERIFY(!queue.cancel(id));  // already ended

  QVERIFY(queue.retry(id));
  QCOMPARE(queue.job(id)->attempts, 2);
  QCOMPARE(waitForEnd(queue, id), RenderJobState::Done);
  const auto done = queue.job(id);
  QVERIFY2(done->error.isEmpty(), qPrintable(done->error));
  QVERIFY(QFileInfo::exists(clip));
  QVERIFY2(done->outcome.windowsReused > 0, "the retry should reuse the windows sampled before");
  QCOMPARE(reelforge::media::probe(clip.toStdString()).frame_count, 96ll);
  QVERIFY(!queue.retry(id));  // a finished job is not retried
}

void TestQueue::cancelsAQueuedJobBeforeItRuns() {
  RenderQueue queue;
  const int first =
      queue.addJob(board(1.0), dir_.path(), output(QStringLiteral("a.mp4")), options());
  const int second =
      queue.addJob(board(1.0), dir_.path(), output(QStringLiteral("b.mp4")), options());
  QCOMPARE(queue.job(second)->state, RenderJobState::Queued);
  QSignalSpy finished(&queue, &RenderQueue::jobFinished);
  QVERIFY(queue.cancel(second));
  QCOMPARE(queue.job(second)->state, RenderJobState::Cancelled);
  QCOMPARE(finished.count(), 1);
  QCOMPARE(waitForEnd(queue, first), RenderJobState::Done);
  QTRY_VERIFY(queue.isIdle());
  QCOMPARE(queue.job(second)->attempts, 0);  // it never ran
  QVERIFY(!QFileInfo::exists(output(QStringLiteral("b.mp4"))));
}

void TestQueue::reportsTheCoresErrorAndRetriesAFailedJob() {
  RenderQueue queue;
  // A prompt the shipped moderation policy blocks: the core refuses before loading anything.
  const int blocked = queue.addJob(board(1.0, "a gory scene"), dir_.path(),
                                   output(QStringLiteral("blocked.mp4")), options());
  QCOMPARE(waitForEnd(queue, blocked), RenderJobState::Failed);
  QVERIFY2(queue.job(blocked)->error.contains(QStringLiteral("graphic violence")),
           qPrintable(queue.job(blocked)->error));

  storyboard::Storyboard missing = board(1.0);
  missing.project.model = "no-such-model";
  const int id =
      queue.addJob(missing, dir_.path(), output(QStringLiteral("missing.mp4")), options());
  QCOMPARE(waitForEnd(queue, id), RenderJobState::Failed);
  const QString error = queue.job(id)->error;
  QVERIFY2(error.contains(QStringLiteral("no installed model called 'no-such-model'")),
           qPrintable(error));
  QVERIFY2(error.contains(QString::fromLatin1(kModelName)), qPrintable(error));  // lists installed
  QCOMPARE(queue.data(queue.index(queue.rowOf(id)), RenderQueue::ErrorRole).toString(), error);
  QVERIFY(queue.retry(id));
  QCOMPARE(waitForEnd(queue, id), RenderJobState::Failed);
  QCOMPARE(queue.job(id)->attempts, 2);
}

void TestQueue::dockShowsJobsAndItsButtonsAct() {
  RenderQueue queue;
  RenderQueueDock dock(&queue);
  dock.resize(420, 400);
  dock.show();
  QVERIFY(QTest::qWaitForWindowExposed(&dock));
  RenderJobOptions o = options();
  o.steps = 20;
  const int id = queue.addJob(board(12.0), dir_.path(), output(QStringLiteral("dock.mp4")), o);
  RenderJobRow* row = dock.rowFor(id);
  QVERIFY(row);
  QCOMPARE(row->title()->text(), QStringLiteral("queue test"));
  QVERIFY(waitForProgress(queue, id, 0.01));
  // The live preview thumbnail and the progress bar follow the job.
  QTRY_VERIFY(row->cancelButton()->isVisible());
  QVERIFY(!row->retryButton()->isVisible());
  QVERIFY(!row->thumbnail()->pixmap().isNull());
  QVERIFY(row->progress()->value() > 0);
  QVERIFY2(row->detail()->text().contains(QStringLiteral("Generating")) ||
               row->detail()->text().contains(QStringLiteral("Decoding")),
           qPrintable(row->detail()->text()));

  QTest::mouseClick(row->cancelButton(), Qt::LeftButton);
  QCOMPARE(waitForEnd(queue, id), RenderJobState::Cancelled);
  QTRY_VERIFY(row->retryButton()->isVisible());
  QVERIFY(!row->cancelButton()->isVisible());
  QVERIFY(row->detail()->text().contains(QStringLiteral("Cancelled")));

  QTest::mouseClick(row->retryButton(), Qt::LeftButton);
  QVERIFY(queue.job(id)->state == RenderJobState::Running ||
          queue.job(id)->state == RenderJobState::Queued);
  QCOMPARE(waitForEnd(queue, id), RenderJobState::Done);
  QTRY_VERIFY(row->playButton()->isVisible());
  QSignalSpy play(&dock, &RenderQueueDock::playRequested);
  QTest::mouseClick(row->playButton(), Qt::LeftButton);
  QCOMPARE(play.count(), 1);
  QCOMPARE(play.first().first().toString(), output(QStringLiteral("dock.mp4")));
  QTest::mouseClick(row->removeButton(), Qt::LeftButton);
  QCOMPARE(queue.rowCount(), 0);
  QTRY_VERIFY(dock.rowFor(id) == nullptr);
}

// The one timed check: while a render runs on the worker, a 10 ms timer on the UI
// thread is never more than 50 ms late.
void TestQueue::uiStaysResponsiveWhileAJobRuns() {
  RenderQueue queue;
  RenderJobOptions o = options();
  o.steps = 8;
  const int id = queue.addJob(board(10.0), dir_.path(), output(QStringLiteral("latency.mp4")), o);
  QElapsedTimer clock;
  clock.start();
  qint64 last = clock.elapsed();
  qint64 worst = 0;
  int ticks = 0;
  int ticksWhileRunning = 0;
  QTimer timer;
  timer.setTimerType(Qt::PreciseTimer);
  timer.setInterval(10);
  connect(&timer, &QTimer::timeout, this, [&] {
    const qint64 now = clock.elapsed();
    worst = std::max(worst, now - last - 10);
    last = now;
    ++ticks;
    const auto job = queue.job(id);
    if (job && job->state == RenderJobState::Running) ++ticksWhileRunning;
  });
  timer.start();
  QCOMPARE(waitForEnd(queue, id), RenderJobState::Done);
  timer.stop();
  qInfo("UI timer: %d ticks (%d while rendering), worst lateness %lld ms", ticks, ticksWhileRunning,
        static_cast<long long>(worst));
  QVERIFY2(ticksWhileRunning > 50, "the measurement must overlap the render");
  QVERIFY2(worst < 50, qPrintable(QStringLiteral("the UI thread was %1 ms late").arg(worst)));
}

int main(int argc, char** argv) {
  // As the app does: OpenMP threads that spin after each parallel region would steal the core
  // the UI thread needs (core/compute.hpp).
  reelforge::reexec_with_openmp_environment(argv);
  QApplication app(argc, argv);
  TestQueue test;
  return QTest::qExec(&test, argc, argv);
}

#include "test_queue.moc"
