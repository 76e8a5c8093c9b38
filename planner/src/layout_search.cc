// The layout search (docs/planner.md §6): exhaustive over TP x CP x PP x stage split x VPP x
// micro-batch x recompute x DP x ZeRO, with the global batch fixed beforehand (DP x micro-batch
// divide it; nothing is rounded), pruned by a memory lower bound, and with an engine hook.
// One replica model (time_model.cc) per TP x CP x PP x split x VPP x micro-batch x recompute is
// finished for every DP and ZeRO stage; that keeps the 405B-on-16K-GPU sweep well under a second.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "perf_internal.h"

namespace isoflop::planner {

bool LayoutSearchOptions::IsValid(std::string* error) const {
  auto fail = [&](const char* what) {
    if (error) *error = what;
    return false;
  };
  if (global_batch < 1) return fail("global_batch must be >= 1 (the batch is fixed before the layout search)");
  for (int b : ramp_batches)
    if (b < 1) return fail("ramp batches must be >= 1");
  if (gpus < 0) return fail("gpus must be >= 0");
  if (max_gpus < 0) return fail("max_gpus must be >= 0");
  if (!(min_used_fraction > 0 && min_used_fraction <= 1)) return fail("min_used_fraction must be in (0, 1]");
  if (max_micro_batch < 1) return fail("max_micro_batch must be >= 1");
  if (top_k < 1) return fail("top_k must be >= 1");
  return true;
}

namespace {

// The default split and, when allowed, 1 and 2 layers fewer on both end ranks (the rest spread
// over the middle ranks): what Megatron-Core's --decoder-first/last-pipeline-num-layers and
// NeMo's account_for_embedding/loss_in_pipeline_split do for LLaMA-3 405B.
struct Split {
  StageLayers layers;
  int first = 0, last = 0;  // ParallelConfig's explicit counts; 0 for the default split
};

std::vector<Split> CandidateSplits(int layers, int p, bool uneven) {
  std::vector<Split> out;
  ParallelConfig cfg;
  cfg.pp = p;
  auto base = SplitPipelineLayers(layers, cfg);
  if (!base.ok()) return out;
  out.push_back({*base, 0, 0});
  if (!uneven || p < 2) return out;
  const int q = (layers + p - 1) / p;
  for (int k = 1; k <= 2; ++k) {
    cfg.first_stage_layers = q - k;
    cfg.last_stage_layers = p == 2 ? layers - (q - k) : q - k;
    if (cfg.first_stage_layers < 1 || cfg.last_stage_layers < 1) continue;
    auto split = SplitPipelineLayers(layers, cfg);
    if (!split.ok()) continue;
    bool seen = false;
    for (const Split& s : out)
      seen |= s.layers.first == split->first && s.layers.last == split->last &&
              s.layers.middle_max == split->middle_max;
    if (!seen) out.push_back({*split, cfg.first_stage_layers, cfg.last_stage_layers});
  }
  return out;
}

bool FasterThan(const PerfSummary& a, const PerfSummary& b) {
  if (std::abs(a.tokens_per_s / b.tokens_per_s - 1) > 1e-9) return a.tokens_per_s > b.tokens_per_s;
  return a.memory.total() < b.memory.total();  // ties: more headroom
}

}  // namespace

StatusOr<LayoutSearchResult> SearchLayouts(const ModelShape& m, const ClusterSpec& cluster, const PerfOptions& perf,
                                           const LayoutSearchOptions& o) {
  std::string error;
  if (!o.IsValid(&error)) return Status::InvalidArgument("layout search: " + error);
  if (!m.IsValid(&error)) return Status::InvalidArgument("model: " + error);
  if (!cluster.IsValid(&error)) return Status::InvalidArgument(error);
  if (!perf.IsValid(&error)) return Status::InvalidArgument("perf options: " + error);
  const int total = cluster.total_gpus();
  const bool sweep = o.gpus == 0;
  const int max_gpus = sweep ? (o.max_gpus > 0 ? o.max_gpus : total) : o.gpus;
  if (max_gpus > total)
    return Status::InvalidArgument("--gpus " + std::to_string(max_gpus) + " exceeds the cluster's " +
                                   std::to_string(total));
  const int min_used = sweep ? 1 : static_cast<int>(std::ceil(o.min_used_fraction * o.gpus - 1e-9));
  const int gpn = cluster.gpus_per_node;
  const internal::Hardware hw = internal::MakeHardware(cluster, perf);

  // DP x micro-batch divides the batch and every batch of a ramp.
  int batch_gcd = o.global_batch;
  for (int b : o.ramp_batches) batch_gcd = std::gcd(batch_gcd, b);

  LayoutSearchResult result;
  std::vector<PerfSummary> top;  // fixed allocation: best first, <= top_k
  std::vector<PerfSummary> by_nodes(sweep ? static_cast<size_t>(max_gpus / std::max(gpn, 1) + 2) : 0);
  std::vector<char> have_nodes(by_nodes.size(), 0);
  double smallest_excess = std::numeric_limits<double>::infinity();
  std::string smallest_reason;
  ParallelConfig closest;
  internal::ReplicaModel closest_replica;
  bool have_closest = false;
  int64_t divisible = 0;  // layouts whose DP x micro-batch divides the batch on the allowed GPUs
  PerfSummary summary;
  // One replica model per expert-parallel degree (1, 2, 4, ... dividing the experts; 1 for a dense
  // model): EP changes the expert GEMMs and the all-to-all, not the rest.
  std::vector<int> ep_degrees{1};
  if (m.is_moe())
    for (int e = 2; e <= m.experts; e *= 2)
      if (m.experts % e == 0) ep_degrees.push_back(e);
  std::vector<internal::ReplicaModel> replicas(ep_degrees.size());

  auto record = [&](const PerfSummary& s) {
    if (sweep) {
      const int nodes = (s.config.gpus() + gpn - 1) / gpn;
      if (!have_nodes[nodes] || FasterThan(s, by_nodes[nodes])) {
        by_nodes[nodes] = s;
        have_nodes[nodes] = 1;
      }
    }
    if (static_cast<int>(top.size()) < o.top_k || FasterThan(s, top.back())) {
      auto pos = std::upper_bound(top.begin(), top.end(), s, FasterThan);
      top.insert(pos, s);
      if (static_cast<int>(top.size()) > o.top_k) top.pop_back();
    }
  };

  const int max_tp = std::min({hw.nvlink_domain, 64, max_gpus});
  for (int t = 1; t <= max_tp; t *= 2) {
    if (m.heads % t != 0 || m.effective_kv_heads() % t != 0) {
      ++result.pruned;
      continue;
    }
    for (int c = 1; c <= 16; c *= 2) {
      if (c > 1 && !o.allow_cp) break;
      // Context parallelism only for long sequences: chunks of >= 4K tokens keep the ring
      // exchange hidden behind attention (LLaMA-3 used it for 128K-token training only).
      if (m.seq_len % c != 0 || (c > 1 && m.seq_len / c < 4096)) {
        ++result.pruned;
        continue;
      }
      for (int p = 1; p <= std::min(m.layers, 128); ++p) {
        const int64_t replica_gpus = static_cast<int64_t>(t) * c * p;
        if (replica_gpus > max_gpus) break;
        for (const Split& candidate : CandidateSplits(m.layers, p, o.uneven_stages)) {
          const StageLayers& split = candidate.layers;
          // Memory lower bound with the most sharding any DP here allows.
          const int d_max = static_cast<int>(max_gpus / replica_gpus);
          const int d_bound = std::max(1, std::min(d_max, batch_gcd));
          int e_bound = 1;
          for (int e : ep_degrees)
            if (e <= static_cast<int64_t>(d_bound) * c) e_bound = e;
          const double bound =
              internal::StateMemoryLowerBound(m, t, c, p, d_bound, split, perf, o.allow_zero3, e_bound);
          if (o.prune && bound > hw.usable_bytes) {
            ++result.pruned;
            if (bound - hw.usable_bytes < smallest_excess) {
              smallest_excess = bound - hw.usable_bytes;
              have_closest = false;
              smallest_reason = "TP" + std::to_string(t) + " PP" + std::to_string(p) + " with the most sharding: " +
                                "weights, gradients and optimizer states alone need " +
                                internal::FormatBytes(bound) + " per GPU, " +
                                internal::FormatBytes(hw.usable_bytes) + " usable";
            }
            continue;
          }
          const int smallest_rank = p > 2 ? std::min({split.first, split.last, split.middle_max})
                                          : std::min(split.first, split.last);
          // Virtual stages: divisors of the (middle) ranks' layers up to 16 (Megatron needs whole
          // layers per virtual stage; the engine hook can ask for more, e.g. every rank divisible).
          for (int v = 1; v <= (p > 1 ? std::min(16, smallest_rank) : 1); ++v) {
            if (v > 1 && ((p > 2 ? split.middle_max : split.first) % v != 0)) continue;
            for (int b = 1; b <= o.max_micro_batch; b *= 2) {
              if (batch_gcd % b != 0) continue;
              const int dp_limit = batch_gcd / b;
              for (Recompute rc : {Recompute::kNone, Recompute::kSelective, Recompute::kFull}) {
                // With FlashAttention selective recomputation stores and computes what none does.
                if (rc == Recompute::kSelective && perf.flash_attention) continue;
                std::vector<char> built(ep_degrees.size(), 0);
                for (int d = 1; d <= dp_limit && replica_gpus * d <= max_gpus; ++d) {
                  if (dp_limit % d != 0) continue;
                  const int used = static_cast<int>(replica_gpus * d);
                  if (used < min_used) continue;
                  ++divisible;
                  for (size_t ei = 0; ei < ep_degrees.size(); ++ei) {
                  const int e = ep_degrees[ei];
                  if ((static_cast<int64_t>(d) * c) % e != 0) continue;
                  if (o.prune && internal::StateMemoryLowerBound(m, t, c, p, d, split, perf, o.allow_zero3, e) >
                                     hw.usable_bytes) {
                    ++result.pruned;
                    continue;
                  }
                  internal::ReplicaModel& replica = replicas[ei];
                  if (!built[ei]) {
                    internal::BuildReplica(m, hw, perf, t, c, p, v, b, rc, split, &replica, e);
                    built[ei] = 1;
                  }
                  for (int zero = 0; zero <= 3; ++zero) {
                    if (zero == 3 && !o.allow_zero3) continue;
                    if (static_cast<int64_t>(d) * c == 1 && zero > 0) continue;  // nothing to shard over
                    ParallelConfig cfg;
                    cfg.tp = t;
                    cfg.pp = p;
                    cfg.dp = d;
                    cfg.cp = c;
                    cfg.ep = e;
                    cfg.vpp = v;
                    cfg.micro_batch = b;
                    cfg.global_batch = o.global_batch;
                    cfg.zero = zero;
                    cfg.recompute = rc;
                    cfg.first_stage_layers = candidate.first;
                    cfg.last_stage_layers = candidate.last;
                    if (o.accept) {
                      std::string why;
                      if (!o.accept(m, cfg, &why)) {
                        ++result.rejected_by_engine;
                        continue;
                      }
                    }
                    internal::FinishLayout(replica, cfg, perf, hw, /*explain=*/false, &summary);
                    ++result.evaluated;
                    if (!summary.feasible) {
                      const double excess = summary.memory.total() - summary.memory_capacity_bytes;
                      if (excess < smallest_excess) {
                        smallest_excess = excess;
                        closest = cfg;
                        closest_replica = replica;
                        have_closest = true;
                      }
                      continue;
                    }
                    record(summary);
                  }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  if (have_closest) {
    PerfSummary s;
    internal::FinishLayout(closest_replica, closest, perf, hw, /*explain=*/true, &s);
    smallest_reason = closest.ToString() + ": " + s.infeasible_reason;
  }
  if (top.empty()) {
    if (divisible == 0 && !std::isfinite(smallest_excess)) {
      return Status::InvalidArgument(
          "no layout's data parallelism x micro-batch divides the global batch of " + std::to_string(o.global_batch) +
          " sequences" + (o.ramp_batches.empty() ? "" : " (and every batch of the ramp)") + " on " +
          (sweep ? "at most " : "") + std::to_string(max_gpus) + " x " + cluster.gpu_model +
          (sweep ? "" : " (using at least " + std::to_string(min_used) + ")") +
          "; choose a batch with more divisors (e.g. a power of two) or another GPU count");
    }
    std::string why = "no parallel layout of this model fits on " + std::string(sweep ? "up to " : "") +
                      std::to_string(max_gpus) + " x " + cluster.gpu_model + " (" + std::to_string(result.evaluated) +
                      " layouts scored, " + std::to_string(result.pruned) + " pruned" +
                      (result.rejected_by_engine > 0
                           ? ", " + std::to_string(result.rejected_by_engine) + " refused by the engine rules"
                           : "") +
                      ")";
    if (!smallest_reason.empty()) why += "; closest: " + smallest_reason;
    return Status::FailedPrecondition(why);
  }
  result.ranked = std::move(top);
  if (sweep) {
    for (size_t n = 0; n < by_nodes.size(); ++n) {
      if (!have_nodes[n]) continue;
      result.per_allocation.push_back({static_cast<int>(n) * gpn, std::move(by_nodes[n])});
    }
  }
  return result;
}

}  // namespace isoflop::planner
