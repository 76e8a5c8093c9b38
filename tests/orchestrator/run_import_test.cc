// `runs import`: logs of real Megatron-LM, torchtitan and nanoGPT runs (tests/data/engine_logs,
// provenance in tests/data/PROVENANCE.md) parse to the values their lines print, import into a real
// SQLite store as finished runs with run directories, and then status, the report bridge, runs
// export → the fitter, and the daemon's own refit all work on them (with the real Chinchilla runs
// imported from CSV beside them, so the five-parameter law is identified).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "isoflop/fitter.h"
#include "isoflop/orchestrator.h"
#include "isoflop/orchestrator_report.h"
#include "isoflop/run_import.h"
#include "store.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

const std::string kLogs = std::string(ISOFLOP_SOURCE_DIR) + "/tests/data/engine_logs/";
const std::string kMegatronN4 = kLogs + "megatron_gpt2_base_n4_dp1_tp4_pp4-1809579.log";
const std::string kMegatronN8 = kLogs + "megatron_gpt2_base_n8_dp1_tp4_pp8-1809562.log";
const std::string kTorchtitan = kLogs + "torchtitan_deepseek_v3_debugmodel_4gpu.log";
const std::string kNanogpt = kLogs + "nanogpt_shakespeare_char_mps.log";
const std::string kChinchilla = std::string(ISOFLOP_SOURCE_DIR) + "/tests/data/chinchilla_epoch.csv";

TEST(EngineLogs, MegatronLmSlurmOutput) {
  auto run = ParseEngineLog("megatron-log", kMegatronN4);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  // The arguments block: 40 layers x 6144, FFN 24576, positions 1024, GPT-2 vocabulary padded to
  // 50688 (" > padded vocab ... (new size: 50688)"); the GPT block's count (docs/planner.md).
  const double h = 6144, l = 40, v = 50688, s = 1024;
  EXPECT_DOUBLE_EQ(run->params, l * (12 * h * h + 13 * h) + 2 * h + (v + s) * h);
  EXPECT_NEAR(run->params, 18.44e9, 0.01e9);
  // The last validation: " validation loss at iteration 200 | lm loss value: 7.487306E+00",
  // after " iteration 200/1000 | consumed samples: 800" x seq_length 1024.
  EXPECT_EQ(run->loss_kind, "eval");
  EXPECT_DOUBLE_EQ(run->loss, 7.487306);
  EXPECT_DOUBLE_EQ(run->tokens, 800.0 * 1024);
  EXPECT_DOUBLE_EQ(run->flops, 6 * run->params * run->tokens);
  EXPECT_EQ(run->steps, 200);
  // Throughput of the last iteration line: global batch 4 x 1024 tokens in 1382.2 ms.
  ASSERT_TRUE(run->tokens_per_s.has_value());
  EXPECT_NEAR(*run->tokens_per_s, 4 * 1024 / 1.3822, 1e-6);
  EXPECT_FALSE(run->mfu.has_value());  // this Megatron version logs no TFLOP/s
  int evals = 0;
  for (const auto& p : run->points) evals += p.eval_loss.has_value();
  EXPECT_EQ(evals, 2);
}

TEST(EngineLogs, TorchtitanLog) {
  auto run = ParseEngineLog("torchtitan-log", kTorchtitan);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_DOUBLE_EQ(run->params, 33014016);  // "size: 33,014,016 total parameters"
  // "global batch size 16, ..., sequence length 2048", 10 steps; no validation: the last training loss.
  EXPECT_DOUBLE_EQ(run->tokens, 10.0 * 16 * 2048);
  EXPECT_EQ(run->loss_kind, "train");
  EXPECT_DOUBLE_EQ(run->loss, 1.93761);
  // tps is per device; the mesh is pp=1 x dp_replicate=1 x dp_shard=2 x cp=1 x tp=2 = 4 devices (ep reuses
  // them).
  ASSERT_TRUE(run->tokens_per_s.has_value());
  EXPECT_DOUBLE_EQ(*run->tokens_per_s, 121163.0 * 4);
  ASSERT_TRUE(run->mfu.has_value());
  EXPECT_DOUBLE_EQ(*run->mfu, 0.0263);
  bool moe_noted = false;
  for (const auto& n : run->notes) moe_noted |= n.find("active 28,098,816") != std::string::npos;
  EXPECT_TRUE(moe_noted) << "the MoE's active count is reported beside the total";
}

