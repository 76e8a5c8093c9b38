// Loading the report's inputs: the real Chinchilla (Epoch) runs CSV, the fitter's fit.json
// schema, a plan.json; bad input names file, line and column.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/report.h"

namespace isoflop::report {
namespace {

const std::string kData = ISOFLOP_TEST_DATA_DIR;

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ReportLoaders, ReadsChinchillaEpochCsv) {
  auto runs = LoadRunsCsv(kData + "/chinchilla_epoch.csv");
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 245u);
  // First data row of Epoch's extraction (tests/data/chinchilla_epoch.csv, line 2).
  const RunRecord& r = (*runs)[0];
  EXPECT_DOUBLE_EQ(r.params, 6795600349.289497);
  EXPECT_DOUBLE_EQ(r.tokens, 245105957.9245427);
  EXPECT_DOUBLE_EQ(r.loss, 5.005581996196243);
  EXPECT_DOUBLE_EQ(r.flops, 9.993852799709755e+18);
  EXPECT_EQ(r.state, RunState::kDone);
  EXPECT_EQ(r.id, "row2");  // no run_id column: named by line
  EXPECT_TRUE(std::isnan(r.mfu));
}

TEST(ReportLoaders, ReadsStateAndPerRunColumnsCaseInsensitively) {
  const std::string path =
      WriteTemp("runs_states.csv",
                "Run_ID,PARAMS,Tokens,loss,State,attempts,tokens_per_s,mfu,energy_kwh,extra\n"
                "a,1e6,2e7,3.5,done,1,1200,0.31,0.002,x\n"
                "\"b, quoted\",2e6,1e7,,running,2,,,,y\n"
                "c,4e6,5e6,9.9,diverged,1,,,,z\n");
  auto runs = LoadRunsCsv(path);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ((*runs)[0].id, "a");
  EXPECT_DOUBLE_EQ((*runs)[0].tokens_per_s, 1200);
  EXPECT_DOUBLE_EQ((*runs)[0].mfu, 0.31);
  EXPECT_DOUBLE_EQ((*runs)[0].energy_kwh, 0.002);
  EXPECT_EQ((*runs)[1].id, "b, quoted");
  EXPECT_EQ((*runs)[1].state, RunState::kRunning);
  EXPECT_EQ((*runs)[1].attempts, 2);
  EXPECT_TRUE(std::isnan((*runs)[1].loss));
  EXPECT_EQ((*runs)[2].state, RunState::kDiverged);
}

TEST(ReportLoaders, BadCellNamesFileLineAndColumn) {
  const std::string path = WriteTemp("runs_bad.csv", "params,tokens,loss\n1e6,2e7,3.1\n1e6,abc,3.0\n");
  auto runs = LoadRunsCsv(path);
  ASSERT_FALSE(runs.ok());
  EXPECT_EQ(runs.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(runs.status().message().find(path + ":3"), std::string::npos) << runs.status().message();
  EXPECT_NE(runs.status().message().find("'tokens'"), std::string::npos) << runs.status().message();
}

TEST(ReportLoaders, MissingColumnAndNonFiniteAndUnknownStateAreErrors) {
  auto missing = LoadRunsCsv(WriteTemp("runs_missing.csv", "params,loss\n1,2\n"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing column 'tokens'"), std::string::npos);
  auto inf = LoadRunsCsv(WriteTemp("runs_inf.csv", "params,tokens,loss\n1e6,2e7,inf\n"));
  ASSERT_FALSE(inf.ok());
  EXPECT_NE(inf.status().message().find(":2"), std::string::npos);
  auto state = LoadRunsCsv(WriteTemp("runs_state.csv", "params,tokens,loss,state\n1e6,2e7,3,exploded\n"));
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.status().message().find("exploded"), std::string::npos);
  auto absent = LoadRunsCsv(::testing::TempDir() + "/does_not_exist.csv");
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), Status::Code::kNotFound);
}

TEST(ReportLoaders, ReadsTheFittersFitJsonSchema) {
  // The keys `isoflop fit --out` writes (fitter/src/report.cc, docs/fit.md).
  const std::string text = R"({
    "schema": "isoflop.fit/1", "method": "approach3", "n_points": 240, "n_dropped": 5,
    "law": {"form": "chinchilla", "E": 1.8172, "A": 477.8, "B": 2143.0, "alpha": 0.3473, "beta": 0.3672},
    "objective": 0.001018274, "starts": 4500, "starts_at_optimum": 1200,
    "allocation": {"a": 0.5139, "b": 0.4861, "G": 0.3},
    "ci": {"alpha": [0.317, 0.373], "N_opt@1e+21": [1.1e9, 1.9e9], "D_opt@1e+21": [8e10, 1.5e11]},
    "parabolas": [{"budget_flops": 1e19, "c0": 20.0, "c1": -1.7, "c2": 0.045, "params_opt": 1.6e8,
                   "tokens_opt": 1e10, "loss_at_min": 3.9, "n_points": 20}]
  })";
  auto fit = ParseFitJson(text, "fit.json");
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_EQ(fit->method, "approach3");
  EXPECT_EQ(fit->n_points, 240);
  EXPECT_DOUBLE_EQ(fit->law.alpha, 0.3473);
  EXPECT_DOUBLE_EQ(fit->objective, 0.001018274);
  ASSERT_EQ(fit->ci.count("alpha"), 1u);
  EXPECT_DOUBLE_EQ(fit->ci.at("alpha").lo, 0.317);
  EXPECT_EQ(fit->ci.count("N_opt@1e+21"), 1u);
  ASSERT_EQ(fit->parabolas.size(), 1u);
  EXPECT_DOUBLE_EQ(fit->parabolas[0].flops, 1e19);
  EXPECT_DOUBLE_EQ(fit->parabolas[0].n_opt, 1.6e8);
  EXPECT_EQ(fit->parabolas[0].n_points, 20);
}

