#include "main_window.hpp"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QRegularExpression>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>
#include <QUndoView>
#include <QVBoxLayout>

#include "dialogs/settings_dialog.hpp"
#include "docks/gallery_dock.hpp"
#include "docks/models_dock.hpp"
#include "docks/project_settings.hpp"
#include "docks/render_queue_dock.hpp"
#include "docks/shot_inspector.hpp"
#include "models/gallery_index.hpp"
#include "models/storyboard_document.hpp"
#include "reelforge/core/error.hpp"
#include "reelforge/storyboard/validation.hpp"
#include "services/autosave.hpp"
#include "services/display_text.hpp"
#include "services/render_queue.hpp"
#include "services/studio_settings.hpp"
#include "widgets/preview_player.hpp"
#include "widgets/timeline_widget.hpp"

namespace {

constexpr int kMessageSeconds = 12;
const char* const kStoryboardFilter = "Storyboards (*.json *.storyboard.json);;All files (*)";

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  init({});
}

MainWindow::MainWindow(const MainWindowOptions& options, QWidget* parent) : QMainWindow(parent) {
  init(options);
}

MainWindow::~MainWindow() = default;

void MainWindow::init(const MainWindowOptions& options) {
  settings_ = options.settingsFile.isEmpty()
                  ? new QSettings(this)
                  : new QSettings(options.settingsFile, QSettings::IniFormat, this);
  studioSettings_ = options.settingsFile.isEmpty() ? new StudioSettings(this)
                                                   : new StudioSettings(options.settingsFile, this);
  document_ = new StoryboardDocument(this);
  if (!studioSettings_->defaultModel().isEmpty()) {
    document_->newDocument(studioSettings_->defaultModel());
  }
  document_->undoStack()->setClean();

  // Centre: the preview player over the timeline (with its message bar), as in video editors.
  splitter_ = new QSplitter(Qt::Vertical, this);
  splitter_->setObjectName(QStringLiteral("centreSplitter"));
  player_ = new PreviewPlayer(splitter_);
  auto* centre = new QWidget(splitter_);
  auto* column = new QVBoxLayout(centre);
  column->setContentsMargins(0, 0, 0, 0);
  column->setSpacing(0);
  messageBar_ = new QWidget(centre);
  messageBar_->setObjectName(QStringLiteral("messageBar"));
  auto* barLayout = new QHBoxLayout(messageBar_);
  barLayout->setContentsMargins(8, 4, 4, 4);
  message_ = new QLabel(messageBar_);
  message_->setObjectName(QStringLiteral("editMessage"));
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* closeMessage = new QToolButton(messageBar_);
  closeMessage->setText(QStringLiteral("✕"));
  closeMessage->setAutoRaise(true);
  closeMessage->setToolTip(tr("Dismiss"));
  barLayout->addWidget(message_, 1);
  barLayout->addWidget(closeMessage);
  messageBar_->hide();
  messageTimer_ = new QTimer(this);
  messageTimer_->setSingleShot(true);
  connect(messageTimer_, &QTimer::timeout, this, &MainWindow::hideMessage);
  connect(closeMessage, &QToolButton::clicked, this, &MainWindow::hideMessage);

  timeline_ = new TimelineWidget(document_, centre);
  timelineScroll_ = new QScrollArea(centre);
  timelineScroll_->setWidget(timeline_);
  timelineScroll_->setWidgetResizable(false);
  timelineScroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
  timelineScroll_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  timelineScroll_->setMinimumHeight(timeline_->minimumSizeHint().height() + 20);
  timelineScroll_->viewport()->installEventFilter(this);
  timeline_->resize(timeline_->sizeHint());
  column->addWidget(messageBar_);
  column->addWidget(timelineScroll_, 1);
  splitter_->addWidget(player_);
  splitter_->addWidget(centre);
  splitter_->setStretchFactor(0, 3);
  splitter_->setStretchFactor(1, 1);
  splitter_->setCollapsible(1, false);
  setCentralWidget(splitter_);
  connect(timeline_, &TimelineWidget::problem, this,
          [this](const QString& text) { showMessage(text); });

  autosave_ = new Autosave(
      document_,
      options.autosaveFolder.isEmpty() ? Autosave::defaultFolder() : options.autosaveFolder, this);
  autosave_->setIntervalSeconds(
      settings_->value("autosave/intervalSeconds", Autosave::kDefaultIntervalSeconds).toInt());
  connect(autosave_, &Autosave::failed, this, [this](const QString& text) { showMessage(text); });
  connect(autosave_, &Autosave::autosaved, this,
          [this] { statusBar()->showMessage(tr("Autosaved"), 3000); });

  createDocks(options);
  createActions();
  createMenus();

  connect(document_, &StoryboardDocument::dirtyChanged, this, &MainWindow::updateTitle);
  connect(document_, &StoryboardDocument::filePathChanged, this, &MainWindow::updateTitle);
  connect(document_, &StoryboardDocument::titleChanged, this, &MainWindow::updateTitle);
  connect(document_, &StoryboardDocument::documentReset, this, &MainWindow::updateTitle);
  connect(document_, &StoryboardDocument::documentReset, this, &MainWindow::fitTimeline);
  connect(timeline_, &TimelineWidget::zoomedByUser, this, [this] { fitTimeline_ = false; });
  // A successful edit clears an old complaint about a refused one.
  connect(document_->undoStack(), &QUndoStack::indexChanged, this, &MainWindow::hideMessage);
  updateTitle();
  // Most of the screen, within reason, before a saved geometry takes over.
  const QRect screen = QGuiApplication::primaryScreen()
                           ? QGuiApplication::primaryScreen()->availableGeometry()
                           : QRect(0, 0, 1400, 860);
  resize(std::min(1600, screen.width() * 9 / 10), std::min(1000, screen.height() * 9 / 10));
  // Default proportions; a saved layout (restoreLayout) replaces them.
  QList<QDockWidget*> sideDocks{inspector_};
  QList<int> sideWidths{440};
  if (galleryDock_) {
    sideDocks << galleryDock_;
    sideWidths << 220;
  }
  resizeDocks(sideDocks, sideWidths, Qt::Horizontal);
  resizeDocks({queueDock_}, {130}, Qt::Vertical);
  restoreLayout();
  statusBar()->showMessage(tr("Ready"));
}

