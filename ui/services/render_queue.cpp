#include "services/render_queue.hpp"

#include <QFileInfo>
#include <QThread>

#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/io.hpp"

RenderQueue::RenderQueue(QObject* parent) : QAbstractListModel(parent) {
  qRegisterMetaType<RenderUpdate>();
  qRegisterMetaType<RenderOutcome>();
  thread_ = new QThread(this);
  thread_->setObjectName(QStringLiteral("render worker"));
  worker_ = new RenderWorker;  // no parent: it lives on thread_
  worker_->moveToThread(thread_);
  connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
  // Queued explicitly: the worker emits from its own thread, and the handlers touch the model.
  connect(worker_, &RenderWorker::progressed, this, &RenderQueue::onProgress, Qt::QueuedConnection);
  connect(worker_, &RenderWorker::finished, this, &RenderQueue::onFinished, Qt::QueuedConnection);
  thread_->start(QThread::LowPriority);
}

RenderQueue::~RenderQueue() {
  for (Job& job : jobs_) job.cancel.cancel();
  thread_->quit();
  thread_->wait();  // the running job stops at its next cancellation check
}

int RenderQueue::addJob(const reelforge::storyboard::Storyboard& storyboard, const QString& baseDir,
                        const QString& outputPath, const RenderJobOptions& options,
                        const QString& storyboardPath) {
  Job job;
  job.info.id = nextId_++;
  job.info.title = storyboard.title.empty() ? QFileInfo(outputPath).fileName()
                                            : QString::fromStdString(storyboard.title);
  job.info.output = outputPath;
  job.info.storyboardPath = storyboardPath;
  try {
    job.info.storyboardJson =
        QString::fromStdString(reelforge::storyboard::to_json_text(storyboard));
  } catch (const reelforge::Error&) {
    // Text JSON cannot hold; the render reports the same problem with its context.
  }
  for (const auto& shot : storyboard.shots) job.info.prompts << QString::fromStdString(shot.prompt);
  job.storyboard = storyboard;
  job.baseDir = baseDir;
  job.options = options;
  const int row = jobs_.size();
  beginInsertRows({}, row, row);
  jobs_.append(std::move(job));
  endInsertRows();
  const int id = jobs_.last().info.id;
  emit jobAdded(id);
  startNext();
  return id;
}

bool RenderQueue::cancel(int id) {
  const int row = rowOf(id);
  if (row < 0) return false;
  Job& job = jobs_[row];
  switch (job.info.state) {
    case RenderJobState::Queued:
      job.info.state = RenderJobState::Cancelled;
      job.info.error = tr("cancelled before it started");
      notifyChanged(id);
      emit jobFinished(id, RenderJobState::Cancelled);
      return true;
    case RenderJobState::Running:
      job.cancel.cancel();
      job.info.stage = tr("cancelling");
      notifyChanged(id);
      return true;
    default:
      return false;
  }
}

bool RenderQueue::retry(int id) {
  const int row = rowOf(id);
  if (row < 0) return false;
  Job& job = jobs_[row];
  if (job.info.state != RenderJobState::Failed && job.info.state != RenderJobState::Cancelled) {
    return false;
  }
  job.cancel = reelforge::CancellationToken();  // the old one stays fired
  job.resume = true;
  job.info.state = RenderJobState::Queued;
  job.info.error.clear();
  job.info.stage.clear();
  job.info.fraction = 0;
  job.info.etaSeconds = -1;
  // Retried jobs go to the back of the line, like a new job.
  if (row != jobs_.size() - 1) {
    beginMoveRows({}, row, row, {}, jobs_.size());
    jobs_.move(row, jobs_.size() - 1);
    endMoveRows();
  }
  notifyChanged(id);
  startNext();
  return true;
}

bool RenderQueue::removeJob(int id) {
  const int row = rowOf(id);
  if (row < 0) return false;
  const RenderJobState state = jobs_[row].info.state;
  if (state == RenderJobState::Queued || state == RenderJobState::Running) return false;
  beginRemoveRows({}, row, row);
  jobs_.removeAt(row);
  endRemoveRows();
  return true;
}

QList<int> RenderQueue::jobIds() const {
  QList<int> ids;
  for (const Job& job : jobs_) ids << job.info.id;
  return ids;
}