TEST(EngineLogs, NanogptLog) {
  auto run = ParseEngineLog("nanogpt-log", kNanogpt);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_DOUBLE_EQ(run->params, 10.65e6);  // "number of parameters: 10.65M"
  // "step 5000: train loss 0.6186, val loss 1.7028" after 5000 updates of 16,384 tokens.
  EXPECT_EQ(run->loss_kind, "eval");
  EXPECT_DOUBLE_EQ(run->loss, 1.7028);
  EXPECT_DOUBLE_EQ(run->tokens, 5000.0 * 16384);
  ASSERT_TRUE(run->mfu.has_value());
  EXPECT_DOUBLE_EQ(*run->mfu, 0.0129);  // "iter 5000: ..., mfu 1.29%"
}

TEST(EngineLogs, BadInputNamesWhatIsMissing) {
  testing::TempDir dir;
  testing::WriteFile(dir / "empty.log", "nothing here\n");
  auto none = ParseEngineLog("megatron-log", dir / "empty.log");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(none.status().message().find("empty.log"), std::string::npos);
  // An iteration line but no arguments block: the sequence length must come from a flag.
  testing::WriteFile(
      dir / "bare.log",
      " iteration       10/     100 | consumed samples:          320 | elapsed time per iteration "
      "(ms): 100.0 | global batch size:    32 | lm loss: 5.000000E+00 |\n");
  auto bare = ParseEngineLog("megatron-log", dir / "bare.log");
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.status().message().find("--seq-len"), std::string::npos) << bare.status().message();
  LogOverrides o;
  o.seq_len = 2048;
  o.params = 1.5e8;
  auto flagged = ParseEngineLog("megatron-log", dir / "bare.log", o);
  ASSERT_TRUE(flagged.ok()) << flagged.status().ToString();
  EXPECT_DOUBLE_EQ(flagged->tokens, 320.0 * 2048);
  EXPECT_EQ(flagged->params_source, "--params");
  auto unknown = ParseEngineLog("deepspeed-log", dir / "bare.log");
  EXPECT_FALSE(unknown.ok());
}

