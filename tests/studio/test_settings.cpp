// StudioSettings on a real ini file (values persist across instances, bad values fall back, the
// model folders reach the core's registry) and the settings dialog over it (loads the values,
// refuses invalid ones with a visible message, saves valid ones).

#include <QApplication>
#include <QComboBox>
#include <QLineEdit>
#include <QListWidget>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include "dialogs/settings_dialog.hpp"
#include "reelforge/models/registry.hpp"
#include "services/studio_settings.hpp"

class TestSettings : public QObject {
  Q_OBJECT

 private slots:
  void init();
  void cleanup();
  void hasUsableDefaults();
  void persistsEveryValue();
  void fallsBackFromValuesItDoesNotKnow();
  void modelFoldersReachTheRegistry();
  void dialogLoadsValidatesAndSaves();

 private:
  QString ini() const { return QDir(dir_->path()).filePath(QStringLiteral("studio.ini")); }
  QString path(const QString& name) const { return QDir(dir_->path()).filePath(name); }
  std::unique_ptr<QTemporaryDir> dir_;
};

void TestSettings::init() {
  dir_ = std::make_unique<QTemporaryDir>();
  QVERIFY(dir_->isValid());
}

void TestSettings::cleanup() {
  reelforge::models::set_extra_model_folders({});
}

void TestSettings::hasUsableDefaults() {
  StudioSettings settings(ini());
  QCOMPARE(settings.fileName(), ini());
  QCOMPARE(settings.device(), QStringLiteral("auto"));
  QCOMPARE(settings.threads(), 0);
  QCOMPARE(settings.memoryMode(), QStringLiteral("auto"));
  QVERIFY(settings.modelFolders().isEmpty());
  QVERIFY(settings.moderationPolicy().isEmpty());
  QVERIFY(settings.defaultModel().isEmpty());
  QVERIFY(settings.outputFolder().endsWith(QStringLiteral("ReelForge")));
  const RenderJobOptions options = settings.renderOptions();
  QCOMPARE(options.device, QStringLiteral("auto"));
  QCOMPARE(options.memoryMode, QStringLiteral("auto"));
  QCOMPARE(options.threads, 0);
}

void TestSettings::persistsEveryValue() {
  {
    StudioSettings settings(ini());
    QSignalSpy changed(&settings, &StudioSettings::changed);
    settings.setModelFolders({path("models-a"), path("models-b")});
    settings.setOutputFolder(path("renders"));
    settings.setDevice(QStringLiteral("cpu"));
    settings.setThreads(3);
    settings.setMemoryMode(QStringLiteral("low"));
    settings.setModerationPolicy(path("policy.json"));
    settings.setDefaultModel(QStringLiteral("wan2.1-t2v-1.3b"));
    QCOMPARE(changed.count(), 7);
    settings.setThreads(3);  // unchanged: no signal
    QCOMPARE(changed.count(), 7);
    settings.sync();
  }
  QVERIFY(QFileInfo::exists(ini()));
  StudioSettings reopened(ini());
  QCOMPARE(reopened.modelFolders(), QStringList({path("models-a"), path("models-b")}));
  QCOMPARE(reopened.outputFolder(), path("renders"));
  QCOMPARE(reopened.device(), QStringLiteral("cpu"));
  QCOMPARE(reopened.threads(), 3);
  QCOMPARE(reopened.memoryMode(), QStringLiteral("low"));
  QCOMPARE(reopened.moderationPolicy(), path("policy.json"));
  QCOMPARE(reopened.defaultModel(), QStringLiteral("wan2.1-t2v-1.3b"));
  const RenderJobOptions options = reopened.renderOptions();
  QCOMPARE(options.device, QStringLiteral("cpu"));
  QCOMPARE(options.threads, 3);
  QCOMPARE(options.memoryMode, QStringLiteral("low"));
  QCOMPARE(options.moderationPolicy, path("policy.json"));
}

void TestSettings::fallsBackFromValuesItDoesNotKnow() {
  {
    QSettings raw(ini(), QSettings::IniFormat);  // as a user might edit the file
    raw.setValue(QStringLiteral("compute/device"), QStringLiteral("tpu"));
    raw.setValue(QStringLiteral("compute/memory"), QStringLiteral("tiny"));
    raw.setValue(QStringLiteral("compute/threads"), -4);
  }
  StudioSettings settings(ini());
  QCOMPARE(settings.device(), QStringLiteral("auto"));
  QCOMPARE(settings.memoryMode(), QStringLiteral("auto"));
  QCOMPARE(settings.threads(), 0);
  settings.setDevice(QStringLiteral("quantum"));
  QCOMPARE(settings.device(), QStringLiteral("auto"));
}

