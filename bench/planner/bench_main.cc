// Planner speed (docs/benchmarks.md, "Planner"):
//   1. the full layout search for LLaMA-3 405B on 16,384 H100s (target < 1 s on one core), with the
//      same search without memory pruning as the peer;
//   2. the layout half of a plan per objective (sweep over whole-node allocations, Pareto front,
//      choice, alternatives) for LLaMA-3 405B on up to 16,384 H100s (target < 1 s each);
//   3. a whole plan (law -> N, D -> shape -> layout plan) for the LLaMA-3 405B budget, 3.8e25
//      FLOPs (target < 2 s).
// Usage: planner_bench [REPEATS]   (run from the repository root; pin with taskset -c 0)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {
struct Timing {
  double min_s, median_s;
};

Timing Measure(int repeats, const std::function<void()>& body) {
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    body();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2]};
}
}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  auto cluster = LoadClusterYaml("configs/clusters/h100-sxm.yaml");
  auto model = LoadModelYaml("configs/models/llama3-405b.yaml");
  if (!cluster.ok() || !model.ok()) {
    std::fprintf(stderr, "run from the repository root: %s\n",
                 (!cluster.ok() ? cluster.status() : model.status()).ToString().c_str());
    return 2;
  }
  PerfOptions perf;
  LayoutSearchOptions search;
  search.global_batch = 2048;  // 16M tokens at 8K (LLaMA-3 405B's batch)
  search.gpus = cluster->total_gpus();
  LayoutSearchResult result;
  const Timing pruned = Measure(repeats, [&] { result = *SearchLayouts(*model, *cluster, perf, search); });
  std::printf("search 405B on %d GPUs (fixed allocation, pruned): min %.3f s, median %.3f s, %lld scored, %lld pruned\n",
              cluster->total_gpus(), pruned.min_s, pruned.median_s, static_cast<long long>(result.evaluated),
              static_cast<long long>(result.pruned));
  std::printf("  best: %s\n", result.ranked.front().BriefReport().c_str());
  search.gpus = 0;  // every allocation in whole nodes up to the cluster: what the Pareto front needs
  const Timing sweep = Measure(repeats, [&] { result = *SearchLayouts(*model, *cluster, perf, search); });
  std::printf("sweep 405B over allocations up to %d GPUs (pruned): min %.3f s, median %.3f s, %lld scored, %lld pruned, %zu allocations\n",
              cluster->total_gpus(), sweep.min_s, sweep.median_s, static_cast<long long>(result.evaluated),
              static_cast<long long>(result.pruned), result.per_allocation.size());
  search.gpus = cluster->total_gpus();
  search.prune = false;
  const Timing unpruned = Measure(repeats, [&] { result = *SearchLayouts(*model, *cluster, perf, search); });
  std::printf("search 405B on %d GPUs (no pruning, peer): min %.3f s, median %.3f s, %lld scored\n",
              cluster->total_gpus(), unpruned.min_s, unpruned.median_s, static_cast<long long>(result.evaluated));

  // Peer 2: the naive way — the public, validating EvaluatePerf on every combination of the same
  // grid (no loop bounds, no pruning), keeping the fastest feasible one.
  {
    double best_tokens_per_s = 0;
    std::string best_layout;
    long long evaluated = 0;
    const Timing naive = Measure(1, [&] {
      const int gpus = cluster->total_gpus();
      for (int t : {1, 2, 4, 8})
        for (int c : {1, 2, 4, 8, 16})
          for (int p = 1; p <= std::min(model->layers, 128); ++p)
            for (int v = 1; v <= 8; ++v)
              for (int b : {1, 2, 4, 8})
                for (int zero = 0; zero <= 3; ++zero)
                  for (Recompute rc : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
                    ParallelConfig cfg;
                    cfg.tp = t;
                    cfg.cp = c;
                    cfg.pp = p;
                    cfg.vpp = v;
                    cfg.dp = std::max(1, gpus / (t * c * p));
                    cfg.micro_batch = b;
                    cfg.global_batch = 2048;  // fixed, as the search: skip what does not divide it
                    if (2048 % (cfg.dp * b) != 0) continue;
                    cfg.zero = zero;
                    cfg.recompute = rc;
                    PerfSummary s;
                    ++evaluated;
                    if (!EvaluatePerf(*model, *cluster, cfg, perf, &s).ok() || !s.feasible) continue;
                    if (s.tokens_per_s > best_tokens_per_s) {
                      best_tokens_per_s = s.tokens_per_s;
                      best_layout = cfg.ToString();
                    }
                  }
    });
    std::printf(
        "naive grid with the public EvaluatePerf (peer): %.3f s, %lld combinations, best %.0f tokens/s "
        "(%s)\n",
        naive.min_s, evaluated, best_tokens_per_s, best_layout.c_str());
  }

  // The layout half of a plan, per objective: batch (fixed at 2,048 sequences, LLaMA-3's 16M
  // tokens), the whole-node sweep up to 16,384 GPUs, the Pareto front and the objective's choice,
  // the chosen allocation's alternatives, the ramp-aware time, cost and energy.
  for (const char* name : {"cost", "time", "energy"}) {
    LayoutPlanOptions lo;
    lo.global_batch = 2048;
    lo.pareto.objective = *ParseObjective(name);
    LayoutPlan lp;
    const double tokens = 15.6e12;  // LLaMA-3 405B's pre-training tokens (Dubey et al. 2024)
    const Timing t = Measure(repeats, [&] {
      isoflop::Status st = PlanLayouts(*model, tokens, 3.8e25, 0, *cluster, lo, &lp);
      if (!st.ok()) std::fprintf(stderr, "%s\n", st.ToString().c_str());
    });
    std::printf("layout plan 405B, objective %-6s: min %.3f s, median %.3f s; front %zu points, chosen %d GPUs %s\n",
                name, t.min_s, t.median_s, lp.pareto.front.size(), lp.gpus_allocated,
                lp.chosen.config.ToString().c_str());
  }

  PlanOptions plan_options;
  plan_options.budget = 3.8e25;  // LLaMA-3 405B's training compute (Dubey et al. 2024, Sec. 3.2.1)
  plan_options.seq_len = 8192;
  plan_options.vocab = 128256;
  PlanSummary plan;
  const Timing whole = Measure(repeats, [&] {
    isoflop::Status st = Plan(plan_options, isoflop::HoffmannRecord(), *cluster, &plan);
    if (!st.ok()) std::fprintf(stderr, "%s\n", st.ToString().c_str());
  });
  std::printf("whole plan 3.8e25 FLOPs on %d GPUs: min %.3f s, median %.3f s (%lld layouts scored)\n",
              cluster->total_gpus(), whole.min_s, whole.median_s,
              static_cast<long long>(plan.layouts.evaluated));
  std::printf("%s", plan.BriefReport().c_str());
  return 0;
}
