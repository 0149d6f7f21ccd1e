#include "widgets/shot_card.hpp"

#include <QFileInfo>
#include <QPainter>
#include <QPainterPath>
#include <QThread>
#include <opencv2/core/mat.hpp>

#include "reelforge/core/error.hpp"
#include "reelforge/media/video_reader.hpp"
#include "services/image_convert.hpp"

QImage loadMediaThumbnail(const QString& path, int height) {
  try {
    reelforge::media::VideoReader reader(path.toStdString());
    cv::Mat rgb;
    if (!reader.read(rgb) || rgb.empty()) return {};
    return imageFromRgb(rgb).scaledToHeight(height, Qt::SmoothTransformation);
  } catch (const reelforge::Error&) {
    return {};
  }
}

ShotThumbnailCache::ShotThumbnailCache(QObject* parent)
    : QObject(parent), thread_(new QThread(this)), decoder_(new QObject) {
  decoder_->moveToThread(thread_);
  // Runs on the decoder thread; the result goes back to this object's thread. The destructor
  // waits for the thread, so `this` outlives every decode.
  connect(this, &ShotThumbnailCache::decodeRequested, decoder_, [this](const QString& path) {
    const qint64 modified = QFileInfo(path).lastModified().toMSecsSinceEpoch();
    const QImage image = loadMediaThumbnail(path, kHeight);
    QMetaObject::invokeMethod(
        this,
        [this, path, modified, image] {
          Entry& entry = entries_[path];
          entry.pending = false;
          entry.modified = modified;
          entry.image = image;
          emit thumbnailReady(path);
        },
        Qt::QueuedConnection);
  });
  thread_->setObjectName(QStringLiteral("thumbnails"));
  thread_->start(QThread::LowPriority);
}

ShotThumbnailCache::~ShotThumbnailCache() {
  thread_->quit();
  thread_->wait();
  delete decoder_;
}

QImage ShotThumbnailCache::thumbnail(const QString& path) {
  if (path.isEmpty()) return {};
  const QFileInfo info(path);
  const qint64 modified = info.exists() ? info.lastModified().toMSecsSinceEpoch() : -1;
  auto it = entries_.find(path);
  if (it != entries_.end() && (it->pending || it->modified == modified)) return it->image;
  Entry& entry = entries_[path];
  entry.modified = modified;
  entry.image = QImage();
  if (modified >= 0) {
    entry.pending = true;
    emit decodeRequested(path);
  }
  return {};
}

bool ShotThumbnailCache::isPending(const QString& path) const {
  const auto it = entries_.find(path);
  return it != entries_.end() && it->pending;
}

void paintShotCard(QPainter& painter, const QRectF& rect, const ShotCardView& view) {
  painter.save();
  painter.setRenderHint(QPainter::Antialiasing);
  const QRectF card = rect.adjusted(1, 1, -1, -1);
  QPainterPath outline;
  outline.addRoundedRect(card, 6, 6);
  painter.fillPath(outline, view.selected ? QColor(0x2f, 0x4f, 0x7f) : QColor(0x33, 0x36, 0x3d));
  painter.setClipPath(outline);

  // Thumbnail strip along the top, repeated across wide cards like a film strip.
  const QRectF strip(card.left(), card.top(), card.width(), card.height() * 0.62);
  if (!view.thumbnail.isNull()) {
    const QImage scaled =
        view.thumbnail.scaledToHeight(static_cast<int>(strip.height()), Qt::SmoothTransformation);
    for (qreal x = strip.left(); x < strip.right(); x += scaled.width()) {
      painter.drawImage(QPointF(x, strip.top()), scaled);
    }
  } else {
    painter.fillRect(strip, QColor(0x24, 0x26, 0x2b));
    painter.setPen(QColor(0x80, 0x84, 0x8c));
    painter.drawText(strip, Qt::AlignCenter, QObject::tr("text only"));
  }
  if (view.crossfadeWidth > 0) {
    QLinearGradient fade(card.left(), 0, card.left() + view.crossfadeWidth, 0);
    fade.setColorAt(0, QColor(0, 0, 0, 170));
    fade.setColorAt(1, QColor(0, 0, 0, 0));
    painter.fillRect(QRectF(card.left(), card.top(), view.crossfadeWidth, card.height()), fade);
  }

  const QRectF textArea(card.left() + 6, strip.bottom() + 2, card.width() - 12,
                        card.bottom() - strip.bottom() - 4);
  painter.setPen(Qt::white);
  QFont font = painter.font();
  font.setBold(true);
  painter.setFont(font);
  const QString header = QStringLiteral("%1  %2 s")
                             .arg(view.index + 1)
                             .arg(QString::number(view.durationSeconds, 'g', 4));
  painter.drawText(textArea, Qt::AlignLeft | Qt::AlignTop, header);
  font.setBold(false);
  painter.setFont(font);
  const QFontMetrics metrics(font);
  const QString prompt = view.prompt.isEmpty() ? QObject::tr("(no prompt)") : view.prompt;
  painter.setPen(view.prompt.isEmpty() ? QColor(0xb0, 0x80, 0x80) : QColor(0xdd, 0xdd, 0xdd));
  painter.drawText(
      textArea.adjusted(0, metrics.height(), 0, 0), Qt::AlignLeft | Qt::AlignTop,
      metrics.elidedText(prompt.simplified(), Qt::ElideRight, static_cast<int>(textArea.width())));
  if (!view.mediaBadge.isEmpty()) {
    const QRectF badge(card.left() + 4, card.top() + 4,
                       metrics.horizontalAdvance(view.mediaBadge) + 8, metrics.height() + 2);
    painter.fillRect(badge, QColor(0, 0, 0, 150));
    painter.drawText(badge, Qt::AlignCenter, view.mediaBadge);
  }
  painter.setClipping(false);

  QPen border(view.dropTarget ? QColor(0xff, 0xc1, 0x07)
              : view.current  ? QColor(0x6c, 0xa8, 0xff)
                              : QColor(0x55, 0x58, 0x60));
  border.setWidthF(view.dropTarget || view.current ? 2.5 : 1);
  painter.setPen(border);
  painter.drawPath(outline);
  // The grip on the right edge that resizes the card.
  painter.fillRect(
      QRectF(card.right() - 3, card.top() + card.height() * 0.3, 2, card.height() * 0.4),
      QColor(0xcc, 0xcc, 0xcc));
  painter.restore();
}
