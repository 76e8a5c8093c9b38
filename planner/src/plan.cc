// Budget -> compute-optimal N and D -> shape -> fastest layout -> predictions and costs.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <utility>

#include "isoflop/curation_cost.h"  // header-only: no link to the pipeline
#include "isoflop/engines.h"
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
  if (max_gpus < 0) return fail("--max-gpus must be >= 0");
  if (!(deadline_hours >= 0) || !std::isfinite(deadline_hours)) return fail("--deadline must be >= 0 hours");
  if (!(slack >= 0 && slack < 1)) return fail("--slack must be in [0, 1)");
  if (!(inference_mfu > 0 && inference_mfu <= 1)) return fail("--inference-mfu must be in (0, 1]");
  if (global_batch < 0) return fail("--global-batch must be >= 0");
  if (!(serve_demand.lifetime_tokens >= 0) || !std::isfinite(serve_demand.lifetime_tokens))
    return fail("--serve-tokens must be >= 0");
  if (!(serve_demand.requests_per_s >= 0) || !std::isfinite(serve_demand.requests_per_s))
    return fail("--serve-qps must be >= 0");
  if (serve_demand.any()) {
    ServeOptions o = serve;
    if (o.context == 0) o.context = seq_len;
    std::string serve_error;
    if (!o.IsValid(&serve_error)) {
      if (error) *error = "serving: " + serve_error;
      return false;
    }
  }
  if (top_k < 1) return fail("--top must be >= 1");
  if (moe.any() && (moe.top_k < 1 || moe.top_k >= moe.experts)) return fail("--moe must be E:K with 1 <= K < E");
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

  // The layout half (PlanLayouts): batch from the law fixed before the search, the sweep over
  // whole-node allocations (or --gpus), the Pareto front and the objective's choice.
  LayoutPlanOptions layout_options;
  layout_options.gpus = options.gpus;
  layout_options.max_gpus = options.max_gpus;
  layout_options.global_batch = options.global_batch;
  layout_options.ramp = options.batch_ramp;
  layout_options.pareto.objective = options.objective;
  layout_options.pareto.deadline_s = options.deadline_hours * 3600;
  layout_options.pareto.slack = options.slack;
  layout_options.top_k = options.top_k;
  layout_options.perf = options.perf;
  layout_options.accept = options.accept;

  // GPU-hour, dollar and kWh budgets become FLOPs through the plan itself: C = budget x (FLOPs the
  // chosen plan buys per GPU-hour, dollar or kWh), iterated to a fixed point (what a GPU-hour buys
  // depends on the model and its layout, which depend on C). Allocated GPU-hours count.
  double per_unit = 3600 * cluster.peak_bf16_tflops * 1e12 * 0.4;  // first guess: FLOPs per GPU-hour
  switch (options.budget_kind) {
    case BudgetKind::kFlops:
    case BudgetKind::kGpuHours:
      break;
    case BudgetKind::kUsd:
      if (!(cluster.price_usd_per_gpu_hour > 0))
        return Status::InvalidArgument(cluster.path +
                                       ": field 'price_usd_per_gpu_hour' must be > 0 for --budget-usd");
      per_unit /= cluster.price_usd_per_gpu_hour;
      break;
    case BudgetKind::kKwh:
      per_unit /= cluster.gpu_power_w / 1000 * cluster.pue;
      break;
  }

  PlanSummary s;
  s.law = record;
  s.cluster = cluster;
  s.objective = options.objective;
  s.engine = options.engine;
  LayoutPlan lp;
  // The fixed point can cycle: a shape one step larger buys a little less per GPU-hour, so C
  // alternates between two shapes, one under and one over the budget (issue 13: --inference-tokens
  // 2e14 --budget-usd 1e6 --gpus 2048 ended on the $1.008M one). The plan kept is the one that
  // spends the most without exceeding the budget (to kBudgetTolerance, the convergence test); when
  // no iteration is within it, C shrinks by what it overspent until one is, or the plan exits 2.
  constexpr double kBudgetTolerance = 1e-4;
  constexpr int kIterations = 8, kShrinkIterations = 8;
  std::optional<std::pair<PlanSummary, LayoutPlan>> kept;
  double kept_spent = 0, last_spent = 0;
  double shrink = 1.0;
  for (int iteration = 0; iteration < kIterations + kShrinkIterations; ++iteration) {
    if (iteration >= kIterations && kept) break;
    const double budget_flops =
        options.budget_kind == BudgetKind::kFlops ? options.budget : options.budget * per_unit * shrink;
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
    // Budgets mean budgets: the shape trains on what the budget buys, with or without inference.
    s.train_tokens = budget_flops / s.flops_per_token;
    if (model->inference) {
      InferenceReport inference;
      inference.split = *model->inference;
      s.inference = inference;
    }
    // With a fixed allocation: the smallest optimiser step it can take (every data-parallel
    // replica needs a sequence; the most model parallelism available bounds the replicas).
    if (options.gpus > 0) {
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
    }
    // The batch law's batch must fit in the run at least once.
    auto batch = ChooseGlobalBatch(budget_flops, std::isfinite(s.loss_pred) ? s.loss_pred : 0, s.shape.seq_len,
                                   options.global_batch, options.batch_ramp);
    if (!batch.ok()) return batch.status();
    if (s.train_tokens < batch->tokens) {
      return Status::InvalidArgument(
          "budget of " + internal::FormatFlops(budget_flops) + " FLOPs is smaller than one optimiser step: the " +
          internal::FormatCount(s.shape_params) + "-parameter model would train on " +
          internal::FormatCount(s.train_tokens) + " tokens, but one step of the global batch takes " +
          internal::FormatCount(batch->tokens) + " tokens (" + batch->source +
          "); give a smaller --global-batch or a larger budget");
    }
    Status st = PlanLayouts(s.shape, s.train_tokens, budget_flops, std::isfinite(s.loss_pred) ? s.loss_pred : 0,
                            cluster, layout_options, &lp);
    if (!st.ok()) return st;
    if (options.budget_kind == BudgetKind::kFlops) break;
    double spent = lp.gpu_hours;
    if (options.budget_kind == BudgetKind::kUsd) spent = lp.cost_usd;
    if (options.budget_kind == BudgetKind::kKwh) spent = lp.energy.total_kwh;
    last_spent = spent;
    const bool within = spent <= options.budget * (1 + kBudgetTolerance);
    if (within && (!kept || spent > kept_spent)) {
      kept.emplace(s, lp);
      kept_spent = spent;
    }
    if (iteration >= kIterations - 1 && !within) {
      // Past the fixed point's iterations with nothing within the budget: aim lower.
      shrink *= std::min(0.999, options.budget / spent);
      continue;
    }
    const double new_per_unit = budget_flops / (spent * shrink);
    const bool converged = std::abs(new_per_unit / per_unit - 1) < kBudgetTolerance;
    per_unit = new_per_unit;
    if (converged && within) break;
  }
  if (options.budget_kind != BudgetKind::kFlops) {
    if (!kept) {
      static const char* kUnit[] = {"FLOPs", "GPU-hours", "$", "kWh"};
      char buf[160];
      std::snprintf(buf, sizeof buf, "%.4g %s but the cheapest plan found spends %.4g",
                    options.budget, kUnit[static_cast<int>(options.budget_kind)], last_spent);
      return Status::InvalidArgument(
          std::string("budget cannot be met: ") + buf +
          " (its shape and layout cost more per FLOP than the budget allows); give a larger budget or fewer GPUs (--gpus)");
    }
    s = std::move(kept->first);
    lp = std::move(kept->second);
  }

  s.layouts = lp.layouts;
  s.batch = lp.batch;
  s.pareto = lp.pareto;
  s.gpus_allocated = lp.gpus_allocated;
  s.steps = lp.steps;
  if (s.steps < 1) {
    return Status::InvalidArgument("budget of " + internal::FormatFlops(s.budget_flops) +
                                   " FLOPs is smaller than one optimiser step of " +
                                   std::to_string(s.batch.sequences) + " sequences x " +
                                   std::to_string(s.shape.seq_len) + " tokens");
  }
  s.wall_clock_s = lp.wall_clock_s;
  s.gpu_hours = lp.gpu_hours;
  s.cost_usd = lp.cost_usd;
  s.energy = lp.energy;
  s.energy_kwh = lp.energy.total_kwh;
  s.co2_kg = lp.energy.co2_kg;
  // Lifetime inference, beside the training budget: forward FLOPs per token (a third of the
  // model's training FLOPs per token) at inference_mfu of the peak, at board power plus the node's
  // host and network share, x PUE.
  if (s.inference) {
    ClusterSpec c = cluster;
    c.FillDefaults();
    InferenceReport& inf = *s.inference;
    inf.tokens = options.inference_tokens;
    inf.mfu = options.inference_mfu;
    inf.flops = options.inference_tokens * s.shape.ModelFlopsPerToken() / 3;
    inf.gpu_hours = inf.flops / (c.peak_bf16_tflops * 1e12 * inf.mfu) / 3600;
    inf.cost_usd = inf.gpu_hours * c.price_usd_per_gpu_hour;
    inf.energy_kwh = inf.gpu_hours *
                     (c.gpu_power_w + (c.host_power_w_per_node + c.network_power_w_per_node) / c.gpus_per_node) /
                     1000 * c.pue;
    inf.co2_kg = inf.energy_kwh * c.grid_gco2_per_kwh / 1000;
  }

  // Serving the shape (docs/planner.md "Serving"), beside the training budget.
  if (options.serve_demand.any()) {
    ServeOptions serve = options.serve;
    if (serve.context == 0) serve.context = s.shape.seq_len;
    if (serve.output_tokens == 0 && options.serve_demand.requests_per_s > 0)
      serve.output_tokens = std::min(512, serve.context / 2);
    auto costs = CostServing(s.shape, cluster, serve, options.serve_demand);
    if (!costs.ok()) return costs.status();
    s.serving_demand = options.serve_demand;
    s.serving = std::move(*costs);
  }

  // A mixture of experts beside the dense plan (docs/planner.md §9), at the same budget, on the
  // same cluster with the same layout options and serving options.
  if (options.moe.any()) {
    ServeOptions serve = options.serve;
    if (serve.context == 0) serve.context = s.shape.seq_len;
    auto moe = internal::PlanMoe(options.moe, s, cluster, layout_options, serve, model_options.tp_divisor);
    if (!moe.ok()) return moe.status();
    s.moe = std::move(*moe);
  }

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

