// Budget -> compute-optimal N and D -> shape -> fastest layout -> predictions and costs.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "isoflop/planner.h"
#include "planner_internal.h"

namespace isoflop::planner {

bool PlanOptions::IsValid(std::string* error) const {
  auto fail = [&](const char* what) {
    if (error) *error = what;
    return false;
  };
  if (!(budget > 0) || !std::isfinite(budget)) return fail("the budget must be a positive number");
  if (!(inference_tokens >= 0)) return fail("--inference-tokens must be >= 0");
  if (seq_len < 1) return fail("--seq-len must be >= 1");
  if (vocab < 1) return fail("vocab must be >= 1");
  if (gpus < 0) return fail("--gpus must be >= 0");
  if (global_batch < 0) return fail("--global-batch must be >= 0");
  if (top_k < 1) return fail("--top must be >= 1");
  std::string perf_error;
  if (!perf.IsValid(&perf_error)) {
    if (error) *error = "perf options: " + perf_error;
    return false;
  }
  return true;
}

namespace {

// Sardana et al. 2024 ("Beyond Chinchilla-Optimal"), Sec. 2: for a target loss ell, choose N to
// minimise 6 N D(N) + 2 N T_inf where D(N) = (B / (ell - E - A/N^alpha))^(1/beta) solves L(N, D)
// = ell. Golden-section search in log N over the interval where D(N) is finite.
void InferenceAwareOptimum(const ScalingLaw& law, double target_loss, double inference_tokens,
                           double n_chinchilla, double* n_out, double* d_out) {
  auto tokens_for = [&](double n) {
    const double gap = target_loss - law.E - law.A / std::pow(n, law.alpha);
    return gap > 0 ? std::pow(law.B / gap, 1.0 / law.beta) : INFINITY;
  };
  auto total = [&](double log_n) {
    const double n = std::exp(log_n);
    return 6 * n * tokens_for(n) + 2 * n * inference_tokens;
  };
  // N cannot go below the size whose loss floor reaches the target.
  const double n_min = std::pow(law.A / (target_loss - law.E), 1.0 / law.alpha);
  double lo = std::log(n_min) + 1e-6, hi = std::log(n_chinchilla) + 1e-9;
  const double phi = (std::sqrt(5.0) - 1) / 2;
  for (int i = 0; i < 200 && hi - lo > 1e-10; ++i) {
    const double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
    if (total(a) < total(b)) {
      hi = b;
    } else {
      lo = a;
    }
  }
  *n_out = std::exp((lo + hi) / 2);
  *d_out = tokens_for(*n_out);
}

double Percentile(std::vector<double> x, double q) {
  std::sort(x.begin(), x.end());
  const double pos = q * (x.size() - 1);
  const size_t i = static_cast<size_t>(pos);
  const double frac = pos - i;
  return i + 1 < x.size() ? x[i] * (1 - frac) + x[i + 1] * frac : x[i];
}

}  // namespace

Status Plan(const PlanOptions& options, const ScalingLaw& law, const ClusterSpec& cluster, PlanSummary* out) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  if (!law.IsValid(&error)) return Status::InvalidArgument(error);
  if (!cluster.IsValid(&error)) return Status::InvalidArgument(error);
  const int gpus = options.gpus > 0 ? options.gpus : cluster.total_gpus();
  if (gpus > cluster.total_gpus())
    return Status::InvalidArgument("--gpus " + std::to_string(gpus) + " exceeds " + cluster.path + "'s " +
                                   std::to_string(cluster.total_gpus()) + " GPUs");

  ShapeSearchOptions shape_options;
  shape_options.vocab = options.vocab;
  shape_options.seq_len = options.seq_len;
  shape_options.mlp = options.mlp;
  shape_options.tp_divisor = std::min(8, cluster.gpus_per_node);
  LayoutSearchOptions layout_options;
  layout_options.gpus = gpus;
  layout_options.top_k = options.top_k;

