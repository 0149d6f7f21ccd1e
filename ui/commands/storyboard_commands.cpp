#include "commands/storyboard_commands.hpp"

#include <algorithm>

#include "models/storyboard_document.hpp"

using reelforge::storyboard::ProjectSettings;
using reelforge::storyboard::Shot;
using reelforge::storyboard::Storyboard;

namespace {

std::vector<std::string> idsOf(const Storyboard& storyboard) {
  std::vector<std::string> ids;
  ids.reserve(storyboard.shots.size());
  for (const Shot& shot : storyboard.shots) ids.push_back(shot.id);
  return ids;
}

int indexIn(const std::vector<Shot>& shots, const std::string& id) {
  for (size_t i = 0; i < shots.size(); ++i) {
    if (shots[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

StoryboardCommand::StoryboardCommand(StoryboardDocument* document, const QString& text)
    : QUndoCommand(text), document_(document) {}

// --- insert -----------------------------------------------------------------------------------

InsertShotsCommand::InsertShotsCommand(StoryboardDocument* document, int index,
                                       std::vector<Shot> shots, const QString& text)
    : StoryboardCommand(document, text),
      index_(std::clamp(index, 0, document->shotCount())),
      shots_(std::move(shots)) {}

void InsertShotsCommand::applyTo(Storyboard& storyboard) const {
  storyboard.shots.insert(storyboard.shots.begin() + index_, shots_.begin(), shots_.end());
}

void InsertShotsCommand::redo() {
  for (size_t i = 0; i < shots_.size(); ++i) {
    document_->doInsertShot(index_ + static_cast<int>(i), shots_[i]);
  }
}

void InsertShotsCommand::undo() {
  for (size_t i = shots_.size(); i-- > 0;) document_->doRemoveShot(index_ + static_cast<int>(i));
}

// --- remove -----------------------------------------------------------------------------------

RemoveShotsCommand::RemoveShotsCommand(StoryboardDocument* document, const QStringList& ids)
    : StoryboardCommand(document, ids.size() == 1
                                      ? QObject::tr("Delete shot")
                                      : QObject::tr("Delete %1 shots").arg(ids.size())) {
  for (const QString& id : ids) {
    const int index = document->indexOfShot(id.toStdString());
    if (index >= 0) removed_.emplace_back(index, document->shot(index));
  }
  std::sort(removed_.begin(), removed_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  removed_.erase(std::unique(removed_.begin(), removed_.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 removed_.end());
}

void RemoveShotsCommand::applyTo(Storyboard& storyboard) const {
  for (auto it = removed_.rbegin(); it != removed_.rend(); ++it) {
    storyboard.shots.erase(storyboard.shots.begin() + it->first);
  }
}

void RemoveShotsCommand::redo() {
  for (auto it = removed_.rbegin(); it != removed_.rend(); ++it) document_->doRemoveShot(it->first);
}

void RemoveShotsCommand::undo() {
  for (const auto& [index, shot] : removed_) document_->doInsertShot(index, shot);
}

// --- move -------------------------------------------------------------------------------------

MoveShotsCommand::MoveShotsCommand(StoryboardDocument* document, const QStringList& ids, int index)
    : StoryboardCommand(document, ids.size() == 1 ? QObject::tr("Move shot")
                                                  : QObject::tr("Move %1 shots").arg(ids.size())) {
  before_ = idsOf(document->storyboard());
  std::vector<std::string> moving;
  std::vector<std::string> rest;
  for (const std::string& id : before_) {
    (ids.contains(QString::fromStdString(id)) ? moving : rest).push_back(id);
  }
  index = std::clamp(index, 0, static_cast<int>(rest.size()));
  after_ = rest;
  after_.insert(after_.begin() + index, moving.begin(), moving.end());
}

void MoveShotsCommand::applyTo(Storyboard& storyboard) const {
  std::vector<Shot> shots;
  shots.reserve(after_.size());
  for (const std::string& id : after_) {
    shots.push_back(storyboard.shots[static_cast<size_t>(indexIn(storyboard.shots, id))]);
  }
  storyboard.shots = std::move(shots);
}

// Single moves, so that views see shotMoved() for each card that changes place.
void MoveShotsCommand::reorderTo(const std::vector<std::string>& order) {
  for (size_t i = 0; i < order.size(); ++i) {
    const int from = document_->indexOfShot(order[i]);
    if (from != static_cast<int>(i)) document_->doMoveShot(from, static_cast<int>(i));
  }
}

void MoveShotsCommand::redo() {
  reorderTo(after_);
}
void MoveShotsCommand::undo() {
  reorderTo(before_);
}

// --- set shot ---------------------------------------------------------------------------------

SetShotCommand::SetShotCommand(StoryboardDocument* document, Shot shot, const QString& text,
                               const QString& mergeKey)
    : StoryboardCommand(document, text), after_(std::move(shot)), mergeKey_(mergeKey) {
  before_ = document->shot(document->indexOfShot(after_.id));
}

void SetShotCommand::applyTo(Storyboard& storyboard) const {
  storyboard.shots[static_cast<size_t>(indexIn(storyboard.shots, after_.id))] = after_;
}

void SetShotCommand::redo() {
  document_->doSetShot(document_->indexOfShot(after_.id), after_);
}
void SetShotCommand::undo() {
  document_->doSetShot(document_->indexOfShot(before_.id), before_);
}

bool SetShotCommand::mergeWith(const QUndoCommand* other) {
  const auto* next = static_cast<const SetShotCommand*>(other);
  if (next->mergeKey_ != mergeKey_ || next->after_.id != after_.id) return false;
  after_ = next->after_;
  return true;
}

// --- set project ------------------------------------------------------------------------------

SetProjectCommand::SetProjectCommand(StoryboardDocument* document, ProjectSettings project,
                                     const QString& text, const QString& mergeKey)
    : StoryboardCommand(document, text),
      before_(document->storyboard().project),
      after_(std::move(project)),
      mergeKey_(mergeKey) {}

void SetProjectCommand::applyTo(Storyboard& storyboard) const {
  storyboard.project = after_;
}
void SetProjectCommand::redo() {
  document_->doSetProject(after_);
}
void SetProjectCommand::undo() {
  document_->doSetProject(before_);
}

bool SetProjectCommand::mergeWith(const QUndoCommand* other) {
  const auto* next = static_cast<const SetProjectCommand*>(other);
  if (next->mergeKey_ != mergeKey_) return false;
  after_ = next->after_;
  return true;
}

// --- set title --------------------------------------------------------------------------------

SetTitleCommand::SetTitleCommand(StoryboardDocument* document, std::string title)
    : StoryboardCommand(document, QObject::tr("Rename storyboard")),
      before_(document->storyboard().title),
      after_(std::move(title)) {}

void SetTitleCommand::applyTo(Storyboard& storyboard) const {
  storyboard.title = after_;
}
void SetTitleCommand::redo() {
  document_->doSetTitle(after_);
}
void SetTitleCommand::undo() {
  document_->doSetTitle(before_);
}

bool SetTitleCommand::mergeWith(const QUndoCommand* other) {
  after_ = static_cast<const SetTitleCommand*>(other)->after_;
  return true;
}
