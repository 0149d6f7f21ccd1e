#include <gtest/gtest.h>

#include "support/testing.hpp"

using reelforge::testing::run_cli;

TEST(Cli, HelpListsCommands) {
  auto r = run_cli({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"info", "probe", "convert", "storyboard", "bench"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  }
  auto none = run_cli({});
  EXPECT_NE(none.exit_code, 0) << "no command is a usage error";
}

TEST(Cli, UnknownCommandAndOptionAreNamed) {
  auto r = run_cli({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
  auto o = run_cli({"info", "--colour"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("--colour"), std::string::npos) << o.err;
}

TEST(Cli, InfoReportsRuntime) {
  auto r = run_cli({"info", "--threads", "1", "--device", "cpu", "--dtype", "float32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("threads: 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("compute dtype: float32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("libtorch: "), std::string::npos);
  auto bad = run_cli({"info", "--threads", "many"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--threads"), std::string::npos);
}

TEST(Cli, VerboseLogsVersionsAtStart) {
  auto r = run_cli({"-v", "info"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("LibTorch"), std::string::npos) << r.err;
}

TEST(Cli, CommandHelp) {
  auto r = run_cli({"info", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Usage: reelforge info"), std::string::npos);
  auto h = run_cli({"help", "info"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("Usage: reelforge info"), std::string::npos);
}

TEST(Cli, BenchVaePrintsFiguresAndRejectsBadSizes) {
  auto r = run_cli({"bench", "vae", "--variant", "2.1", "--random-weights", "--size", "32x32",
                    "--frames", "5", "--dtype", "float32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("decode (streaming)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak RSS"), std::string::npos) << r.out;
  auto bad = run_cli({"bench", "vae", "--variant", "2.1", "--random-weights", "--size", "30x32"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.err.find("nearest valid"), std::string::npos) << bad.err;
  auto unknown = run_cli({"bench", "teleport"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("encode, generate, post, dit, umt5, vae"), std::string::npos) << unknown.err;
}

// --dtype is a global option: every bench must run in the dtype it names.
TEST(Cli, BenchesHonourTheGlobalDtype) {
  for (const char* dtype : {"float32", "bf16"}) {
    auto umt5 = run_cli({"bench", "umt5", "--random-weights", "--layers", "1", "--dim", "32",
                         "--dim-attn", "32", "--ffn", "64", "--heads", "4", "--vocab", "100",
                         "--tokens", "16", "--runs", "1", "--dtype", dtype});
    ASSERT_EQ(umt5.exit_code, 0) << umt5.err;
    EXPECT_NE(umt5.out.find(std::string(dtype) + " on cpu"), std::string::npos) << umt5.out;
    auto vae = run_cli({"bench", "vae", "--variant", "2.1", "--random-weights", "--size", "32x32",
                        "--frames", "1", "--phase", "decode", "--dtype", dtype});
    ASSERT_EQ(vae.exit_code, 0) << vae.err;
    EXPECT_NE(vae.out.find(std::string(dtype) + " on cpu"), std::string::npos) << vae.out;
  }
}

// Model commands re-execute themselves once with GOMP_SPINCOUNT set (libgomp reads it as it
// loads); a value the user set is kept. libgomp shows what it read with OMP_DISPLAY_ENV.
TEST(Cli, ModelCommandsRunWithTheOpenMPSpinCount) {
  const char* saved = std::getenv("GOMP_SPINCOUNT");
  const std::string saved_value = saved ? saved : "";
  ::unsetenv("GOMP_SPINCOUNT");
  {
    reelforge::testing::ScopedEnv display("OMP_DISPLAY_ENV", "VERBOSE");
    auto r = reelforge::testing::run_cli({"bench", "post", "--size", "bad"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("GOMP_SPINCOUNT = '10000'"), std::string::npos) << r.err;
    reelforge::testing::ScopedEnv user("GOMP_SPINCOUNT", "500");
    r = reelforge::testing::run_cli({"bench", "post", "--size", "bad"});
    EXPECT_NE(r.err.find("GOMP_SPINCOUNT = '500'"), std::string::npos) << r.err;
  }
  if (saved) ::setenv("GOMP_SPINCOUNT", saved_value.c_str(), 1);
}
