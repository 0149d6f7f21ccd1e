#include "widgets/preview_player.hpp"

#include <QCheckBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QKeyEvent>
#include <QLabel>
#include <QMap>
#include <QPainter>
#include <QPlainTextEdit>
#include <QSlider>
#include <QSplitter>
#include <QStyle>
#include <QThread>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <atomic>
#include <filesystem>
#include <memory>

#include "reelforge/core/error.hpp"
#include "reelforge/media/metadata.hpp"
#include "reelforge/media/video_info.hpp"
#include "reelforge/media/video_reader.hpp"
#include "reelforge/safety/provenance.hpp"
#include "services/display_text.hpp"
#include "services/image_convert.hpp"

namespace fs = std::filesystem;

namespace {

// Enough for a second or two of 1080p around the playhead; the reader refills the rest.
constexpr qint64 kCacheBudgetBytes = 192ll << 20;

// Reads the generation settings ReelForge writes into its clips (render_metadata_json).
void readReelForgeTag(ClipInfo& info) {
  if (info.reelforgeJson.isEmpty()) return;
  const QJsonObject tag = QJsonDocument::fromJson(info.reelforgeJson.toUtf8()).object();
  info.model =
      tag.value(QStringLiteral("model")).toObject().value(QStringLiteral("name")).toString();
  info.seed = static_cast<quint64>(tag.value(QStringLiteral("seed")).toDouble());
  const QJsonArray shots =
      tag.value(QStringLiteral("storyboard")).toObject().value(QStringLiteral("shots")).toArray();
  for (const QJsonValue& shot : shots) {
    info.prompts << shot.toObject().value(QStringLiteral("prompt")).toString();
  }
}

QString provenanceVerdict(const fs::path& clip) {
  const fs::path sidecar = reelforge::safety::provenance_path(clip);
  std::error_code ec;
  if (!fs::exists(sidecar, ec)) return QObject::tr("no provenance file");
  try {
    const auto manifest = reelforge::safety::ProvenanceManifest::load(sidecar);
    const auto check = reelforge::safety::check_provenance(manifest, clip);
    if (!check.signature_valid) return QObject::tr("provenance signature is invalid");
    return check.content_matches ? QObject::tr("signed and intact")
                                 : QObject::tr("signed, but the clip was modified");
  } catch (const reelforge::Error& e) {
    return QObject::tr("unreadable provenance file: %1").arg(errorText(e));
  }
}

}  // namespace

// Lives on the player's decoder thread. The UI thread only sets `wanted` and posts serve();
// results go back with queued calls on the player.
class FrameDecoder : public QObject {
 public:
  explicit FrameDecoder(PreviewPlayer* player) : player_(player) {}

  std::atomic<int> wanted{0};
  std::atomic<quint64> generation{0};
  std::atomic<qint64> cacheBudget{kCacheBudgetBytes};

  void open(const QString& path, quint64 gen) {
    reset();
    path_ = path;
    ClipInfo info;
    info.path = path;
    try {
      const fs::path file = fs::path(path.toStdString());
      const reelforge::media::VideoInfo probe = reelforge::media::probe(file);
      info.width = probe.width_px;
      info.height = probe.height_px;
      info.fps = probe.fps;
      info.frameCount = probe.frame_count;
      info.durationSeconds = probe.duration_s;
      info.codec = QString::fromStdString(probe.codec);
      if (probe.metadata.creation_time) {
        info.created = QString::fromStdString(
            reelforge::media::format_creation_time(*probe.metadata.creation_time));
      }
      info.reelforgeJson = QString::fromStdString(probe.metadata.reelforge_json);
      readReelForgeTag(info);
      info.provenance = provenanceVerdict(file);
    } catch (const reelforge::Error& e) {
      post([p = player_, message = errorText(e), gen] { p->onDecodeError(message, gen); });
      return;
    }
    post([p = player_, info, gen] { p->onOpened(info, gen); });
  }

