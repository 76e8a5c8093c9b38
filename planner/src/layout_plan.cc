// The layout part of a plan (docs/planner.md §6): batch from the law (fixed before the search),
// a sweep over whole-node allocations (or one fixed allocation), the Pareto front and the
// objective's choice, the chosen allocation's alternatives, and the ramp-aware time, cost and
// energy of the run.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "perf_internal.h"

namespace isoflop::planner {

bool LayoutPlanOptions::IsValid(std::string* error) const {
  auto fail = [&](const char* what) {
    if (error) *error = what;
    return false;
  };
  if (gpus < 0) return fail("--gpus must be >= 0");
  if (max_gpus < 0) return fail("--max-gpus must be >= 0");
  if (global_batch < 0) return fail("--global-batch must be >= 0");
  if (top_k < 1) return fail("--top must be >= 1");
  std::string e;
  if (!pareto.IsValid(&e) || !perf.IsValid(&e)) {
    if (error) *error = e;
    return false;
  }
  return true;
}

namespace {

// Wall-clock of `layout` for `tokens` tokens: the ramp's stages at their own (smaller) batches —
// the same layout, fewer micro-batches per step — then the rest at the full batch.
double WallClock(const ModelShape& shape, const ClusterSpec& cluster, const PerfOptions& perf,
                 const BatchSizeChoice& batch, double tokens, const PerfSummary& layout, double* steps_out) {
  double wall = 0, steps = 0, ramp_fraction = 0;
  for (size_t i = 0; i < batch.ramp_sequences.size(); ++i) {
    ParallelConfig cfg = layout.config;
    cfg.global_batch = batch.ramp_sequences[i];
    PerfSummary s;
    double step = layout.step_time_s * cfg.global_batch / layout.config.global_batch;  // fallback
    if (EvaluatePerf(shape, cluster, cfg, perf, &s).ok()) step = s.step_time_s;
    const double stage_steps = batch.ramp_token_fractions[i] * tokens / (static_cast<double>(cfg.global_batch) * shape.seq_len);
    wall += stage_steps * step;
    steps += stage_steps;
    ramp_fraction += batch.ramp_token_fractions[i];
  }
  const double main_steps = (1 - ramp_fraction) * tokens / (static_cast<double>(layout.config.global_batch) * shape.seq_len);
  wall += main_steps * layout.step_time_s;
  steps += main_steps;
  if (steps_out) *steps_out = steps;
  return wall;
}

}  // namespace

Status PlanLayouts(const ModelShape& shape, double train_tokens, double budget_flops, double predicted_loss,
                   const ClusterSpec& cluster, const LayoutPlanOptions& o, LayoutPlan* out) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!o.IsValid(&error)) return Status::InvalidArgument(error);
  if (!(train_tokens > 0)) return Status::InvalidArgument("the run needs a positive number of tokens");
  const int total = cluster.total_gpus();
  const int gpn = cluster.gpus_per_node;
  if (o.gpus > total || o.max_gpus > total)
    return Status::InvalidArgument("--gpus/--max-gpus " + std::to_string(std::max(o.gpus, o.max_gpus)) +
                                   " exceeds the " + std::to_string(total) + " GPUs of " + cluster.path);
  // Whole nodes, or (a job on one node) a part of one node that divides it: 1, 2, 4 of 8 GPUs.
  for (int g : {o.gpus, o.max_gpus}) {
    const bool part_of_one_node = g > 0 && g < gpn && gpn % g == 0;
    if (g > 0 && g % gpn != 0 && !part_of_one_node)
      return Status::InvalidArgument("--gpus/--max-gpus " + std::to_string(g) + " is not a whole number of " +
                                     std::to_string(gpn) + "-GPU nodes of " + cluster.path +
                                     " (nor a part of one node that divides it)");
  }
  LayoutPlan p;
  auto batch = ChooseGlobalBatch(budget_flops, predicted_loss, shape.seq_len, o.global_batch, o.ramp);
  if (!batch.ok()) return batch.status();
  p.batch = *batch;

  LayoutSearchOptions search;
  search.global_batch = p.batch.sequences;
  search.ramp_batches = p.batch.ramp_sequences;
  search.top_k = o.top_k;
  search.accept = o.accept;
  search.gpus = o.gpus;
  search.max_gpus = o.max_gpus;
  auto swept = SearchLayouts(shape, cluster, o.perf, search);
  if (!swept.ok()) return swept.status();

  auto wall = [&](const PerfSummary& layout) {
    return WallClock(shape, cluster, o.perf, p.batch, train_tokens, layout, nullptr);
  };
  std::vector<LayoutAllocation> allocations = swept->per_allocation;
  if (o.gpus > 0) allocations = {{o.gpus, swept->ranked.front()}};  // one allocation: the fastest
  auto front = BuildPareto(allocations, cluster, train_tokens, o.pareto, wall);
  if (!front.ok()) return front.status();
  p.pareto = std::move(front).value();
  const ParetoPoint& chosen = p.pareto.front[p.pareto.chosen];
  p.gpus_allocated = chosen.gpus_allocated;

  // The chosen allocation's alternatives: a fixed-allocation search at exactly its node count.
  if (o.gpus > 0) {
    p.layouts = std::move(swept).value();
  } else {
    LayoutSearchOptions fixed = search;
    fixed.gpus = p.gpus_allocated;
    fixed.max_gpus = 0;
    fixed.min_used_fraction = std::max(1e-9, (p.gpus_allocated - gpn + 1.0) / p.gpus_allocated);
    auto ranked = SearchLayouts(shape, cluster, o.perf, fixed);
    if (!ranked.ok()) return ranked.status();
    p.layouts = std::move(ranked).value();
    p.layouts.evaluated += swept->evaluated;
    p.layouts.pruned += swept->pruned;
    p.layouts.rejected_by_engine += swept->rejected_by_engine;
  }
  p.chosen = p.layouts.ranked.front();
  p.wall_clock_s = WallClock(shape, cluster, o.perf, p.batch, train_tokens, p.chosen, &p.steps);
  p.gpu_hours = p.wall_clock_s / 3600.0 * p.gpus_allocated;
  p.cost_usd = p.gpu_hours * cluster.price_usd_per_gpu_hour;
  p.energy = TrainingEnergy(cluster, p.chosen, p.gpus_allocated, p.wall_clock_s, train_tokens);
  p.search_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *out = std::move(p);
  return Status::OK();
}

}  // namespace isoflop::planner