void MainWindow::createDocks(const MainWindowOptions& options) {
  setDockNestingEnabled(true);
  inspector_ = new ShotInspector(document_, this);
  addDockWidget(Qt::RightDockWidgetArea, inspector_);
  project_ = new ProjectSettingsDock(document_, this);
  addDockWidget(Qt::RightDockWidgetArea, project_);
  auto* history = new QDockWidget(tr("History"), this);
  history->setObjectName(QStringLiteral("history"));
  auto* undoView = new QUndoView(document_->undoStack(), history);
  undoView->setEmptyLabel(tr("<opened>"));
  history->setWidget(undoView);
  addDockWidget(Qt::RightDockWidgetArea, history);
  tabifyDockWidget(project_, inspector_);
  tabifyDockWidget(inspector_, history);
  inspector_->raise();
  connect(timeline_, &TimelineWidget::currentShotChanged, inspector_, &ShotInspector::setShot);
  inspector_->setShot(timeline_->currentId());

  queue_ = new RenderQueue(this);
  queueDock_ = new RenderQueueDock(queue_, this);
  queueDock_->setObjectName(QStringLiteral("renderQueue"));
  addDockWidget(Qt::BottomDockWidgetArea, queueDock_);

  connect(queueDock_, &RenderQueueDock::playRequested, this,
          [this](const QString& clip) { player_->openClip(clip); });
  connect(player_, &PreviewPlayer::openFailed, this,
          [this](const QString& text) { showMessage(text); });

  try {
    gallery_ = new GalleryIndex(
        options.galleryDatabase.isEmpty() ? GalleryIndex::defaultPath() : options.galleryDatabase,
        this);
    galleryDock_ = new GalleryDock(gallery_, this);
    galleryDock_->setObjectName(QStringLiteral("gallery"));
    galleryDock_->watchQueue(queue_);
    addDockWidget(Qt::LeftDockWidgetArea, galleryDock_);
    connect(galleryDock_, &GalleryDock::newProjectRequested, this, &MainWindow::openAsNewProject);
    connect(galleryDock_, &GalleryDock::remixRequested, this, &MainWindow::remix);
    connect(galleryDock_, &GalleryDock::playRequested, this,
            [this](const QString& clip) { player_->openClip(clip); });
    connect(galleryDock_, &GalleryDock::errorOccurred, this,
            [this](const QString& text) { showMessage(text); });
  } catch (const reelforge::Error& error) {
    gallery_ = nullptr;
    galleryDock_ = nullptr;
    QTimer::singleShot(0, this, [this, text = errorText(error)] {
      showMessage(tr("The gallery is unavailable: %1").arg(text));
    });
  }

  modelsDock_ = new ModelsDock(studioSettings_, this);
  modelsDock_->setObjectName(QStringLiteral("models"));
  addDockWidget(Qt::LeftDockWidgetArea, modelsDock_);
  if (galleryDock_) tabifyDockWidget(galleryDock_, modelsDock_);
  if (galleryDock_) galleryDock_->raise();
  connect(modelsDock_, &ModelsDock::modelsChanged, project_, &ProjectSettingsDock::reloadModels);
  connect(studioSettings_, &StudioSettings::changed, project_, &ProjectSettingsDock::reloadModels);

  // A finished render plays at once; live latent previews show on the shots being rendered.
  connect(queue_, &RenderQueue::jobChanged, this, [this](int id) {
    const auto shots = jobShots_.find(id);
    const auto job = queue_->job(id);
    if (shots == jobShots_.end() || !job || job->preview.isNull()) return;
    if (job->shot >= 0 && job->shot < shots->size()) {
      timeline_->setShotPreview(shots->at(job->shot), job->preview);
    }
  });
  connect(queue_, &RenderQueue::jobFinished, this, [this](int id, RenderJobState state) {
    const auto job = queue_->job(id);
    if (!job) return;
    if (state == RenderJobState::Done) {
      statusBar()->showMessage(tr("Rendered %1").arg(job->output), 8000);
      player_->openClip(job->output);
    } else if (state == RenderJobState::Failed) {
      showMessage(tr("Render of %1 failed: %2").arg(job->title, job->error));
    }
  });
}

