#pragma once
// The shot inspector: every field of the current shot (prompt and negative prompt with their
// token count against the model's limit, duration, keyframe, source clip and strength, the
// transition into the shot, continuity, seed). Each change is an undo command on the document;
// typing in a prompt merges into one step per field. When the document refuses a change (a
// duration past the 20 s limit) the fields go back to what the document holds.

#include <QDockWidget>
#include <QString>
#include <memory>

#include "reelforge/storyboard/storyboard.hpp"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QWidget;
class PromptTokenCounter;
class ShotThumbnailCache;
class StoryboardDocument;

class ShotInspector : public QDockWidget {
  Q_OBJECT

 public:
  explicit ShotInspector(StoryboardDocument* document, QWidget* parent = nullptr);
  ~ShotInspector() override;

  QString shotId() const { return shotId_; }

  // The editors, for keyboard users' tab order and for tests.
  QPlainTextEdit* promptEdit() const { return prompt_; }
  QPlainTextEdit* negativePromptEdit() const { return negative_; }
  QLabel* promptTokensLabel() const { return promptTokens_; }
  QLabel* negativeTokensLabel() const { return negativeTokens_; }
  QDoubleSpinBox* durationSpin() const { return duration_; }
  QComboBox* keyframeAtCombo() const { return keyframeAt_; }
  QDoubleSpinBox* strengthSpin() const { return strength_; }
  QComboBox* transitionCombo() const { return transition_; }
  QDoubleSpinBox* crossfadeSpin() const { return crossfade_; }
  QCheckBox* continuityCheck() const { return continuity_; }
  QCheckBox* seedLockCheck() const { return seedLock_; }
  QLineEdit* seedEdit() const { return seed_; }
  QPushButton* randomiseSeedButton() const { return randomise_; }
  const PromptTokenCounter& tokenCounter() const { return *tokens_; }

 public slots:
  // Shows the shot with this id (empty: nothing to inspect).
  void setShot(const QString& id);
  // What the file pickers do once a file is chosen; empty clears.
  void setKeyframeFile(const QString& path);
  void setSourceClipFile(const QString& path);
  void randomiseSeed();

 private:
  void buildUi();
  void refresh();
  void refreshTokens();
  // The inspected shot as the document has it; nullptr when there is none.
  const reelforge::storyboard::Shot* current() const;
  void commit(const reelforge::storyboard::Shot& shot, const QString& text,
              const QString& mergeKey = {});
  void browseKeyframe();
  void browseSourceClip();

  StoryboardDocument* document_;
  std::unique_ptr<PromptTokenCounter> tokens_;
  ShotThumbnailCache* thumbnails_;  // decoded once per file, off the UI thread
  QString shotId_;
  bool updating_ = false;

  QWidget* form_ = nullptr;
  QLabel* empty_ = nullptr;
  QLabel* header_ = nullptr;
  QPlainTextEdit* prompt_ = nullptr;
  QLabel* promptTokens_ = nullptr;
  QPlainTextEdit* negative_ = nullptr;
  QLabel* negativeTokens_ = nullptr;
  QLabel* tokenSource_ = nullptr;
  QDoubleSpinBox* duration_ = nullptr;
  QLabel* keyframeThumb_ = nullptr;
  QLineEdit* keyframePath_ = nullptr;
  QComboBox* keyframeAt_ = nullptr;
  QPushButton* keyframeClear_ = nullptr;
  QLabel* clipThumb_ = nullptr;
  QLineEdit* clipPath_ = nullptr;
  QDoubleSpinBox* strength_ = nullptr;
  QPushButton* clipClear_ = nullptr;
  QComboBox* transition_ = nullptr;
  QDoubleSpinBox* crossfade_ = nullptr;
  QCheckBox* continuity_ = nullptr;
  QCheckBox* seedLock_ = nullptr;
  QLineEdit* seed_ = nullptr;
  QPushButton* randomise_ = nullptr;
};