  // GPU-hour, dollar and kWh budgets become FLOPs through the performance model: C = GPU-seconds x
  // peak x MFU of the plan's own layout, iterated to a fixed point (the MFU depends on the model,
  // which depends on C).
  const double peak = cluster.peak_bf16_tflops * 1e12;
  double gpu_hours_budget = 0;
  switch (options.budget_kind) {
    case BudgetKind::kFlops:
      break;
    case BudgetKind::kGpuHours:
      gpu_hours_budget = options.budget;
      break;
    case BudgetKind::kUsd:
      if (!(cluster.price_usd_per_gpu_hour > 0))
        return Status::InvalidArgument(cluster.path +
                                       ": field 'price_usd_per_gpu_hour' must be > 0 for --budget-usd");
      gpu_hours_budget = options.budget / cluster.price_usd_per_gpu_hour;
      break;
    case BudgetKind::kKwh:
      break;  // needs the utilisation: handled in the loop
  }

  PlanSummary s;
  s.law = law;
  s.cluster = cluster;
  double mfu = 0.40, busy = 0.9;  // first guesses; replaced by the model's own
  for (int iteration = 0; iteration < 8; ++iteration) {
    double budget_flops = options.budget;
    if (options.budget_kind == BudgetKind::kGpuHours || options.budget_kind == BudgetKind::kUsd) {
      budget_flops = gpu_hours_budget * 3600 * peak * mfu;
    } else if (options.budget_kind == BudgetKind::kKwh) {
      // energy = GPU-hours x power x utilisation x PUE  ->  GPU-hours = kWh / (kW x busy x PUE)
      const double hours = options.budget / (cluster.gpu_power_w / 1000 * busy * cluster.pue);
      budget_flops = hours * 3600 * peak * mfu;
    }
    s.budget_flops = budget_flops;
    s.params_opt = law.OptimalParams(budget_flops);
    s.tokens_opt = law.OptimalTokens(budget_flops);
    s.loss_pred = law.Loss(s.params_opt, s.tokens_opt);
    double n_target = s.params_opt;
    if (options.inference_tokens > 0) {
      double n_inf = 0, d_inf = 0;
      InferenceAwareOptimum(law, s.loss_pred, options.inference_tokens, s.params_opt, &n_inf, &d_inf);
      n_target = n_inf;
    }
    std::vector<ModelShape> shapes = ShapesForParams(n_target, shape_options);
    if (shapes.empty()) {  // small models: 64-wide steps are still tensor-core friendly
      ShapeSearchOptions finer = shape_options;
      finer.width_multiple = 64;
      finer.head_dim = 64;
      shapes = ShapesForParams(n_target, finer);
    }
    if (shapes.empty()) {
      return Status::InvalidArgument("budget of " + internal::FormatFlops(budget_flops) +
                                     " FLOPs is too small: its compute-optimal model (" +
                                     internal::FormatCount(n_target) +
                                     " parameters) is smaller than any transformer with vocab " +
                                     std::to_string(options.vocab) + " the shape search can build");
    }
    s.shape = shapes.front();
    s.alternative_shapes.assign(shapes.begin() + 1, shapes.end());
    s.shape_params = s.shape.ParamsTotal();
    s.flops_per_token = options.exact_flops ? s.shape.ModelFlopsPerToken() : 6 * s.shape_params;
    if (options.inference_tokens > 0) {
      // Train the chosen shape to the target loss (Sardana et al. 2024): D from L(N, D) = loss.
      const double gap = s.loss_pred - law.E - law.A / std::pow(s.shape_params, law.alpha);
      s.train_tokens = gap > 0 ? std::pow(law.B / gap, 1.0 / law.beta) : budget_flops / s.flops_per_token;
    } else {
      s.train_tokens = budget_flops / s.flops_per_token;
    }
    // The smallest optimiser step this cluster can take: every data-parallel replica needs at
    // least one sequence, and the most model parallelism available (TP within a node dividing
    // the heads, CP down to 4K-token chunks, PP up to a stage per layer) bounds the replicas
    // from below (the search keeps >= 7/8 of the GPUs busy).
    int tp_max = 1;
    while (tp_max * 2 <= std::min(cluster.gpus_per_node, gpus) && s.shape.heads % (tp_max * 2) == 0 &&
           s.shape.kv_heads % (tp_max * 2) == 0)
      tp_max *= 2;
    int cp_max = 1;
    while (cp_max * 2 <= 16 && s.shape.seq_len % (cp_max * 2) == 0 && s.shape.seq_len / (cp_max * 2) >= 4096)
      cp_max *= 2;
    const double max_model_parallel = static_cast<double>(tp_max) * cp_max * std::min(s.shape.layers, 128);
    const double min_replicas = std::max(1.0, std::ceil(0.875 * gpus / max_model_parallel));
    const double min_step_tokens = min_replicas * s.shape.seq_len;
    if (s.train_tokens < min_step_tokens) {
      return Status::InvalidArgument(
          "budget of " + internal::FormatFlops(budget_flops) +
          " FLOPs is smaller than one optimiser step: the " + internal::FormatCount(s.shape_params) +
          "-parameter model would train on " + internal::FormatCount(s.train_tokens) +
          " tokens, but one step on " + std::to_string(gpus) + " GPUs needs at least " +
          internal::FormatCount(min_step_tokens) + " tokens (" +
          std::to_string(static_cast<long long>(min_replicas)) + " data-parallel replicas x one " +
          std::to_string(s.shape.seq_len) + "-token sequence); use fewer GPUs (--gpus) or a larger budget");
    }
    // Global batch: ~4M tokens (Hoffmann et al. 2022 used 1.5M-3M; LLaMA-3 4M-16M), but no more
    // than 1/100 of the run's tokens so that small runs still take >= 100 steps.
    layout_options.global_batch =
        options.global_batch > 0
            ? options.global_batch
            : static_cast<int>(
                  std::max(min_replicas, std::min(4194304.0 / s.shape.seq_len,
                                                  std::floor(s.train_tokens / (100.0 * s.shape.seq_len)))));
    auto layouts = SearchLayouts(s.shape, cluster, options.perf, layout_options);
    if (!layouts.ok()) return layouts.status();
    s.layouts = std::move(layouts).value();
    const PerfSummary& best = s.layouts.ranked.front();
    const double new_mfu =
        options.exact_flops ? best.mfu : best.mfu * 6 * s.shape_params / s.shape.ModelFlopsPerToken();
    const double step_busy = (best.compute_s + best.elementwise_s + best.optimizer_s) / best.step_time_s;
    const bool converged = std::abs(new_mfu / mfu - 1) < 1e-4 && std::abs(step_busy / busy - 1) < 1e-4;
    mfu = new_mfu;
    busy = step_busy;
    if (options.budget_kind == BudgetKind::kFlops || converged) break;
  }

