// Sweep specs: a valid spec expands into the expected runs; every malformed spec is refused with
// "file:line: field: problem".
#include <gtest/gtest.h>

#include <cmath>

#include "isoflop/orchestrator.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::TempDir;

StatusOr<SweepSpec> Parse(const std::string& text) {
  return ParseSweepSpecText(text, "/specs/s.yaml");
}

const char* kValid = R"(name: tiny
backend: local
out_dir: runs
data: ../shards
budgets_flops: [1e13, 3e13]
models:
  - {layers: 2, d_model: 64, heads: 2}
  - {name: wide, layers: 2, d_model: 128, heads: 4, mlp: swiglu, ffn: 256}
train: {lr: 0.003, batch_size: 8, note: "a: b # c"}
retry: {max_attempts: 4, backoff_s: 1, backoff_max_s: 30}
resources: {cpus: 2, gpus: 0, mem_mb: 2048, time_limit_min: 30}
slurm: {partition: debug, signal: "B:USR1@90"}
local: {slots: 3}
)";

TEST(SweepSpecTest, ParsesEveryFieldAndResolvesPathsAgainstTheSpecsFolder) {
  auto spec = Parse(kValid);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->name, "tiny");
  EXPECT_EQ(spec->out_dir, "/specs/runs");
  EXPECT_EQ(spec->data, "/shards");
  ASSERT_EQ(spec->budgets_flops.size(), 2u);
  EXPECT_DOUBLE_EQ(spec->budgets_flops[1], 3e13);
  ASSERT_EQ(spec->models.size(), 2u);
  EXPECT_EQ(spec->models[0].name, "L2-d64");
  EXPECT_EQ(spec->models[1].name, "wide");
  EXPECT_EQ(spec->retry.max_attempts, 4);
  EXPECT_EQ(spec->resources.mem_mb, 2048);
  EXPECT_EQ(spec->slurm.signal, "B:USR1@90");
  EXPECT_EQ(spec->local_slots, 3);
  EXPECT_EQ(spec->train.at("note"), "a: b # c");
}

TEST(SweepSpecTest, PlanUsesTheTrainersNonEmbeddingCountAndSixNDTokens) {
  auto spec = Parse(kValid);
  ASSERT_TRUE(spec.ok());
  auto runs = PlanSweep(*spec);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 4u);
  const PlannedRun& r = (*runs)[0];
  EXPECT_EQ(r.name, "C1e13-L2-d64");
  // The count the trainer reports (one implementation, isoflop/model_shape.h): Kaplan et al. 2020
  // eq. 2.1's 12 L d^2 with d_ff = 4 d, plus the trainer's RMSNorm gains (2 per layer, 1 final).
  EXPECT_DOUBLE_EQ(r.params, 12.0 * 2 * 64 * 64 + (2 * 2 + 1) * 64);
  EXPECT_DOUBLE_EQ(r.tokens, std::floor(1e13 / (6.0 * r.params)));
  EXPECT_EQ(r.config.at("tokens"), std::to_string(static_cast<long long>(r.tokens)));
  EXPECT_EQ(r.config.at("lr"), "0.003");
  // SwiGLU: attention 4 d^2 + 3 d ffn per layer, plus the norms.
  EXPECT_DOUBLE_EQ((*runs)[1].params, 2.0 * (4.0 * 128 * 128 + 3.0 * 128 * 256) + (2 * 2 + 1) * 128);
  EXPECT_EQ((*runs)[3].name, "C3e13-wide");
}

struct BadSpec {
  const char* what;
  std::string text;
  std::string expected;  // substring of the error: "file:line: field"
};

class MalformedSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(MalformedSpecTest, NamesFileLineAndField) {
  auto spec = Parse(GetParam().text);
  ASSERT_FALSE(spec.ok()) << GetParam().what;
  EXPECT_EQ(spec.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(spec.status().message().find(GetParam().expected), std::string::npos)
      << GetParam().what << ": got " << spec.status().message();
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  return s.replace(s.find(from), from.size(), to);
}

INSTANTIATE_TEST_SUITE_P(
    Specs, MalformedSpecTest,
    ::testing::Values(
        BadSpec{"budget not a number", Replace(kValid, "[1e13, 3e13]", "[1e13, lots]"),
                "/specs/s.yaml:5: budgets_flops[1]: expected a number"},
        BadSpec{"negative budget", Replace(kValid, "[1e13, 3e13]", "[-1e13]"),
                "/specs/s.yaml:5: budgets_flops[0]"},
        BadSpec{"unknown key", Replace(kValid, "local: {slots: 3}", "local: {slot: 3}"),
                "/specs/s.yaml:13: local.slot: unknown key"},
        BadSpec{"typo at top level", Replace(kValid, "backend: local", "backnd: local"),
                "/specs/s.yaml:2: backnd: unknown key"},
        BadSpec{"heads do not divide d_model",
                Replace(kValid, "d_model: 64, heads: 2", "d_model: 64, heads: 3"),
                "/specs/s.yaml:7: models[0].heads"},
        BadSpec{"missing layers",
                Replace(kValid, "{layers: 2, d_model: 64, heads: 2}", "{d_model: 64, heads: 2}"),
                "/specs/s.yaml:7: models[0].layers: missing"},
        BadSpec{"bad backend", Replace(kValid, "backend: local", "backend: k8s"), "/specs/s.yaml:2: backend"},
        BadSpec{"unsafe name", Replace(kValid, "name: tiny", "name: \"a/../b\""), "/specs/s.yaml:1: name"},
        BadSpec{"missing data", Replace(kValid, "data: ../shards\n", ""), "data: missing"},
        BadSpec{"nested train value", Replace(kValid, "note: \"a: b # c\"", "note: [1, 2]"), "train.note"},
        BadSpec{"broken yaml", Replace(kValid, "models:", "models: ["), "/specs/s.yaml:"},
        BadSpec{"non-integer layers", Replace(kValid, "layers: 2, d_model: 64", "layers: 2.5, d_model: 64"),
                "/specs/s.yaml:7: models[0].layers: expected an integer"},
        BadSpec{"retry attempts zero", Replace(kValid, "max_attempts: 4", "max_attempts: 0"),
                "/specs/s.yaml:10: retry.max_attempts"}));

TEST(SweepSpecTest, MissingFileIsInvalidArgumentNamingIt) {
  auto spec = ParseSweepSpec("/nonexistent/sweep.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(spec.status().message().find("/nonexistent/sweep.yaml"), std::string::npos);
}

TEST(SweepSpecTest, SubmitOfAMalformedSpecWritesNothing) {
  TempDir dir;
  // A spec that parses but whose budget is too small for a model: refused before the DB exists.
  auto spec = Parse(Replace(kValid, "[1e13, 3e13]", "[1e3]"));
  ASSERT_TRUE(spec.ok());
  spec->data = testing::ShardsDir();  // real shards: the budget is what is refused
  SubmitOptions options;
  options.db_path = dir / "state.db";
  auto summary = SubmitSweep(*spec, options);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(options.db_path));
}

TEST(SweepSpecTest, ResubmittingAddsOnlyNewRuns) {
  TempDir dir;
  auto spec = Parse(kValid);
  ASSERT_TRUE(spec.ok());
  spec->data = testing::ShardsDir();
  SubmitOptions options;
  options.db_path = dir / "state.db";
  auto first = SubmitSweep(*spec, options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->runs_added, 4);
  spec->budgets_flops.push_back(1e14);
  auto second = SubmitSweep(*spec, options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->runs_added, 2);
  EXPECT_EQ(second->runs_existing, 4);
  auto status = GetStatus(options.db_path);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->runs.size(), 6u);
  EXPECT_EQ(status->counts.at("pending"), 6);
}

TEST(SweepSpecTest, AutoSizesSpanAFactorAroundTheRuleOfThumbOptimum) {
  std::string text =
      Replace(kValid,
              "models:\n  - {layers: 2, d_model: 64, heads: 2}\n  - {name: wide, layers: 2, d_model: "
              "128, heads: 4, mlp: swiglu, ffn: 256}\n",
              "auto_sizes: {count: 3, factor: 4}\n");
  text = Replace(text, "[1e13, 3e13]", "[1e17]");
  auto spec = Parse(text);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto runs = PlanSweep(*spec);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_GE(runs->size(), 2u);
  // Hoffmann et al. 2022: N_opt ~ sqrt(C / 120) without a fit; sizes bracket it.
  double n_opt = std::sqrt(1e17 / 120.0);
  EXPECT_LT(runs->front().params, n_opt);
  EXPECT_GT(runs->back().params, n_opt);
}

}  // namespace
}  // namespace isoflop::orchestrator
