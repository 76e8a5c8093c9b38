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
  if (!(unique_tokens >= 0) || !std::isfinite(unique_tokens)) return fail("--unique-tokens must be >= 0");
  if (seq_len < 1) return fail("--seq-len must be >= 1");
  if (vocab < 0) return fail("--vocab must be >= 1 (0: the fit's vocabulary)");
  std::string evidence_error;
  if (!evidence.IsValid(&evidence_error)) {
    if (error) *error = "evidence options: " + evidence_error;
    return false;
  }
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

Status Plan(const PlanOptions& options, const FitRecord& record, const ClusterSpec& cluster,
            PlanSummary* out) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  const std::string source = record.provenance.source.empty() ? "the law" : record.provenance.source;
  if (!record.has_law) return Status::InvalidArgument(source + ": holds no law to plan with");
  if (!record.law.IsValid(&error)) return Status::InvalidArgument(source + ": " + error);
  if (!cluster.IsValid(&error)) return Status::InvalidArgument(error);
  const int gpus = options.gpus > 0 ? options.gpus : cluster.total_gpus();
  if (gpus > cluster.total_gpus())
    return Status::InvalidArgument("--gpus " + std::to_string(gpus) + " exceeds " + cluster.path + "'s " +
                                   std::to_string(cluster.total_gpus()) + " GPUs");

  // The model half of the plan (law, evidence, convention, vocabulary, shape): PlanModel, the code
  // the orchestrator's re-plan runs too.
  ModelPlanOptions model_options;
  model_options.vocab = options.vocab;
  model_options.seq_len = options.seq_len;
  model_options.mlp = options.mlp;
  model_options.trainer_architecture = options.trainer_architecture;
  model_options.tp_divisor = std::min(8, cluster.gpus_per_node);
  model_options.unique_tokens = options.unique_tokens;
  model_options.inference_tokens = options.inference_tokens;
  model_options.allow_extrapolation = options.allow_extrapolation;
  model_options.evidence = options.evidence;

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
  s.law = record;
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
    auto model = PlanModel(record, budget_flops, model_options);
    if (!model.ok()) return model.status();
    s.prediction = model->prediction;
    s.params_opt = s.prediction.params_opt;
    s.tokens_opt = s.prediction.tokens_opt;
    s.loss_pred = s.prediction.loss;
    s.evidence = model->evidence;
    s.extrapolated = model->extrapolated;
    s.convention = model->convention;
    s.vocab = model->vocab;
    s.vocab_source = model->vocab_source;
    s.shape = model->shape;
    s.alternative_shapes = model->alternative_shapes;
    s.shape_params = model->shape_params;
    s.flops_per_token = options.exact_flops ? s.shape.ModelFlopsPerToken() : 6 * s.shape_params;
    s.train_tokens = model->train_tokens > 0 ? model->train_tokens : budget_flops / s.flops_per_token;
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

  // Intervals: the law's replicates at this budget (PredictAtBudget, 2.5th-97.5th percentile).
  s.params_interval = s.prediction.params_opt_interval;
  s.tokens_interval = s.prediction.tokens_opt_interval;
  s.loss_interval = s.prediction.loss_interval;
  s.interval_source = s.prediction.interval_source;
  // Data: a plan that needs more tokens than exist repeats them; only a data-constrained law
  // knows what repetition costs (Muennighoff et al. 2023).
  if (options.unique_tokens > 0) {
    s.epochs = s.train_tokens / options.unique_tokens;
    if (s.epochs > 1 && record.law.form != LawForm::kDataConstrained)
      return Status::InvalidArgument(
          "the plan trains on " + internal::FormatCount(s.train_tokens) + " tokens but only " +
          internal::FormatCount(options.unique_tokens) + " are unique (" + internal::FormatCount(s.epochs) +
          " epochs); a " + LawFormName(record.law.form) +
          " law does not price repetition: fit the data-constrained law (isoflop fit --law data-constrained) "
          "or plan a smaller budget");
  }
  s.search_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *out = std::move(s);
  return Status::OK();
}

// ----- reports ---------------------------------------------------------------------------------------

