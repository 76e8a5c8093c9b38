// Shared by the report tests: the real inputs they render.
#ifndef ISOFLOP_TESTS_REPORT_FIXTURES_H_
#define ISOFLOP_TESTS_REPORT_FIXTURES_H_

#include <string>

#include <gtest/gtest.h>

#include "isoflop/fit_record.h"
#include "isoflop/report.h"

namespace isoflop::report::testing {

inline const std::string kData = ISOFLOP_TEST_DATA_DIR;

// Chinchilla's 245 runs (Epoch's extraction) with the fit `isoflop fit` made of them
// (tests/data/report/chinchilla_fit.json, a version-1 fit.json the core still reads; provenance in
// tests/data/PROVENANCE.md) and a plan.
inline ReportInput ChinchillaInput() {
  ReportInput in;
  auto runs = LoadRunsCsv(kData + "/chinchilla_epoch.csv");
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  if (runs.ok()) in.runs = *runs;
  auto fit = isoflop::LoadFitJson(kData + "/report/chinchilla_fit.json");
  EXPECT_TRUE(fit.ok()) << fit.status().ToString();
  if (fit.ok()) in.fit = *fit;
  auto plan = LoadPlanJson(kData + "/report/plan_1e23.json");
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (plan.ok()) in.plan = *plan;
  in.source = "tests/data/chinchilla_epoch.csv";
  return in;
}

// Llama 3's IsoFLOP points (10 budgets) with its fit, plus runs in every state, the way a
// live sweep looks: some running, one failed, one diverged.
inline ReportInput LlamaSweepInput() {
  ReportInput in;
  auto runs = LoadRunsCsv(kData + "/report/llama3_isoflop_runs.csv");
  EXPECT_TRUE(runs.ok()) << runs.status().ToString();
  if (runs.ok()) in.runs = *runs;
  auto fit = isoflop::LoadFitJson(kData + "/report/llama3_fit.json");
  EXPECT_TRUE(fit.ok()) << fit.status().ToString();
  if (fit.ok()) in.fit = *fit;
  // Named as a user in the checkout's root names it (the provenance line prints it).
  if (fit.ok()) in.fit->provenance.source = "tests/data/report/llama3_fit.json";
  if (in.runs.size() > 10) {
    in.runs[3].state = RunState::kRunning;
    in.runs[3].loss = kUnknown;
    in.runs[5].state = RunState::kFailed;
    in.runs[5].attempts = 3;
    in.runs[5].loss = kUnknown;
    in.runs[7].state = RunState::kDiverged;
    in.runs[7].loss = 7.5;
  }
  in.source = "tests/data/report/llama3_isoflop_runs.csv";
  return in;
}

}  // namespace isoflop::report::testing

#endif  // ISOFLOP_TESTS_REPORT_FIXTURES_H_
