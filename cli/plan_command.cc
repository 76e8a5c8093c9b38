// `isoflop plan` and `isoflop perf`: parse flags, call the planner library, print.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "commands.h"
#include "isoflop/engines.h"
#include "isoflop/file_util.h"
#include "isoflop/planner.h"

namespace isoflop::cli {
namespace {

using namespace isoflop::planner;

struct PlanFlags {
  double budget_flops = 0, budget_gpu_hours = 0, budget_usd = 0, budget_kwh = 0;
  std::string cluster, law = "hoffmann", sbatch, model_out, mlp = "swiglu", out;
  double inference_tokens = 0, unique_tokens = 0, deadline_hours = 0, slack = 0.05, inference_mfu = 0.3;
  int seq_len = 2048, vocab = 0, gpus = 0, max_gpus = 0, top = 5, global_batch = 0;
  std::string objective = "cost", batch_ramp;
  double serve_tokens = 0, serve_qps = 0;
  std::string moe;
  double grad_bytes = 4, master_bytes = 4;
  int serve_context = 0, serve_batch = 1, serve_output_tokens = 0;
  bool exact_flops = false, json = false, allow_extrapolation = false, trainer_arch = false;
  // Issue 12: engine rules and launch material.
  std::string engine, launch, launch_dir, partition, account, qos, launch_data, launch_tokenizer;
  double max_time_hours = 0, failures_per_gpu_hour = 0, checkpoint_gb_s = 0;
  int signal_lead = 900;
  bool no_gres = false;
};

struct PerfFlags {
  std::string model, cluster, recompute = "selective", validate, clusters_dir = "configs/clusters";
  int tp = 1, pp = 1, dp = 1, cp = 1, ep = 1, vpp = 1, micro_batch = 1, global_batch = 0, zero = 1, gpus = 0;
  int first_stage_layers = 0, last_stage_layers = 0;
  double grad_bytes = 4, master_bytes = 4;
  bool no_flash = false, no_tp_overlap = false, no_dp_overlap = false, json = false;
};

int RunPlan(const PlanFlags& f) {
  PlanOptions options;
  int budgets = 0;
  if (f.budget_flops > 0)
    options.budget_kind = BudgetKind::kFlops, options.budget = f.budget_flops, ++budgets;
  if (f.budget_gpu_hours > 0)
    options.budget_kind = BudgetKind::kGpuHours, options.budget = f.budget_gpu_hours, ++budgets;
  if (f.budget_usd > 0) options.budget_kind = BudgetKind::kUsd, options.budget = f.budget_usd, ++budgets;
  if (f.budget_kwh > 0) options.budget_kind = BudgetKind::kKwh, options.budget = f.budget_kwh, ++budgets;
  if (budgets != 1)
    return ReportError("plan", Status::InvalidArgument("give exactly one positive budget: --budget-flops, "
                                                       "--budget-gpu-hours, --budget-usd or --budget-kwh"));
  if (f.mlp != "swiglu" && f.mlp != "gelu")
    return ReportError("plan", Status::InvalidArgument("--mlp must be gelu or swiglu"));
  options.mlp = f.mlp == "gelu" ? Mlp::kGelu : Mlp::kSwiglu;
  options.inference_tokens = f.inference_tokens;
  options.seq_len = f.seq_len;
  options.vocab = f.vocab;
  options.unique_tokens = f.unique_tokens;
  options.trainer_architecture = f.trainer_arch;
  options.allow_extrapolation = f.allow_extrapolation;
  options.gpus = f.gpus;
  options.max_gpus = f.max_gpus;
  auto objective = ParseObjective(f.objective);
  if (!objective.ok()) return ReportError("plan", objective.status());
  options.objective = *objective;
  options.deadline_hours = f.deadline_hours;
  options.slack = f.slack;
  options.perf.grad_bytes = f.grad_bytes;
  options.perf.master_weight_bytes = f.master_bytes;
  options.inference_mfu = f.inference_mfu;
  auto ramp = ParseBatchRamp(f.batch_ramp);
  if (!ramp.ok()) return ReportError("plan", ramp.status());
  options.batch_ramp = *ramp;
  options.global_batch = f.global_batch;
  options.top_k = f.top;
  options.exact_flops = f.exact_flops;
  options.serve_demand.lifetime_tokens = f.serve_tokens;
  if (!f.moe.empty()) {
    auto moe = ParseMoeOption(f.moe);
    if (!moe.ok()) return ReportError("plan", moe.status());
    options.moe = *moe;
  }
  options.serve_demand.requests_per_s = f.serve_qps;
  options.serve.context = f.serve_context;
  options.serve.batch = f.serve_batch;
  options.serve.output_tokens = f.serve_output_tokens;
  auto cluster = LoadClusterYaml(f.cluster);
  if (!cluster.ok()) return ReportError("plan", cluster.status());
  // The engine whose rules the search applies: --engine, else --launch's, else isoflop for --sbatch.
  std::string engine_name = f.engine;
  if (engine_name.empty()) engine_name = !f.launch.empty() ? f.launch : (!f.sbatch.empty() ? "isoflop" : "any");
  auto engine = ParseEngine(engine_name);
  if (!engine.ok()) return ReportError("plan", engine.status());
  if (!f.launch.empty() && f.launch != engine_name)
    return ReportError("plan", Status::InvalidArgument("--launch " + f.launch + " with --engine " + engine_name +
                                                       ": the launch's engine must be the one planned for"));
  if (!f.sbatch.empty() && *engine != Engine::kIsoflop)
    return ReportError("plan", Status::InvalidArgument("--sbatch writes an `isoflop train` script; for --engine " +
                                                       engine_name + " use --launch " + engine_name +
                                                       " --launch-dir DIR"));
  // The Slurm and checkpoint flags serve --launch and --sbatch alike.
  LaunchOptions launch;
  launch.engine = *engine;
  launch.dir = f.launch.empty() ? "." : f.launch_dir;
  launch.partition = f.partition;
  launch.account = f.account;
  launch.qos = f.qos;
  launch.max_time_hours = f.max_time_hours;
  launch.signal_lead_s = f.signal_lead;
  launch.gres = !f.no_gres;
  launch.data_path = f.launch_data;
  launch.tokenizer = f.launch_tokenizer;
  if (f.failures_per_gpu_hour > 0) launch.failures_per_gpu_hour = f.failures_per_gpu_hour;
  if (f.checkpoint_gb_s > 0) launch.checkpoint_write_gb_s_per_node = f.checkpoint_gb_s;
  if (!f.launch.empty() || !f.sbatch.empty()) {
    std::string error;
    if (!launch.IsValid(&error)) return ReportError("plan", Status::InvalidArgument(error));
  }
  if (f.launch.empty() && !f.launch_dir.empty()) {
    return ReportError("plan", Status::InvalidArgument("--launch-dir needs --launch megatron|torchtitan|isoflop"));
  }
  Status family = CheckEngineModel(*engine, options);
  if (!family.ok()) return ReportError("plan", family);
  if (*engine != Engine::kAny) {
    options.accept = EngineLayoutFilter(*engine, cluster->gpus_per_node);
    options.engine = engine_name;
  }
  auto law = LoadLaw(f.law);
  if (!law.ok()) return ReportError("plan", law.status());
  PlanSummary plan;
  Status st = Plan(options, *law, *cluster, &plan);
  if (!st.ok()) return ReportError("plan", st);
  if (!f.model_out.empty()) {
    Status saved = SaveModelYaml(plan.shape, f.model_out);
    if (!saved.ok()) return ReportError("plan", saved);
  }
  if (!f.sbatch.empty()) {
    // big-run.sh -> big-run.yaml beside it: the trainer's run config.
    std::string config_path = f.sbatch;
    const size_t dot = config_path.rfind('.');
    const size_t slash = config_path.rfind('/');
    if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) config_path.resize(dot);
    config_path += ".yaml";
    for (const auto& [path, text] : {std::pair{config_path, plan.RunConfigYaml()},
                                     std::pair{f.sbatch, plan.SbatchScript(config_path, &launch)}}) {
      Status written = WriteFileAtomically(path, text);
      if (!written.ok()) return ReportError("plan", written);
    }
    std::fprintf(stderr, "isoflop plan: wrote %s (Slurm script) and %s (run config)\n", f.sbatch.c_str(),
                 config_path.c_str());
  }
  if (!f.launch.empty()) {
    auto written = WriteLaunch(plan, launch);
    if (!written.ok()) return ReportError("plan", written.status());
    std::string files;
    for (const auto& path : written->files) files += (files.empty() ? "" : ", ") + path;
    std::fprintf(stderr, "isoflop plan: wrote %s\nisoflop plan: launch: %s\n", files.c_str(),
                 written->BriefReport().c_str());
  }
  if (!f.out.empty()) {
    Status written = WriteFileAtomically(f.out, plan.ToJson() + "\n");
    if (!written.ok()) return ReportError("plan", written);
    std::fprintf(stderr, "isoflop plan: wrote %s\n", f.out.c_str());
  }
  std::printf("%s\n", f.json ? plan.ToJson().c_str() : plan.FullReport().c_str());
  // Loud on stderr too, so a script that keeps only stdout's JSON still sees it in its log.
  if (plan.extrapolated)
    std::fprintf(stderr, "isoflop plan: EXTRAPOLATED PLAN (--allow-extrapolation): %s\n", plan.evidence.reason.c_str());
  return kExitOk;
}

int RunPerf(const PerfFlags& f) {
  PerfOptions options;
  options.flash_attention = !f.no_flash;
  options.grad_bytes = f.grad_bytes;
  options.master_weight_bytes = f.master_bytes;
  options.tp_comm_overlap = !f.no_tp_overlap;
  options.dp_comm_overlap = !f.no_dp_overlap;
  if (!f.validate.empty()) {
    // Each published run names its own cluster file under --clusters-dir.
    auto runs = LoadPublishedRuns(f.validate);
    if (!runs.ok()) return ReportError("perf", runs.status());
    auto results = ValidateAgainstPublished(*runs, f.clusters_dir, options);
    if (!results.ok()) return ReportError("perf", results.status());
    double worst[2] = {0, 0};
    for (const auto& r : *results) {
      double& w = worst[r.run.held_out() ? 1 : 0];
      w = std::max(w, r.worst_abs_error());
    }
    std::printf("%sworst |predicted/published - 1|: calibration rows %.1f%%, held-out rows %.1f%%\n",
                ValidationMarkdown(*results).c_str(), worst[0] * 100, worst[1] * 100);
    return kExitOk;
  }
  if (f.cluster.empty()) return ReportError("perf", Status::InvalidArgument("--cluster is required"));
  auto cluster = LoadClusterYaml(f.cluster);
  if (!cluster.ok()) return ReportError("perf", cluster.status());
  if (f.gpus > 0) cluster->nodes = (f.gpus + cluster->gpus_per_node - 1) / cluster->gpus_per_node;
  if (f.model.empty())
    return ReportError("perf", Status::InvalidArgument("--model is required (or --validate CSV)"));
  auto model = LoadModelYaml(f.model);
  if (!model.ok()) return ReportError("perf", model.status());
  auto recompute = ParseRecompute(f.recompute);
  if (!recompute.ok()) return ReportError("perf", recompute.status());
  ParallelConfig cfg;
  cfg.tp = f.tp;
  cfg.pp = f.pp;
  cfg.dp = f.dp;
  cfg.cp = f.cp;
  cfg.ep = f.ep;
  cfg.vpp = f.vpp;
  cfg.micro_batch = f.micro_batch;
  cfg.global_batch = f.global_batch > 0 ? f.global_batch : f.dp * f.micro_batch;
  cfg.zero = f.zero;
  cfg.recompute = *recompute;
  cfg.first_stage_layers = f.first_stage_layers;
  cfg.last_stage_layers = f.last_stage_layers;
  PerfSummary summary;
  Status st = EvaluatePerf(*model, *cluster, cfg, options, &summary);
  if (!st.ok()) return ReportError("perf", st);
  std::printf("%s\n", f.json ? summary.ToJson().c_str() : summary.FullReport().c_str());
  if (!summary.feasible) {
    return ReportError("perf",
                       Status::FailedPrecondition("the layout does not fit: " + summary.infeasible_reason));
  }
  return kExitOk;
}

}  // namespace