  // Decodes the newest wanted frame, unless a newer clip was opened since the request.
  void serve(quint64 gen) {
    if (gen != generation.load() || path_.isEmpty()) return;
    int target = wanted.load();
    if (target == lastDelivered_) return;
    try {
      while (true) {
        if (auto it = cache_.find(target); it != cache_.end()) {
          deliver(target, it.value(), gen);
          return;
        }
        if (!reader_ || target < position_) reopen();
        cv::Mat rgb;
        // Forward to the target, caching what passes: playback and stepping back are then free.
        while (position_ <= target) {
          if (!reader_->read(rgb)) {
            // The container promised more frames than it holds: show the last one there is.
            if (position_ == 0)
              throw reelforge::Error(reelforge::ErrorCategory::Format, "no frames");
            target = position_ - 1;
            break;
          }
          remember(position_++, imageFromRgb(rgb));
          // A newer request that lies behind us restarts; one ahead just extends the run.
          const int newest = wanted.load();
          if (newest != target && (newest >= position_ || cache_.contains(newest))) {
            target = newest;
          } else if (newest != target) {
            target = newest;
            break;
          }
          if (gen != generation.load()) return;
        }
      }
    } catch (const reelforge::Error& e) {
      post([p = player_, message = errorText(e), gen] { p->onDecodeError(message, gen); });
    }
  }

  void reset() {
    reader_.reset();
    cache_.clear();
    order_.clear();
    cacheBytes_ = 0;
    position_ = 0;
    lastDelivered_ = -1;
    path_.clear();
  }

 private:
  template <typename F>
  void post(F&& f) {
    QMetaObject::invokeMethod(player_, std::forward<F>(f), Qt::QueuedConnection);
  }

  void reopen() {
    reader_ = std::make_unique<reelforge::media::VideoReader>(fs::path(path_.toStdString()));
    position_ = 0;
  }

  void remember(int index, const QImage& image) {
    cache_.insert(index, image);
    order_.append(index);
    cacheBytes_ += image.sizeInBytes();
    while (cacheBytes_ > cacheBudget.load() && order_.size() > 1) {
      const int oldest = order_.takeFirst();
      cacheBytes_ -= cache_.value(oldest).sizeInBytes();
      cache_.remove(oldest);
    }
  }

  void deliver(int index, const QImage& image, quint64 gen) {
    lastDelivered_ = index;
    post([p = player_, index, image, gen] { p->onFrame(index, image, gen); });
  }

  PreviewPlayer* player_;
  QString path_;
  std::unique_ptr<reelforge::media::VideoReader> reader_;
  int position_ = 0;  // index of the next frame the reader returns
  QMap<int, QImage> cache_;
  QList<int> order_;  // cache insertion order, oldest first
  qint64 cacheBytes_ = 0;
  int lastDelivered_ = -1;
};

// Paints the current frame letterboxed in whatever space the layout gives.
class FrameView : public QWidget {
 public:
  explicit FrameView(QWidget* parent) : QWidget(parent) {
    setMinimumSize(160, 90);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
  }
  void setImage(const QImage& image) {
    image_ = image;
    update();
  }
  // Shown while there is no frame, so an empty player says what it is for.
  void setPlaceholder(const QString& text) {
    placeholder_ = text;
    update();
  }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter painter(this);
    painter.fillRect(rect(), Qt::black);
    if (image_.isNull()) {
      painter.setPen(QColor(170, 170, 170));
      painter.drawText(rect().adjusted(24, 12, -24, -12), Qt::AlignCenter | Qt::TextWordWrap,
                       placeholder_);
      return;
    }
    QSize size = image_.size().scaled(this->size(), Qt::KeepAspectRatio);
    QRect target(QPoint(0, 0), size);
    target.moveCenter(rect().center());
    painter.setRenderHint(QPainter::SmoothPixmapTransform);
    painter.drawImage(target, image_);
  }

 private:
  QImage image_;
  QString placeholder_;
};