std::optional<RenderJobInfo> RenderQueue::job(int id) const {
  const int row = rowOf(id);
  if (row < 0) return std::nullopt;
  return jobs_[row].info;
}

int RenderQueue::runningJobId() const {
  return running_;
}

bool RenderQueue::isIdle() const {
  if (running_ != 0) return false;
  for (const Job& job : jobs_) {
    if (job.info.state == RenderJobState::Queued) return false;
  }
  return true;
}

int RenderQueue::rowOf(int id) const {
  for (int row = 0; row < jobs_.size(); ++row) {
    if (jobs_[row].info.id == id) return row;
  }
  return -1;
}

int RenderQueue::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : jobs_.size();
}

QVariant RenderQueue::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= jobs_.size()) return {};
  const RenderJobInfo& info = jobs_[index.row()].info;
  switch (role) {
    case Qt::DisplayRole:
      return info.title;
    case Qt::ToolTipRole:
      return info.error.isEmpty() ? info.output : info.error;
    case Qt::DecorationRole:
      return info.preview.isNull() ? QVariant(info.outcome.thumbnail) : QVariant(info.preview);
    case IdRole:
      return info.id;
    case StateRole:
      return static_cast<int>(info.state);
    case StageRole:
      return info.stage;
    case FractionRole:
      return info.fraction;
    case EtaRole:
      return info.etaSeconds;
    case PreviewRole:
      return info.preview;
    case ErrorRole:
      return info.error;
    case OutputRole:
      return info.output;
    default:
      return {};
  }
}

QHash<int, QByteArray> RenderQueue::roleNames() const {
  QHash<int, QByteArray> names = QAbstractListModel::roleNames();
  names.insert(IdRole, "jobId");
  names.insert(StateRole, "state");
  names.insert(StageRole, "stage");
  names.insert(FractionRole, "fraction");
  names.insert(EtaRole, "eta");
  names.insert(PreviewRole, "preview");
  names.insert(ErrorRole, "error");
  names.insert(OutputRole, "output");
  return names;
}

void RenderQueue::startNext() {
  if (running_ != 0) return;
  for (Job& job : jobs_) {
    if (job.info.state != RenderJobState::Queued) continue;
    job.info.state = RenderJobState::Running;
    job.info.stage = tr("starting");
    job.info.attempts += 1;
    running_ = job.info.id;
    RenderTicket ticket;
    ticket.id = job.info.id;
    ticket.storyboard = job.storyboard;
    ticket.baseDir = job.baseDir;
    ticket.output = job.info.output;
    ticket.options = job.options;
    ticket.cancel = job.cancel;
    ticket.resume = job.resume;
    RenderWorker* worker = worker_;
    QMetaObject::invokeMethod(
        worker_, [worker, ticket] { worker->render(ticket); }, Qt::QueuedConnection);
    notifyChanged(job.info.id);
    return;
  }
  emit idle();
}

void RenderQueue::onProgress(const RenderUpdate& update) {
  const int row = rowOf(update.id);
  if (row < 0) return;
  RenderJobInfo& info = jobs_[row].info;
  if (info.state != RenderJobState::Running) return;
  if (!jobs_[row].cancel.cancelled()) info.stage = update.stage;
  info.fraction = update.fraction;
  info.etaSeconds = update.etaSeconds;
  info.shot = update.shot;
  info.shotCount = update.shotCount;
  if (!update.preview.isNull()) info.preview = update.preview;
  notifyChanged(update.id);
}

void RenderQueue::onFinished(const RenderOutcome& outcome) {
  if (running_ == outcome.id) running_ = 0;
  const int row = rowOf(outcome.id);
  if (row >= 0) {
    RenderJobInfo& info = jobs_[row].info;
    info.state = outcome.state;
    info.outcome = outcome;
    info.error = outcome.error;
    info.etaSeconds = -1;
    if (outcome.state == RenderJobState::Done) {
      info.fraction = 1;
      info.stage = tr("done");
      info.output = outcome.output;
    } else {
      info.stage = toDisplayString(outcome.state);
    }
    notifyChanged(outcome.id);
    emit jobFinished(outcome.id, outcome.state);
  }
  startNext();
}

void RenderQueue::notifyChanged(int id) {
  const int row = rowOf(id);
  if (row < 0) return;
  const QModelIndex index = this->index(row);
  emit dataChanged(index, index);
  emit jobChanged(id);
}
