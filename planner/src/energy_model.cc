// Energy and carbon of a run, counting every allocated GPU-hour (docs/planner.md §5, "Energy").
//
// Per GPU of the layout, over the step: busy (matmul, attention, element-wise, optimizer) at
// idle + (TDP - idle) power, waiting (exposed communication, pipeline bubble) at idle power;
// allocated GPUs the layout leaves unused draw idle power throughout. Per node: the host
// (CPUs, memory, fans, NVSwitch, NICs; node.host_power_w) and its share of the switch fabric
// (network.power_w_per_node) for the whole wall-clock. Facility: x PUE. Carbon: x grid intensity
// (Patterson et al. 2021, "Carbon Emissions and Large Neural Network Training", Eq. 1 is the same
// product; embodied carbon is not included).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "perf_internal.h"

namespace isoflop::planner {

EnergyBreakdown TrainingEnergy(const ClusterSpec& cluster_in, const PerfSummary& layout, int gpus_allocated,
                               double wall_clock_s, double tokens) {
  ClusterSpec cluster = cluster_in;
  cluster.FillDefaults();
  EnergyBreakdown e;
  const double hours = wall_clock_s / 3600.0;
  const double used = layout.config.gpus();
  const double allocated = std::max<double>(gpus_allocated, used);
  const double nodes = std::ceil(allocated / cluster.gpus_per_node);
  const double busy = std::clamp(layout.busy_fraction, 0.0, 1.0);
  const double idle_kw = cluster.idle_power_w / 1000.0, tdp_kw = cluster.gpu_power_w / 1000.0;
  e.gpu_busy_kwh = used * hours * busy * tdp_kw;
  e.gpu_wait_kwh = used * hours * (1.0 - busy) * idle_kw;
  e.gpu_unused_kwh = (allocated - used) * hours * idle_kw;
  e.host_kwh = nodes * hours * cluster.host_power_w_per_node / 1000.0;
  e.network_kwh = nodes * hours * cluster.network_power_w_per_node / 1000.0;
  e.it_kwh = e.gpu_busy_kwh + e.gpu_wait_kwh + e.gpu_unused_kwh + e.host_kwh + e.network_kwh;
  e.total_kwh = e.it_kwh * cluster.pue;
  e.co2_kg = e.total_kwh * cluster.grid_gco2_per_kwh / 1000.0;
  e.kwh_per_million_tokens = tokens > 0 ? e.total_kwh / (tokens / 1e6) : 0.0;
  return e;
}

std::string EnergyBreakdown::ToJson() const {
  nlohmann::json j = {{"gpu_busy_kwh", gpu_busy_kwh},
                      {"gpu_wait_kwh", gpu_wait_kwh},
                      {"gpu_unused_kwh", gpu_unused_kwh},
                      {"host_kwh", host_kwh},
                      {"network_kwh", network_kwh},
                      {"it_kwh", it_kwh},
                      {"total_kwh", total_kwh},
                      {"co2_kg", co2_kg},
                      {"kwh_per_million_tokens", kwh_per_million_tokens}};
  return j.dump(2);
}

}  // namespace isoflop::planner
