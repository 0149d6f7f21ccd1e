#include "docks/render_queue_dock.hpp"

#include <QFileInfo>
#include <QGridLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

#include "services/render_queue.hpp"

namespace {

constexpr QSize kThumbnailSize(96, 54);

QString formatEta(double seconds) {
  if (seconds < 0) return {};
  const int s = qRound(seconds);
  if (s >= 3600) return QObject::tr("%1 h %2 min left").arg(s / 3600).arg((s % 3600) / 60);
  if (s >= 60) return QObject::tr("%1 min %2 s left").arg(s / 60).arg(s % 60);
  return QObject::tr("%1 s left").arg(s);
}

// The words a user reads for the core's stage names.
QString stageText(const QString& stage) {
  static const QHash<QString, QString> names = {
      {QStringLiteral("load"), QObject::tr("Loading the model")},
      {QStringLiteral("text"), QObject::tr("Reading the prompts")},
      {QStringLiteral("condition"), QObject::tr("Preparing keyframes and clips")},
      {QStringLiteral("sample"), QObject::tr("Generating")},
      {QStringLiteral("decode"), QObject::tr("Decoding frames")},
      {QStringLiteral("post"), QObject::tr("Finishing frames")},
      {QStringLiteral("encode"), QObject::tr("Encoding")},
      {QStringLiteral("done"), QObject::tr("Done")},
  };
  return names.value(stage, stage);
}

}  // namespace

RenderJobRow::RenderJobRow(QWidget* parent) : QWidget(parent) {
  thumbnail_ = new QLabel(this);
  thumbnail_->setFixedSize(kThumbnailSize);
  thumbnail_->setAlignment(Qt::AlignCenter);
  thumbnail_->setStyleSheet(QStringLiteral("background: #222"));
  title_ = new QLabel(this);
  // Long titles and messages wrap or clip instead of widening the dock.
  title_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  QFont bold = title_->font();
  bold.setBold(true);
  title_->setFont(bold);
  detail_ = new QLabel(this);
  detail_->setWordWrap(true);
  detail_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  detail_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  progress_ = new QProgressBar(this);
  progress_->setRange(0, 1000);
  progress_->setTextVisible(false);
  progress_->setMaximumHeight(10);
  cancel_ = new QPushButton(tr("Cancel"), this);
  retry_ = new QPushButton(tr("Retry"), this);
  play_ = new QPushButton(tr("Play"), this);
  remove_ = new QPushButton(tr("Clear"), this);
  remove_->setToolTip(tr("Remove from the list (the clip stays on disk)"));

  auto* buttons = new QHBoxLayout;
  buttons->setContentsMargins(0, 0, 0, 0);
  buttons->addStretch(1);
  for (QPushButton* b : {cancel_, retry_, play_, remove_}) buttons->addWidget(b);
  auto* layout = new QGridLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(thumbnail_, 0, 0, 4, 1);
  layout->addWidget(title_, 0, 1);
  layout->addWidget(progress_, 1, 1);
  layout->addWidget(detail_, 2, 1);
  layout->addLayout(buttons, 3, 1);
  layout->setColumnStretch(1, 1);
}

RenderQueueDock::RenderQueueDock(RenderQueue* queue, QWidget* parent)
    : QDockWidget(tr("Render queue"), parent), queue_(queue) {
  setObjectName(QStringLiteral("renderQueueDock"));
  auto* content = new QWidget;
  rowsLayout_ = new QVBoxLayout(content);
  rowsLayout_->setContentsMargins(2, 2, 2, 2);
  empty_ = new QLabel(tr("Nothing to render. Renders you start appear here."), content);
  empty_->setAlignment(Qt::AlignCenter);
  empty_->setWordWrap(true);
  rowsLayout_->addWidget(empty_);
  rowsLayout_->addStretch(1);
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(300);
  scroll->setWidget(content);
  setWidget(scroll);

  connect(queue_, &RenderQueue::jobAdded, this, &RenderQueueDock::addRow);
  connect(queue_, &RenderQueue::jobChanged, this, &RenderQueueDock::updateRow);
  connect(queue_, &QAbstractItemModel::rowsRemoved, this, [this] {
    // A job was forgotten: drop rows whose job is gone.
    for (auto it = rows_.begin(); it != rows_.end();) {
      if (!queue_->job(it.key())) {
        it.value()->deleteLater();
        it = rows_.erase(it);
      } else {
        ++it;
      }
    }
    empty_->setVisible(rows_.isEmpty());
  });
  for (int id : queue_->jobIds()) addRow(id);
}

void RenderQueueDock::addRow(int id) {
  auto* row = new RenderJobRow(widget());
  rows_.insert(id, row);
  rowsLayout_->insertWidget(rowsLayout_->count() - 1, row);  // above the stretch
  empty_->hide();
  connect(row->cancelButton(), &QPushButton::clicked, this, [this, id] { queue_->cancel(id); });
  connect(row->retryButton(), &QPushButton::clicked, this, [this, id] { queue_->retry(id); });
  connect(row->removeButton(), &QPushButton::clicked, this, [this, id] { queue_->removeJob(id); });
  connect(row->playButton(), &QPushButton::clicked, this, [this, id] {
    if (const auto job = queue_->job(id)) emit playRequested(job->output);
  });
  updateRow(id);
}

void RenderQueueDock::updateRow(int id) {
  RenderJobRow* row = rows_.value(id, nullptr);
  const std::optional<RenderJobInfo> job = queue_->job(id);
  if (!row || !job) return;
  row->title()->setText(job->title);
  row->title()->setToolTip(job->output);
  row->progress()->setValue(qRound(job->fraction * 1000));
  QString detail;
  switch (job->state) {
    case RenderJobState::Queued:
      detail = tr("Waiting");
      break;
    case RenderJobState::Running: {
      detail = stageText(job->stage);
      if (job->shotCount > 1 && job->shot >= 0) {
        detail += tr(" · shot %1 of %2").arg(job->shot + 1).arg(job->shotCount);
      }
      detail += QStringLiteral(" · %1%").arg(qRound(job->fraction * 100));
      const QString eta = formatEta(job->etaSeconds);
      if (!eta.isEmpty()) detail += QStringLiteral(" · ") + eta;
      break;
    }
    case RenderJobState::Done:
      detail = tr("Done · %1 · %2 s")
                   .arg(QFileInfo(job->output).fileName())
                   .arg(job->outcome.durationSeconds, 0, 'f', 1);
      break;
    case RenderJobState::Failed:
      detail = tr("Failed: %1").arg(job->error);
      break;
    case RenderJobState::Cancelled:
      detail = tr("Cancelled");
      break;
  }
  row->detail()->setText(detail);
  row->detail()->setStyleSheet(
      job->state == RenderJobState::Failed ? QStringLiteral("color: #c0392b") : QString());
  // While running: the latest latent preview; once done: the first frame of the clip.
  const QImage& image = job->outcome.thumbnail.isNull() || job->state != RenderJobState::Done
                            ? job->preview
                            : job->outcome.thumbnail;
  if (!image.isNull()) {
    row->thumbnail()->setPixmap(QPixmap::fromImage(
        image.scaled(kThumbnailSize, Qt::KeepAspectRatio, Qt::SmoothTransformation)));
  }
  const bool active = job->state == RenderJobState::Queued || job->state == RenderJobState::Running;
  row->cancelButton()->setVisible(active);
  row->retryButton()->setVisible(job->state == RenderJobState::Failed ||
                                 job->state == RenderJobState::Cancelled);
  row->playButton()->setVisible(job->state == RenderJobState::Done);
  row->removeButton()->setVisible(!active);
}
