#pragma once
// Plays a rendered clip: play/pause, a scrub slider, frame steps, loop, and the clip's metadata
// (probe, the ReelForge generation tag, and the provenance sidecar's verdict).
//
// Frames are decoded with the core's media::VideoReader on a worker thread, never on the UI
// thread. The reader only goes forward, so the decoder keeps a small cache of recent frames
// (stepping back and re-showing are free) and reopens the file only to go back past it. Requests
// are coalesced: while the decoder is busy, only the newest frame asked for is decoded next, so
// a fast scrub never builds a backlog.

#include <QImage>
#include <QString>
#include <QWidget>

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QSlider;
class QThread;
class QTimer;
class QToolButton;
class FrameDecoder;
class FrameView;

// What the player shows about the open clip.
struct ClipInfo {
  QString path;
  int width = 0;
  int height = 0;
  double fps = 0;
  qint64 frameCount = 0;
  double durationSeconds = 0;
  QString codec;
  QString created;  // the container's creation time, ISO 8601
  QString model;    // from the reelforge tag, when present
  quint64 seed = 0;
  QStringList prompts;
  QString reelforgeJson;  // the whole tag
  QString provenance;     // "signed and intact", "signed but modified", "no provenance file", ...
};

class PreviewPlayer : public QWidget {
  Q_OBJECT

 public:
  explicit PreviewPlayer(QWidget* parent = nullptr);
  ~PreviewPlayer() override;

  // Opens a clip in the background: clipOpened() then frameShown(0), or openFailed(message).
  void openClip(const QString& path);
  void closeClip();

  QString clipPath() const { return info_.path; }
  const ClipInfo& clipInfo() const { return info_; }
  bool hasClip() const { return !info_.path.isEmpty() && frameCount() > 0; }
  int frameCount() const { return static_cast<int>(info_.frameCount); }
  int currentFrame() const { return current_; }  // -1 before the first frame arrives
  QImage currentImage() const { return image_; }
  bool isPlaying() const { return playing_; }
  bool loops() const { return loop_; }
  // Memory for decoded frames (default 192 MB); at least the newest frame is always kept.
  void setFrameCacheBytes(qint64 bytes);

 public slots:
  void play();
  void pause();
  void togglePlay();
  void stepForward();
  void stepBack();
  void seek(int frame);  // clamped to the clip
  void setLoop(bool loop);

 signals:
  void clipOpened(const QString& path);
  void openFailed(const QString& message);
  void frameShown(int frame);
  void playingChanged(bool playing);

 protected:
  // Space plays / pauses, Left / Right step, Home / End jump, when the player has focus.
  void keyPressEvent(QKeyEvent* event) override;

 private:
  friend class FrameDecoder;  // delivers its results through the on*() handlers
  void onOpened(const ClipInfo& info, quint64 generation);
  void onFrame(int index, const QImage& image, quint64 generation);
  void onDecodeError(const QString& message, quint64 generation);
  void onTick();
  void request(int frame);
  void updateControls();

  ClipInfo info_;
  QImage image_;
  int current_ = -1;
  int requested_ = -1;
  bool playing_ = false;
  bool loop_ = false;
  quint64 generation_ = 0;  // bumps on every open, so late frames of an old clip are ignored

  QThread* thread_ = nullptr;
  FrameDecoder* decoder_ = nullptr;
  QTimer* timer_ = nullptr;
  FrameView* view_ = nullptr;
  QToolButton* playButton_ = nullptr;
  QToolButton* backButton_ = nullptr;
  QToolButton* forwardButton_ = nullptr;
  QCheckBox* loopBox_ = nullptr;
  QSlider* slider_ = nullptr;
  QLabel* timeLabel_ = nullptr;
  QPlainTextEdit* metadata_ = nullptr;
  QLabel* status_ = nullptr;
};
