// The rates the performance model uses, derived from a cluster file and the calibration
// constants (docs/planner.md §4, "Hardware rates").
#include <algorithm>

#include "perf_internal.h"

namespace isoflop::planner::internal {

Hardware MakeHardware(const ClusterSpec& cluster, const PerfOptions& o) {
  ClusterSpec c = cluster;
  c.FillDefaults();
  Hardware hw;
  hw.peak_flops = c.peak_bf16_tflops * 1e12;
  hw.matmul_flops = c.matmul_tflops * 1e12 * o.matmul_efficiency;
  hw.attention_flops = c.matmul_tflops * 1e12 * o.attention_efficiency;
  hw.hbm_bytes_per_s = c.hbm_bandwidth_gb_s * kGB;
  hw.sm_count = c.sm_count;
  hw.gpus_per_node = c.gpus_per_node;
  hw.nvlink_domain = std::max(c.nvlink_domain_gpus, 1);
  hw.intra_bytes_per_s = c.intra_node_bandwidth_gb_s * kGB * o.collective_efficiency;
  hw.inter_bytes_per_s = c.inter_node_bandwidth_gb_s * kGB * o.collective_efficiency;
  hw.base_latency_s = c.collective_base_latency_us * 1e-6;
  hw.intra_hop_latency_s = c.intra_node_latency_us * 1e-6;
  hw.inter_hop_latency_s = c.inter_node_latency_us * 1e-6;
  hw.usable_bytes = c.hbm_gib * kGiB * (1 - o.memory_fragmentation);
  hw.reserved_bytes = o.memory_reserved_gib * kGiB;
  return hw;
}

}  // namespace isoflop::planner::internal
