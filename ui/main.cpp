// reelforge-studio: the desktop app. Everything but the start-up lives in reelforge_studio.
//
//   reelforge-studio [storyboard.json]
// opens the storyboard (or a new one), then offers any autosaved work a crashed session left.

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include "main_window.hpp"
#include "reelforge/core/compute.hpp"
#include "reelforge/core/log.hpp"

int main(int argc, char** argv) {
  // Before anything else: LibTorch's OpenMP threads must not spin on the cores the UI thread
  // needs while a render runs (compute.hpp).
  reelforge::reexec_with_openmp_environment(argv);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("ReelForge");
  QApplication::setApplicationName("Studio");
  QApplication::setApplicationDisplayName("ReelForge Studio");
  reelforge::init_logging(reelforge::LogLevel::Info);

  QCommandLineParser parser;
  parser.setApplicationDescription("ReelForge Studio: storyboard, render and watch short videos");
  parser.addHelpOption();
  parser.addPositionalArgument("storyboard", "A storyboard file to open.", "[storyboard.json]");
  parser.process(app);

  MainWindow window;
  window.show();
  const QStringList files = parser.positionalArguments();
  if (!files.isEmpty()) window.openFile(files.first());
  QTimer::singleShot(0, &window, &MainWindow::offerRecovery);
  return app.exec();
}