void MainWindow::createActions() {
  newAction_ = new QAction(tr("&New"), this);
  newAction_->setShortcut(QKeySequence::New);
  connect(newAction_, &QAction::triggered, this, [this] {
    if (maybeSave()) newDocument();
  });
  openAction_ = new QAction(tr("&Open…"), this);
  openAction_->setShortcut(QKeySequence::Open);
  connect(openAction_, &QAction::triggered, this, &MainWindow::openWithDialog);
  saveAction_ = new QAction(tr("&Save"), this);
  saveAction_->setShortcut(QKeySequence::Save);
  connect(saveAction_, &QAction::triggered, this, &MainWindow::saveDocument);
  saveAsAction_ = new QAction(tr("Save &As…"), this);
  saveAsAction_->setShortcut(QKeySequence::SaveAs);
  connect(saveAsAction_, &QAction::triggered, this, &MainWindow::saveWithDialog);
  quitAction_ = new QAction(tr("&Quit"), this);
  quitAction_->setShortcut(QKeySequence::Quit);
  connect(quitAction_, &QAction::triggered, this, &QWidget::close);

  undoAction_ = document_->undoStack()->createUndoAction(this, tr("&Undo"));
  undoAction_->setShortcut(QKeySequence::Undo);
  redoAction_ = document_->undoStack()->createRedoAction(this, tr("&Redo"));
  redoAction_->setShortcut(QKeySequence::Redo);

  renderAction_ = new QAction(tr("&Render"), this);
  renderAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  renderAction_->setToolTip(tr("Queue a render of this storyboard"));
  connect(renderAction_, &QAction::triggered, this, &MainWindow::render);
  renderDraftAction_ = new QAction(tr("Render &Draft"), this);
  renderDraftAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
  renderDraftAction_->setToolTip(
      tr("Queue a quick draft render: native resolution and fewer steps, to check the shots"));
  connect(renderDraftAction_, &QAction::triggered, this, &MainWindow::renderDraft);

  settingsAction_ = new QAction(tr("&Settings…"), this);
  settingsAction_->setShortcut(QKeySequence::Preferences);
  connect(settingsAction_, &QAction::triggered, this, [this] {
    auto* dialog = new SettingsDialog(studioSettings_, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
  });

  zoomInAction_ = new QAction(tr("Zoom &In"), this);
  zoomInAction_->setShortcut(QKeySequence::ZoomIn);
  connect(zoomInAction_, &QAction::triggered, this, [this] {
    fitTimeline_ = false;
    timeline_->setPixelsPerSecond(timeline_->pixelsPerSecond() * 1.25);
    timeline_->resize(timeline_->sizeHint());
  });
  zoomOutAction_ = new QAction(tr("Zoom &Out"), this);
  zoomOutAction_->setShortcut(QKeySequence::ZoomOut);
  connect(zoomOutAction_, &QAction::triggered, this, [this] {
    fitTimeline_ = false;
    timeline_->setPixelsPerSecond(timeline_->pixelsPerSecond() * 0.8);
    timeline_->resize(timeline_->sizeHint());
  });
}

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(newAction_);
  file->addAction(openAction_);
  recentMenu_ = file->addMenu(tr("Open &Recent"));
  connect(recentMenu_, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
  rebuildRecentMenu();
  file->addSeparator();
  file->addAction(saveAction_);
  file->addAction(saveAsAction_);
  file->addSeparator();
  file->addAction(settingsAction_);
  file->addSeparator();
  file->addAction(quitAction_);

  QMenu* edit = menuBar()->addMenu(tr("&Edit"));
  edit->addAction(undoAction_);
  edit->addAction(redoAction_);
  edit->addSeparator();
  edit->addAction(timeline_->cutAction());
  edit->addAction(timeline_->copyAction());
  edit->addAction(timeline_->pasteAction());
  edit->addAction(timeline_->duplicateAction());
  edit->addAction(timeline_->deleteAction());
  edit->addSeparator();
  edit->addAction(timeline_->addShotAction());

  viewMenu_ = menuBar()->addMenu(tr("&View"));
  viewMenu_->addAction(zoomInAction_);
  viewMenu_->addAction(zoomOutAction_);
  viewMenu_->addSeparator();
  for (QDockWidget* dock : findChildren<QDockWidget*>())
    viewMenu_->addAction(dock->toggleViewAction());

  QMenu* renderMenu = menuBar()->addMenu(tr("&Render"));
  renderMenu->addAction(renderAction_);
  renderMenu->addAction(renderDraftAction_);

  QToolBar* tools = addToolBar(tr("Main"));
  tools->setObjectName(QStringLiteral("mainToolBar"));
  tools->addAction(newAction_);
  tools->addAction(openAction_);
  tools->addAction(saveAction_);
  tools->addSeparator();
  tools->addAction(undoAction_);
  tools->addAction(redoAction_);
  tools->addSeparator();
  tools->addAction(timeline_->addShotAction());
  tools->addAction(timeline_->duplicateAction());
  tools->addAction(timeline_->deleteAction());
  tools->addSeparator();
  tools->addAction(renderAction_);
}

void MainWindow::updateTitle() {
  const QString title = QString::fromStdString(document_->storyboard().title);
  setWindowTitle(title.isEmpty()
                     ? QStringLiteral("%1[*]").arg(document_->displayName())
                     : QStringLiteral("%1[*] — %2").arg(document_->displayName(), title));
  setWindowModified(document_->isDirty());
  saveAction_->setEnabled(true);
}

// --- messages -----------------------------------------------------------------------------------

void MainWindow::showMessage(const QString& text, bool problem) {
  message_->setText(text);
  messageBar_->setStyleSheet(
      problem ? QStringLiteral("#messageBar { background: #5c2b29; color: white; }")
              : QStringLiteral("#messageBar { background: #264d36; color: white; }"));
  messageBar_->show();
  statusBar()->showMessage(text.section('\n', 0, 0), kMessageSeconds * 1000);
  messageTimer_->start(kMessageSeconds * 1000);
}

void MainWindow::hideMessage() {
  messageBar_->hide();
  messageTimer_->stop();
}

bool MainWindow::isMessageVisible() const {
  return messageBar_->isVisibleTo(this);
}

void MainWindow::showIssues(const QString& what, const QStringList& issues) {
  if (issues.isEmpty()) return;
  const int shown = std::min<int>(issues.size(), 5);
  QString text =
      tr("%1 has %n problem(s) to fix before rendering:", nullptr, static_cast<int>(issues.size()))
          .arg(what);
  for (int i = 0; i < shown; ++i) text += QStringLiteral("\n• ") + issues[i];
  if (issues.size() > shown) text += tr("\n… and %1 more").arg(issues.size() - shown);
  showMessage(text);
}

// --- files --------------------------------------------------------------------------------------

void MainWindow::newDocument() {
  document_->newDocument(studioSettings_->defaultModel());
  document_->undoStack()->setClean();
  hideMessage();
}

bool MainWindow::openFile(const QString& path) {
  try {
    const QStringList issues = document_->open(path);
    addRecentFile(document_->filePath());
    hideMessage();
    showIssues(QFileInfo(path).fileName(), issues);
    statusBar()->showMessage(tr("Opened %1").arg(path), 4000);
    return true;
  } catch (const reelforge::Error& error) {
    showMessage(tr("Cannot open %1: %2").arg(path, errorText(error)));
    return false;
  }
}

bool MainWindow::openAsNewProject(const QString& storyboardPath) {
  if (!maybeSave()) return false;
  try {
    showIssues(QFileInfo(storyboardPath).fileName(), document_->importAsNew(storyboardPath));
    return true;
  } catch (const reelforge::Error& error) {
    showMessage(tr("Cannot open %1: %2").arg(storyboardPath, errorText(error)));
    return false;
  }
}

bool MainWindow::remix(const QString& storyboardJson, const QString& storyboardPath) {
  if (!maybeSave()) return false;
  try {
    const QString base =
        storyboardPath.isEmpty() ? QString() : QFileInfo(storyboardPath).absolutePath();
    showIssues(tr("The remixed storyboard"),
               document_->loadAsNew(storyboardJson.toStdString(), base));
    return true;
  } catch (const reelforge::Error& error) {
    showMessage(tr("Cannot remix: %1").arg(errorText(error)));
    return false;
  }
}

bool MainWindow::saveDocument() {
  if (document_->filePath().isEmpty()) return saveWithDialog();
  try {
    document_->save();
    statusBar()->showMessage(tr("Saved %1").arg(document_->filePath()), 4000);
    return true;
  } catch (const reelforge::Error& error) {
    showMessage(tr("Cannot save: %1").arg(errorText(error)));
    return false;
  }
}

bool MainWindow::saveDocumentAs(const QString& path) {
  try {
    document_->saveAs(path);
    addRecentFile(document_->filePath());
    statusBar()->showMessage(tr("Saved %1").arg(document_->filePath()), 4000);
    return true;
  } catch (const reelforge::Error& error) {
    showMessage(tr("Cannot save: %1").arg(errorText(error)));
    return false;
  }
}

void MainWindow::openWithDialog() {
  if (!maybeSave()) return;
  const QString start = document_->filePath().isEmpty()
                            ? settings_->value("files/lastFolder", QDir::homePath()).toString()
                            : QFileInfo(document_->filePath()).absolutePath();
  const QString path =
      QFileDialog::getOpenFileName(this, tr("Open storyboard"), start, tr(kStoryboardFilter));
  if (path.isEmpty()) return;
  settings_->setValue("files/lastFolder", QFileInfo(path).absolutePath());
  openFile(path);
}

bool MainWindow::saveWithDialog() {
  QString start = document_->filePath();
  if (start.isEmpty()) {
    start = QDir(settings_->value("files/lastFolder", QDir::homePath()).toString())
                .filePath(QString::fromStdString(document_->storyboard().title)
                              .simplified()
                              .replace(' ', '-') +
                          QStringLiteral(".json"));
  }
  QString path =
      QFileDialog::getSaveFileName(this, tr("Save storyboard"), start, tr(kStoryboardFilter));
  if (path.isEmpty()) return false;
  if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".json");
  settings_->setValue("files/lastFolder", QFileInfo(path).absolutePath());
  return saveDocumentAs(path);
}

