#pragma once
// The Studio's main window: the storyboard timeline in the middle, the shot inspector and project
// settings beside it, and the render queue, preview player, gallery and models as docks. It owns
// the document and the services (autosave, render queue, gallery index, settings), wires the docks
// to them, and handles files: new, open, save, save as (through the core's atomic save), recent
// files, autosave with recovery on start, and the persisted window layout.

#include <QHash>
#include <QMainWindow>
#include <QString>
#include <QStringList>

class QAction;
class QLabel;
class QMenu;
class QScrollArea;
class QSettings;
class QSplitter;
class QTimer;
class QToolButton;
class Autosave;
class GalleryDock;
class GalleryIndex;
class ModelsDock;
class PreviewPlayer;
class ProjectSettingsDock;
class RenderQueue;
class RenderQueueDock;
class ShotInspector;
class StoryboardDocument;
namespace reelforge::storyboard {
struct Storyboard;
}
class StudioSettings;
class TimelineWidget;
struct AutosaveCopy;

// Where the window keeps its state; tests point everything at temporary places.
struct MainWindowOptions {
  QString settingsFile;     // an ini file for QSettings; empty = the application's settings
  QString autosaveFolder;   // empty = Autosave::defaultFolder()
  QString galleryDatabase;  // empty = GalleryIndex::defaultPath()
};

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  static constexpr int kLayoutVersion = 1;
  static constexpr int kMaxRecentFiles = 10;

  explicit MainWindow(QWidget* parent = nullptr);
  explicit MainWindow(const MainWindowOptions& options, QWidget* parent = nullptr);
  ~MainWindow() override;

  StoryboardDocument* document() const { return document_; }
  TimelineWidget* timeline() const { return timeline_; }
  ShotInspector* inspector() const { return inspector_; }
  ProjectSettingsDock* projectSettings() const { return project_; }
  Autosave* autosave() const { return autosave_; }
  StudioSettings* settings() const { return studioSettings_; }
  RenderQueue* renderQueue() const { return queue_; }
  RenderQueueDock* renderQueueDock() const { return queueDock_; }
  PreviewPlayer* player() const { return player_; }
  GalleryDock* galleryDock() const { return galleryDock_; }  // null when the index cannot open
  ModelsDock* modelsDock() const { return modelsDock_; }
  // The inline message above the timeline (refused edits, load problems, render status).
  QLabel* messageLabel() const { return message_; }
  bool isMessageVisible() const;
  QStringList recentFiles() const;

  QAction* newAction() const { return newAction_; }
  QAction* openAction() const { return openAction_; }
  QAction* saveAction() const { return saveAction_; }
  QAction* saveAsAction() const { return saveAsAction_; }
  QAction* undoAction() const { return undoAction_; }
  QAction* redoAction() const { return redoAction_; }
  QAction* renderAction() const { return renderAction_; }
  QAction* renderDraftAction() const { return renderDraftAction_; }
  QAction* zoomInAction() const { return zoomInAction_; }
  QAction* zoomOutAction() const { return zoomOutAction_; }

 public slots:
  // File operations without dialogs (the menu actions ask for paths, then call these). They show
  // what went wrong in the message bar and return false.
  bool openFile(const QString& path);
  bool saveDocument();
  bool saveDocumentAs(const QString& path);
  void newDocument();
  // A featured example or a gallery item as a new, untitled project.
  bool openAsNewProject(const QString& storyboardPath);
  bool remix(const QString& storyboardJson, const QString& storyboardPath);
  // Asks whether to save unsaved edits; false when the user cancels.
  bool maybeSave();
  // Looks for autosaved copies left by a session that did not end normally and offers them.
  void offerRecovery();
  bool restoreAutosave(const AutosaveCopy& copy);
  // Queues a render of the current document; false (with a message) when it cannot render.
  bool render();
  // A quick look: the same storyboard at draft quality (native resolution, fewer steps) into a
  // "-draft" file, leaving the project's own quality setting alone.
  bool renderDraft();
  void showMessage(const QString& text, bool problem = true);
  void hideMessage();
  void saveLayout();
  void restoreLayout();

 protected:
  void closeEvent(QCloseEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void init(const MainWindowOptions& options);
  void createDocks(const MainWindowOptions& options);
  void createActions();
  void createMenus();
  void updateTitle();
  void addRecentFile(const QString& path);
  void rebuildRecentMenu();
  void openWithDialog();
  bool saveWithDialog();
  void showIssues(const QString& what, const QStringList& issues);
  QString renderOutputPath(const QString& suffix = {}) const;
  bool queueRender(reelforge::storyboard::Storyboard storyboard, const QString& output);
  void fitTimeline();

  QSettings* settings_ = nullptr;
  StudioSettings* studioSettings_ = nullptr;
  StoryboardDocument* document_ = nullptr;
  TimelineWidget* timeline_ = nullptr;
  QScrollArea* timelineScroll_ = nullptr;
  QWidget* messageBar_ = nullptr;
  QLabel* message_ = nullptr;
  QTimer* messageTimer_ = nullptr;
  ShotInspector* inspector_ = nullptr;
  ProjectSettingsDock* project_ = nullptr;
  Autosave* autosave_ = nullptr;
  RenderQueue* queue_ = nullptr;
  RenderQueueDock* queueDock_ = nullptr;
  PreviewPlayer* player_ = nullptr;
  QSplitter* splitter_ = nullptr;
  bool fitTimeline_ = true;  // scale the timeline to the view until the user zooms
  GalleryIndex* gallery_ = nullptr;
  GalleryDock* galleryDock_ = nullptr;
  ModelsDock* modelsDock_ = nullptr;
  QMenu* recentMenu_ = nullptr;
  QMenu* viewMenu_ = nullptr;
  // Shot ids of the jobs this window queued, so live previews land on the right cards.
  QHash<int, QStringList> jobShots_;

  QAction* newAction_ = nullptr;
  QAction* openAction_ = nullptr;
  QAction* saveAction_ = nullptr;
  QAction* saveAsAction_ = nullptr;
  QAction* quitAction_ = nullptr;
  QAction* undoAction_ = nullptr;
  QAction* redoAction_ = nullptr;
  QAction* renderAction_ = nullptr;
  QAction* renderDraftAction_ = nullptr;
  QAction* settingsAction_ = nullptr;
  QAction* zoomInAction_ = nullptr;
  QAction* zoomOutAction_ = nullptr;
};