PreviewPlayer::PreviewPlayer(QWidget* parent) : QWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  view_ = new FrameView(this);
  playButton_ = new QToolButton(this);
  playButton_->setIcon(style()->standardIcon(QStyle::SP_MediaPlay));
  playButton_->setToolTip(tr("Play / pause (Space)"));
  backButton_ = new QToolButton(this);
  backButton_->setIcon(style()->standardIcon(QStyle::SP_MediaSeekBackward));
  backButton_->setToolTip(tr("Previous frame (Left)"));
  forwardButton_ = new QToolButton(this);
  forwardButton_->setIcon(style()->standardIcon(QStyle::SP_MediaSeekForward));
  forwardButton_->setToolTip(tr("Next frame (Right)"));
  loopBox_ = new QCheckBox(tr("Loop"), this);
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setAccessibleName(tr("Position"));
  timeLabel_ = new QLabel(this);
  timeLabel_->setMinimumWidth(110);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  metadata_ = new QPlainTextEdit(this);
  metadata_->setReadOnly(true);
  metadata_->setMaximumHeight(120);
  metadata_->setPlaceholderText(
      tr("The clip's size, frame rate, model, seed, prompts and provenance appear here."));
  view_->setPlaceholder(tr("No clip open.\nRender the storyboard (Ctrl+R) to watch it here, or "
                           "open a render from the gallery's Recent page."));

  auto* controls = new QHBoxLayout;
  controls->addWidget(backButton_);
  controls->addWidget(playButton_);
  controls->addWidget(forwardButton_);
  controls->addWidget(slider_, 1);
  controls->addWidget(timeLabel_);
  controls->addWidget(loopBox_);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(view_, 1);
  layout->addLayout(controls);
  layout->addWidget(status_);
  layout->addWidget(metadata_);

  timer_ = new QTimer(this);
  timer_->setTimerType(Qt::PreciseTimer);
  connect(timer_, &QTimer::timeout, this, &PreviewPlayer::onTick);
  connect(playButton_, &QToolButton::clicked, this, &PreviewPlayer::togglePlay);
  connect(backButton_, &QToolButton::clicked, this, &PreviewPlayer::stepBack);
  connect(forwardButton_, &QToolButton::clicked, this, &PreviewPlayer::stepForward);
  connect(loopBox_, &QCheckBox::toggled, this, &PreviewPlayer::setLoop);
  connect(slider_, &QSlider::valueChanged, this, [this](int value) {
    if (value != requested_) seek(value);
  });

  thread_ = new QThread(this);
  thread_->setObjectName(QStringLiteral("preview decoder"));
  decoder_ = new FrameDecoder(this);
  decoder_->moveToThread(thread_);
  connect(thread_, &QThread::finished, decoder_, &QObject::deleteLater);
  thread_->start();
  updateControls();
}

PreviewPlayer::~PreviewPlayer() {
  decoder_->generation.store(~0ull);  // a decode in progress stops at its next frame
  thread_->quit();
  thread_->wait();
}

void PreviewPlayer::openClip(const QString& path) {
  pause();
  const quint64 gen = ++generation_;
  decoder_->generation.store(gen);
  decoder_->wanted.store(0);
  info_ = ClipInfo();
  info_.path = path;
  current_ = -1;
  requested_ = 0;
  image_ = QImage();
  view_->setImage(image_);
  status_->setText(tr("Opening %1…").arg(QFileInfo(path).fileName()));
  metadata_->clear();
  FrameDecoder* decoder = decoder_;
  QMetaObject::invokeMethod(
      decoder_, [decoder, path, gen] { decoder->open(path, gen); }, Qt::QueuedConnection);
  updateControls();
}

void PreviewPlayer::closeClip() {
  pause();
  const quint64 gen = ++generation_;
  decoder_->generation.store(gen);
  FrameDecoder* decoder = decoder_;
  QMetaObject::invokeMethod(
      decoder_, [decoder] { decoder->reset(); }, Qt::QueuedConnection);
  info_ = ClipInfo();
  current_ = -1;
  requested_ = -1;
  image_ = QImage();
  view_->setImage(image_);
  status_->clear();
  metadata_->clear();
  updateControls();
}

void PreviewPlayer::play() {
  if (!hasClip() || playing_) return;
  if (current_ >= frameCount() - 1) seek(0);  // play from the start after the end
  playing_ = true;
  timer_->start(qMax(1, qRound(1000.0 / (info_.fps > 0 ? info_.fps : 24.0))));
  playButton_->setIcon(style()->standardIcon(QStyle::SP_MediaPause));
  emit playingChanged(true);
}

void PreviewPlayer::pause() {
  if (!playing_) return;
  playing_ = false;
  timer_->stop();
  playButton_->setIcon(style()->standardIcon(QStyle::SP_MediaPlay));
  emit playingChanged(false);
}

void PreviewPlayer::togglePlay() {
  playing_ ? pause() : play();
}

void PreviewPlayer::stepForward() {
  pause();
  if (hasClip()) seek(qMax(requested_, current_) + 1);
}

void PreviewPlayer::stepBack() {
  pause();
  if (hasClip()) seek(qMax(0, (requested_ >= 0 ? requested_ : current_) - 1));
}

