#pragma once
// What a shot card on the timeline shows, and how it is drawn: a thumbnail (the shot's last
// render when there is one, else its keyframe, else the first frame of its source clip), the
// start of its prompt, its duration, and its state (selected, current, a drop target).

#include <QHash>
#include <QImage>
#include <QObject>
#include <QRectF>
#include <QString>

class QPainter;
class QThread;

struct ShotCardView {
  int index = 0;
  QString id;
  QString prompt;
  double durationSeconds = 0;
  QImage thumbnail;           // null: a placeholder is drawn
  QString mediaBadge;         // "keyframe", "clip" or empty
  double crossfadeWidth = 0;  // pixels at the left edge overlapping the previous card
  bool selected = false;
  bool current = false;
  bool dropTarget = false;
};

void paintShotCard(QPainter& painter, const QRectF& rect, const ShotCardView& view);

// Thumbnails of media files, decoded through the core's media reader (stills and videos alike) on
// a background thread, and cached by path and modification time: a repaint never decodes, and a
// large clip dropped on the timeline never stalls the UI thread.
class ShotThumbnailCache : public QObject {
  Q_OBJECT

 public:
  static constexpr int kHeight = 72;
  explicit ShotThumbnailCache(QObject* parent = nullptr);
  // Stops the decoder thread (after the decode in flight, if any).
  ~ShotThumbnailCache() override;

  // The thumbnail when it is decoded; else a null image, and then either it is being decoded
  // (isPending(); thumbnailReady() follows) or the file cannot be read.
  QImage thumbnail(const QString& path);
  bool isPending(const QString& path) const;

 signals:
  void thumbnailReady(const QString& path);
  // Internal: carries a request to the decoder thread.
  void decodeRequested(const QString& path);

 private:
  struct Entry {
    qint64 modified = 0;
    QImage image;
    bool pending = false;
  };
  QHash<QString, Entry> entries_;
  QThread* thread_;
  QObject* decoder_;
};

// The first frame of an image or video file, scaled to `height` pixels; null on failure.
QImage loadMediaThumbnail(const QString& path, int height);