// The dense plan and the --moe plan side by side (docs/planner.md §9).
static std::string MoeSideBySide(const PlanSummary& d) {
  const MoePlan& m = *d.moe;
  std::ostringstream out;
  char buf[512];
  out << "== dense vs mixture of experts (--moe " << m.option.experts << ":" << m.option.top_k
      << "; docs/planner.md \"Mixture of experts in the plan\")\n";
  if (m.extrapolated) {
    out << "  WARNING: THE MoE LAW IS EXTRAPOLATED OUTSIDE ITS PUBLISHED RANGE:\n";
    for (const std::string& why : m.extrapolation) out << "    - " << why << "\n";
  }
  out << "  MoE law: " << m.citation << "\n  " << m.equation << "\n";
  std::snprintf(buf, sizeof buf,
                "  at %.3g FLOPs, per that law (its C4 data, not the dense plan's law): dense optimum N %s, D %s, "
                "loss %.4f; MoE optimum N_active %s (total %s), D %s, loss %.4f (%+.4f)\n",
                d.budget_flops, internal::FormatCount(m.dense_params).c_str(),
                internal::FormatCount(m.dense_tokens).c_str(), m.dense_loss,
                internal::FormatCount(m.active_params).c_str(), internal::FormatCount(m.total_params).c_str(),
                internal::FormatCount(m.tokens).c_str(), m.loss, m.loss - m.dense_loss);
  out << buf;
  const PerfSummary& dl = d.layouts.ranked.front();
  auto row = [&](const char* name, const std::string& a, const std::string& b) {
    std::snprintf(buf, sizeof buf, "  %-30s %-46s %-46s\n", name, a.c_str(), b.c_str());
    out << buf;
  };
  auto num = [](const char* fmt, double x) {
    char b[64];
    std::snprintf(b, sizeof b, fmt, x);
    return std::string(b);
  };
  row("", "dense (this plan)", "MoE " + std::to_string(m.option.experts) + " experts, top-" +
                                   std::to_string(m.option.top_k));
  row("parameters total", internal::FormatCount(d.shape.ParamsTotal()), internal::FormatCount(m.shape.ParamsTotal()));
  row("parameters active per token", internal::FormatCount(d.shape.ParamsActive()),
      internal::FormatCount(m.shape.ParamsActive()));
  auto brief = [](const ModelShape& x) {
    std::string t = std::to_string(x.layers) + " x " + std::to_string(x.d_model) + ", ffn " +
                    std::to_string(x.effective_ffn());
    if (x.is_moe())
      t = std::to_string(x.layers) + " x " + std::to_string(x.d_model) + ", " + std::to_string(x.experts) +
          " experts x " + std::to_string(x.effective_expert_ffn());
    return t;
  };
  row("shape", brief(d.shape), brief(m.shape));
  row("training tokens", internal::FormatCount(d.train_tokens), internal::FormatCount(m.train_tokens));
  row("loss (each column's law)",
      std::isfinite(d.loss_pred) ? num("%.4f", d.loss_pred) + " (" + LawName(d.law) + ")" : "n/a",
      num("%.4f", m.loss) + " (Krajewski 2024)");
  row("layout", dl.config.ToString(), m.layout.config.ToString());
  row("GPUs allocated", std::to_string(d.gpus_allocated), std::to_string(m.gpus_allocated));
  row("memory per GPU", internal::FormatBytes(dl.memory.total()), internal::FormatBytes(m.layout.memory.total()));
  row("MFU", num("%.1f%%", dl.mfu * 100), num("%.1f%%", m.layout.mfu * 100));
  row("wall-clock", internal::FormatSeconds(d.wall_clock_s), internal::FormatSeconds(m.wall_clock_s));
  row("training GPU-hours", num("%.4g", d.gpu_hours), num("%.4g", m.gpu_hours));
  row("training cost", num("$%.4g", d.cost_usd), num("$%.4g", m.cost_usd));
  row("training energy", num("%.4g kWh", d.energy_kwh), num("%.4g kWh", m.energy_kwh));
  auto serve = [&](const ServeSummary& s, bool usd) {
    if (!s.fits) return std::string("does not fit");
    return usd ? num("$%.4g", s.usd_per_million_tokens) : num("%.4g", s.gpus_per_replica);
  };
  row("serving bf16: GPUs per replica", serve(m.dense_serving, false), serve(m.serving, false));
  row("serving bf16: $ per M tokens", serve(m.dense_serving, true), serve(m.serving, true));
  return out.str();
}