  const PerfSummary& best = s.layouts.ranked.front();
  const double tokens_per_step = static_cast<double>(best.config.global_batch) * s.shape.seq_len;
  s.steps = s.train_tokens / tokens_per_step;
  if (s.steps < 1) {
    return Status::InvalidArgument(
        "budget of " + internal::FormatFlops(s.budget_flops) +
        " FLOPs is smaller than one optimiser step: the " + internal::FormatCount(s.shape_params) +
        "-parameter model needs " + internal::FormatCount(s.flops_per_token * tokens_per_step) +
        " FLOPs per step (" + std::to_string(best.config.global_batch) + " sequences x " +
        std::to_string(s.shape.seq_len) + " tokens on " + std::to_string(gpus) + " GPUs)");
  }
  s.wall_clock_s = s.steps * best.step_time_s;
  s.gpu_hours = s.wall_clock_s / 3600 * best.config.gpus();
  s.cost_usd = s.gpu_hours * cluster.price_usd_per_gpu_hour;
  // Energy: GPU-hours x board power x utilisation (busy fraction of the step) x PUE; CO2: energy x
  // grid intensity (Patterson et al. 2021, Eq. 1 uses the same product).
  const double utilisation = (best.compute_s + best.elementwise_s + best.optimizer_s) / best.step_time_s;
  s.energy_kwh = s.gpu_hours * cluster.gpu_power_w / 1000 * utilisation * cluster.pue;
  s.co2_kg = s.energy_kwh * cluster.grid_gco2_per_kwh / 1000;