void PreviewPlayer::seek(int frame) {
  if (!hasClip()) return;
  request(qBound(0, frame, frameCount() - 1));
}

void PreviewPlayer::setFrameCacheBytes(qint64 bytes) {
  decoder_->cacheBudget.store(bytes);
}

void PreviewPlayer::setLoop(bool loop) {
  loop_ = loop;
  if (loopBox_->isChecked() != loop) loopBox_->setChecked(loop);
}

void PreviewPlayer::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Space:
      togglePlay();
      break;
    case Qt::Key_Left:
      stepBack();
      break;
    case Qt::Key_Right:
      stepForward();
      break;
    case Qt::Key_Home:
      pause();
      seek(0);
      break;
    case Qt::Key_End:
      pause();
      seek(frameCount() - 1);
      break;
    default:
      QWidget::keyPressEvent(event);
      return;
  }
  event->accept();
}

void PreviewPlayer::request(int frame) {
  requested_ = frame;
  {
    const QSignalBlocker block(slider_);
    slider_->setValue(frame);
  }
  if (frame == current_) return;
  decoder_->wanted.store(frame);
  FrameDecoder* decoder = decoder_;
  const quint64 gen = generation_;
  QMetaObject::invokeMethod(
      decoder_, [decoder, gen] { decoder->serve(gen); }, Qt::QueuedConnection);
}

void PreviewPlayer::onOpened(const ClipInfo& info, quint64 generation) {
  if (generation != generation_) return;
  info_ = info;
  QStringList lines;
  lines << tr("%1 × %2, %3 fps, %4 frames, %5 s, %6")
               .arg(info.width)
               .arg(info.height)
               .arg(info.fps, 0, 'g', 4)
               .arg(info.frameCount)
               .arg(info.durationSeconds, 0, 'f', 2)
               .arg(info.codec);
  if (!info.created.isEmpty()) lines << tr("Created: %1").arg(info.created);
  if (!info.model.isEmpty()) lines << tr("Model: %1, seed %2").arg(info.model).arg(info.seed);
  for (int i = 0; i < info.prompts.size(); ++i) {
    lines << tr("Shot %1: %2").arg(i + 1).arg(info.prompts[i]);
  }
  lines << tr("Provenance: %1").arg(info.provenance);
  metadata_->setPlainText(lines.join(QLatin1Char('\n')));
  status_->setText(QFileInfo(info.path).fileName());
  slider_->setRange(0, qMax(0, frameCount() - 1));
  updateControls();
  emit clipOpened(info.path);
  requested_ = -1;
  request(0);
}

void PreviewPlayer::onFrame(int index, const QImage& image, quint64 generation) {
  if (generation != generation_) return;
  current_ = index;
  image_ = image;
  view_->setImage(image);
  if (requested_ < 0 || !playing_) {
    const QSignalBlocker block(slider_);
    slider_->setValue(index);
  }
  const double fps = info_.fps > 0 ? info_.fps : 24.0;
  timeLabel_->setText(QStringLiteral("%1 / %2  (%3 s)")
                          .arg(index + 1)
                          .arg(frameCount())
                          .arg(index / fps, 0, 'f', 2));
  emit frameShown(index);
}

void PreviewPlayer::onDecodeError(const QString& message, quint64 generation) {
  if (generation != generation_) return;
  pause();
  status_->setText(tr("Cannot play this clip: %1").arg(message));
  const bool opened = info_.frameCount > 0;
  if (!opened) {
    const QString path = info_.path;
    info_ = ClipInfo();
    updateControls();
    emit openFailed(message);
    Q_UNUSED(path);
  }
}

void PreviewPlayer::onTick() {
  const int next = qMax(current_, requested_) + 1;
  if (next >= frameCount()) {
    if (loop_) {
      request(0);
    } else {
      pause();
    }
    return;
  }
  // Behind the clock (decoding slower than the frame rate): ask for the frame that is due,
  // and the decoder skips to it.
  request(next);
}

void PreviewPlayer::updateControls() {
  const bool enabled = hasClip();
  for (QWidget* w : {static_cast<QWidget*>(playButton_), static_cast<QWidget*>(backButton_),
                     static_cast<QWidget*>(forwardButton_), static_cast<QWidget*>(slider_)}) {
    w->setEnabled(enabled);
  }
  if (!enabled) timeLabel_->clear();
}