bool MainWindow::maybeSave() {
  if (!document_->isDirty()) return true;
  const auto answer = QMessageBox::warning(
      this, tr("Unsaved changes"),
      tr("%1 has changes that are not saved. Save them?").arg(document_->displayName()),
      QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
  if (answer == QMessageBox::Cancel) return false;
  if (answer == QMessageBox::Save) return saveDocument();
  autosave_->discard();
  return true;
}

QStringList MainWindow::recentFiles() const {
  return settings_->value("files/recent").toStringList();
}

void MainWindow::addRecentFile(const QString& path) {
  QStringList files = recentFiles();
  files.removeAll(path);
  files.prepend(path);
  while (files.size() > kMaxRecentFiles) files.removeLast();
  settings_->setValue("files/recent", files);
  rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
  recentMenu_->clear();
  const QStringList files = recentFiles();
  for (int i = 0; i < files.size(); ++i) {
    const QString path = files[i];
    QAction* action =
        recentMenu_->addAction(QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(path).fileName()));
    action->setToolTip(path);
    action->setEnabled(QFileInfo::exists(path));
    connect(action, &QAction::triggered, this, [this, path] {
      if (maybeSave()) openFile(path);
    });
  }
  if (files.isEmpty()) recentMenu_->addAction(tr("No recent files"))->setEnabled(false);
  recentMenu_->addSeparator();
  connect(recentMenu_->addAction(tr("Clear list")), &QAction::triggered, this, [this] {
    settings_->remove("files/recent");
    rebuildRecentMenu();
  });
}