void TestSettings::modelFoldersReachTheRegistry() {
  StudioSettings settings(ini());
  settings.setModelFolders({path("mine")});
  auto extra = reelforge::models::extra_model_folders();
  QCOMPARE(extra.size(), size_t(1));
  QCOMPARE(QString::fromStdString(extra[0].string()), path("mine"));
  bool inSearchPath = false;
  for (const auto& p : reelforge::models::model_search_path()) {
    inSearchPath |= QString::fromStdString(p.string()) == path("mine");
  }
  QVERIFY(inSearchPath);
  // A new instance on the same file applies them at once (the app's start-up).
  reelforge::models::set_extra_model_folders({});
  StudioSettings again(ini());
  QCOMPARE(reelforge::models::extra_model_folders().size(), size_t(1));
}

void TestSettings::dialogLoadsValidatesAndSaves() {
  QVERIFY(QDir().mkpath(path("models")));
  StudioSettings settings(ini());
  settings.setModelFolders({path("models")});
  settings.setDevice(QStringLiteral("cpu"));
  settings.setThreads(2);
  settings.setMemoryMode(QStringLiteral("normal"));
  SettingsDialog dialog(&settings);
  dialog.show();
  QCOMPARE(dialog.modelFoldersList()->count(), 1);
  QCOMPARE(dialog.modelFoldersList()->item(0)->text(), path("models"));
  QCOMPARE(dialog.deviceBox()->currentData().toString(), QStringLiteral("cpu"));
  QCOMPARE(dialog.threadsBox()->value(), 2);
  QCOMPARE(dialog.memoryBox()->currentData().toString(), QStringLiteral("normal"));

  // A moderation policy that does not load is refused with the core's reason; nothing is saved.
  QFile broken(path("broken.json"));
  QVERIFY(broken.open(QIODevice::WriteOnly));
  broken.write(R"({"version": 1, "categories": [{"id": "x", "regexes": ["(unclosed"]}]})");
  broken.close();
  dialog.policyEdit()->setText(path("broken.json"));
  dialog.threadsBox()->setValue(5);
  dialog.accept();
  QVERIFY(dialog.isVisible());
  QVERIFY2(dialog.errorText().contains(QStringLiteral("Moderation policy")),
           qPrintable(dialog.errorText()));
  QCOMPARE(settings.threads(), 2);
  QVERIFY(settings.moderationPolicy().isEmpty());

  // So is a model folder that does not exist.
  dialog.policyEdit()->clear();
  dialog.modelFoldersList()->addItem(path("nowhere"));
  dialog.accept();
  QVERIFY(dialog.isVisible());
  QVERIFY2(dialog.errorText().contains(path("nowhere")), qPrintable(dialog.errorText()));

  // Valid values are saved.
  delete dialog.modelFoldersList()->takeItem(1);
  QFile policy(path("policy.json"));
  QVERIFY(policy.open(QIODevice::WriteOnly));
  policy.write(R"({"version": 1, "categories": [{"id": "no_balls", "description": "no balls",
                   "words": ["ball"]}], "allow": []})");
  policy.close();
  dialog.policyEdit()->setText(path("policy.json"));
  dialog.outputFolderEdit()->setText(path("out"));
  dialog.deviceBox()->setCurrentIndex(dialog.deviceBox()->findData(QStringLiteral("auto")));
  dialog.memoryBox()->setCurrentIndex(dialog.memoryBox()->findData(QStringLiteral("low")));
  dialog.accept();
  QVERIFY2(dialog.errorText().isEmpty(), qPrintable(dialog.errorText()));
  QCOMPARE(dialog.result(), int(QDialog::Accepted));
  QVERIFY(!dialog.isVisible());
  QCOMPARE(settings.threads(), 5);
  QCOMPARE(settings.moderationPolicy(), path("policy.json"));
  QCOMPARE(settings.outputFolder(), path("out"));
  QVERIFY(QFileInfo(path("out")).isDir());  // created
  QCOMPARE(settings.device(), QStringLiteral("auto"));
  QCOMPARE(settings.memoryMode(), QStringLiteral("low"));
  StudioSettings reread(ini());
  QCOMPARE(reread.threads(), 5);
  QCOMPARE(reread.memoryMode(), QStringLiteral("low"));
}

QTEST_MAIN(TestSettings)
#include "test_settings.moc"
