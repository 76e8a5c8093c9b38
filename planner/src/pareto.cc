// The objective and the Pareto front of wall-clock against cost and energy over GPU counts
// (docs/planner.md §6, "Objective and Pareto front").
//
// The layout search gives, for every allocation of whole nodes up to the cluster (or
// --max-gpus), the fastest layout that needs it. For a fixed allocation the fastest layout is
// also the cheapest (cost = GPU-hours x price), so the front over allocations is the front over
// layouts. A point is on the front when no other point is at least as good in wall-clock, cost
// and energy and better in one. The objective picks among the points that meet the deadline:
// cost (default) — the fastest within `slack` of the cheapest; energy — the fastest within `slack`
// of the least energy; time — the cheapest within `slack` of the fastest. The slack keeps the
// choice from taking twice as long to save a fraction of a percent.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "perf_internal.h"

namespace isoflop::planner {

const char* ObjectiveName(Objective o) {
  switch (o) {
    case Objective::kCost:
      return "cost";
    case Objective::kTime:
      return "time";
    case Objective::kEnergy:
      return "energy";
  }
  return "?";
}

StatusOr<Objective> ParseObjective(const std::string& s) {
  if (s == "cost") return Objective::kCost;
  if (s == "time") return Objective::kTime;
  if (s == "energy") return Objective::kEnergy;
  return Status::InvalidArgument("--objective must be cost, time or energy (got '" + s + "')");
}

bool ParetoOptions::IsValid(std::string* error) const {
  auto fail = [&](const char* what) {
    if (error) *error = what;
    return false;
  };
  if (!(deadline_s >= 0) || !std::isfinite(deadline_s)) return fail("--deadline must be >= 0 hours");
  if (!(slack >= 0 && slack < 1)) return fail("--slack must be in [0, 1)");
  return true;
}

std::vector<int> ParetoResult::Thinned(int max_points) const {
  std::vector<int> keep;
  const int n = static_cast<int>(front.size());
  if (n <= max_points) {
    for (int i = 0; i < n; ++i) keep.push_back(i);
    return keep;
  }
  // Evenly spaced in log(GPUs) between the ends, plus the chosen point.
  const double lo = std::log(front.front().gpus_allocated), hi = std::log(front.back().gpus_allocated);
  for (int k = 0; k < max_points - 1; ++k) {
    const double target = lo + (hi - lo) * k / (max_points - 2);
    int best = 0;
    for (int i = 0; i < n; ++i)
      if (std::abs(std::log(front[i].gpus_allocated) - target) <
          std::abs(std::log(front[best].gpus_allocated) - target))
        best = i;
    keep.push_back(best);
  }
  if (chosen >= 0) keep.push_back(chosen);
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  return keep;
}

StatusOr<ParetoResult> BuildPareto(const std::vector<LayoutAllocation>& allocations, const ClusterSpec& cluster,
                                   double tokens, const ParetoOptions& o,
                                   const std::function<double(const PerfSummary&)>& wall_clock) {
  std::string error;
  if (!o.IsValid(&error)) return Status::InvalidArgument(error);
  if (allocations.empty()) return Status::FailedPrecondition("no allocation has a layout that fits");
  std::vector<ParetoPoint> points;
  points.reserve(allocations.size());
  for (const LayoutAllocation& a : allocations) {
    ParetoPoint p;
    p.gpus_allocated = a.gpus_allocated;
    p.layout = a.best;
    p.wall_clock_s = wall_clock(a.best);
    p.gpu_hours = p.wall_clock_s / 3600.0 * a.gpus_allocated;
    p.cost_usd = p.gpu_hours * cluster.price_usd_per_gpu_hour;
    p.energy = TrainingEnergy(cluster, a.best, a.gpus_allocated, p.wall_clock_s, tokens);
    p.meets_deadline = o.deadline_s <= 0 || p.wall_clock_s <= o.deadline_s;
    points.push_back(std::move(p));
  }
  ParetoResult result;
  result.best_cost_usd = result.best_wall_clock_s = result.best_energy_kwh = INFINITY;
  for (const ParetoPoint& p : points) {
    result.best_cost_usd = std::min(result.best_cost_usd, p.cost_usd);
    result.best_wall_clock_s = std::min(result.best_wall_clock_s, p.wall_clock_s);
    result.best_energy_kwh = std::min(result.best_energy_kwh, p.energy.total_kwh);
  }
  // Non-dominated points (a few hundred allocations at most: quadratic is fine).
  auto dominates = [](const ParetoPoint& a, const ParetoPoint& b) {
    const bool no_worse = a.wall_clock_s <= b.wall_clock_s && a.cost_usd <= b.cost_usd &&
                          a.energy.total_kwh <= b.energy.total_kwh;
    const bool better = a.wall_clock_s < b.wall_clock_s || a.cost_usd < b.cost_usd ||
                        a.energy.total_kwh < b.energy.total_kwh;
    return no_worse && better;
  };
  for (size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) dominated = j != i && dominates(points[j], points[i]);
    if (!dominated) result.front.push_back(points[i]);
  }
  std::sort(result.front.begin(), result.front.end(),
            [](const ParetoPoint& a, const ParetoPoint& b) { return a.gpus_allocated < b.gpus_allocated; });

  // The objective's choice among the front's points that meet the deadline.
  std::vector<int> eligible;
  for (int i = 0; i < static_cast<int>(result.front.size()); ++i)
    if (result.front[i].meets_deadline) eligible.push_back(i);
  if (eligible.empty()) {
    const ParetoPoint* fastest = &result.front.front();
    for (const ParetoPoint& p : result.front)
      if (p.wall_clock_s < fastest->wall_clock_s) fastest = &p;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "no plan meets the deadline of %.1f h: the fastest takes %.1f h on %d GPUs (%s); raise the deadline "
                  "or --max-gpus, or lower the budget",
                  o.deadline_s / 3600, fastest->wall_clock_s / 3600, fastest->gpus_allocated,
                  fastest->layout.config.ToString().c_str());
    return Status::InvalidArgument(buf);
  }
  auto key = [&](const ParetoPoint& p) {
    switch (o.objective) {
      case Objective::kCost:
        return p.cost_usd;
      case Objective::kEnergy:
        return p.energy.total_kwh;
      case Objective::kTime:
        return p.wall_clock_s;
    }
    return p.cost_usd;
  };
  double best_key = INFINITY;
  for (int i : eligible) best_key = std::min(best_key, key(result.front[i]));
  int chosen = -1;
  for (int i : eligible) {
    const ParetoPoint& p = result.front[i];
    if (key(p) > best_key * (1 + o.slack)) continue;
    if (chosen < 0) {
      chosen = i;
      continue;
    }
    const ParetoPoint& c = result.front[chosen];
    const bool better = o.objective == Objective::kTime ? p.cost_usd < c.cost_usd : p.wall_clock_s < c.wall_clock_s;
    if (better) chosen = i;
  }
  result.chosen = chosen;
  char buf[512];
  const ParetoPoint& c = result.front[chosen];
  const char* secondary = o.objective == Objective::kTime ? "the cheapest" : "the fastest";
  std::snprintf(buf, sizeof buf,
                "objective %s: %s plan within %.0f%% of the %s on the front%s (%.3g%% above it)", ObjectiveName(o.objective),
                secondary, o.slack * 100,
                o.objective == Objective::kCost     ? "cheapest"
                : o.objective == Objective::kEnergy ? "least energy"
                                                    : "fastest",
                o.deadline_s > 0 ? " that meet the deadline" : "", (key(c) / best_key - 1) * 100);
  result.choice = buf;
  return result;
}

}  // namespace isoflop::planner