TEST(ReportLoaders, FitJsonWithoutALawIsAnErrorNamingTheFile) {
  auto fit = ParseFitJson(R"({"method": "parabola", "parabolas": []})", "some/fit.json");
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(fit.status().message().find("some/fit.json"), std::string::npos);
  auto broken = ParseFitJson("{ not json", "x.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("x.json: not valid JSON"), std::string::npos);
}

TEST(ReportLoaders, PlanJsonBecomesLabelledRows) {
  const std::string text = R"({"budget_flops": 1e23, "params_opt": 6.1e9, "tokens_opt": 2.7e12,
    "shape": {"layers": 32, "d_model": 4096}, "predictions": {"mfu": 0.41, "wall_clock_h": 312.5}})";
  auto plan = ParsePlanJson(text, "plan.json");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_DOUBLE_EQ(plan->budget_flops, 1e23);
  EXPECT_DOUBLE_EQ(plan->params, 6.1e9);
  EXPECT_DOUBLE_EQ(plan->tokens, 2.7e12);
  bool saw_layers = false, saw_wall = false;
  for (const auto& r : plan->rows) {
    if (r.section == "shape" && r.name == "layers" && r.value == "32") saw_layers = true;
    if (r.section == "predictions" && r.name == "wall_clock_h" && r.value == "312.5") saw_wall = true;
  }
  EXPECT_TRUE(saw_layers);
  EXPECT_TRUE(saw_wall);
}

TEST(ReportLoaders, RunDirGivesThroughputMfuAndEnergyAndSkipsAHalfWrittenLine) {
  // The run-directory contract of docs/interfaces.md; the last line is cut mid-write.
  const std::string dir = ::testing::TempDir() + "/report_run_dir";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/metrics.jsonl")
      << "{\"step\": 10, \"tokens\": 5120, \"tokens_per_s\": 900.5, \"mfu\": 0.021}\n"
      << "{\"step\": 20, \"tokens\": 10240, \"tokens_per_s\": 950.25, \"mfu\": 0.023}\n"
      << "{\"step\": 30, \"tokens\": 153";
  std::ofstream(dir + "/summary.json")
      << "{\"final_eval_loss\": 5.1, \"tokens\": 10240, \"wall_time_s\": 12.0, "
         "\"energy_kwh\": 0.0003, \"status\": \"done\"}";
  RunRecord r;
  ASSERT_TRUE(FillFromRunDir(dir, &r).ok());
  EXPECT_DOUBLE_EQ(r.tokens_per_s, 950.25);
  EXPECT_DOUBLE_EQ(r.mfu, 0.023);
  EXPECT_DOUBLE_EQ(r.energy_kwh, 0.0003);
  RunRecord none;
  EXPECT_TRUE(FillFromRunDir(dir + "/absent", &none).ok());
  EXPECT_TRUE(std::isnan(none.tokens_per_s));
  // The runs CSV can name run directories (scripts/demo exports them from the sweep).
  const std::string csv =
      WriteTemp("runs_dirs.csv", "run_id,params,tokens,loss,run_dir\nr1,1e4,1e5,6.1," + dir + "\n");
  auto runs = LoadRunsCsv(csv);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_DOUBLE_EQ((*runs)[0].tokens_per_s, 950.25);
  EXPECT_DOUBLE_EQ((*runs)[0].mfu, 0.023);
  std::ofstream(dir + "/summary.json") << "{ broken";
  auto broken_dir = LoadRunsCsv(csv);
  ASSERT_FALSE(broken_dir.ok());
  EXPECT_NE(broken_dir.status().message().find(csv + ":2"), std::string::npos)
      << broken_dir.status().message();
  const Status bad = FillFromRunDir(dir, &r);
  EXPECT_EQ(bad.code(), Status::Code::kCorruption);
  EXPECT_NE(bad.message().find("summary.json"), std::string::npos);
}

}  // namespace
}  // namespace isoflop::report
