#pragma once
// Runs render jobs on the thread it lives on (RenderQueue moves it to a worker QThread) through the
// core's pipeline::RenderJob, and reports in Qt types: progress updates with a latent preview as a
// QImage, and one outcome per job. Only render_worker.cpp includes the pipeline's LibTorch headers;
// this header stays Qt- and storyboard-only so the rest of ui/ compiles quickly.
//
// Each job loads its model itself (inside RenderJob::run) rather than the worker keeping one:
// the job moderates every prompt before loading anything, and a kept model would either skip
// that order or duplicate it here.

#include <QDateTime>
#include <QImage>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>

#include "reelforge/core/cancel.hpp"
#include "reelforge/storyboard/storyboard.hpp"
#include "services/studio_settings.hpp"

enum class RenderJobState { Queued, Running, Done, Failed, Cancelled };
QString toDisplayString(RenderJobState state);  // "queued", "running", ...

// One job as handed to the worker: a snapshot of the storyboard, never the live document.
struct RenderTicket {
  int id = 0;
  reelforge::storyboard::Storyboard storyboard;
  QString baseDir;  // where the storyboard's relative media paths start
  QString output;   // the clip to write
  RenderJobOptions options;
  reelforge::CancellationToken cancel;
  // Retry: resume from the job folder (RenderJob::resume) when a previous run left one.
  bool resume = false;
};

// A progress event, already throttled by the worker (at most one per ~40 ms unless the stage
// changes or a new preview arrives), so the UI thread's queue never floods.
struct RenderUpdate {
  int id = 0;
  QString stage;  // "load", "text", "sample", "decode", "post", "encode", "done"
  qint64 step = 0;
  qint64 total = 0;
  int shot = -1;
  int shotCount = 0;
  double fraction = 0;     // of the whole job, 0..1
  double etaSeconds = -1;  // negative while unknown
  QImage preview;          // a new latent preview when not null
  QString message;
};

struct RenderOutcome {
  int id = 0;
  RenderJobState state = RenderJobState::Done;  // Done, Failed or Cancelled
  QString error;     // the core's message ("category: context: message") when not Done
  QString output;    // the clip written (Done)
  QString jobDir;    // the job folder kept for a retry; empty when removed
  QImage thumbnail;  // the first output frame, at most 320 px wide (Done)
  qint64 frames = 0;
  double durationSeconds = 0;
  int width = 0;
  int height = 0;
  QString model;     // the model's name
  quint64 seed = 0;  // the project seed
  qint64 windowsSampled = 0;
  qint64 windowsReused = 0;  // taken from the job folder by a resumed run
  QDateTime finishedAt;
};

Q_DECLARE_METATYPE(RenderUpdate)
Q_DECLARE_METATYPE(RenderOutcome)

class RenderWorker : public QObject {
  Q_OBJECT

 public:
  explicit RenderWorker(QObject* parent = nullptr);
  ~RenderWorker() override;

  // Runs one job to its end on the calling thread (the worker thread), emitting progressed()
  // during it and finished() once. Never throws.
  void render(const RenderTicket& ticket);

 signals:
  void progressed(const RenderUpdate& update);
  void finished(const RenderOutcome& outcome);

 private:
  int appliedThreads_ = -1;  // the thread count last given to the core, -1 = never
  QString appliedDevice_;
};
