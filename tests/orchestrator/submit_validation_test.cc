// `sweep submit` validates every reference and every number of a spec before anything is written
// (issue 15: findings 3, 5, 6 and 13 of the bad-input campaign, and `data:` paths): each bad spec
// is refused with kInvalidArgument naming the file, line or field, and no state.db is created.
#include <gtest/gtest.h>

#include <filesystem>

#include "isoflop/orchestrator.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::TempDir;

std::string Spec(const std::string& out_dir, const std::string& data, const std::string& budgets,
                 const std::string& models, const std::string& backend = "local") {
  return "name: v\nbackend: " + backend + "\nout_dir: \"" + out_dir + "\"\ndata: \"" + data +
         "\"\nbudgets_flops: " + budgets + "\n" + models;
}

const char* kOneModel = "models:\n  - {layers: 1, d_model: 12, heads: 2}\n";  // N = 1,728

// Submits `text` as spec file s.yaml into a fresh database; returns the status and whether the
// database exists afterwards.
struct Outcome {
  Status status;
  bool db_exists = false;
};
Outcome Submit(const TempDir& dir, const std::string& text, const std::string& backend_override = "") {
  testing::WriteFile(dir / "s.yaml", text);
  Outcome o;
  auto spec = ParseSweepSpec(dir / "s.yaml");
  if (!spec.ok()) {
    o.status = spec.status();
  } else {
    SubmitOptions options;
    options.db_path = dir / "state.db";
    options.backend_override = backend_override;
    auto s = SubmitSweep(*spec, options);
    o.status = s.ok() ? Status::OK() : s.status();
  }
  o.db_exists = std::filesystem::exists(dir / "state.db");
  return o;
}

TEST(SubmitValidationTest, DataPathThatDoesNotExistIsRefused) {
  TempDir dir;
  Outcome o = Submit(dir, Spec(dir / "runs", dir / "no-shards", "[1e10]", kOneModel));
  EXPECT_EQ(o.status.code(), Status::Code::kInvalidArgument) << o.status.ToString();
  EXPECT_NE(o.status.message().find("data: " + dir / "no-shards" + ": no such directory"), std::string::npos)
      << o.status.message();
  EXPECT_FALSE(o.db_exists);
}

TEST(SubmitValidationTest, DataDirectoryWithoutShardIndexIsRefused) {
  TempDir dir;
  std::filesystem::create_directories(dir / "empty");
  Outcome o = Submit(dir, Spec(dir / "runs", dir / "empty", "[1e10]", kOneModel));
  EXPECT_EQ(o.status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(o.status.message().find("no index.tsv"), std::string::npos) << o.status.message();
  EXPECT_FALSE(o.db_exists);
}

// Finding 5: 1e23 FLOPs at N = 1,728 is D = 9.6e18 tokens, which used to be written into run.yaml
// as tokens: -9223372036854775808.
TEST(SubmitValidationTest, TokenCountBeyondTwoToThe53IsRefused) {
  TempDir dir;
  Outcome o = Submit(dir, Spec(dir / "runs", testing::ShardsDir(), "[1e23]", kOneModel));
  EXPECT_EQ(o.status.code(), Status::Code::kInvalidArgument) << o.status.ToString();
  EXPECT_NE(o.status.message().find("1e+23 FLOPs is too large for model L1-d12"), std::string::npos)
      << o.status.message();
  EXPECT_FALSE(o.db_exists);
}

// Finding 6: budgets equal to 3 significant digits named the same runs; `submit` kept 5 of 15.
TEST(SubmitValidationTest, BudgetsThatShareARunNameAreRefusedWithTheirLine) {
  TempDir dir;
  Outcome o =
      Submit(dir, Spec(dir / "runs", testing::ShardsDir(), "\n  - 1.2341e10\n  - 1.2342e10", kOneModel));
  EXPECT_EQ(o.status.code(), Status::Code::kInvalidArgument) << o.status.ToString();
  EXPECT_NE(
      o.status.message().find("s.yaml:7: budgets_flops[1]: 1.2342e+10 and budgets_flops[0] (1.2341e+10) "
                              "agree to 3 significant digits"),
      std::string::npos)
      << o.status.message();
  Outcome twice = Submit(dir, Spec(dir / "runs", testing::ShardsDir(), "[1e10, 3e10, 1e10]", kOneModel));
  EXPECT_NE(twice.status.message().find("budgets_flops[2]: 1e+10 is listed twice (also budgets_flops[0])"),
            std::string::npos)
      << twice.status.message();
  EXPECT_FALSE(twice.db_exists);
}

// Finding 3: Slurm expands '%' in --output and turns expansion off at '\'; every run failed.
TEST(SubmitValidationTest, SlurmOutDirWithPercentOrBackslashIsRefused) {
  TempDir dir;
  for (const std::string bad : {"/runs%j", "/runs\\\\x"}) {
    Outcome o = Submit(dir, Spec(dir / "runs" + bad, testing::ShardsDir(), "[1e10]", kOneModel, "slurm"));
    EXPECT_EQ(o.status.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(o.status.message().find("s.yaml:3: out_dir:"), std::string::npos) << o.status.message();
    EXPECT_FALSE(o.db_exists);
  }
  // The same spec on the local backend is fine; submitted with --backend slurm it is refused.
  Outcome local = Submit(dir, Spec(dir / "runs%j", testing::ShardsDir(), "[1e10]", kOneModel));
  EXPECT_TRUE(local.status.ok()) << local.status.ToString();
  TempDir dir2;
  Outcome overridden =
      Submit(dir2, Spec(dir2 / "runs%j", testing::ShardsDir(), "[1e10]", kOneModel), "slurm");
  EXPECT_EQ(overridden.status.code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(overridden.db_exists);
}

// Finding 13: an auto_sizes spec refused at submit used to leave an empty state.db behind.
TEST(SubmitValidationTest, RefusedAutoSizesSpecLeavesNoDatabase) {
  TempDir dir;
  Outcome o =
      Submit(dir, Spec(dir / "runs", testing::ShardsDir(), "[1e2]", "auto_sizes: {count: 3, factor: 2}\n"));
  EXPECT_EQ(o.status.code(), Status::Code::kInvalidArgument) << o.status.ToString();
  EXPECT_FALSE(o.db_exists);
}

}  // namespace
}  // namespace isoflop::orchestrator
