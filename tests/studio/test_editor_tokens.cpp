// The inspector's token count with a real model: a tiny random-weight model written to a
// temporary model folder, whose SentencePiece tokenizer must give the same count as the core's
// own tokenizer, against the model's text length.

#include <QLabel>
#include <QPlainTextEdit>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>

#include "docks/shot_inspector.hpp"
#include "models/storyboard_document.hpp"
#include "reelforge/models/model_writer.hpp"
#include "reelforge/models/registry.hpp"
#include "reelforge/models/tokenizer.hpp"
#include "reelforge/storyboard/io.hpp"
#include "services/prompt_tokens.hpp"

namespace fs = std::filesystem;
namespace sb = reelforge::storyboard;

class TestEditorTokens : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  fs::path model_;

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    reelforge::models::RandomModelSpec spec = reelforge::models::RandomModelSpec::tiny();
    spec.name = "tokens-tiny";
    model_ = fs::path(dir_.path().toStdString()) / "models" / spec.name;
    reelforge::models::write_random_model(model_, spec);
    reelforge::models::set_extra_model_folders({model_.parent_path()});
  }

  void countsWithTheModelsTokenizer() {
    StoryboardDocument document;
    sb::Storyboard board;
    board.project.model = "tokens-tiny";
    sb::Shot shot;
    shot.id = "a";
    shot.prompt = "a red ball rolls left over green grass";
    board.shots = {shot};
    document.restore(sb::to_json_text(board), {});

    ShotInspector inspector(&document);
    inspector.setShot("a");
    QVERIFY2(inspector.tokenCounter().exact(), qPrintable(inspector.tokenCounter().source()));
    QVERIFY(inspector.tokenCounter().source().contains("tokens-tiny"));

    const auto manifest = reelforge::models::ModelManifest::load(model_);
    const auto tokenizer =
        reelforge::models::T5Tokenizer::load(model_ / manifest.text_encoder.tokenizer);
    const auto expected = tokenizer.count_tokens(shot.prompt);
    QCOMPARE(inspector.promptTokensLabel()->text(),
             QStringLiteral("%1 / %2 tokens").arg(expected).arg(manifest.text_encoder.text_len));
    // Not the upper bound (code points + 2), which would be far more for this prompt.
    QVERIFY(expected < static_cast<int64_t>(shot.prompt.size()) + 2);

    // Past the model's limit the count says so.
    QString longPrompt;
    for (int i = 0; i < manifest.text_encoder.text_len; ++i) longPrompt += "red ball ";
    inspector.promptEdit()->setPlainText(longPrompt);
    QVERIFY(inspector.promptTokensLabel()->text().contains("too long"));
    // The prompt is still taken (prompts are not refused while typed): validation reports it.
    QCOMPARE(QString::fromStdString(document.shot(0).prompt), longPrompt);
  }
};

QTEST_MAIN(TestEditorTokens)
#include "test_editor_tokens.moc"
