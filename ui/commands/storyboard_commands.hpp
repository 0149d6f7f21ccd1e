#pragma once
// The undo commands behind every storyboard edit. Each command knows how to apply itself to a
// plain storyboard (applyTo, used by StoryboardDocument::push to check the result against the
// core's validation before anything changes) and how to replay itself on the document through its
// signal-emitting primitives (redo/undo). Shots are named by id, not index, so a command stays
// right whatever was inserted or moved before it.

#include <QString>
#include <QStringList>
#include <QUndoCommand>
#include <vector>

#include "reelforge/storyboard/storyboard.hpp"

class StoryboardDocument;

class StoryboardCommand : public QUndoCommand {
 public:
  StoryboardCommand(StoryboardDocument* document, const QString& text);
  // The storyboard as it would be after redo(), without touching the document.
  virtual void applyTo(reelforge::storyboard::Storyboard& storyboard) const = 0;

 protected:
  StoryboardDocument* document_;
};

// Inserts shots at an index: add, paste, duplicate, drop of files or gallery items.
class InsertShotsCommand : public StoryboardCommand {
 public:
  InsertShotsCommand(StoryboardDocument* document, int index,
                     std::vector<reelforge::storyboard::Shot> shots, const QString& text);
  void applyTo(reelforge::storyboard::Storyboard& storyboard) const override;
  void redo() override;
  void undo() override;

 private:
  int index_;
  std::vector<reelforge::storyboard::Shot> shots_;
};

class RemoveShotsCommand : public StoryboardCommand {
 public:
  RemoveShotsCommand(StoryboardDocument* document, const QStringList& ids);
  void applyTo(reelforge::storyboard::Storyboard& storyboard) const override;
  void redo() override;
  void undo() override;

 private:
  // Ascending by index, as they were before removal.
  std::vector<std::pair<int, reelforge::storyboard::Shot>> removed_;
};

// Reorders: the shots `ids` are taken out and put back, in their current order, at `index` of
// the remaining list.
class MoveShotsCommand : public StoryboardCommand {
 public:
  MoveShotsCommand(StoryboardDocument* document, const QStringList& ids, int index);
  void applyTo(reelforge::storyboard::Storyboard& storyboard) const override;
  void redo() override;
  void undo() override;
  bool changesOrder() const { return before_ != after_; }

 private:
  void reorderTo(const std::vector<std::string>& order);
  std::vector<std::string> before_;
  std::vector<std::string> after_;
};

// Replaces one shot (any field: duration, prompt, keyframe, transition, seed, ...).
class SetShotCommand : public StoryboardCommand {
 public:
  static constexpr int kId = 0x5e70;
  SetShotCommand(StoryboardDocument* document, reelforge::storyboard::Shot shot,
                 const QString& text, const QString& mergeKey);
  void applyTo(reelforge::storyboard::Storyboard& storyboard) const override;
  void redo() override;
  void undo() override;
  int id() const override { return mergeKey_.isEmpty() ? -1 : kId; }
  bool mergeWith(const QUndoCommand* other) override;

 private:
  reelforge::storyboard::Shot before_;
  reelforge::storyboard::Shot after_;
  QString mergeKey_;
};

class SetProjectCommand : public StoryboardCommand {
 public:
  static constexpr int kId = 0x5e71;
  SetProjectCommand(StoryboardDocument* document, reelforge::storyboard::ProjectSettings project,
                    const QString& text, const QString& mergeKey);
  void applyTo(reelforge::storyboard::Storyboard& storyboard) const override;
  void redo() override;
  void undo() override;
  int id() const override { return mergeKey_.isEmpty() ? -1 : kId; }
  bool mergeWith(const QUndoCommand* other) override;

 private:
  reelforge::storyboard::ProjectSettings before_;
  reelforge::storyboard::ProjectSettings after_;
  QString mergeKey_;
};

class SetTitleCommand : public StoryboardCommand {
 public:
  static constexpr int kId = 0x5e72;
  SetTitleCommand(StoryboardDocument* document, std::string title);
  void applyTo(reelforge::storyboard::Storyboard& storyboard) const override;
  void redo() override;
  void undo() override;
  int id() const override { return kId; }
  bool mergeWith(const QUndoCommand* other) override;

 private:
  std::string before_;
  std::string after_;
};
