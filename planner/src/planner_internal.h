// Internals shared by the planner's translation units.
#ifndef ISOFLOP_PLANNER_INTERNAL_H_
#define ISOFLOP_PLANNER_INTERNAL_H_

#include <string>

#include "isoflop/planner.h"

namespace isoflop::planner::internal {

std::string FormatBytes(double bytes);      // "12.3 GiB"
std::string FormatSeconds(double seconds);  // "3.2 s", "4.1 h", "12.0 d"
std::string FormatCount(double x);          // "405.3B", "15.6T"
std::string FormatFlops(double x);          // "1.00e+24"

// The mixture-of-experts plan beside a finished dense plan (moe_plan.cc): the law's split at
// dense.budget_flops, a shape, its layouts (the dense plan's layout options), serving at bf16.
StatusOr<MoePlan> PlanMoe(const MoeOption& option, const PlanSummary& dense, const ClusterSpec& cluster,
                          const LayoutPlanOptions& layout_options, const ServeOptions& serve, int tp_divisor);

}  // namespace isoflop::planner::internal

#endif  // ISOFLOP_PLANNER_INTERNAL_H_
