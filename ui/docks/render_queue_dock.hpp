#pragma once
// The render queue as a dock: one row per job with its live preview thumbnail, progress bar,
// stage, ETA and cancel / retry / play buttons. It only presents RenderQueue's state.

#include <QDockWidget>
#include <QHash>

class QLabel;
class QVBoxLayout;
class RenderQueue;
class RenderJobRow;

class RenderQueueDock : public QDockWidget {
  Q_OBJECT

 public:
  explicit RenderQueueDock(RenderQueue* queue, QWidget* parent = nullptr);

  RenderJobRow* rowFor(int jobId) const { return rows_.value(jobId, nullptr); }
  RenderQueue* queue() const { return queue_; }

 signals:
  void playRequested(const QString& clipPath);

 private:
  void addRow(int id);
  void updateRow(int id);

  RenderQueue* queue_ = nullptr;
  QVBoxLayout* rowsLayout_ = nullptr;
  QLabel* empty_ = nullptr;
  QHash<int, RenderJobRow*> rows_;
};

// One job's row (public for tests: its buttons are real widgets).
class QProgressBar;
class QPushButton;
class RenderJobRow : public QWidget {
  Q_OBJECT

 public:
  explicit RenderJobRow(QWidget* parent = nullptr);

  QLabel* thumbnail() const { return thumbnail_; }
  QLabel* title() const { return title_; }
  QLabel* detail() const { return detail_; }  // stage and ETA, or the error
  QProgressBar* progress() const { return progress_; }
  QPushButton* cancelButton() const { return cancel_; }
  QPushButton* retryButton() const { return retry_; }
  QPushButton* playButton() const { return play_; }
  QPushButton* removeButton() const { return remove_; }

 private:
  QLabel* thumbnail_ = nullptr;
  QLabel* title_ = nullptr;
  QLabel* detail_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QPushButton* retry_ = nullptr;
  QPushButton* play_ = nullptr;
  QPushButton* remove_ = nullptr;
};
