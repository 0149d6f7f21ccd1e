#include "models/storyboard_document.hpp"

#include <QDir>
#include <QFileInfo>
#include <algorithm>
#include <memory>
#include <set>

#include "commands/storyboard_commands.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/models/registry.hpp"
#include "reelforge/storyboard/io.hpp"
#include "reelforge/storyboard/validation.hpp"

namespace sb = reelforge::storyboard;
namespace fs = std::filesystem;

namespace {

fs::path toPath(const QString& path) {
  return fs::path(path.toStdString());
}

sb::ValidationOptions editValidation() {
  sb::ValidationOptions options;
  // Edits are checked on every keystroke and drag: media files are checked on load and by the
  // render, not here.
  options.media = sb::MediaChecks::None;
  return options;
}

// Prompts are written a character at a time and may be empty or too long on the way; the
// inspector shows their token count instead of refusing keystrokes. Everything else a rule
// forbids (durations, the 20 s limit, crossfades) is refused.
bool blocksEdit(const sb::Issue& issue) {
  const auto endsWith = [&](const std::string& suffix) {
    return issue.path.size() >= suffix.size() &&
           issue.path.compare(issue.path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return !endsWith("/prompt") && !endsWith("/negative_prompt") && issue.path != "/title";
}

QStringList toStrings(const std::vector<sb::Issue>& issues) {
  QStringList lines;
  for (const sb::Issue& issue : issues) lines << QString::fromStdString(sb::to_string(issue));
  return lines;
}

}  // namespace

StoryboardDocument::StoryboardDocument(QObject* parent) : QObject(parent) {
  connect(&undoStack_, &QUndoStack::cleanChanged, this,
          [this](bool clean) { emit dirtyChanged(!clean); });
  newDocument();
}

StoryboardDocument::~StoryboardDocument() = default;

int StoryboardDocument::indexOfShot(const std::string& id) const {
  for (size_t i = 0; i < storyboard_.shots.size(); ++i) {
    if (storyboard_.shots[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

fs::path StoryboardDocument::baseDir() const {
  if (filePath_.isEmpty()) return toPath(QDir::currentPath());
  return toPath(QFileInfo(filePath_).absolutePath());
}

QString StoryboardDocument::displayName() const {
  return filePath_.isEmpty() ? tr("Untitled") : QFileInfo(filePath_).fileName();
}

void StoryboardDocument::reset(Storyboard storyboard, const QString& filePath) {
  storyboard_ = std::move(storyboard);
  undoStack_.clear();
  const bool pathChanged = filePath != filePath_;
  filePath_ = filePath;
  emit documentReset();
  if (pathChanged) emit filePathChanged(filePath_);
  emit dirtyChanged(isDirty());
}

void StoryboardDocument::newDocument(const QString& model) {
  Storyboard storyboard;
  storyboard.title = tr("Untitled storyboard").toStdString();
  storyboard.project.model =
      model.isEmpty() ? reelforge::models::default_model_name() : model.toStdString();
  Shot first;
  first.id = "shot-1";
  first.duration_s = 5;
  storyboard.shots.push_back(first);
  reset(std::move(storyboard), {});
}

QStringList StoryboardDocument::open(const QString& path) {
  sb::LoadOptions options;
  options.validation.media = sb::MediaChecks::Existence;
  sb::CheckedStoryboard checked = sb::check_file(toPath(path), options);
  reset(std::move(checked.storyboard), QFileInfo(path).absoluteFilePath());
  return toStrings(checked.issues);
}

QStringList StoryboardDocument::restore(const std::string& jsonText, const QString& filePath) {
  const fs::path base =
      filePath.isEmpty() ? toPath(QDir::currentPath()) : toPath(QFileInfo(filePath).absolutePath());
  sb::LoadOptions options;
  options.validation.media = sb::MediaChecks::Existence;
  sb::CheckedStoryboard checked = sb::check_text(jsonText, base, options);
  reset(std::move(checked.storyboard), filePath);
  // Recovered edits are not on disk yet: the document must read as modified. A clean index that
  // no command can reach does that.
  undoStack_.resetClean();
  return toStrings(checked.issues);
}

void StoryboardDocument::resetAsNew(sb::CheckedStoryboard checked, const fs::path& baseDir) {
  for (Shot& shot : checked.storyboard.shots) {
    if (shot.keyframe)
      shot.keyframe->path = sb::resolve_media_path(shot.keyframe->path, baseDir).string();
    if (shot.source_video) {
      shot.source_video->path = sb::resolve_media_path(shot.source_video->path, baseDir).string();
    }
  }
  reset(std::move(checked.storyboard), {});
  undoStack_.resetClean();
}

QStringList StoryboardDocument::importAsNew(const QString& path) {
  sb::LoadOptions options;
  options.validation.media = sb::MediaChecks::Existence;
  sb::CheckedStoryboard checked = sb::check_file(toPath(path), options);
  QStringList issues = toStrings(checked.issues);
  resetAsNew(std::move(checked), toPath(QFileInfo(path).absolutePath()));
  return issues;
}

QStringList StoryboardDocument::loadAsNew(const std::string& jsonText, const QString& baseDir) {
  const fs::path base = toPath(baseDir.isEmpty() ? QDir::currentPath() : baseDir);
  sb::LoadOptions options;
  options.validation.media = sb::MediaChecks::Existence;
  sb::CheckedStoryboard checked = sb::check_text(jsonText, base, options);
  QStringList issues = toStrings(checked.issues);
  resetAsNew(std::move(checked), base);
  return issues;
}

void StoryboardDocument::save() {
  if (filePath_.isEmpty()) {
    throw reelforge::Error(reelforge::ErrorCategory::InvalidArgument,
                           "the storyboard has no file yet; use Save As");
  }
  sb::save(storyboard_, toPath(filePath_));
  undoStack_.setClean();
  emit saved(filePath_);
}

void StoryboardDocument::saveAs(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  const fs::path oldBase = baseDir();
  const fs::path newBase = toPath(QFileInfo(absolute).absolutePath());
  Storyboard rebased = storyboard_;
  // Relative media paths are relative to the document's folder: keep them pointing at the same
  // files from the new folder.
  if (oldBase != newBase) {
    const auto rebase = [&](std::string& media) {
      if (media.empty() || fs::path(media).is_absolute()) return;
      const fs::path target = sb::resolve_media_path(media, oldBase);
      const fs::path relative = target.lexically_relative(newBase);
      media = relative.empty() ? target.string() : relative.generic_string();
    };
    for (Shot& shot : rebased.shots) {
      if (shot.keyframe) rebase(shot.keyframe->path);
      if (shot.source_video) rebase(shot.source_video->path);
    }
  }
  sb::save(rebased, toPath(absolute));
  for (size_t i = 0; i < rebased.shots.size(); ++i) {
    if (!(rebased.shots[i] == storyboard_.shots[i])) {
      storyboard_.shots[i] = rebased.shots[i];
      emit shotChanged(static_cast<int>(i));
    }
  }
  filePath_ = absolute;
  emit filePathChanged(filePath_);
  undoStack_.setClean();
  emit saved(filePath_);
}

std::vector<sb::Issue> StoryboardDocument::issues() const {
  sb::ValidationOptions options;
  options.media = sb::MediaChecks::Existence;
  return sb::validate(storyboard_, baseDir(), options);
}

std::string StoryboardDocument::newShotId() const {
  std::set<std::string> used;
  for (const Shot& shot : storyboard_.shots) used.insert(shot.id);
  for (size_t n = storyboard_.shots.size() + 1;; ++n) {
    std::string id = "shot-" + std::to_string(n);
    if (!used.count(id)) return id;
  }
}

std::vector<sb::Shot> StoryboardDocument::withFreshIds(std::vector<Shot> shots) const {
  std::set<std::string> used;
  for (const Shot& shot : storyboard_.shots) used.insert(shot.id);
  size_t n = storyboard_.shots.size() + 1;
  for (Shot& shot : shots) {
    std::string id;
    do {
      id = "shot-" + std::to_string(n++);
    } while (used.count(id));
    used.insert(id);
    shot.id = id;
  }
  return shots;
}

fs::path StoryboardDocument::resolveMedia(const std::string& path) const {
  return sb::resolve_media_path(path, baseDir());
}

bool StoryboardDocument::push(StoryboardCommand* command) {
  std::unique_ptr<StoryboardCommand> owned(command);
  Storyboard after = storyboard_;
  command->applyTo(after);
  if (after == storyboard_) return true;  // nothing changes: no empty undo step

  const sb::ValidationOptions options = editValidation();
  std::vector<sb::Issue> before = sb::validate(storyboard_, baseDir(), options);
  std::vector<sb::Issue> now = sb::validate(after, baseDir(), options);
  QStringList refused;
  for (const sb::Issue& issue : now) {
    // An empty track is where a storyboard starts (files are dropped onto it); the render
    // refuses it, the editor does not.
    if (after.shots.empty() && issue.path == "/shots") continue;
    if (blocksEdit(issue) && std::find(before.begin(), before.end(), issue) == before.end()) {
      refused << QString::fromStdString(sb::to_string(issue));
    }
  }
  if (!refused.isEmpty()) {
    emit editRefused(tr("%1 refused: %2").arg(command->text(), refused.join(QStringLiteral("; "))));
    return false;
  }
  undoStack_.push(owned.release());
  return true;
}

bool StoryboardDocument::editInsertShots(int index, const std::vector<Shot>& shots,
                                         const QString& text) {
  if (shots.empty()) return false;
  return push(new InsertShotsCommand(this, index, shots, text));
}

bool StoryboardDocument::editRemoveShots(const QStringList& ids) {
  if (ids.isEmpty()) return false;
  return push(new RemoveShotsCommand(this, ids));
}

bool StoryboardDocument::editMoveShots(const QStringList& ids, int index) {
  if (ids.isEmpty()) return false;
  return push(new MoveShotsCommand(this, ids, index));
}

bool StoryboardDocument::editShot(const Shot& shot, const QString& text, const QString& mergeKey) {
  if (indexOfShot(shot.id) < 0) return false;
  return push(new SetShotCommand(this, shot, text, mergeKey));
}

bool StoryboardDocument::editProject(const ProjectSettings& project, const QString& text,
                                     const QString& mergeKey) {
  return push(new SetProjectCommand(this, project, text, mergeKey));
}

bool StoryboardDocument::editTitle(const QString& title) {
  return push(new SetTitleCommand(this, title.toStdString()));
}

void StoryboardDocument::doInsertShot(int index, const Shot& shot) {
  storyboard_.shots.insert(storyboard_.shots.begin() + index, shot);
  emit shotInserted(index);
}

void StoryboardDocument::doRemoveShot(int index) {
  storyboard_.shots.erase(storyboard_.shots.begin() + index);
  emit shotRemoved(index);
}

void StoryboardDocument::doMoveShot(int from, int to) {
  Shot shot = std::move(storyboard_.shots[static_cast<size_t>(from)]);
  storyboard_.shots.erase(storyboard_.shots.begin() + from);
  storyboard_.shots.insert(storyboard_.shots.begin() + to, std::move(shot));
  emit shotMoved(from, to);
}

void StoryboardDocument::doSetShot(int index, const Shot& shot) {
  storyboard_.shots[static_cast<size_t>(index)] = shot;
  emit shotChanged(index);
}

void StoryboardDocument::doSetProject(const ProjectSettings& project) {
  storyboard_.project = project;
  emit projectChanged();
}

void StoryboardDocument::doSetTitle(const std::string& title) {
  storyboard_.title = title;
  emit titleChanged();
}