namespace {
std::string ShapeLine(const ModelShape& m) {
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "%d layers x d_model %d, %d heads (%d kv), ffn %d, %s, vocab %d, seq %d: %s params (%s non-embedding)",
      m.layers, m.d_model, m.heads, m.kv_heads, m.ffn, MlpName(m.mlp), m.vocab, m.seq_len,
      internal::FormatCount(m.ParamsTotal()).c_str(), internal::FormatCount(m.ParamsNonEmbedding()).c_str());
  return buf;
}

std::string LawName(const FitRecord& law) {
  return law.provenance.source.empty() ? std::string(FitMethodName(law.method)) : law.provenance.source;
}

std::string IntervalText(const std::optional<Interval>& iv, const char* fmt) {
  if (!iv) return "";
  char buf[96], lo[32], hi[32];
  std::snprintf(lo, sizeof lo, fmt, iv->lo);
  std::snprintf(hi, sizeof hi, fmt, iv->hi);
  std::snprintf(buf, sizeof buf, " [%s, %s]", lo, hi);
  return buf;
}

// The loud line every output of an extrapolated plan carries.
std::string ExtrapolationWarning(const PlanSummary& p) {
  return "WARNING: EXTRAPOLATED PLAN (--allow-extrapolation): " + p.evidence.reason;
}
}  // namespace

std::string PlanSummary::BriefReport() const {
  const PerfSummary& best = layouts.ranked.front();
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "budget %.3g FLOPs -> N %s%s (%s), D %s tokens%s, loss %.4f%s (law: %s)\n"
      "shape: %s\n"
      "layout: %s on %d x %s\n"
      "predicted: step %.3g s, MFU %.1f%%, wall-clock %s, %.3g GPU-hours, $%.3g, %.3g MWh, %.3g t CO2\n",
      budget_flops, internal::FormatCount(shape_params).c_str(),
      IntervalText(params_interval, "%.3g").c_str(), ParamsConventionName(convention),
      internal::FormatCount(train_tokens).c_str(), IntervalText(tokens_interval, "%.3g").c_str(), loss_pred,
      IntervalText(loss_interval, "%.4f").c_str(), LawName(law).c_str(), ShapeLine(shape).c_str(),
      best.config.ToString().c_str(), best.config.gpus(), cluster.gpu_model.c_str(), best.step_time_s,
      best.mfu * 100, internal::FormatSeconds(wall_clock_s).c_str(), gpu_hours, cost_usd, energy_kwh / 1000,
      co2_kg / 1000);
  return (extrapolated ? ExtrapolationWarning(*this) + "\n" : std::string()) + buf;
}

