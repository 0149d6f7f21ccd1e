#pragma once
// The render queue: jobs run one at a time, in order, on a worker thread (RenderWorker), while the
// UI thread only receives queued signals; nothing here ever waits on the worker, except the
// destructor at shutdown (after cancelling, so the wait is one sampling step at most).
//
// A list model (one row per job, roles below) for views, plus per-job signals. A job keeps its
// storyboard snapshot, so retrying after a failure or a cancel renders what was queued, resuming
// from the job folder when the first run left one.

#include <QAbstractListModel>
#include <QHash>
#include <QImage>
#include <QList>
#include <QString>
#include <optional>

#include "services/render_worker.hpp"

class QThread;

struct RenderJobInfo {
  int id = 0;
  QString title;  // the storyboard's title, or the output's file name
  QString output;
  QString storyboardPath;  // the document's file, when it has one (for the gallery's remix)
  QString storyboardJson;  // the snapshot, canonical JSON (storyboard::to_json_text)
  QStringList prompts;
  RenderJobState state = RenderJobState::Queued;
  QString stage;
  double fraction = 0;
  double etaSeconds = -1;
  int shot = -1;
  int shotCount = 0;
  QImage preview;  // the latest latent preview
  QString error;
  int attempts = 0;       // runs started (a retry adds one)
  RenderOutcome outcome;  // valid once the job has ended
};

class RenderQueue : public QAbstractListModel {
  Q_OBJECT

 public:
  enum Role {
    IdRole = Qt::UserRole + 1,
    StateRole,     // int(RenderJobState)
    StageRole,     // QString
    FractionRole,  // double
    EtaRole,       // double seconds, negative = unknown
    PreviewRole,   // QImage
    ErrorRole,     // QString
    OutputRole,    // QString
  };

  explicit RenderQueue(QObject* parent = nullptr);
  ~RenderQueue() override;

  // Queues a render of a snapshot of `storyboard` and returns its id. Runs at once when idle.
  int addJob(const reelforge::storyboard::Storyboard& storyboard, const QString& baseDir,
             const QString& outputPath, const RenderJobOptions& options = {},
             const QString& storyboardPath = {});
  // A queued job is dropped from the line (state Cancelled); a running one is asked to stop
  // (the core's CancellationToken) and reports Cancelled when it has. False for an ended job.
  bool cancel(int id);
  // Queues a failed or cancelled job again (resuming from its job folder). False otherwise.
  bool retry(int id);
  // Forgets an ended job. False for a queued or running one.
  bool removeJob(int id);

  QList<int> jobIds() const;
  std::optional<RenderJobInfo> job(int id) const;
  int runningJobId() const;  // 0 when idle
  bool isIdle() const;
  int rowOf(int id) const;  // -1 when unknown

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

 signals:
  void jobAdded(int id);
  void jobChanged(int id);  // state, progress or preview
  void jobFinished(int id, RenderJobState state);
  void idle();  // the line is empty and nothing runs

 private:
  void startNext();
  void onProgress(const RenderUpdate& update);
  void onFinished(const RenderOutcome& outcome);
  void notifyChanged(int id);

  struct Job {
    RenderJobInfo info;
    reelforge::storyboard::Storyboard storyboard;
    QString baseDir;
    RenderJobOptions options;
    reelforge::CancellationToken cancel;
    bool resume = false;
  };
  QList<Job> jobs_;  // in queue order
  int nextId_ = 1;
  int running_ = 0;
  QThread* thread_ = nullptr;
  RenderWorker* worker_ = nullptr;
};