  // Intervals from the bootstrap replicates (5th..95th percentile).
  if (!law.bootstrap.empty()) {
    std::vector<double> ns, ds, ls;
    for (const ScalingLaw& replicate : law.bootstrap) {
      const double n = replicate.OptimalParams(s.budget_flops), d = replicate.OptimalTokens(s.budget_flops);
      ns.push_back(n);
      ds.push_back(d);
      ls.push_back(replicate.Loss(n, d));
    }
    s.params_interval = Interval{Percentile(ns, 0.05), Percentile(ns, 0.95)};
    s.tokens_interval = Interval{Percentile(ds, 0.05), Percentile(ds, 0.95)};
    s.loss_interval = Interval{Percentile(ls, 0.05), Percentile(ls, 0.95)};
    s.interval_source = "bootstrap replicates, 5th-95th percentile";
  } else {
    for (const auto& ci : law.ci_at_budgets) {
      if (std::abs(ci.budget_flops / s.budget_flops - 1) > 1e-6) continue;
      s.params_interval = Interval{ci.params_lo, ci.params_hi};
      s.tokens_interval = Interval{ci.tokens_lo, ci.tokens_hi};
      s.interval_source = "fit.json ci at this budget";
    }
  }
  s.search_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *out = std::move(s);
  return Status::OK();
}

// ----- reports ---------------------------------------------------------------------------------------

namespace {
std::string ShapeLine(const ModelShape& m) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%d layers x d_model %d, %d heads (%d kv), ffn %d, %s, vocab %d, seq %d: %s params", m.layers,
                m.d_model, m.heads, m.kv_heads, m.ffn, MlpName(m.mlp), m.vocab, m.seq_len,
                internal::FormatCount(m.ParamsTotal()).c_str());
  return buf;
}
}  // namespace

std::string PlanSummary::BriefReport() const {
  const PerfSummary& best = layouts.ranked.front();
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "budget %.3g FLOPs -> N %s, D %s tokens, loss %.4f (law: %s)\n"
      "shape: %s\n"
      "layout: %s on %d x %s\n"
      "predicted: step %.3g s, MFU %.1f%%, wall-clock %s, %.3g GPU-hours, $%.3g, %.3g MWh, %.3g t CO2\n",
      budget_flops, internal::FormatCount(shape_params).c_str(), internal::FormatCount(train_tokens).c_str(),
      loss_pred, law.source.c_str(), ShapeLine(shape).c_str(), best.config.ToString().c_str(),
      best.config.gpus(), cluster.gpu_model.c_str(), best.step_time_s, best.mfu * 100,
      internal::FormatSeconds(wall_clock_s).c_str(), gpu_hours, cost_usd, energy_kwh / 1000, co2_kg / 1000);
  return buf;
}

