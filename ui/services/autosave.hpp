#pragma once
// Autosave and crash recovery. Every interval, a document with unsaved edits is copied into the
// autosave folder (by default user_data_dir()/autosave): one JSON file per document holding the
// document's own path, the time, and the storyboard in the core's format, written atomically.
// Saving the document, opening or starting another, or closing without keeping changes removes
// the copy; a copy still there on the next start means the app did not close normally, and it is
// offered for restore when it is newer than its file.

#include <QDateTime>
#include <QList>
#include <QObject>
#include <QString>
#include <string>

class QTimer;
class StoryboardDocument;

struct AutosaveCopy {
  QString copyPath;  // the autosave file
  QString filePath;  // the document it belongs to; empty for an untitled one
  QDateTime saved;   // UTC
  std::string storyboardJson;
};

class Autosave : public QObject {
  Q_OBJECT

 public:
  static constexpr int kDefaultIntervalSeconds = 60;
  static QString defaultFolder();

  Autosave(StoryboardDocument* document, const QString& folder = defaultFolder(),
           QObject* parent = nullptr);
  ~Autosave() override;

  QString folder() const { return folder_; }
  int intervalSeconds() const;
  void setIntervalSeconds(int seconds);
  // The copy of the current document (which may not exist yet).
  QString copyPath() const;

  // Copies dirty documents now; true when a copy was written. Errors go to failed().
  bool saveNow();
  // Removes the current document's copy.
  void discard();

  // Copies in `folder` worth offering: of untitled documents, of files that are gone, or newer
  // than their file. Unreadable copies are skipped. Newest first.
  static QList<AutosaveCopy> recoverable(const QString& folder = defaultFolder());
  // Removes a copy (after it was restored or declined).
  static void remove(const AutosaveCopy& copy);

 signals:
  void autosaved(const QString& copyPath);
  void failed(const QString& message);

 private:
  void documentPathChanged();

  StoryboardDocument* document_;
  QString folder_;
  QString key_;
  QTimer* timer_;
  // Edits seen and the count at the last write, so an unchanged document is not written again.
  // (The undo index is not enough: undo then a new edit comes back to the same index.)
  quint64 changes_ = 0;
  quint64 writtenChanges_ = 0;
  bool written_ = false;
};
