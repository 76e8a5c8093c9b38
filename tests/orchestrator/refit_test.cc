// The daemon's refit on a real SQLite store: it re-plans through the planner's PlanModel (the same
// N_opt as `isoflop predict` on the stored fit.json), refits only when a run finished since the last
// attempt, and keeps a failed or degenerate fit flagged and out of the current law.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "daemon_internal.h"
#include "isoflop/orchestrator.h"
#include "isoflop/prediction.h"
#include "store.h"
#include "sweep_internal.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::TinySpec;
using testing::WriteFile;

struct Fixture {
  TempDir dir;
  std::string db_path = dir / "state.db";
  std::map<int64_t, SweepSpec> sweeps;
  std::unique_ptr<Database> db;

  explicit Fixture(int budgets = 2) {
    WriteFile(dir / "sweep.yaml", TinySpec("tiny", dir / "runs", "local", "", budgets));
    auto spec = ParseSweepSpec(dir / "sweep.yaml");
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    SubmitOptions options;
    options.db_path = db_path;
    EXPECT_TRUE(SubmitSweep(*spec, options).ok());
    sweeps[1] = *spec;
    auto opened = Database::Open(db_path, false);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    db = std::move(opened).value();
  }
  // Marks the first `n` runs done with loss = loss_of(N, D).
  template <typename F>
  void Finish(int n, F loss_of) {
    auto q = db->Prepare("SELECT id, params, tokens FROM runs ORDER BY id LIMIT ?1");
    ASSERT_TRUE(q.ok());
    (*q)->Bind(1, static_cast<int64_t>(n));
    std::vector<std::tuple<int64_t, double, double>> rows;
    while ((*q)->Step()) rows.emplace_back((*q)->Int(0), (*q)->Double(1), (*q)->Double(2));
    for (const auto& [id, params, tokens] : rows) {
      auto u = db->Prepare("UPDATE runs SET state = 'done', final_eval_loss = ?1 WHERE id = ?2");
      ASSERT_TRUE(u.ok());
      ASSERT_TRUE((*u)->Bind(1, loss_of(params, tokens)).Bind(2, id).Run().ok());
    }
  }
  int64_t Fits() {
    auto q = db->Prepare("SELECT COUNT(*) FROM fits");
    EXPECT_TRUE(q.ok() && (*q)->Step());
    return (*q)->Int(0);
  }
};

TEST(RefitTest, ReplansThroughThePlannersCodePathAndOnlyAfterANewCompletion) {
  Fixture f;
  f.Finish(10,
           [](double n, double d) { return 1.69 + 406.4 / std::pow(n, 0.34) + 410.7 / std::pow(d, 0.28); });
  auto stored = RefitAndStore(*f.db, f.sweeps);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_TRUE(*stored);
  auto again = RefitAndStore(*f.db, f.sweeps);  // no run finished since: nothing to do
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(f.Fits(), 1);

  auto report = GetStatus(f.db_path);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const json plan = json::parse(report->plan_json);
  ASSERT_TRUE(plan.contains("params_opt")) << plan.dump();
  auto record = ParseFitJson(report->fit_json, "stored fit");
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->provenance.params_convention, ParamsConvention::kNonEmbedding);
  EXPECT_EQ(record->provenance.vocab, 256);  // the sweep's `train: {vocab: 256}`
  auto predicted = PredictAtBudget(*record, plan["target_budget_flops"].get<double>());
  ASSERT_TRUE(predicted.ok());
  EXPECT_EQ(plan["params_opt"].get<double>(), predicted->params_opt);  // one code path
  EXPECT_EQ(plan["params_opt_interval"][0].get<double>(), predicted->params_opt_interval->lo);
  EXPECT_EQ(plan["params_convention"], "non_embedding");
  EXPECT_EQ(plan["shape"]["vocab"], 256);
  EXPECT_TRUE(plan.contains("within_evidence"));
  EXPECT_TRUE(report->fit_error.empty());
}

TEST(RefitTest, AFailedFitIsKeptFlaggedNeverCurrentAndNotRetriedEveryPoll) {
  // One budget cannot identify the law (N and D move together): these are the stand-in trainer's
  // losses (Hoffmann's law with its 1% noise) at 1e13 FLOPs, which a fit would still "explain".
  Fixture f(1);
  // In the order of the spec's shapes (L2-d32, L2-d64, L4-d64, L4-d128, L6-d128).
  const std::vector<double> losses = {17.2201034238466, 13.7864902925098, 12.8338712901956, 12.6054180191105,
                                      13.02893958046};
  int next = 0;
  f.Finish(5, [&](double, double) { return losses.at(next++); });
  auto stored = RefitAndStore(*f.db, f.sweeps);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_TRUE(*stored);
  for (int poll = 0; poll < 5; ++poll) {
    auto again = RefitAndStore(*f.db, f.sweeps);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again) << "poll " << poll;
  }
  EXPECT_EQ(f.Fits(), 1);
  auto q = f.db->Prepare("SELECT valid, error FROM fits");
  ASSERT_TRUE(q.ok() && (*q)->Step());
  EXPECT_EQ((*q)->Int(0), 0);
  const std::string error = (*q)->Text(1);
  EXPECT_NE(error.find("1 compute budget"), std::string::npos) << error;
  EXPECT_FALSE(error.empty());
  auto report = GetStatus(f.db_path);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->fit_json, "null");  // a flagged attempt is never the current law
  EXPECT_EQ(report->fit_error, error);
  EXPECT_NE(report->ToJson().find("fit_error"), std::string::npos);
  EXPECT_EQ(LatestFitJson(*f.db), "");
  // A later completion (here: the same runs re-recorded with another loss) makes the daemon try again.
  auto u = f.db->ExecFixed("UPDATE runs SET final_eval_loss = final_eval_loss * 1.0001");
  ASSERT_TRUE(u.ok());
  auto d = f.db->ExecFixed("DELETE FROM fits");  // as if the attempt predated the completion
  ASSERT_TRUE(d.ok());
  auto retried = RefitAndStore(*f.db, f.sweeps);
  ASSERT_TRUE(retried.ok());
  EXPECT_TRUE(*retried);
  EXPECT_EQ(f.Fits(), 1);
}

}  // namespace
}  // namespace isoflop::orchestrator