std::string PlanSummary::FullReport() const {
  std::ostringstream out;
  char buf[512];
  out << "== scaling law (" << law.source << ")\n";
  std::snprintf(buf, sizeof buf, "L(N, D) = %.4g + %.4g / N^%.4g + %.4g / D^%.4g\n", law.E, law.A, law.alpha,
                law.B, law.beta);
  out << buf;
  std::snprintf(buf, sizeof buf,
                "training budget: %.4g FLOPs\ncompute-optimal: N = %.4g, D = %.4g, loss = %.4f\n",
                budget_flops, params_opt, tokens_opt, loss_pred);
  out << buf;
  if (params_interval) {
    std::snprintf(buf, sizeof buf, "  interval (%s): N [%.4g, %.4g], D [%.4g, %.4g]", interval_source.c_str(),
                  params_interval->lo, params_interval->hi, tokens_interval->lo, tokens_interval->hi);
    out << buf;
    if (loss_interval) {
      std::snprintf(buf, sizeof buf, ", loss [%.4f, %.4f] (%zu replicates)", loss_interval->lo,
                    loss_interval->hi, law.bootstrap.size());
      out << buf;
    }
    out << "\n";
  } else if (!law.bootstrap.empty() || !law.ci_at_budgets.empty()) {
    out << "  (no interval: fit.json has no bootstrap replicates and no ci at this budget)\n";
  }
  out << "== shape\n  " << ShapeLine(shape) << "\n";
  std::snprintf(buf, sizeof buf, "  %.4g FLOPs/token (%s), trained on %.4g tokens (%.1f tokens/param)\n",
                flops_per_token, flops_per_token == 6 * shape_params ? "6N" : "exact", train_tokens,
                train_tokens / shape_params);
  out << buf;
  if (!alternative_shapes.empty()) {
    out << "  near-equivalent alternatives:\n";
    for (const auto& alt : alternative_shapes) out << "    " << ShapeLine(alt) << "\n";
  }
  out << "== layouts (" << layouts.evaluated << " scored, " << layouts.pruned << " pruned; fastest first)\n";
  int rank = 1;
  const PerfSummary& first = layouts.ranked.front();
  for (const auto& l : layouts.ranked) {
    std::snprintf(buf, sizeof buf, "  %d. %s\n", rank++, l.BriefReport().c_str());
    out << buf;
    if (&l == &first) continue;
    // Why it ranks below the first: the time term (per token) that grew the most.
    const double scale = first.tokens_per_s / l.tokens_per_s;  // compare at equal tokens
    struct Term {
      const char* name;
      double mine, theirs;
    } terms[] = {{"matmul compute", l.compute_s, first.compute_s},
                 {"element-wise", l.elementwise_s, first.elementwise_s},
                 {"TP collectives", l.tp_comm_s, first.tp_comm_s},
                 {"CP exchange", l.cp_comm_s, first.cp_comm_s},
                 {"PP send/recv", l.pp_comm_s, first.pp_comm_s},
                 {"pipeline bubble", l.bubble_s, first.bubble_s},
                 {"DP/ZeRO exposed", l.dp_comm_exposed_s, first.dp_comm_exposed_s},
                 {"optimizer", l.optimizer_s, first.optimizer_s}};
    const double tokens_l = l.tokens_per_s * l.step_time_s, tokens_f = first.tokens_per_s * first.step_time_s;
    const Term* worst = &terms[0];
    double worst_delta = -1e300;
    for (const auto& t : terms) {
      const double delta = t.mine / tokens_l - t.theirs / tokens_f;  // seconds per token
      if (delta > worst_delta) {
        worst_delta = delta;
        worst = &t;
      }
    }
    std::snprintf(buf, sizeof buf, "     %.1f%% slower than #1, mostly %s (+%.3g s per step)\n",
                  (scale - 1) * 100, worst->name, worst_delta * tokens_l);
    out << buf;
  }
  out << "== chosen layout\n" << layouts.ranked.front().FullReport();
  out << "== run\n";
  std::snprintf(
      buf, sizeof buf,
      "  %.0f steps, wall-clock %s, %.4g GPU-hours, cost $%.4g, energy %.4g kWh (PUE %.2f), CO2 %.4g kg "
      "(%.0f g/kWh)\n  search took %.3f s\n",
      steps, internal::FormatSeconds(wall_clock_s).c_str(), gpu_hours, cost_usd, energy_kwh, cluster.pue,
      co2_kg, cluster.grid_gco2_per_kwh, search_seconds);
  out << buf;
  return out.str();
}

