#pragma once
// Project settings: the storyboard's title, output aspect (drawn as the frame's shape), resolution,
// fps, the model (from the core's registry, with what it supports), the quality preset and the
// project seed. They map one to one onto storyboard::ProjectSettings; each change is an undo
// command on the document.

#include <QDockWidget>

class QButtonGroup;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class AspectPreview;
class StoryboardDocument;

class ProjectSettingsDock : public QDockWidget {
  Q_OBJECT

 public:
  explicit ProjectSettingsDock(StoryboardDocument* document, QWidget* parent = nullptr);

  QLineEdit* titleEdit() const { return title_; }
  QButtonGroup* aspectButtons() const { return aspect_; }
  QComboBox* resolutionCombo() const { return resolution_; }
  QDoubleSpinBox* fpsSpin() const { return fps_; }
  QComboBox* modelCombo() const { return model_; }
  QLabel* modelInfoLabel() const { return modelInfo_; }
  QComboBox* qualityCombo() const { return quality_; }
  QLineEdit* seedEdit() const { return seed_; }
  QLabel* outputSizeLabel() const { return outputSize_; }

 public slots:
  // Re-reads the installed models (after an import, or a change of model folders).
  void reloadModels();

 private:
  void buildUi();
  void refresh();
  void showModelInfo();

  StoryboardDocument* document_;
  bool updating_ = false;
  QLineEdit* title_ = nullptr;
  QButtonGroup* aspect_ = nullptr;
  AspectPreview* preview_ = nullptr;
  QComboBox* resolution_ = nullptr;
  QLabel* outputSize_ = nullptr;
  QDoubleSpinBox* fps_ = nullptr;
  QComboBox* model_ = nullptr;
  QLabel* modelInfo_ = nullptr;
  QComboBox* quality_ = nullptr;
  QLabel* qualityInfo_ = nullptr;
  QLineEdit* seed_ = nullptr;
};