// --- recovery -----------------------------------------------------------------------------------

void MainWindow::offerRecovery() {
  const QList<AutosaveCopy> copies = Autosave::recoverable(autosave_->folder());
  for (const AutosaveCopy& copy : copies) {
    const QString name = copy.filePath.isEmpty() ? tr("an untitled storyboard")
                                                 : QFileInfo(copy.filePath).fileName();
    const auto answer = QMessageBox::question(
        this, tr("Recover unsaved work"),
        tr("ReelForge Studio did not close normally. An autosaved copy of %1 from %2 is newer "
           "than the saved file.\n\nRestore it?")
            .arg(name,
                 copy.saved.toLocalTime().toString(QLocale().dateTimeFormat(QLocale::ShortFormat))),
        QMessageBox::Yes | QMessageBox::No | QMessageBox::Discard, QMessageBox::Yes);
    if (answer == QMessageBox::Yes) {
      restoreAutosave(copy);
      return;  // one document at a time; the others stay for the next start
    }
    if (answer == QMessageBox::Discard) Autosave::remove(copy);
  }
}

bool MainWindow::restoreAutosave(const AutosaveCopy& copy) {
  try {
    const QStringList issues = document_->restore(copy.storyboardJson, copy.filePath);
    // Keep the recovered work safe at once, under this session's name for it.
    autosave_->saveNow();
    if (autosave_->copyPath() != copy.copyPath) Autosave::remove(copy);
    showMessage(tr("Restored unsaved work from %1. Save to keep it.")
                    .arg(copy.saved.toLocalTime().toString(Qt::ISODate)),
                false);
    if (!issues.isEmpty()) showIssues(document_->displayName(), issues);
    return true;
  } catch (const reelforge::Error& error) {
    showMessage(tr("Cannot restore the autosaved copy: %1").arg(errorText(error)));
    return false;
  }
}

