#pragma once
// The storyboard being edited: the core's storyboard::Storyboard plus the file it lives in and
// whether it has unsaved edits. Views (timeline, inspector, project settings) read it and listen
// to its fine-grained signals; they never change it directly but push commands (ui/commands/) on
// its undo stack through the edit*() methods, which first check the result against the core's
// validation so that an edit breaking a storyboard rule (the 20 s limit, duration bounds, a
// crossfade longer than its shots) is refused and the document stays as it was.

#include <QObject>
#include <QString>
#include <QStringList>
#include <QUndoStack>
#include <filesystem>
#include <string>
#include <vector>

#include "reelforge/storyboard/storyboard.hpp"
#include "reelforge/storyboard/validation.hpp"

namespace reelforge::storyboard {
struct CheckedStoryboard;
}  // namespace reelforge::storyboard

class StoryboardCommand;

class StoryboardDocument : public QObject {
  Q_OBJECT

 public:
  using Storyboard = reelforge::storyboard::Storyboard;
  using Shot = reelforge::storyboard::Shot;
  using ProjectSettings = reelforge::storyboard::ProjectSettings;

  explicit StoryboardDocument(QObject* parent = nullptr);
  ~StoryboardDocument() override;

  const Storyboard& storyboard() const { return storyboard_; }
  int shotCount() const { return static_cast<int>(storyboard_.shots.size()); }
  const Shot& shot(int index) const { return storyboard_.shots.at(static_cast<size_t>(index)); }
  // -1 when no shot has this id.
  int indexOfShot(const std::string& id) const;
  QUndoStack* undoStack() { return &undoStack_; }

  // Empty for a document never saved.
  QString filePath() const { return filePath_; }
  // Where relative media paths start: the file's folder, or the working folder when untitled.
  std::filesystem::path baseDir() const;
  // The title bar's name: the file name, or "Untitled".
  QString displayName() const;
  bool isDirty() const { return !undoStack_.isClean(); }

  // Replaces the whole document (undo history cleared). newDocument() starts with one empty
  // shot using `model`.
  void newDocument(const QString& model = {});
  // Loads through the core (storyboard::check_file): problems in the document (a missing media
  // file, an over-long prompt) come back as warnings and the document still opens, so the user
  // can fix them; a file that is not a storyboard throws reelforge::Error.
  QStringList open(const QString& path);
  // A document recovered from an autosave: the text is read relative to `filePath`'s folder,
  // marked as belonging to `filePath` (may be empty) and left dirty.
  QStringList restore(const std::string& jsonText, const QString& filePath);
  // A new, untitled document from a storyboard file or text (a featured example, a gallery
  // remix): media paths are made absolute against `baseDir` so they keep working wherever it is
  // saved, and the document reads as modified.
  QStringList importAsNew(const QString& path);
  QStringList loadAsNew(const std::string& jsonText, const QString& baseDir);
  // Saves through the core's atomic save (the previous file kept as .bak). Throws reelforge::Error.
  void save();
  void saveAs(const QString& path);

  // The core's issues for the current document (media checked for existence only).
  std::vector<reelforge::storyboard::Issue> issues() const;
  // A shot id not yet used in the document ("shot-4").
  std::string newShotId() const;
  // Shots given new unique ids (for paste and duplicate).
  std::vector<Shot> withFreshIds(std::vector<Shot> shots) const;
  // A media path as the renderer will open it.
  std::filesystem::path resolveMedia(const std::string& path) const;

  // Edits: each is one undo step. They return false and emit editRefused() with the core's
  // message when the result would break a storyboard rule; the document is then unchanged.
  bool editInsertShots(int index, const std::vector<Shot>& shots, const QString& text);
  bool editRemoveShots(const QStringList& ids);
  // Moves the shots `ids` (in their current order) so that they start at `index` of the list
  // without them.
  bool editMoveShots(const QStringList& ids, int index);
  // Replaces one shot. Consecutive edits of the same shot with the same non-empty `mergeKey`
  // (typing in the prompt, dragging a card's edge) become one undo step.
  bool editShot(const Shot& shot, const QString& text, const QString& mergeKey = {});
  bool editProject(const ProjectSettings& project, const QString& text,
                   const QString& mergeKey = {});
  bool editTitle(const QString& title);
  // Pushes any command after checking it; the edit*() methods above use it.
  bool push(StoryboardCommand* command);

  // Primitives for commands (ui/commands/): they change the storyboard and emit the signals,
  // without checks or undo entries.
  void doInsertShot(int index, const Shot& shot);
  void doRemoveShot(int index);
  void doMoveShot(int from, int to);
  void doSetShot(int index, const Shot& shot);
  void doSetProject(const ProjectSettings& project);
  void doSetTitle(const std::string& title);

 signals:
  void shotInserted(int index);
  void shotRemoved(int index);
  void shotMoved(int from, int to);
  void shotChanged(int index);
  void projectChanged();
  void titleChanged();
  // The whole document was replaced (new, open, restore).
  void documentReset();
  void filePathChanged(const QString& path);
  void dirtyChanged(bool dirty);
  // An edit was refused; `message` says why, in the core's words.
  void editRefused(const QString& message);
  // Saved to `path` (autosave drops its copy).
  void saved(const QString& path);

 private:
  void reset(Storyboard storyboard, const QString& filePath);
  void resetAsNew(reelforge::storyboard::CheckedStoryboard checked,
                  const std::filesystem::path& baseDir);

  Storyboard storyboard_;
  QString filePath_;
  QUndoStack undoStack_;
};