std::string PlanSummary::BriefReport() const {
  const PerfSummary& best = layouts.ranked.front();
  char buf[1536];
  std::snprintf(
      buf, sizeof buf,
      "budget %.3g FLOPs -> N %s%s (%s), D %s tokens%s, loss %.4f%s (law: %s)\n"
      "shape: %s\n"
      "layout: %s on %d x %s (objective %s, %d allocated)\n"
      "predicted: step %.3g s, MFU %.1f%%, wall-clock %s, %.3g GPU-hours, $%.3g, %.3g MWh, %.3g t CO2\n",
      budget_flops, internal::FormatCount(shape_params).c_str(),
      IntervalText(params_interval, "%.3g").c_str(), ParamsConventionName(convention),
      internal::FormatCount(train_tokens).c_str(), IntervalText(tokens_interval, "%.3g").c_str(), loss_pred,
      IntervalText(loss_interval, "%.4f").c_str(), LawName(law).c_str(), ShapeLine(shape).c_str(),
      best.config.ToString().c_str(), best.config.gpus(), cluster.gpu_model.c_str(), ObjectiveName(objective),
      gpus_allocated, best.step_time_s,
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
  {
    // What the tokens ask of the data pipeline (data_pipeline/include/isoflop/curation_cost.h,
    // docs/data.md "Scale"): unique tokens at Llama 3's bytes per token, curated by `data build`.
    const data::CurationEstimate c = data::EstimateCuration(train_tokens / std::max(1.0, epochs));
    std::snprintf(buf, sizeof buf,
                  "  data: needs ~%.3g TB of curated text (%.3g unique tokens x %.2f bytes/token): about %.3g "
                  "node-hours of `isoflop data build` (64-core nodes; input kept whole; docs/data.md, \"Scale\")\n",
                  c.curated_bytes / 1e12, train_tokens / std::max(1.0, epochs), data::kBytesPerTokenLlama3,
                  c.node_hours);
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
  out << "== batch\n  " << batch.sequences << " sequences x " << shape.seq_len << " = "
      << internal::FormatCount(batch.tokens) << " tokens per step: " << batch.source << "\n";
  std::snprintf(buf, sizeof buf, "  peak learning rate %.3g (DeepSeek LLM 2024 Eq. 1: 0.3118 C^-0.125)\n",
                batch.peak_lr);
  out << buf;
  for (size_t i = 0; i < batch.ramp_sequences.size(); ++i) {
    std::snprintf(buf, sizeof buf, "  ramp: %d sequences for %.3g%% of the tokens\n", batch.ramp_sequences[i],
                  batch.ramp_token_fractions[i] * 100);
    out << buf;
  }
  if (!pareto.front.empty()) {
    out << "== Pareto front over GPU counts (whole nodes; " << pareto.front.size() << " points, "
        << (pareto.front.size() > 12 ? "12 shown" : "all shown") << ")\n";
    std::snprintf(buf, sizeof buf, "  %8s  %-44s %7s %12s %12s %12s\n", "GPUs", "layout", "MFU", "wall-clock",
                  "cost $", "energy MWh");
    out << buf;
    for (int i : pareto.Thinned(12)) {
      const ParetoPoint& p = pareto.front[i];
      std::snprintf(buf, sizeof buf, "%s %8d  %-44s %6.1f%% %12s %12.4g %12.4g\n", i == pareto.chosen ? "*" : " ",
                    p.gpus_allocated, p.layout.config.ToString().c_str(), p.layout.mfu * 100,
                    internal::FormatSeconds(p.wall_clock_s).c_str(), p.cost_usd, p.energy.total_kwh / 1000);
      out << buf;
    }
    out << "  * " << pareto.choice << "\n";
  }
  out << "== layouts at " << gpus_allocated << " GPUs (" << layouts.evaluated << " scored, " << layouts.pruned
      << " pruned"
      << (engine.empty() ? std::string()
                         : ", " + std::to_string(layouts.rejected_by_engine) + " refused by the " + engine + " rules")
      << "; fastest first)\n";
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
  {
    const ParallelConfig& c = layouts.ranked.front().config;
    out << "  sequence parallel: "
        << (c.tp > 1 ? "on (TP > 1: activations between the TP regions are split over the TP ranks)"
                     : "off (TP 1)")
        << "\n";
    if (!engine.empty())
      out << "  engine rules: " << engine << " (" << layouts.rejected_by_engine
          << " layouts refused; docs/engines.md)\n";
  }
  out << "== run\n";
  std::snprintf(buf, sizeof buf,
                "  %.0f steps, wall-clock %s on %d GPUs (%d nodes), %.4g GPU-hours, cost $%.4g\n", steps,
                internal::FormatSeconds(wall_clock_s).c_str(), gpus_allocated,
                gpus_allocated / std::max(cluster.gpus_per_node, 1), gpu_hours, cost_usd);
  out << buf;
  std::snprintf(buf, sizeof buf,
                "  energy %.4g kWh (PUE %.2f): GPUs busy %.4g, waiting %.4g, unused %.4g, hosts %.4g, network %.4g "
                "kWh; %.3g kWh per million tokens\n  CO2 %.4g kg (%.0f g/kWh)\n",
                energy.total_kwh, cluster.pue, energy.gpu_busy_kwh, energy.gpu_wait_kwh, energy.gpu_unused_kwh,
                energy.host_kwh, energy.network_kwh, energy.kwh_per_million_tokens, co2_kg,
                cluster.grid_gco2_per_kwh);
  out << buf;
  if (inference) {
    const InferenceReport& inf = *inference;
    std::snprintf(buf, sizeof buf,
                  "== inference (beside the training budget, not charged to it)\n"
                  "  %.3g lifetime tokens: %.3g FLOPs, %.4g GPU-hours at %.0f%% MFU (assumed), $%.4g, %.4g kWh, "
                  "%.4g kg CO2\n"
                  "  inference-aware within the budget (Sardana et al. 2024): N %.4g instead of Chinchilla's %.4g, "
                  "loss %.4f instead of %.4f; lifetime FLOPs %.4g instead of %.4g\n",
                  inf.tokens, inf.flops, inf.gpu_hours, inf.mfu * 100, inf.cost_usd, inf.energy_kwh, inf.co2_kg,
                  inf.split.params, inf.split.chinchilla_params, inf.split.loss, inf.split.chinchilla_loss,
                  inf.split.lifetime_flops, inf.split.chinchilla_lifetime_flops);
    out << buf;
  }
  if (!serving.empty()) {
    const ServeOptions& so = serving.front().replica.options;
    std::snprintf(buf, sizeof buf,
                  "== serving (beside the training budget; docs/planner.md \"Serving\"): context %d, batch %d, %d "
                  "generated tokens per request%s\n",
                  so.context, so.batch, so.output_tokens,
                  so.output_tokens == 0 ? " (every decode step at the full context)" : "");
    out << buf;
    out << ServingCostsTable(serving, serving_demand);
  }
  if (moe) out << MoeSideBySide(*this);
  std::snprintf(buf, sizeof buf, "  search took %.3f s\n", search_seconds);
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
  {
    const data::CurationEstimate c = data::EstimateCuration(train_tokens / std::max(1.0, epochs));
    j["curation"] = {{"unique_tokens", train_tokens / std::max(1.0, epochs)},
                     {"bytes_per_token", data::kBytesPerTokenLlama3},
                     {"curated_bytes", c.curated_bytes},
                     {"core_hours", c.core_hours},
                     {"node_hours", c.node_hours},
                     {"assumptions", "input kept whole (keep fraction 1), 64-core nodes, 2 GB/s per node; "
                                     "docs/data.md \"Scale\""}};
  }
  j["flops_per_token"] = flops_per_token;
  j["layouts"] = nlohmann::json::array();
  for (const auto& l : layouts.ranked) j["layouts"].push_back(nlohmann::json::parse(l.ToJson()));
  j["layouts_evaluated"] = layouts.evaluated;
  j["layouts_pruned"] = layouts.pruned;
  j["engine"] = engine.empty() ? nlohmann::json(nullptr) : nlohmann::json(engine);
  j["layouts_refused_by_engine"] = layouts.rejected_by_engine;
  j["sequence_parallel"] = !layouts.ranked.empty() && layouts.ranked.front().config.tp > 1;
  j["objective"] = ObjectiveName(objective);
  j["gpus_allocated"] = gpus_allocated;
  j["batch"] = {{"sequences", batch.sequences},
                {"tokens", batch.tokens},
                {"law_tokens", batch.law_tokens},
                {"critical_tokens", batch.critical_tokens},
                {"bounded_by_critical", batch.bounded_by_critical},
                {"peak_lr", batch.peak_lr},
                {"source", batch.source},
                {"ramp_sequences", batch.ramp_sequences},
                {"ramp_token_fractions", batch.ramp_token_fractions}};
  {
    nlohmann::json front = nlohmann::json::array();
    for (int i = 0; i < static_cast<int>(pareto.front.size()); ++i) {
      const ParetoPoint& p = pareto.front[i];
      front.push_back({{"gpus_allocated", p.gpus_allocated},
                       {"layout", p.layout.config.ToString()},
                       {"mfu", p.layout.mfu},
                       {"wall_clock_s", p.wall_clock_s},
                       {"gpu_hours", p.gpu_hours},
                       {"cost_usd", p.cost_usd},
                       {"energy_kwh", p.energy.total_kwh},
                       {"meets_deadline", p.meets_deadline},
                       {"chosen", i == pareto.chosen}});
    }
    j["pareto"] = {{"objective", ObjectiveName(objective)},
                   {"choice", pareto.choice},
                   {"best_cost_usd", pareto.best_cost_usd},
                   {"best_wall_clock_s", pareto.best_wall_clock_s},
                   {"best_energy_kwh", pareto.best_energy_kwh},
                   {"front", front}};
  }
  j["energy"] = nlohmann::json::parse(energy.ToJson());
  if (inference) {
    const InferenceReport& inf = *inference;
    j["inference"] = {{"tokens", inf.tokens},
                      {"flops", inf.flops},
                      {"gpu_hours", inf.gpu_hours},
                      {"cost_usd", inf.cost_usd},
                      {"energy_kwh", inf.energy_kwh},
                      {"co2_kg", inf.co2_kg},
                      {"mfu_assumed", inf.mfu},
                      {"params_inference_aware", inf.split.params},
                      {"params_chinchilla", inf.split.chinchilla_params},
                      {"loss_inference_aware", inf.split.loss},
                      {"loss_chinchilla", inf.split.chinchilla_loss},
                      {"lifetime_flops", inf.split.lifetime_flops},
                      {"lifetime_flops_chinchilla", inf.split.chinchilla_lifetime_flops}};
  }
  if (!serving.empty()) j["serving"] = nlohmann::json::parse(ServingCostsJson(serving, serving_demand));
  if (moe) {
    j["moe"] = nlohmann::json::parse(moe->ToJson());
    // The dense column of the side-by-side, in the same units (the rest of this object is the dense
    // plan itself).
    j["moe"]["dense"] = {{"params_total", shape.ParamsTotal()},
                         {"params_active", shape.ParamsActive()},
                         {"train_tokens", train_tokens},
                         {"loss", std::isfinite(loss_pred) ? nlohmann::json(loss_pred) : nlohmann::json(nullptr)},
                         {"loss_law", LawName(law)},
                         {"gpus_allocated", gpus_allocated},
                         {"wall_clock_s", wall_clock_s},
                         {"gpu_hours", gpu_hours},
                         {"cost_usd", cost_usd},
                         {"energy_kwh", energy_kwh},
                         {"memory_per_gpu_bytes", layouts.ranked.front().memory.total()},
                         {"layout", layouts.ranked.front().config.ToString()}};
  }
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
  if (batch.peak_lr > 0) out << "lr: " << batch.peak_lr << "  # DeepSeek LLM 2024 Eq. 1 at the budget\n";
  return out.str();
}

std::string PlanSummary::SbatchScript(const std::string& run_config_path, const LaunchOptions* slurm) const {
  LaunchOptions o;
  if (slurm) o = *slurm;
  o.engine = Engine::kIsoflop;
  o.run_config = run_config_path;
  const size_t slash = run_config_path.rfind('/');
  o.dir = slash == std::string::npos ? "." : run_config_path.substr(0, slash);
  o.checkpoint_dir = "runs/big-run";  // the run directory --resume continues
  return BuildSbatch(*this, o, PlanLaunch(*this, o));
}

}  // namespace isoflop::planner