// --- render -------------------------------------------------------------------------------------

QString MainWindow::renderOutputPath(const QString& suffix) const {
  QString name = QString::fromStdString(document_->storyboard().title).simplified();
  name.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]+")), QStringLiteral("-"));
  if (name.isEmpty() || name == QStringLiteral("-")) name = QStringLiteral("render");
  const QString folder = studioSettings_->outputFolder();
  QDir().mkpath(folder);
  return QDir(folder).filePath(
      QStringLiteral("%1-%2%3.mp4")
          .arg(name.left(60),
               QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")), suffix));
}

bool MainWindow::render() {
  return queueRender(document_->storyboard(), renderOutputPath());
}

bool MainWindow::renderDraft() {
  reelforge::storyboard::Storyboard draft = document_->storyboard();
  draft.project.quality = reelforge::storyboard::QualityPreset::Draft;
  return queueRender(std::move(draft), renderOutputPath(QStringLiteral("-draft")));
}

bool MainWindow::queueRender(reelforge::storyboard::Storyboard storyboard, const QString& output) {
  QStringList issues;
  for (const auto& issue : document_->issues()) {
    issues << QString::fromStdString(reelforge::storyboard::to_string(issue));
  }
  if (!issues.isEmpty()) {
    showIssues(document_->displayName(), issues);
    return false;
  }
  QStringList shots;
  for (const auto& shot : storyboard.shots) shots << QString::fromStdString(shot.id);
  const int id = queue_->addJob(storyboard, QString::fromStdString(document_->baseDir().string()),
                                output, studioSettings_->renderOptions(), document_->filePath());
  jobShots_.insert(id, shots);
  queueDock_->show();
  queueDock_->raise();
  statusBar()->showMessage(tr("Queued render to %1").arg(output), 5000);
  return true;
}

// --- layout -------------------------------------------------------------------------------------

void MainWindow::saveLayout() {
  settings_->setValue("mainWindow/geometry", saveGeometry());
  settings_->setValue("mainWindow/state", saveState(kLayoutVersion));
  settings_->setValue("mainWindow/splitter", splitter_->saveState());
  settings_->setValue("mainWindow/pixelsPerSecond",
                      fitTimeline_ ? 0.0 : timeline_->pixelsPerSecond());
  settings_->sync();
}

void MainWindow::restoreLayout() {
  const QByteArray geometry = settings_->value("mainWindow/geometry").toByteArray();
  if (!geometry.isEmpty()) restoreGeometry(geometry);
  const QByteArray state = settings_->value("mainWindow/state").toByteArray();
  if (!state.isEmpty()) restoreState(state, kLayoutVersion);
  const QByteArray splitter = settings_->value("mainWindow/splitter").toByteArray();
  if (!splitter.isEmpty()) splitter_->restoreState(splitter);
  const double pps = settings_->value("mainWindow/pixelsPerSecond", 0.0).toDouble();
  fitTimeline_ = pps <= 0;
  if (pps > 0) {
    timeline_->setPixelsPerSecond(pps);
    timeline_->resize(timeline_->sizeHint());
  }
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
  if (watched == timelineScroll_->viewport() && event->type() == QEvent::Resize) fitTimeline();
  return QMainWindow::eventFilter(watched, event);
}

void MainWindow::fitTimeline() {
  if (!fitTimeline_) return;
  // Until the user zooms, the whole 20 s (and a little after) fits the view.
  const double seconds = std::max(document_->storyboard().total_duration_s(),
                                  reelforge::storyboard::kMaxTotalDuration_s) +
                         1.5;
  const int width = timelineScroll_->viewport()->width() - TimelineWidget::kLeftMargin;
  if (width > 100) timeline_->setPixelsPerSecond(width / seconds);
  timeline_->resize(timeline_->sizeHint());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (!maybeSave()) {
    event->ignore();
    return;
  }
  saveLayout();
  // Closing normally: nothing to recover next time.
  autosave_->discard();
  event->accept();
}
