// Loading the report's inputs: the real Chinchilla (Epoch) runs CSV, the fitter's fit.json
// schema, a plan.json; bad input names file, line and column.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "isoflop/fit_record.h"
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

// The project's one CSV reader (issue 15): a duplicated column is refused; a quoted field may
// hold a comma.
TEST(ReportLoaders, DuplicateColumnIsRefusedQuotedCommaIsData) {
  const std::string dup =
      WriteTemp("runs_dup.csv", "params,tokens,loss,state,State\n1e6,2e7,3.1,done,done\n");
  auto bad = LoadRunsCsv(dup);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(dup + ":1: column 'State' appears twice"), std::string::npos)
      << bad.status().message();
  const std::string quoted =
      WriteTemp("runs_quoted.csv", "run_id,params,tokens,loss\n\"x, y\",1e6,2e7,3.1\n");
  auto ok = LoadRunsCsv(quoted);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)[0].id, "x, y");
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

TEST(ReportLoaders, ReadsTheFittersFitJsonSchemaThroughTheCore) {
  // The keys `isoflop fit --out` writes (scaling_law/src/fit_record.cc, docs/fit.md), read by the
  // scaling-law core's reader, the one the report's --fit goes through.
  const std::string text = R"({
    "schema": "isoflop.fit/1", "method": "approach3", "n_points": 240, "n_dropped": 5,
    "law": {"form": "chinchilla", "E": 1.8172, "A": 477.8, "B": 2143.0, "alpha": 0.3473, "beta": 0.3672},
    "objective": 0.001018274, "starts": 4500, "starts_at_optimum": 1200,
    "allocation": {"a": 0.5139, "b": 0.4861, "G": 0.3},
    "ci": {"alpha": [0.317, 0.373], "N_opt@1e+21": [1.1e9, 1.9e9], "D_opt@1e+21": [8e10, 1.5e11]},
    "parabolas": [{"budget_flops": 1e19, "c0": 20.0, "c1": -1.7, "c2": 0.045, "params_opt": 1.6e8,
                   "tokens_opt": 1e10, "loss_at_min": 3.9, "n_points": 20}],
    "parabola_fit": {"params": {"coefficient": 0.1, "exponent": 0.5}, "tokens": {"coefficient": 1.6, "exponent": 0.5}}
  })";
  auto fit = isoflop::ParseFitJson(text, "fit.json");
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_EQ(fit->method, FitMethod::kApproach3);
  EXPECT_EQ(fit->n_points, 240);
  EXPECT_TRUE(fit->has_law);
  EXPECT_EQ(fit->law.form, LawForm::kChinchilla);
  EXPECT_DOUBLE_EQ(fit->law.alpha, 0.3473);
  EXPECT_DOUBLE_EQ(fit->objective, 0.001018274);
  ASSERT_EQ(fit->ci.size(), 3u);
  EXPECT_EQ(fit->ci[0].first, "alpha");
  EXPECT_DOUBLE_EQ(fit->ci[0].second.lo, 0.317);
  EXPECT_EQ(fit->ci[1].first, "N_opt@1e+21");
  ASSERT_EQ(fit->parabolas.size(), 1u);
  EXPECT_DOUBLE_EQ(fit->parabolas[0].budget_flops, 1e19);
  EXPECT_DOUBLE_EQ(fit->parabolas[0].params_opt, 1.6e8);
  EXPECT_EQ(fit->parabolas[0].n_points, 20);
  // The report draws the fitter's N_opt@C interval as a bar at C.
  ReportInput in;
  in.runs = {RunRecord{}};
  in.runs[0].params = 1e8, in.runs[0].tokens = 1e10, in.runs[0].loss = 3.0;
  in.fit = *fit;
  auto html = RenderHtml(in, ReportOptions{});
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_NE(html->find("95% interval (fit.json ci)"), std::string::npos);
}

TEST(ReportLoaders, BadFitJsonIsAnErrorNamingTheFileAndKey) {
  auto fit = isoflop::ParseFitJson(R"({"method": "parabola", "parabolas": []})", "some/fit.json");
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(fit.status().message().find("some/fit.json"), std::string::npos) << fit.status().message();
  EXPECT_NE(fit.status().message().find("parabola_fit"), std::string::npos) << fit.status().message();
  auto bad_law = isoflop::ParseFitJson(
      R"({"law": {"E": 1.7, "A": 400, "B": 400, "alpha": -0.3, "beta": 0.3}})", "bad.json");
  ASSERT_FALSE(bad_law.ok());
  EXPECT_NE(bad_law.status().message().find("law.alpha"), std::string::npos) << bad_law.status().message();
  auto broken = isoflop::ParseFitJson("{ not json", "x.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("x.json: not valid JSON"), std::string::npos);
  auto absent = isoflop::LoadFitJson(::testing::TempDir() + "/no_such_fit.json");
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), Status::Code::kNotFound);
}