std::string PlanSummary::ToJson() const {
  nlohmann::json j;
  j["law"] = {{"E", law.E},         {"A", law.A},       {"B", law.B},
              {"alpha", law.alpha}, {"beta", law.beta}, {"source", law.source}};
  j["cluster"] = {{"name", cluster.name}, {"gpu_model", cluster.gpu_model}, {"path", cluster.path}};
  j["budget_flops"] = budget_flops;
  j["params_opt"] = params_opt;
  j["tokens_opt"] = tokens_opt;
  j["loss_pred"] = loss_pred;
  if (params_interval) {
    j["intervals"] = {{"params", {params_interval->lo, params_interval->hi}},
                      {"tokens", {tokens_interval->lo, tokens_interval->hi}},
                      {"source", interval_source}};
    if (loss_interval) j["intervals"]["loss"] = {loss_interval->lo, loss_interval->hi};
  }
  auto shape_json = [](const ModelShape& m) {
    return nlohmann::json{{"layers", m.layers},     {"d_model", m.d_model},  {"heads", m.heads},
                          {"kv_heads", m.kv_heads}, {"ffn", m.ffn},          {"vocab", m.vocab},
                          {"seq_len", m.seq_len},   {"mlp", MlpName(m.mlp)}, {"params", m.ParamsTotal()}};
  };
  j["shape"] = shape_json(shape);
  j["alternative_shapes"] = nlohmann::json::array();
  for (const auto& alt : alternative_shapes) j["alternative_shapes"].push_back(shape_json(alt));
  j["shape_params"] = shape_params;
  j["train_tokens"] = train_tokens;
  j["flops_per_token"] = flops_per_token;
  j["layouts"] = nlohmann::json::array();
  for (const auto& l : layouts.ranked) j["layouts"].push_back(nlohmann::json::parse(l.ToJson()));
  j["layouts_evaluated"] = layouts.evaluated;
  j["layouts_pruned"] = layouts.pruned;
  j["steps"] = steps;
  j["wall_clock_s"] = wall_clock_s;
  j["gpu_hours"] = gpu_hours;
  j["cost_usd"] = cost_usd;
  j["energy_kwh"] = energy_kwh;
  j["co2_kg"] = co2_kg;
  j["search_seconds"] = search_seconds;
  return j.dump(2);
}

std::string PlanSummary::RunConfigYaml() const {
  const PerfSummary& best = layouts.ranked.front();
  std::ostringstream out;
  out << "# Run config for the big run, written by `isoflop plan` (" << law.source << " law, "
      << internal::FormatCount(shape_params) << " parameters).\n"
      << shape.ToYaml() << "tokens: " << static_cast<long long>(train_tokens) << "\n"
      << "batch_tokens: " << static_cast<long long>(best.config.global_batch) * shape.seq_len << "\n"
      << "micro_batch: " << best.config.micro_batch << "\n";
  return out.str();
}

std::string PlanSummary::SbatchScript(const std::string& run_config_path) const {
  const PerfSummary& best = layouts.ranked.front();
  const int gpus = best.config.gpus();
  const int per_node = std::min(gpus, cluster.gpus_per_node);
  const int nodes = (gpus + per_node - 1) / per_node;
  // Time limit: predicted wall-clock + 20% margin + 30 min for start-up and checkpoints.
  const double limit_s = wall_clock_s * 1.2 + 1800;
  const long long minutes = static_cast<long long>(std::ceil(limit_s / 60));
  char limit[64];
  std::snprintf(limit, sizeof limit, "%lld-%02lld:%02lld:00", minutes / (24 * 60), (minutes / 60) % 24,
                minutes % 60);
  std::ostringstream out;
  out << "#!/bin/bash\n"
      << "# Generated by `isoflop plan`: " << internal::FormatCount(shape_params) << " parameters on "
      << internal::FormatCount(train_tokens) << " tokens (" << law.source << " law), " << gpus << " x "
      << cluster.gpu_model << ".\n"
      << "# Predicted: step " << best.step_time_s << " s, MFU " << best.mfu * 100 << "%, wall-clock "
      << internal::FormatSeconds(wall_clock_s) << "; the time limit adds 20% + 30 min.\n"
      << "# Chosen layout: " << best.config.ToString() << "\n"
      << "# (the layout is for a Megatron-class trainer; `isoflop train` runs data parallel over all ranks)\n"
      << "#SBATCH --job-name=isoflop-big-run\n"
      << "#SBATCH --nodes=" << nodes << "\n"
      << "#SBATCH --ntasks-per-node=" << per_node << "\n"
      << "#SBATCH --gpus-per-node=" << per_node << "\n"
      << "#SBATCH --time=" << limit << "\n"
      << "#SBATCH --signal=B:USR1@300\n"
      << "#SBATCH --requeue\n"
      << "#SBATCH --exclusive\n\n"
      << "set -euo pipefail\n"
      << ": \"${DATA:?set DATA to the token shard directory}\"\n"
      << "RUN_CONFIG=" << run_config_path << "\n"
      << "OUT=${OUT:-runs/big-run}\n"
      << "srun isoflop train --config \"$RUN_CONFIG\" --data \"$DATA\" --out \"$OUT\"\n";
  return out.str();
}

}  // namespace isoflop::planner
