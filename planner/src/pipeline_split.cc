// Transformer layers per pipeline rank (docs/planner.md §3, "Pipeline stages").
#include <algorithm>
#include <string>
#include <vector>

#include "isoflop/planner.h"

namespace isoflop::planner {

std::string StageLayers::ToString() const {
  if (first == last && second == 0 && middle_total == 0) return std::to_string(first);
  std::string out = std::to_string(first);
  if (middle_total > 0) {
    const bool even = middle_max * (middle_total / std::max(middle_max, 1)) == middle_total;
    const int middles = even && middle_max > 0 ? middle_total / middle_max : 0;
    if (middles > 0) {
      out += "+" + std::to_string(middle_max) + "x" + std::to_string(middles);
    } else {
      out += "+" + std::to_string(middle_total) + "(<=" + std::to_string(middle_max) + ")";
    }
  }
  return out + "+" + std::to_string(last);
}

StatusOr<StageLayers> SplitPipelineLayers(int l, const ParallelConfig& cfg) {
  const int p = cfg.pp;
  if (p < 1 || l < 1) return Status::InvalidArgument("--pp and layers must be >= 1");
  if (p > l)
    return Status::InvalidArgument("--pp (" + std::to_string(p) + ") exceeds layers (" + std::to_string(l) + ")");
  StageLayers s;
  if (p == 1) {
    if (cfg.first_stage_layers != 0 || cfg.last_stage_layers != 0) {
      if (cfg.first_stage_layers != l && cfg.first_stage_layers != 0)
        return Status::InvalidArgument("--first-stage-layers must equal the layers when --pp is 1");
    }
    s.first = s.last = l;
    return s;
  }
  const bool explicit_split = cfg.first_stage_layers > 0 || cfg.last_stage_layers > 0;
  if (!explicit_split) {
    // floor/ceil layers per rank; the lighter ranks go to the ends first (first, last, second,
    // second-to-last, ...), where the embedding and the output layer already add work.
    const int q = l / p, r = l % p;  // r ranks get q + 1
    std::vector<int> per(p, q + 1);
    int light = p - r;  // ranks with q layers
    for (int i = 0; light > 0 && i < (p + 1) / 2; ++i) {
      per[i] = q;
      if (--light == 0) break;
      if (p - 1 - i != i) {
        per[p - 1 - i] = q;
        --light;
      }
    }
    s.first = per[0];
    s.last = per[p - 1];
    s.second = per[1];
    for (int i = 1; i + 1 < p; ++i) {
      s.middle_total += per[i];
      s.middle_max = std::max(s.middle_max, per[i]);
    }
    if (p == 2) s.second = s.last;
    return s;
  }
  const int f = cfg.first_stage_layers > 0 ? cfg.first_stage_layers : -1;
  const int g = cfg.last_stage_layers > 0 ? cfg.last_stage_layers : -1;
  if (p == 2) {
    const int first = f > 0 ? f : l - g, last = g > 0 ? g : l - f;
    if (first < 1 || last < 1 || first + last != l)
      return Status::InvalidArgument("with --pp 2 the first and last stage layers must add up to " +
                                     std::to_string(l));
    s.first = first;
    s.last = last;
    s.second = last;
    return s;
  }
  // Unspecified end: as many layers as an even split of the rest would give it.
  int first = f, last = g;
  if (first < 0) first = std::max(1, (l - last) / (p - 1));
  if (last < 0) last = std::max(1, (l - first) / (p - 1));
  const int rest = l - first - last;
  if (first < 1 || last < 1 || rest < p - 2)
    return Status::InvalidArgument("first (" + std::to_string(first) + ") and last (" + std::to_string(last) +
                                   ") stage layers leave fewer than one layer for each of the " +
                                   std::to_string(p - 2) + " middle stages of " + std::to_string(l));
  s.first = first;
  s.last = last;
  s.middle_total = rest;
  s.middle_max = (rest + p - 3) / (p - 2);
  s.second = s.middle_max;  // rank 1 is charged the heaviest middle rank's layers
  return s;
}

}  // namespace isoflop::planner
