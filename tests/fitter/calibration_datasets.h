// The public IsoFLOP sweeps of the calibration protocol (docs/fit.md, "Calibrated extrapolation";
// files and provenance: tests/data/PROVENANCE.md). Shared by fitter_calibration_protocol_test and the
// isoflop_calibration_table tool that prints docs/fit.md's tables.
#ifndef ISOFLOP_TESTS_FITTER_CALIBRATION_DATASETS_H_
#define ISOFLOP_TESTS_FITTER_CALIBRATION_DATASETS_H_

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "isoflop/fitter.h"

namespace isoflop::calibration_data {

struct Dataset {
  std::string name;
  std::vector<RunPoint> runs;
  double budget_gap_decades = 0.1;  // how this sweep's runs group into budgets
};

inline StatusOr<std::vector<RunPoint>> Load(const std::string& file, const std::string& columns,
                                            const std::vector<std::string>& where) {
  CsvOptions csv;
  if (!columns.empty()) ISOFLOP_RETURN_IF_ERROR(csv.ParseColumns(columns));
  for (const auto& w : where) ISOFLOP_RETURN_IF_ERROR(csv.ParseWhere(w));
  return LoadRunsCsv(std::string(ISOFLOP_TEST_DATA_DIR) + "/" + file, csv);
}

// Li et al. 2025's runs are not an IsoFLOP sweep: each model is trained for several token counts at 3
// peak learning rates. The IsoFLOP profiles are read off each model's loss-vs-tokens curve (best
// learning rate per token count, ln L linear in ln D between measured counts, no extrapolation) at
// C = 1, 2, 5 x 10^k FLOPs, D = C / (6 N): the interpolation Hoffmann et al. 2022 (Sec. 3.2) and Porian
// et al. 2024 use on training curves, here on final losses.
inline StatusOr<std::vector<RunPoint>> MisfittingIsoflops() {
  auto raw = Load("misfitting2025_scaling_results_last_ckpt_only.csv",
                  "params=N,tokens=D,loss=loss,run_id=model", {});
  if (!raw.ok()) return raw.status();
  std::map<std::string, std::map<double, RunPoint>> best;  // model -> tokens -> lowest-loss run
  for (const RunPoint& r : *raw) {
    auto& slot = best[r.run_id];
    auto it = slot.find(r.tokens);
    if (it == slot.end() || r.loss < it->second.loss) slot[r.tokens] = r;
  }
  std::vector<RunPoint> out;
  for (const auto& [model, curve] : best) {
    if (curve.size() < 2) continue;
    std::vector<double> log_d, log_l;
    for (const auto& [d, r] : curve) {
      log_d.push_back(std::log(d));
      log_l.push_back(std::log(r.loss));
    }
    const double n = curve.begin()->second.params;
    for (int k = 16; k <= 20; ++k)
      for (double m : {1.0, 2.0, 5.0}) {
        const double c = m * std::pow(10.0, k);
        const double x = std::log(c / (6 * n));
        if (x < log_d.front() || x > log_d.back()) continue;
        const size_t j = std::min<size_t>(std::upper_bound(log_d.begin(), log_d.end(), x) - log_d.begin(),
                                          log_d.size() - 1);
        const double t = (x - log_d[j - 1]) / (log_d[j] - log_d[j - 1]);
        RunPoint p;
        p.run_id = model;
        p.params = n;
        p.tokens = c / (6 * n);
        p.flops = c;
        p.loss = std::exp(log_l[j - 1] + t * (log_l[j] - log_l[j - 1]));
        out.push_back(p);
      }
  }
  return out;
}

// The datasets the protocol is run on. Porian et al. 2024: the six sweeps with the standard parameter
// count (embeddings excluded, the output layer counted) and short warm-up, validation loss, on
// RefinedWeb and OpenWebText2: Kaplan-style decay, Chinchilla-style cosine decay, and their tuned
// constant-learning-rate setting.
inline StatusOr<std::vector<Dataset>> Datasets() {
  std::vector<Dataset> out;
  auto llama3 = Load("llama3_isoflops_points_ericczech.csv",
                     "flops=compute_budget,tokens=training_tokens,loss=validation_loss", {});
  if (!llama3.ok()) return llama3.status();
  out.push_back({"Llama 3 (Dubey et al. 2024, Fig. 2)", *llama3, 0.1});
  for (const char* dataset : {"rw", "owt2"})
    for (const auto& [hparams, decay] :
         {std::pair{"base", "kaplan"}, std::pair{"base", "chinchilla"}, std::pair{"tuned", "const"}}) {
      auto runs = Load("porian2024_isoflop_points.csv", "",
                       {std::string("dataset=") + dataset, std::string("hparams=") + hparams, "warmup=short",
                        std::string("decay=") + decay, "param_count=standard", "val=val"});
      if (!runs.ok()) return runs.status();
      out.push_back({std::string("Porian ") + dataset + "/" + hparams + "/" + decay, *runs, 0.1});
    }
  auto epoch = Load("chinchilla_epoch.csv", "", {});
  if (!epoch.ok()) return epoch.status();
  // Chinchilla's runs spread in C; at 0.02 decades they fall into Hoffmann et al.'s IsoFLOP budgets.
  out.push_back({"Chinchilla (Epoch AI's Fig. 4 data)", *epoch, 0.02});
  auto misfitting = MisfittingIsoflops();
  if (!misfitting.ok()) return misfitting.status();
  out.push_back({"(Mis)Fitting (Li et al. 2025), interpolated", *misfitting, 0.1});
  return out;
}

}  // namespace isoflop::calibration_data

#endif  // ISOFLOP_TESTS_FITTER_CALIBRATION_DATASETS_H_