TEST(ReportLoaders, RoleAndUniqueTokensColumns) {
  const std::string path = WriteTemp("runs_roles.csv",
                                     "run_id,params,tokens,loss,Role,unique_tokens\n"
                                     "s1,1e6,2e7,3.5,sweep,\n"
                                     "s2,2e6,1e7,3.4,,5e6\n"
                                     "v1,4e6,5e7,3.1,Validation,\n");
  auto runs = LoadRunsCsv(path);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ((*runs)[0].role, RunRole::kSweep);
  EXPECT_EQ((*runs)[1].role, RunRole::kSweep);  // empty: sweep
  EXPECT_EQ((*runs)[2].role, RunRole::kValidation);
  EXPECT_TRUE(std::isnan((*runs)[0].unique_tokens));
  EXPECT_DOUBLE_EQ((*runs)[1].unique_tokens, 5e6);
  auto bad = LoadRunsCsv(
      WriteTemp("runs_bad_role.csv", "params,tokens,loss,role\n1e6,2e7,3,sweep\n1e6,2e7,3,holdout\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("runs_bad_role.csv:3"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("'role'"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("holdout"), std::string::npos) << bad.status().message();
  auto bad_u = LoadRunsCsv(WriteTemp("runs_bad_u.csv", "params,tokens,loss,unique_tokens\n1e6,2e7,3,-4\n"));
  ASSERT_FALSE(bad_u.ok());
  EXPECT_NE(bad_u.status().message().find("'unique_tokens'"), std::string::npos) << bad_u.status().message();
}

TEST(ReportLoaders, PlanJsonIntervalsEvidenceAndProvenance) {
  // The keys planner/src/plan.cc (PlanSummary::ToJson) writes beside its headline numbers.
  const std::string text = R"({"budget_flops": 1e24, "params_opt": 3.3e7, "tokens_opt": 5e15,
    "loss_pred": 1.9, "params_opt_interval": [1e6, 2e9], "tokens_opt_interval": [8e13, 1.6e17],
    "loss_interval": null, "intervals": {"params": [1e6, 2e9], "tokens": [8e13, 1.6e17],
    "source": "50 replicate laws (bootstrap over runs), 2.5th-97.5th percentile"},
    "extrapolated": true, "warning": "EXTRAPOLATED PLAN: outside the evidence",
    "evidence": {"supported": false, "reason": "fitted on 15 runs of 3e+09-3e+10 FLOPs"},
    "provenance": {"description": "parabola power-law law from fit.json", "extrapolation": 3.3e13},
    "law": {"form": "power-law", "source": "fit.json"}, "shape_params": 3.1e7, "train_tokens": 5.2e15})";
  auto plan = ParsePlanJson(text, "plan.json");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_DOUBLE_EQ(plan->params, 3.1e7);  // the chosen shape
  EXPECT_DOUBLE_EQ(plan->params_opt, 3.3e7);
  ASSERT_TRUE(plan->params_opt_interval.has_value());
  EXPECT_DOUBLE_EQ(plan->params_opt_interval->lo, 1e6);
  EXPECT_DOUBLE_EQ(plan->params_opt_interval->hi, 2e9);
  ASSERT_TRUE(plan->tokens_opt_interval.has_value());
  EXPECT_DOUBLE_EQ(plan->tokens_opt_interval->hi, 1.6e17);
  EXPECT_FALSE(plan->loss_interval.has_value());  // null: the law has none
  EXPECT_DOUBLE_EQ(plan->loss, 1.9);
  EXPECT_TRUE(plan->extrapolated);
  EXPECT_EQ(plan->warning, "EXTRAPOLATED PLAN: outside the evidence");
  EXPECT_FALSE(plan->evidence_supported);
  EXPECT_EQ(plan->evidence_reason, "fitted on 15 runs of 3e+09-3e+10 FLOPs");
  EXPECT_EQ(plan->provenance, "parabola power-law law from fit.json");
  EXPECT_DOUBLE_EQ(plan->extrapolation, 3.3e13);
  EXPECT_EQ(plan->law_source, "fit.json");
  EXPECT_NE(plan->interval_source.find("50 replicate laws"), std::string::npos);
  auto old = ParsePlanJson(R"({"budget_flops": 1e23, "params_opt": 6e9})", "old.json");
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->extrapolated);
  EXPECT_FALSE(old->params_opt_interval.has_value());
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
