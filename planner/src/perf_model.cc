// The performance model of one layout: validates it, builds the replica model (time_model.cc,
// memory_model.cc), judges the memory, and reports. docs/planner.md §3-4 collects the formulas
// with the calibration of PerfOptions (§7).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "perf_internal.h"

namespace isoflop::planner {

using internal::kGiB;

const char* RecomputeName(Recompute r) {
  switch (r) {
    case Recompute::kNone:
      return "none";
    case Recompute::kSelective:
      return "selective";
    case Recompute::kFull:
      return "full";
  }
  return "?";
}

StatusOr<Recompute> ParseRecompute(const std::string& s) {
  if (s == "none") return Recompute::kNone;
  if (s == "selective") return Recompute::kSelective;
  if (s == "full") return Recompute::kFull;
  return Status::InvalidArgument("--recompute must be none, selective or full (got '" + s + "')");
}

std::string ParallelConfig::ToString() const {
  std::ostringstream out;
  out << "TP" << tp << " PP" << pp;
  if (vpp > 1) out << "x" << vpp;
  if (first_stage_layers > 0 || last_stage_layers > 0)
    out << "(" << (first_stage_layers > 0 ? std::to_string(first_stage_layers) : std::string("~")) << ","
        << (last_stage_layers > 0 ? std::to_string(last_stage_layers) : std::string("~")) << ")";
  out << " DP" << dp;
  if (cp > 1) out << " CP" << cp;
  if (ep > 1) out << " EP" << ep;
  out << " mb" << micro_batch << " gb" << global_batch << " ZeRO-" << zero
      << " recompute=" << RecomputeName(recompute);
  return out.str();
}

bool PerfOptions::IsValid(std::string* error) const {
  auto fail = [&](const char* what) {
    if (error) *error = what;
    return false;
  };
  if (!(matmul_efficiency > 0 && matmul_efficiency <= 1)) return fail("matmul_efficiency must be in (0, 1]");
  if (!(attention_efficiency > 0 && attention_efficiency <= 1))
    return fail("attention_efficiency must be in (0, 1]");
  if (!(elementwise_traffic_factor >= 0)) return fail("elementwise_traffic_factor must be >= 0");
  if (!(collective_efficiency > 0 && collective_efficiency <= 1))
    return fail("collective_efficiency must be in (0, 1]");
  if (!(tp_overlap_efficiency >= 0 && tp_overlap_efficiency <= 1))
    return fail("tp_overlap_efficiency must be in [0, 1]");
  if (!(dp_overlap_efficiency >= 0 && dp_overlap_efficiency <= 1))
    return fail("dp_overlap_efficiency must be in [0, 1]");
  if (!(weight_bytes > 0)) return fail("weight_bytes must be > 0");
  if (!(grad_bytes > 0)) return fail("grad_bytes must be > 0");
  if (!(master_weight_bytes >= 0)) return fail("master_weight_bytes must be >= 0");
  if (!(optimizer_state_bytes >= 0)) return fail("optimizer_state_bytes must be >= 0");
  if (!(memory_fragmentation >= 0 && memory_fragmentation < 1))
    return fail("memory_fragmentation must be in [0, 1)");
  if (!(memory_reserved_gib >= 0)) return fail("memory_reserved_gib must be >= 0");
  if (!(moe_imbalance >= 1 && moe_imbalance <= 4)) return fail("moe_imbalance must be in [1, 4]");
  return true;
}

namespace internal {

void FinishLayout(const ReplicaModel& r, const ParallelConfig& cfg, const PerfOptions& options, const Hardware& hw,
                  bool explain, PerfSummary* out) {
  out->config = cfg;
  out->stage_layers = r.split;
  RankMemory(r, cfg, options, hw, out);
  StepTime(r, cfg, options, hw, out);
  const double total = out->memory.total();
  out->feasible = total <= out->memory_capacity_bytes;
  out->infeasible_reason.clear();
  if (out->feasible || !explain) return;
  struct Term {
    const char* name;
    double bytes;
  } terms[] = {{"weights", out->memory.weights},
               {"gradients", out->memory.gradients},
               {"optimizer states", out->memory.optimizer},
               {"activations", out->memory.activations},
               {"logits", out->memory.logits},
               {"ZeRO-3 gathered weights", out->memory.gathered}};
  const Term* largest = &terms[0];
  for (const auto& term : terms)
    if (term.bytes > largest->bytes) largest = &term;
  std::ostringstream why;
  why << "needs " << FormatBytes(total) << " per GPU on the " << out->memory_rank << " pipeline rank but "
      << FormatBytes(out->memory_capacity_bytes) << " is usable (" << hw.usable_bytes / kGiB / (1 - options.memory_fragmentation)
      << " GiB less " << options.memory_fragmentation * 100 << "% fragmentation margin): exceeds by "
      << FormatBytes(total - out->memory_capacity_bytes) << "; largest term: " << largest->name << " "
      << FormatBytes(largest->bytes);
  out->infeasible_reason = why.str();
}

}  // namespace internal

Status EvaluatePerf(const ModelShape& m, const ClusterSpec& cluster, const ParallelConfig& cfg,
                    const PerfOptions& options, PerfSummary* out) {
  std::string error;
  if (!m.IsValid(&error)) return Status::InvalidArgument("model: " + error);
  if (!cluster.IsValid(&error)) return Status::InvalidArgument(error);
  if (!options.IsValid(&error)) return Status::InvalidArgument("perf options: " + error);
  auto bad = [](const std::string& what) { return Status::InvalidArgument(what); };
  // Expert parallelism: Megatron-Core builds the expert groups from the tp x cp x dp ranks of a
  // pipeline stage (megatron/core/parallel_state.py @ 934c8260: world size divisible by
  // expert_tensor_parallel_size x expert_model_parallel_size x pp), here with the expert TP = tp.
  if (cfg.ep < 1) return bad("--ep must be >= 1");
  if (cfg.ep > 1 && !m.is_moe()) return bad("--ep " + std::to_string(cfg.ep) + " needs a mixture of experts (the model has no experts)");
  if (m.is_moe() && m.experts % cfg.ep != 0)
    return bad("--ep " + std::to_string(cfg.ep) + " must divide experts (" + std::to_string(m.experts) + ")");
  if ((static_cast<int64_t>(cfg.dp) * cfg.cp) % cfg.ep != 0)
    return bad("--ep " + std::to_string(cfg.ep) + " must divide dp x cp (" + std::to_string(cfg.dp * cfg.cp) +
               "): expert-parallel ranks are taken from the data- and context-parallel ranks");
  if (cfg.tp < 1 || cfg.pp < 1 || cfg.dp < 1 || cfg.cp < 1 || cfg.vpp < 1 || cfg.micro_batch < 1 ||
      cfg.global_batch < 1)
    return bad("--tp, --pp, --dp, --cp, --vpp, --micro-batch and --global-batch must be >= 1");
  if (cfg.zero < 0 || cfg.zero > 3) return bad("--zero must be 0, 1, 2 or 3");
  if (m.heads % cfg.tp != 0 || m.effective_kv_heads() % cfg.tp != 0)
    return bad("--tp " + std::to_string(cfg.tp) + " must divide heads (" + std::to_string(m.heads) +
               ") and kv_heads (" + std::to_string(m.effective_kv_heads()) + ")");
  if (cfg.first_stage_layers < 0 || cfg.last_stage_layers < 0)
    return bad("--first-stage-layers and --last-stage-layers must be >= 0");
  auto split = SplitPipelineLayers(m.layers, cfg);
  if (!split.ok()) return split.status();
  const int smallest = std::min({split->first, split->last, cfg.pp > 2 ? split->middle_max : split->first});
  if (cfg.vpp > smallest)
    return bad("--vpp (" + std::to_string(cfg.vpp) + ") exceeds the layers of a pipeline stage (" +
               std::to_string(smallest) + ")");
  if (cfg.vpp > 1 && cfg.pp == 1) return bad("--vpp > 1 needs --pp > 1");
  if (m.seq_len % cfg.cp != 0) return bad("--cp must divide seq_len");
  if (cfg.global_batch % (cfg.dp * cfg.micro_batch) != 0)
    return bad("--global-batch (" + std::to_string(cfg.global_batch) +
               ") must be a multiple of --dp x --micro-batch (" + std::to_string(cfg.dp * cfg.micro_batch) +
               ")");
  if (cfg.gpus() > cluster.total_gpus())
    return bad("the layout needs " + std::to_string(cfg.gpus()) + " GPUs; " + cluster.path + " has " +
               std::to_string(cluster.total_gpus()));
  const internal::Hardware hw = internal::MakeHardware(cluster, options);
  internal::ReplicaModel replica;
  internal::BuildReplica(m, hw, options, cfg.tp, cfg.cp, cfg.pp, cfg.vpp, cfg.micro_batch, cfg.recompute, *split,
                         &replica, cfg.ep);
  *out = PerfSummary{};
  internal::FinishLayout(replica, cfg, options, hw, /*explain=*/true, out);
  return Status::OK();
}

// ----- reports -----------------------------------------------------------------------------------------

std::string PerfSummary::BriefReport() const {
  char buf[640];
  std::snprintf(buf, sizeof buf, "%s: step %.3f s, %.0f tokens/s, MFU %.1f%%, HFU %.1f%%, %s/GPU%s%s",
                config.ToString().c_str(), step_time_s, tokens_per_s, mfu * 100, hfu * 100,
                internal::FormatBytes(memory.total()).c_str(), feasible ? "" : " — INFEASIBLE: ",
                feasible ? "" : infeasible_reason.c_str());
  return buf;
}

std::string PerfSummary::FullReport() const {
  std::ostringstream out;
  char buf[256];
  out << "layout: " << config.ToString() << " (" << config.gpus() << " GPUs); layers per pipeline rank "
      << stage_layers.ToString() << "\n";
  out << (feasible ? "fits in memory\n" : "DOES NOT FIT: " + infeasible_reason + "\n");
  auto mem_block = [&](const char* title, const MemoryBreakdown& m) {
    out << title;
    auto mem = [&](const char* name, double bytes) {
      std::snprintf(buf, sizeof buf, "  %-24s %10.2f GiB\n", name, bytes / kGiB);
      out << buf;
    };
    mem("weights", m.weights);
    mem("gradients", m.gradients);
    mem("optimizer states", m.optimizer);
    mem("activations", m.activations);
    if (m.logits > 0) mem("logits", m.logits);
    if (m.gathered > 0) mem("ZeRO gathered working set", m.gathered);
    mem("reserved", m.reserved);
    mem("total", m.total());
  };
  mem_block(("memory per GPU (" + memory_rank + " pipeline rank, the most loaded):\n").c_str(), memory);
  if (config.pp > 1 && memory_rank != "last") mem_block("memory per GPU (last pipeline rank):\n", memory_last);
  std::snprintf(buf, sizeof buf, "  %-24s %10.2f GiB\n", "usable", memory_capacity_bytes / kGiB);
  out << buf;
  out << "time per step (slowest pipeline rank):\n";
  auto sec = [&](const char* name, double s) {
    std::snprintf(buf, sizeof buf, "  %-24s %10.4f s\n", name, s);
    out << buf;
  };
  sec("matmul compute", compute_s);
  sec("attention", attention_s);
  sec("element-wise", elementwise_s);
  sec("TP collectives (exposed)", tp_comm_s);
  sec("CP ring exchange", cp_comm_s);
  if (config.ep > 1 || ep_comm_s > 0) sec("EP all-to-all (exposed)", ep_comm_s);
  sec("PP send/recv", pp_comm_s);
  sec("pipeline bubble", bubble_s);
  sec("DP/ZeRO exposed", dp_comm_exposed_s);
  sec("optimizer step", optimizer_s);
  sec("step", step_time_s);
  std::snprintf(buf, sizeof buf, "  (collective latency included above: %.4f s; GEMMs at %.0f%% of MAMF)\n",
                latency_s, gemm_efficiency * 100);
  out << buf;
  std::snprintf(buf, sizeof buf,
                "throughput: %.0f tokens/s; model %.1f TFLOP/s/GPU (MFU %.1f%%), hardware %.1f TFLOP/s/GPU "
                "(HFU %.1f%%); busy %.0f%% of the step\n",
                tokens_per_s, model_tflops_per_gpu, mfu * 100, hardware_tflops_per_gpu, hfu * 100,
                busy_fraction * 100);
  out << buf;
  return out.str();
}

namespace {
nlohmann::json MemoryJson(const MemoryBreakdown& m, double usable) {
  nlohmann::json j = {{"weights", m.weights},         {"gradients", m.gradients}, {"optimizer", m.optimizer},
                      {"activations", m.activations}, {"logits", m.logits},       {"gathered", m.gathered},
                      {"reserved", m.reserved},       {"total", m.total()}};
  if (usable > 0) j["usable"] = usable;
  return j;
}
}  // namespace

std::string PerfSummary::ToJson() const {
  nlohmann::json j;
  j["config"] = {{"tp", config.tp},
                 {"pp", config.pp},
                 {"vpp", config.vpp},
                 {"dp", config.dp},
                 {"cp", config.cp},
                 {"ep", config.ep},
                 {"micro_batch", config.micro_batch},
                 {"global_batch", config.global_batch},
                 {"zero", config.zero},
                 {"recompute", RecomputeName(config.recompute)},
                 {"first_stage_layers", stage_layers.first},
                 {"last_stage_layers", stage_layers.last},
                 {"stage_layers", stage_layers.ToString()},
                 {"gpus", config.gpus()}};
  j["feasible"] = feasible;
  if (!feasible) j["infeasible_reason"] = infeasible_reason;
  j["memory_bytes"] = MemoryJson(memory, memory_capacity_bytes);
  j["memory_rank"] = memory_rank;
  j["memory_bytes_first_rank"] = MemoryJson(memory_first, 0);
  j["memory_bytes_last_rank"] = MemoryJson(memory_last, 0);
  j["time_s"] = {{"step", step_time_s},          {"compute", compute_s},     {"attention", attention_s},
                 {"elementwise", elementwise_s}, {"tp_comm", tp_comm_s},     {"cp_comm", cp_comm_s}, {"ep_comm", ep_comm_s},
                 {"pp_comm", pp_comm_s},         {"bubble", bubble_s},       {"dp_comm_exposed", dp_comm_exposed_s},
                 {"optimizer", optimizer_s},     {"latency_included", latency_s}};
  j["busy_fraction"] = busy_fraction;
  j["gemm_efficiency_vs_mamf"] = gemm_efficiency;
  j["model_flops_per_step"] = model_flops_per_step;
  j["hardware_flops_per_step"] = hardware_flops_per_step;
  j["tokens_per_s"] = tokens_per_s;
  j["model_tflops_per_gpu"] = model_tflops_per_gpu;
  j["hardware_tflops_per_gpu"] = hardware_tflops_per_gpu;
  j["mfu"] = mfu;
  j["hfu"] = hfu;
  return j.dump(2);
}

}  // namespace isoflop::planner
