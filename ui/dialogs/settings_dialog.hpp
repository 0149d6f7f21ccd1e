#pragma once
// Edits StudioSettings: model folders, output folder, device, threads, memory mode and the
// moderation policy. accept() checks the values with the core (the policy file must load) and
// keeps the dialog open with an inline message when one is wrong.

#include <QDialog>

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QSpinBox;
class StudioSettings;

class SettingsDialog : public QDialog {
  Q_OBJECT

 public:
  explicit SettingsDialog(StudioSettings* settings, QWidget* parent = nullptr);

  // Writes the values to the settings when they are valid; else shows why and stays open.
  void accept() override;
  QString errorText() const;

  // The editors, for tests and for focus.
  QListWidget* modelFoldersList() const { return folders_; }
  QLineEdit* outputFolderEdit() const { return output_; }
  QComboBox* deviceBox() const { return device_; }
  QSpinBox* threadsBox() const { return threads_; }
  QComboBox* memoryBox() const { return memory_; }
  QLineEdit* policyEdit() const { return policy_; }

 private:
  void load();

  StudioSettings* settings_ = nullptr;
  QListWidget* folders_ = nullptr;
  QLineEdit* output_ = nullptr;
  QComboBox* device_ = nullptr;
  QSpinBox* threads_ = nullptr;
  QComboBox* memory_ = nullptr;
  QLineEdit* policy_ = nullptr;
  QLabel* error_ = nullptr;
};
