// `isoflop status` for people (StatusReport::ToText, issue 15): each run with its state, step, loss
// and ETA; the law with its intervals; the plan's headline with its interval; flagged runs with
// their reasons; a law with a non-positive exponent flagged rather than presented; interval changes
// said in words; no terminal escape codes.
#include <gtest/gtest.h>

#include "isoflop/orchestrator.h"

namespace isoflop::orchestrator {
namespace {

StatusReport Report() {
  StatusReport r;
  r.runs_total = 3;
  r.counts = {{"running", 1}, {"done", 1}, {"failed", 1}};
  RunStatus running;
  running.sweep = "tiny";
  running.name = "C1e10-L2-d32";
  running.state = "running";
  running.attempt = 1;
  running.tokens = 10000;
  running.last_step = 120;
  running.last_train_loss = 3.4123;
  running.tokens_done = 4000;
  running.tokens_per_s = 50;
  running.eta_s = 120;
  RunStatus done = running;
  done.name = "C1e10-L1-d16";
  done.state = "done";
  done.final_eval_loss = 3.2011;
  RunStatus failed = running;
  failed.name = "C3e10-L2-d24";
  failed.state = "failed";
  failed.attempt = 3;
  failed.reason = "exit 1 after 3 attempts (retry.max_attempts)";
  r.runs = {running, done, failed};
  r.fit_json = R"({"schema": "isoflop.fit/1", "n_points": 12, "bootstrap_resamples": 20,
    "law": {"form": "chinchilla", "E": 1.81, "A": 477.8, "B": 2143.4, "alpha": 0.3473, "beta": 0.3671},
    "allocation": {"a": 0.5138, "b": 0.4862, "G": 0.11},
    "ci": {"alpha": [0.31, 0.39], "beta": [0.33, 0.41], "E": [1.7, 1.93]}})";
  r.plan_json = R"({"target_budget_flops": 1e18, "params_opt": 3.2e6, "tokens_opt": 5.2e10,
    "loss_pred": 2.91, "params_opt_interval": [2.1e6, 4.5e6], "tokens_opt_interval": [3.7e10, 7.9e10]})";
  r.narrowing_json = R"({"alpha": {"width_prev": 0.1, "width_now": 0.08, "narrowed_fraction": 0.2},
    "beta": {"width_prev": 0.05, "width_now": 0.1, "narrowed_fraction": -1.0},
    "n_points_prev": 11, "n_points_now": 12})";
  return r;
}

TEST(StatusTextTest, RunsLawPlanAndFlaggedRunsAreReadable) {
  const std::string text = Report().ToText();
  EXPECT_EQ(text.find('\033'), std::string::npos) << "no escape codes";
  EXPECT_NE(text.find("3 runs: 1 done, 1 running, 1 failed"), std::string::npos) << text;
  // The running run: step, share of its tokens, last train loss (~), throughput, ETA.
  EXPECT_NE(
      text.find(
          "C1e10-L2-d32                   running       1      120   40%    ~3.412         50    2m00s"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "C1e10-L1-d16                   done          1      120  100%     3.201          -        -"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("fitted on 12 runs; 95% bootstrap intervals from 20 resamples"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  alpha      0.3473  [0.31, 0.39]\n  beta       0.3671  [0.33, 0.41]\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  A           477.8\n"), std::string::npos) << text;
  EXPECT_NE(
      text.find(
          "C3e10-L2-d24                   failed        3      120     -    ~3.412          -        -"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("intervals since the previous fit (11 -> 12 runs): alpha 20% narrower, beta 2x wider"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Plan for C = 1e+18 FLOPs: N_opt = 3.2e+06 [2.1e+06, 4.5e+06] params, D_opt = 5.2e+10 "
                      "[3.7e+10, 7.9e+10] tokens, predicted loss 2.91"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Flagged runs (1):\n  tiny/C3e10-L2-d24 (failed): exit 1 after 3 attempts"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("{\""), std::string::npos) << "no raw JSON";
}

TEST(StatusTextTest, ALawWithANegativeExponentIsFlaggedNotPresented) {
  StatusReport r = Report();
  r.fit_json = R"({"n_points": 7, "law": {"E": 2.1, "A": 10, "B": 20, "alpha": -0.165, "beta": 0.3},
    "allocation": {"a": 1.2, "b": -0.2}, "ci": {}})";
  r.plan_json =
      R"({"target_budget_flops": 1e18, "error": "the fitted law gives no finite compute-optimal N and D"})";
  const std::string text = r.ToText();
  EXPECT_NE(text.find("FLAGGED: not a usable law (alpha = -0.165 is not positive); not used for planning"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("N_opt ∝ C^a"), std::string::npos) << "no allocation from an unusable law";
  EXPECT_NE(
      text.find("Plan for C = 1e+18 FLOPs: none (the fitted law gives no finite compute-optimal N and D)"),
      std::string::npos)
      << text;
}

TEST(StatusTextTest, NoFitYetAndNoRuns) {
  StatusReport r;
  r.fit_json = "null";
  r.plan_json = "null";
  r.narrowing_json = "null";
  const std::string text = r.ToText();
  EXPECT_NE(text.find("0 runs:"), std::string::npos);
  EXPECT_NE(text.find("Law: no fit yet"), std::string::npos) << text;
}

}  // namespace
}  // namespace isoflop::orchestrator