TEST(RunImport, IntoTheStoreThenStatusReportExportFitAndRefit) {
  testing::TempDir dir;
  const std::string db = dir / "state.db";
  ImportOptions logs;
  logs.db_path = db;
  logs.sweep = "engines";
  for (auto [format, file] : std::vector<std::pair<std::string, std::string>>{{"megatron-log", kMegatronN4},
                                                                              {"megatron-log", kMegatronN8},
                                                                              {"torchtitan-log", kTorchtitan},
                                                                              {"nanogpt-log", kNanogpt}}) {
    logs.format = format;
    logs.files = {file};
    auto s = ImportRuns(logs);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->added, 1);
  }
  ImportOptions csv;
  csv.db_path = db;
  csv.sweep = "chinchilla";
  csv.format = "csv";
  csv.files = {kChinchilla};
  auto chin = ImportRuns(csv);
  ASSERT_TRUE(chin.ok()) << chin.status().ToString();
  EXPECT_GT(chin->added, 200);

  // Importing the same log again replaces its run instead of adding one.
  logs.format = "nanogpt-log";
  logs.files = {kNanogpt};
  auto again = ImportRuns(logs);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->added, 0);
  EXPECT_EQ(again->replaced, 1);

  // status: every imported run is done, with its loss.
  auto status = GetStatus(db);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->counts["done"], 4 + chin->added);
  bool found = false;
  for (const RunStatus& r : status->runs) {
    if (r.sweep == "engines" && r.name == "nanogpt_shakespeare_char_mps") {
      found = true;
      ASSERT_TRUE(r.final_eval_loss.has_value());
      EXPECT_DOUBLE_EQ(*r.final_eval_loss, 1.7028);
      EXPECT_DOUBLE_EQ(r.tokens, 5000.0 * 16384);
      // Its run directory is in isoflop's format.
      auto summary = nlohmann::json::parse(testing::ReadFile(r.run_dir + "/summary.json"));
      EXPECT_EQ(summary["status"], "done");
      EXPECT_DOUBLE_EQ(summary["final_eval_loss"].get<double>(), 1.7028);
      EXPECT_TRUE(std::filesystem::exists(r.run_dir + "/engine.log"));
      EXPECT_NE(testing::ReadFile(r.run_dir + "/metrics.jsonl").find("\"eval_loss\":1.7028"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(found);

  // The report's bridge reads them, tokens/s and MFU from the run directories.
  report::ReportInput input;
  ASSERT_TRUE(FillReportInputFromDb(db, &input, nullptr).ok());
  bool titan = false;
  for (const auto& r : input.runs) {
    if (r.id == "engines/torchtitan_deepseek_v3_debugmodel_4gpu") {
      titan = true;
      EXPECT_DOUBLE_EQ(r.tokens_per_s, 121163.0 * 4);
      EXPECT_DOUBLE_EQ(r.mfu, 0.0263);
    }
  }
  EXPECT_TRUE(titan);

  // runs export → the fitter's CSV reader → a fit.
  auto exported = ExportRunsCsv(db);
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  testing::WriteFile(dir / "runs.csv", *exported);
  auto points = LoadRunsCsv(dir / "runs.csv", CsvOptions{});
  ASSERT_TRUE(points.ok()) << points.status().ToString();
  EXPECT_EQ(static_cast<int>(points->size()), 4 + chin->added);
  FitOptions fit_options;
  fit_options.threads = 1;
  auto grid = HoffmannGrid();
  for (size_t i = 0; i < grid.size(); i += 9) fit_options.starts.push_back(grid[i]);
  FitSummary fit;
  ASSERT_TRUE(Fit(*points, fit_options, &fit).ok());
  EXPECT_TRUE(fit.has_law);

  // The daemon's refit: nothing to launch (imported sweeps are skipped), one fit over every done run.
  DaemonOptions d;
  d.db_path = db;
  d.listen = "off";
  d.exit_when_idle = true;
  d.max_runtime_s = 120;
  auto ran = RunDaemon(d);
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ(ran->launches, 0);
  EXPECT_EQ(ran->refits, 1);
  auto after = GetStatus(db);
  ASSERT_TRUE(after.ok());
  auto fit_json = nlohmann::json::parse(after->fit_json);
  EXPECT_TRUE(fit_json.is_object());
}

TEST(RunImport, BadFileStoresNothing) {
  testing::TempDir dir;
  testing::WriteFile(dir / "bad.log", "no training here\n");
  ImportOptions o;
  o.db_path = dir / "state.db";
  o.format = "nanogpt-log";
  o.files = {kNanogpt, dir / "bad.log"};
  auto s = ImportRuns(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("bad.log"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "state.db")) << "nothing is written when one input is bad";
}

// A CSV with more runs than --max-runs (the fitter's reader and limit, issue 15 finding 12) is
// refused at the first run over the limit, naming file, line and flag, and nothing is stored.
TEST(RunImport, ACsvOverTheRunLimitStoresNothingAndNamesLineAndFlag) {
  testing::TempDir dir;
  ImportOptions o;
  o.db_path = dir / "state.db";
  o.format = "csv";
  o.files = {kChinchilla};
  o.max_runs = 100;  // the file holds 245 runs after its header line
  auto s = ImportRuns(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("chinchilla_epoch.csv:102: more than 100 runs"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("--max-runs"), std::string::npos) << s.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir / "state.db"));
  o.max_runs = 0;  // no limit: all of them
  auto all = ImportRuns(o);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->added, 245);
}

}  // namespace
}  // namespace isoflop::orchestrator