void RegisterPlanCommands(CLI::App& app, CommandContext& ctx) {
  auto plan_flags = std::make_shared<PlanFlags>();
  auto* plan = app.add_subcommand(
      "plan",
      "Compute-optimal N, D, shape and parallel layout for a budget on a cluster, with predicted step time,\n"
      "MFU, wall-clock, GPU-hours, cost, energy and CO2, and the Pareto front of wall-clock against cost and\n"
      "energy over GPU counts (docs/planner.md).\n"
      "Examples:\n"
      "  isoflop plan --budget-flops 1e24 --cluster configs/clusters/h100-sxm.yaml --gpus 1024\n"
      "  isoflop plan --budget-flops 5.76e23 --law epoch --cluster configs/clusters/h100-sxm.yaml --objective cost\n"
      "  isoflop plan --budget-flops 5.76e23 --law epoch --cluster configs/clusters/h100-sxm.yaml --deadline 720\n"
      "  isoflop plan --budget-gpu-hours 2e6 --cluster configs/clusters/h200.yaml --law fit.json --top 10\n"
      "  isoflop plan --budget-usd 5e6 --cluster configs/clusters/a100-80gb.yaml --law epoch --json\n"
      "  isoflop plan --budget-flops 3e23 --cluster configs/clusters/h100-sxm.yaml --inference-tokens 2e13\n"
      "  isoflop plan --budget-flops 1e24 --law epoch --cluster configs/clusters/h100-sxm.yaml --gpus 1024 \\\n"
      "      --launch megatron --launch-dir big-run --partition gpu --max-time 48\n"
      "  isoflop plan --budget-flops 1e22 --law epoch --cluster configs/clusters/h100-sxm.yaml --launch torchtitan \\\n"
      "      --launch-dir tt-run\n"
      "  isoflop plan --budget-flops 1e20 --cluster configs/clusters/h100-sxm.yaml --gpus 64 --sbatch big-run.sh\n"
      "  isoflop plan --budget-flops 1e24 --cluster configs/clusters/h100-sxm.yaml --serve-tokens 1e12\n"
      "  isoflop plan --budget-flops 1e24 --cluster configs/clusters/h100-sxm.yaml --moe 64:8\n"
      "  isoflop plan --budget-flops 1e24 --cluster configs/clusters/h100-sxm.yaml --moe 64:8 --json\n"
      "  isoflop plan --budget-flops 1e24 --cluster configs/clusters/h100-sxm.yaml --serve-qps 20 --context 4096 \\\n"
      "      --batch 16\n"
      "  isoflop fit --runs tests/data/llama3_isoflops_points_ericczech.csv --method parabola \\\n"
      "      --columns flops=compute_budget,tokens=training_tokens,loss=validation_loss --out l3.json\n"
      "  isoflop plan --budget-flops 3.8e25 --law l3.json --cluster configs/clusters/h100-sxm.yaml \\\n"
      "      --seq-len 8192 --vocab 128256\n"
      "  isoflop plan --budget-flops 5.76e23 --cluster configs/clusters/a100-80gb.yaml --law fit.json --out "
      "plan.json\n"
      "A law plans only budgets its evidence supports: an N_opt interval within a factor of 10 and at most\n"
      "10,000x the largest fitted budget; --allow-extrapolation plans anyway and flags the plan\n"
      "(docs/planner.md, \"The plan knows its evidence\").");
  auto* budget = plan->add_option_group("budget", "exactly one");
  budget->add_option("--budget-flops", plan_flags->budget_flops, "training FLOPs");
  budget->add_option("--budget-gpu-hours", plan_flags->budget_gpu_hours,
                     "allocated GPU-hours (converted with what the chosen plan buys per GPU-hour)");
  budget->add_option("--budget-usd", plan_flags->budget_usd, "dollars (the cluster's price per GPU-hour)");
  budget->add_option("--budget-kwh", plan_flags->budget_kwh,
                     "energy in kWh (every allocated GPU-hour, hosts, network, PUE: docs/planner.md §5)");
  budget->require_option(1);
  plan->add_option("--cluster", plan_flags->cluster, "cluster YAML (configs/clusters/)")->required();
  plan->add_option("--law", plan_flags->law, "fit.json from `isoflop fit`, or hoffmann | epoch")
      ->capture_default_str();
  plan->add_flag("--allow-extrapolation", plan_flags->allow_extrapolation,
                 "plan a budget outside the fitted law's evidence anyway; the plan is flagged in text and JSON");
  plan->add_option("--unique-tokens", plan_flags->unique_tokens,
                   "unique tokens available: a data-constrained law plans repetition (epochs); others refuse it");
  plan->add_option("--inference-tokens", plan_flags->inference_tokens,
                   "lifetime inference tokens: the lifetime-optimal model that trains within the budget (Sardana\n"
                   "et al. 2024); inference FLOPs, cost and energy reported separately");
  plan->add_option("--seq-len", plan_flags->seq_len, "sequence length")->capture_default_str();
  plan->add_option("--vocab", plan_flags->vocab,
                   "vocabulary size (default: the fit's vocabulary when fit.json records one, else 51200)");
  plan->add_option("--mlp", plan_flags->mlp,
                   "gelu (GPT/Megatron block) | swiglu (LLaMA block)")->capture_default_str();
  plan->add_flag("--trainer-arch", plan_flags->trainer_arch,
                 "size the shape as `isoflop train` builds it (RMSNorm, RoPE, no biases, tied embeddings)");
  plan->add_option("--objective", plan_flags->objective,
                   "cost | time | energy: the point of the Pareto front over GPU counts to plan (cost: the fastest\n"
                   "within --slack of the cheapest; energy: likewise; time: the cheapest within --slack of the fastest)")
      ->capture_default_str();
  plan->add_option("--deadline", plan_flags->deadline_hours,
                   "wall-clock limit in hours; a deadline no GPU count meets exits 2 with the fastest plan's time");
  plan->add_option("--max-gpus", plan_flags->max_gpus,
                   "largest allocation the sweep considers (whole nodes; default: the cluster)");
  plan->add_option("--gpus", plan_flags->gpus,
                   "a fixed allocation (whole nodes) instead of the sweep over GPU counts");
  plan->add_option("--slack", plan_flags->slack, "the objective's tolerance (fraction)")->capture_default_str();
  plan->add_option("--global-batch", plan_flags->global_batch,
                   "sequences per optimiser step, taken as given (default: DeepSeek LLM 2024's batch law bounded by\n"
                   "the critical batch, rounded to 2^k or 3x2^k sequences); data parallelism x micro-batch divide it");
  plan->add_option("--batch-ramp", plan_flags->batch_ramp,
                   "BATCH_FRACTION:TOKEN_FRACTION,... e.g. 0.25:0.01,0.5:0.2 (a quarter of the batch for the first\n"
                   "1% of the tokens, half for the next 20%)");
  plan->add_option("--inference-mfu", plan_flags->inference_mfu,
                   "MFU assumed for the lifetime inference cost and energy reported with --inference-tokens")
      ->capture_default_str();
  plan->add_option("--moe", plan_flags->moe,
                   "E:K: also plan a mixture of experts (E experts, top-K routing) at the same budget, beside the\n"
                   "dense plan: law (Krajewski et al. 2024), shape, layout with expert parallelism, training and\n"
                   "serving cost (docs/planner.md \"Mixture of experts in the plan\")");
  plan->add_option("--serve-tokens", plan_flags->serve_tokens,
                   "lifetime generated tokens to serve: the plan prices serving the model at bf16, int8 and int4\n"
                   "(GPUs per replica, memory, decode/prefill tokens/s, $ and kWh per million tokens; isoflop serve-perf)");
  plan->add_option("--serve-qps", plan_flags->serve_qps,
                   "serving requests per second: the replicas, GPUs, $/h and kW each precision needs");
  plan->add_option("--context", plan_flags->serve_context,
                   "serving: tokens in each sequence's KV cache (default: --seq-len)");
  plan->add_option("--batch", plan_flags->serve_batch, "serving: sequences decoded together on one replica")
      ->capture_default_str();
  plan->add_option("--output-tokens", plan_flags->serve_output_tokens,
                   "serving: generated tokens per request (default with --serve-qps: min(512, context/2))");
  plan->add_option("--top", plan_flags->top, "alternative layouts to list")->capture_default_str();
  plan->add_option("--grad-bytes", plan_flags->grad_bytes, "main-gradient bytes per parameter: 4 (fp32) or 2 (bf16)")
      ->capture_default_str()
      ->check(CLI::IsMember({2.0, 4.0}));
  plan->add_option("--master-bytes", plan_flags->master_bytes,
                   "master-weight bytes per parameter: 4 (fp32), 2 (bf16) or 0 (the bf16 weights are the master copy)")
      ->capture_default_str()
      ->check(CLI::IsMember({0.0, 2.0, 4.0}));
  plan->add_flag("--exact-flops", plan_flags->exact_flops,
                 "use the shape's exact FLOPs/token (attention, output layer) instead of 6N");
  plan->add_option(
      "--sbatch", plan_flags->sbatch,
      "write a ready-to-submit Slurm script for the big run (and its run config, .yaml beside it)");
  plan->add_option("--model-out", plan_flags->model_out, "write the chosen shape as a model YAML");
  plan->add_option("--engine", plan_flags->engine,
                   "isoflop | megatron | torchtitan: propose only layouts this engine runs (docs/engines.md; default:\n"
                   "--launch's engine, isoflop with --sbatch, else no engine rules)");
  plan->add_option("--launch", plan_flags->launch,
                   "megatron | torchtitan | isoflop: write the launch material into --launch-dir: run.sbatch and\n"
                   "megatron.args (pretrain_gpt.py $(cat megatron.args)), torchtitan.toml + isoflop_flavor.py, or run.yaml");
  plan->add_option("--launch-dir", plan_flags->launch_dir, "directory for --launch (created)");
  plan->add_option("--partition", plan_flags->partition, "Slurm partition for run.sbatch");
  plan->add_option("--account", plan_flags->account, "Slurm account for run.sbatch");
  plan->add_option("--qos", plan_flags->qos, "Slurm QOS for run.sbatch");
  plan->add_option("--max-time", plan_flags->max_time_hours,
                   "cap on run.sbatch's time limit in hours (default: predicted wall-clock x 1.2 + 30 min); a longer\n"
                   "run requeues itself at the signal and resumes from its checkpoint");
  plan->add_option("--signal-lead", plan_flags->signal_lead,
                   "seconds before the time limit that USR1 reaches the batch shell (#SBATCH --signal=B:USR1@N)")
      ->capture_default_str();
  plan->add_flag("--no-gres", plan_flags->no_gres,
                 "omit #SBATCH --gpus-per-node (a cluster without GPU gres, e.g. the local test cluster);\n"
                 "this and --partition/--account/--qos/--max-time/--signal-lead apply to --sbatch too");
  plan->add_option("--launch-data", plan_flags->launch_data,
                   "data for the engine: Megatron --data-path prefix (isoflop data export --format megatron), torchtitan\n"
                   "dataset_path, isoflop shard directory (default: DIR/data/megatron_text_document for Megatron)");
  plan->add_option("--launch-tokenizer", plan_flags->launch_tokenizer, "torchtitan hf_assets_path (tokenizer)");
  plan->add_option("--failures-per-gpu-hour", plan_flags->failures_per_gpu_hour,
                   "failure rate for the checkpoint interval (default 1.97e-5: Llama 3 405B, 419 interruptions in 54\n"
                   "days on 16,384 GPUs)");
  plan->add_option("--checkpoint-gb-s", plan_flags->checkpoint_gb_s,
                   "checkpoint write rate per node in GB/s for the checkpoint interval (default 2, an assumption)");
  plan->add_flag("--json", plan_flags->json, "print JSON");
  plan->add_option("--out", plan_flags->out,
                   "also write the plan as JSON here (atomically; `isoflop report --plan`)");
  plan->callback([plan_flags, &ctx] { ctx.exit_code = RunPlan(*plan_flags); });

  auto perf_flags = std::make_shared<PerfFlags>();
  auto* perf = app.add_subcommand(
      "perf",
      "Predict step time, MFU/HFU and memory per GPU of one parallel layout; explain why it does not fit.\n"
      "Examples:\n"
      "  isoflop perf --model configs/models/gpt3-175b.yaml --cluster configs/clusters/a100-80gb.yaml \\\n"
      "      --tp 8 --pp 8 --vpp 3 --dp 1 --micro-batch 1 --global-batch 64 --zero 0 --recompute selective\n"
      "  isoflop perf --model configs/models/llama3-405b.yaml --cluster configs/clusters/h100-sxm.yaml \\\n"
      "      --tp 8 --pp 16 --dp 128 --micro-batch 1 --global-batch 2048 --recompute full --json\n"
      "  isoflop perf --model configs/models/llama3-405b.yaml --cluster configs/clusters/h100-sxm.yaml \\\n"
      "      --tp 8 --pp 16 --dp 128 --micro-batch 1 --global-batch 2048 --zero 2 --recompute none \\\n"
      "      --first-stage-layers 7 --last-stage-layers 7\n"
      "  isoflop perf --model configs/models/mixtral-8x7b.yaml --cluster configs/clusters/h100-sxm.yaml \\\n"
      "      --tp 2 --pp 4 --dp 8 --ep 8 --micro-batch 1 --global-batch 256 --recompute full\n"
      "  isoflop perf --validate tests/data/parallel_configs.csv\n"
      "  isoflop perf --validate tests/data/moe_parallel_configs.csv");
  perf->add_option("--model", perf_flags->model, "model YAML (configs/models/)");
  perf->add_option("--cluster", perf_flags->cluster, "cluster YAML (configs/clusters/); required unless --validate");
  perf->add_option("--tp", perf_flags->tp, "tensor parallel")->capture_default_str();
  perf->add_option("--pp", perf_flags->pp, "pipeline stages")->capture_default_str();
  perf->add_option("--dp", perf_flags->dp, "data parallel")->capture_default_str();
  perf->add_option("--cp", perf_flags->cp, "context parallel")->capture_default_str();
  perf->add_option("--ep", perf_flags->ep,
                   "expert parallel (mixture of experts): ranks taken from dp x cp, dividing it and the experts")
      ->capture_default_str();
  perf->add_option("--vpp", perf_flags->vpp, "interleaved virtual stages per pipeline rank")
      ->capture_default_str();
  perf->add_option("--micro-batch", perf_flags->micro_batch, "sequences per micro-batch")
      ->capture_default_str();
  perf->add_option("--global-batch", perf_flags->global_batch,
                   "sequences per step (default dp x micro-batch)");
  perf->add_option("--zero", perf_flags->zero, "ZeRO stage 0..3")->capture_default_str();
  perf->add_option("--recompute", perf_flags->recompute, "none | selective | full")->capture_default_str();
  perf->add_option("--gpus", perf_flags->gpus, "override the cluster's size");
  perf->add_flag("--no-flash-attention", perf_flags->no_flash,
                 "store the s^2 attention scores (pre-2022 kernels)");
  perf->add_option("--first-stage-layers", perf_flags->first_stage_layers,
                   "transformer layers on the first pipeline rank (default: an even split, lighter ends)");
  perf->add_option("--last-stage-layers", perf_flags->last_stage_layers,
                   "transformer layers on the last pipeline rank (default: an even split, lighter ends)");
  perf->add_option("--grad-bytes", perf_flags->grad_bytes, "main-gradient bytes per parameter: 4 (fp32) or 2 (bf16)")
      ->capture_default_str()
      ->check(CLI::IsMember({2.0, 4.0}));
  perf->add_option("--master-bytes", perf_flags->master_bytes,
                   "master-weight bytes per parameter: 4 (fp32), 2 (bf16) or 0 (the bf16 weights are the master copy)")
      ->capture_default_str()
      ->check(CLI::IsMember({0.0, 2.0, 4.0}));
  perf->add_flag("--no-tp-overlap", perf_flags->no_tp_overlap, "TP communication not overlapped with GEMMs");
  perf->add_flag("--no-dp-overlap", perf_flags->no_dp_overlap, "DP/ZeRO communication not overlapped");
  perf->add_option("--clusters-dir", perf_flags->clusters_dir,
                   "with --validate: where each row's cluster file lives")
      ->capture_default_str();
  perf->add_option("--validate", perf_flags->validate,
                   "evaluate every published run in this CSV and print predicted vs published");
  perf->add_flag("--json", perf_flags->json, "print JSON");
  perf->callback([perf_flags, &ctx] { ctx.exit_code = RunPerf(*perf_flags); });
}

}  // namespace isoflop::cli