std::string PlanSummary::FullReport() const {
  std::ostringstream out;
  char buf[512];
  if (extrapolated) out << ExtrapolationWarning(*this) << "\n";
  out << "== scaling law: " << DescribeProvenance(law) << "\n";
  if (!law.provenance.citation.empty()) out << "  " << law.provenance.citation << "\n";
  if (law.law.HasLoss()) {
    std::snprintf(buf, sizeof buf, "  L(N, D) = %.4g + %.4g / N^%.4g + %.4g / D^%.4g", law.law.E, law.law.A,
                  law.law.alpha, law.law.B, law.law.beta);
    out << buf;
    if (law.law.form == LawForm::kDataConstrained) {
      std::snprintf(buf, sizeof buf, " (data-constrained: R_D* %.4g, R_N* %.4g)", law.law.r_d_star,
                    law.law.r_n_star);
      out << buf;
    }
    out << "\n";
  }
  if (law.law.form == LawForm::kPowerLaw) {
    std::snprintf(buf, sizeof buf,
                  "  N_opt = %.4g C^%.4f, D_opt = %.4g C^%.4f (power laws through the IsoFLOP minima)\n",
                  law.law.params_opt.coefficient, law.law.params_opt.exponent, law.law.tokens_opt.coefficient,
                  law.law.tokens_opt.exponent);
    out << buf;
  }
  std::snprintf(buf, sizeof buf, "training budget: %.4g FLOPs (%s the largest fitted budget)\n", budget_flops,
                std::isfinite(prediction.extrapolation)
                    ? (internal::FormatCount(prediction.extrapolation) + "x").c_str()
                    : "unknown multiple of");
  out << buf;
  std::snprintf(buf, sizeof buf, "compute-optimal (%s N): N = %.4g%s, D = %.4g%s",
                ParamsConventionName(convention), params_opt, IntervalText(params_interval, "%.4g").c_str(),
                tokens_opt, IntervalText(tokens_interval, "%.4g").c_str());
  out << buf;
  if (std::isfinite(loss_pred)) {
    std::snprintf(buf, sizeof buf, ", loss = %.4f%s", loss_pred, IntervalText(loss_interval, "%.4f").c_str());
    out << buf;
  }
  out << "\n";
  if (params_interval) {
    out << "  intervals: " << interval_source << "\n";
  } else {
    out << "  no interval: the law has no replicates (fit with --bootstrap for one)\n";
  }
  if (epochs > 1) {
    std::snprintf(
        buf, sizeof buf,
        "  data: %.3g epochs over the unique tokens (repetition priced by the data-constrained law)\n",
        epochs);
    out << buf;
  }
  out << "  evidence: " << evidence.BriefReport() << "\n";
  out << "  vocabulary " << vocab << " (" << vocab_source << ")\n";
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
  j["law"] = nlohmann::json::parse(FitRecordToJson(law)).at("law");
  j["law"]["source"] = LawName(law);
  j["provenance"] = {
      {"description", DescribeProvenance(law)},
      {"method", FitMethodName(law.method)},
      {"params_convention", ParamsConventionName(convention)},
      {"vocab", vocab},
      {"vocab_source", vocab_source},
      {"extrapolation", std::isfinite(prediction.extrapolation) ? nlohmann::json(prediction.extrapolation)
                                                                : nlohmann::json(nullptr)}};
  if (!law.provenance.citation.empty()) j["provenance"]["citation"] = law.provenance.citation;
  j["evidence"] = {{"supported", evidence.supported}, {"reason", evidence.reason}};
  j["extrapolated"] = extrapolated;
  if (extrapolated) j["warning"] = ExtrapolationWarning(*this);
  j["epochs"] = epochs;
  j["cluster"] = {{"name", cluster.name}, {"gpu_model", cluster.gpu_model}, {"path", cluster.path}};
  j["budget_flops"] = budget_flops;
  j["params_opt"] = params_opt;
  j["tokens_opt"] = tokens_opt;
  j["loss_pred"] = std::isfinite(loss_pred) ? nlohmann::json(loss_pred) : nlohmann::json(nullptr);
  auto pair = [](const std::optional<Interval>& iv) {
    return iv ? nlohmann::json::array({iv->lo, iv->hi}) : nlohmann::json(nullptr);
  };
  j["params_opt_interval"] = pair(params_interval);
  j["tokens_opt_interval"] = pair(tokens_interval);
  j["loss_interval"] = pair(loss_interval);
  if (params_interval) {
    j["intervals"] = {
        {"params", pair(params_interval)}, {"tokens", pair(tokens_interval)}, {"source", interval_source}};
    if (loss_interval) j["intervals"]["loss"] = pair(loss_interval);
  }
  auto shape_json = [](const ModelShape& m) {
    return nlohmann::json{{"layers", m.layers},
                          {"d_model", m.d_model},
                          {"heads", m.heads},
                          {"kv_heads", m.kv_heads},
                          {"ffn", m.ffn},
                          {"vocab", m.vocab},
                          {"seq_len", m.seq_len},
                          {"mlp", MlpName(m.mlp)},
                          {"params", m.ParamsTotal()},
                          {"params_non_embedding", m.ParamsNonEmbedding()}};
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
  out << "# Run config for the big run, written by `isoflop plan` (" << LawName(law) << " law, "
      << internal::FormatCount(shape_params) << " " << ParamsConventionName(convention) << " parameters).\n"
      << (extrapolated ? "# " + ExtrapolationWarning(*this) + "\n" : std::string()) << shape.ToYaml()
      << "tokens: " << static_cast<long long>(train_tokens) << "\n"
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
      << internal::FormatCount(train_tokens) << " tokens (" << LawName(law) << " law), " << gpus << " x "
      << cluster.gpu_model << ".\n"
      << "# Predicted: step " << best.step_time_s << " s, MFU " << best.mfu * 100 << "%, wall-clock "
      << internal::FormatSeconds(wall_clock_s) << "; the time limit adds 20% + 30 min.\n"
      << "# Chosen layout: " << best.config.ToString() << "\n"
      << (extrapolated ? "# " + ExtrapolationWarning(*this) + "\n" : std::string())
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
