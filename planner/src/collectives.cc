// Collective communication costs: bandwidth (ring algorithms, NCCL's bus-bandwidth convention)
// plus per-collective latency (NCCL's tuning model, src/graph/tuning.cc at NVIDIA/nccl commit
// 5067397c: a base latency per collective plus a latency per ring step, 3.4 us on NVLink and
// 14 us on the network for the Simple protocol; across nodes NCCL switches to trees for
// latency, so the network steps are the smaller of the ring's and a tree's 2 log2(nodes)).
//
// Bandwidth across nodes: NCCL runs one ring (channel) per NIC, and each ring crosses every node
// boundary through a different NIC, so a group with k members in each node moves its data
// through k NICs of each node at once: the bus bandwidth is k x the per-GPU NIC bandwidth, at most
// the NVLink bandwidth the same data also crosses inside the node. A group with one member per
// node (e.g. data parallelism across TP8 replicas) gets one NIC.
#include <algorithm>
#include <cmath>

#include "perf_internal.h"

namespace isoflop::planner::internal {
namespace {

// How a group maps onto NVLink domains: the number of domains it touches and the members per
// domain. Consecutive members are `stride` ranks apart in Megatron's order.
struct Placement {
  bool on_nvlink = true;
  int domains = 1;
  int per_domain = 1;
};

Placement Place(const Group& g, const Hardware& hw) {
  Placement p;
  const double span = static_cast<double>(g.ranks) * g.stride;
  if (span <= hw.nvlink_domain) {
    p.on_nvlink = true;
    p.domains = 1;
    p.per_domain = g.ranks;
    return p;
  }
  p.on_nvlink = false;
  // Members per domain: how many of the group's ranks fall in one domain (at least 1).
  p.per_domain = std::max(1, std::min(g.ranks, hw.nvlink_domain / std::max(g.stride, 1)));
  p.domains = std::max(1, g.ranks / p.per_domain);
  return p;
}

double Latency(const Placement& p, double steps_factor, const Hardware& hw) {
  // steps_factor: 1 for all-gather / reduce-scatter, 2 for all-reduce.
  const double intra_steps = steps_factor * (p.per_domain - 1);
  double inter_steps = 0;
  if (p.domains > 1) {
    const double ring = steps_factor * (p.domains - 1);
    const double tree = 2.0 * std::ceil(std::log2(static_cast<double>(p.domains)));
    inter_steps = std::min(ring, tree);
  }
  return hw.base_latency_s + intra_steps * hw.intra_hop_latency_s + inter_steps * hw.inter_hop_latency_s;
}

double BusBandwidth(const Placement& p, const Hardware& hw) {
  if (p.on_nvlink) return hw.intra_bytes_per_s;
  return std::min(hw.intra_bytes_per_s, p.per_domain * hw.inter_bytes_per_s);
}

}  // namespace

double AllReduceSeconds(double bytes, const Group& g, const Hardware& hw) {
  if (g.ranks <= 1 || bytes <= 0) return 0;
  const Placement p = Place(g, hw);
  const double n = g.ranks;
  return 2.0 * (n - 1) / n * bytes / BusBandwidth(p, hw) + Latency(p, 2, hw);
}

double AllGatherSeconds(double bytes, const Group& g, const Hardware& hw) {
  if (g.ranks <= 1 || bytes <= 0) return 0;
  const Placement p = Place(g, hw);
  const double n = g.ranks;
  return (n - 1) / n * bytes / BusBandwidth(p, hw) + Latency(p, 1, hw);
}

double SendRecvSeconds(double bytes, const Group& g, const Hardware& hw) {
  if (g.ranks <= 1 || bytes <= 0) return 0;
  // Neighbours are `stride` ranks apart: NVLink when both sit in one domain.
  const bool nvlink = 2.0 * g.stride <= hw.nvlink_domain;
  const double bw = nvlink ? hw.intra_bytes_per_s : hw.inter_bytes_per_s;
  return bytes / bw + (nvlink ? hw.intra_hop_latency_s : hw.inter_hop_latency_s);
}

// All-to-all (the MoE token dispatch and combine; Lepikhin et al. 2020, GShard, Sec. 3.2): each GPU
// keeps 1/n of its buffer and sends (n-1)/n of it, to the members of its NVLink domain over NVLink
// and to the others through its own NIC, the two at once; latency: one base latency plus one hop
// on each kind of link used (NCCL runs the point-to-point sends concurrently).
double AllToAllSeconds(double bytes, const Group& g, const Hardware& hw) {
  if (g.ranks <= 1 || bytes <= 0) return 0;
  const Placement p = Place(g, hw);
  const double n = g.ranks;
  const double local = p.on_nvlink ? n : std::min<double>(p.per_domain, n);
  const double intra = bytes * (local - 1) / n, inter = bytes * (n - local) / n;
  double seconds = std::max(intra / hw.intra_bytes_per_s, inter / hw.inter_bytes_per_s);
  seconds += hw.base_latency_s + (local > 1 ? hw.intra_hop_latency_s : 0.0) + (inter > 0 ? hw.inter_hop_latency_s : 0.0);
  return seconds;
}

double CollectiveLatencySeconds(const Group& g, bool all_reduce, const Hardware& hw) {
  if (g.ranks <= 1) return 0;
  return Latency(Place(g, hw), all_reduce ? 2 : 1, hw);
}

}  // namespace isoflop::planner::internal
