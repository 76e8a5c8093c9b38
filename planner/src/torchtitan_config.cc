// torchtitan's TOML for a plan (issue 12 item 2; docs/engines.md "torchtitan"). Keys are the
// dataclass fields of torchtitan/config/job_config.py at pytorch/torchtitan @ 238fa995 (the last
// TOML-era commit; 9810191b replaced TOML files by Python config registries). [model] names a
// flavor, not a shape, so isoflop_flavor.py registers the planned shape as llama3 flavor
// "isoflop_plan" ([experimental] custom_import, imported by train.py before the flavor lookup).
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "isoflop/engines.h"

namespace isoflop::planner {

namespace {

std::string Real(double x) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// torchtitan's FeedForward hidden size (torchtitan/models/llama3/model/model.py 332-336), in the
// same IEEE doubles Python uses.
long long TorchtitanFfn(int dim, int multiple_of, double multiplier) {
  long long hidden = 4LL * dim;
  hidden = static_cast<long long>(2.0 * static_cast<double>(hidden) / 3.0);
  hidden = static_cast<long long>(multiplier * static_cast<double>(hidden));
  return static_cast<long long>(multiple_of) * ((hidden + multiple_of - 1) / multiple_of);
}

// Layers per pipeline rank, as SplitPipelineLayers splits them (pipeline_split.cc).
std::vector<int> RankLayers(int layers, const ParallelConfig& c, const StageLayers& split) {
  const int p = c.pp;
  std::vector<int> per(p, 0);
  if (p == 1) return {layers};
  per[0] = split.first;
  per[p - 1] = split.last;
  if (c.first_stage_layers == 0 && c.last_stage_layers == 0) {
    const int q = layers / p, r = layers % p;
    per.assign(p, q + 1);
    int light = p - r;
    for (int i = 0; light > 0 && i < (p + 1) / 2; ++i) {
      per[i] = q;
      if (--light == 0) break;
      if (p - 1 - i != i) {
        per[p - 1 - i] = q;
        --light;
      }
    }
    return per;
  }
  const int middles = p - 2, rest = layers - split.first - split.last;
  for (int i = 1; i + 1 < p; ++i) per[i] = rest / middles + (i - 1 < rest % middles ? 1 : 0);
  return per;
}

}  // namespace

StatusOr<TorchtitanConfig> BuildTorchtitanConfig(const PlanSummary& plan, const LaunchOptions& o) {
  if (plan.layouts.ranked.empty()) return Status::InvalidArgument("the plan has no layout");
  if (!plan.batch.ramp_sequences.empty())
    return Status::InvalidArgument(
        "--launch torchtitan does not express a batch ramp; plan without --batch-ramp");
  const ModelShape& m = plan.shape;
  const ParallelConfig& c = plan.layouts.ranked.front().config;
  Status rules = CheckEngineLayout(Engine::kTorchtitan, m, c, plan.cluster.gpus_per_node);
  if (!rules.ok()) return rules;
  const LaunchSummary launch = PlanLaunch(plan, o);

  // The FFN width as torchtitan computes it: multiple_of dividing ffn, multiplier ffn / (8 d / 3).
  const int ffn = m.effective_ffn();
  int multiple_of = 0;
  double multiplier = 0;
  for (int candidate : {1024, 512, 256, 128, 64, 32, 16, 8, 4, 2, 1}) {
    if (ffn % candidate != 0) continue;
    const double base = static_cast<double>(static_cast<long long>(2.0 * 4.0 * m.d_model / 3.0));
    const double mult = ffn / base;
    if (TorchtitanFfn(m.d_model, candidate, mult) == ffn) {
      multiple_of = candidate;
      multiplier = mult;
      break;
    }
  }
  if (multiple_of == 0)
    return Status::InvalidArgument("ffn " + std::to_string(ffn) +
                                   " cannot be expressed as torchtitan's "
                                   "multiple_of/ffn_dim_multiplier for dim " +
                                   std::to_string(m.d_model));

  TorchtitanConfig out;
  {
    std::ostringstream py;
    py << "# Registers the shape planned by `isoflop plan --launch torchtitan` as llama3 flavor "
          "\"isoflop_plan\"\n"
       << "# (torchtitan @ 238fa995: torchtitan/models/llama3/__init__.py llama3_args, model/args.py\n"
       << "# TransformerModelArgs). torchtitan.toml imports it ([experimental] custom_import); the sbatch "
          "puts\n"
       << "# this directory on PYTHONPATH. FFN hidden = multiple_of * ceil(int(multiplier * int(8 dim / 3)) "
          "/\n"
       << "# multiple_of) = " << ffn << " (model.py FeedForward).\n"
       << "from torchtitan.models.llama3 import TransformerModelArgs, llama3_args\n\n"
       << "llama3_args[\"isoflop_plan\"] = TransformerModelArgs(\n"
       << "    dim=" << m.d_model << ",\n"
       << "    n_layers=" << m.layers << ",\n"
       << "    n_heads=" << m.heads << ",\n"
       << "    n_kv_heads=" << m.effective_kv_heads() << ",\n"
       << "    vocab_size=" << m.vocab << ",\n"
       << "    multiple_of=" << multiple_of << ",\n"
       << "    ffn_dim_multiplier=" << Real(multiplier) << ",\n"
       << "    rope_theta=" << Real(m.rope_theta) << ",\n"
       << ")\n";
    out.flavor_module = py.str();
  }

  const long long iters = launch.train_iters;
  const double lr = plan.batch.peak_lr > 0 ? plan.batch.peak_lr : 3e-4;
  const int zero = c.zero;
  // Batches: without PP, local_batch_size is the micro-batch and torchtitan accumulates
  // global / (local x dp) micro-batches (train.py 196-215); with PP the DP rank's whole share goes
  // through the schedule in micro-batches of pipeline_parallel_microbatch_size.
  const long long local_batch = c.pp > 1 ? c.global_batch / c.dp : c.micro_batch;
  std::ostringstream t;
  t << "# torchtitan job config written by `isoflop plan --launch torchtitan` (docs/engines.md). Keys: "
       "torchtitan/config/job_config.py\n"
    << "# at pytorch/torchtitan @ 238fa9953e4aec2a62582121564273d7cbb1e9f1. Layout: " << c.ToString() << "\n"
    << "# Run: python -m torchtitan.train --job.config_file torchtitan.toml (run.sbatch does, one task per "
       "GPU).\n\n"
    << "[job]\n"
    << "dump_folder = \"" << (o.checkpoint_dir.empty() ? o.dir + "/outputs" : o.checkpoint_dir) << "\"\n"
    << "description = \"isoflop plan: " << m.layers << " layers x d_model " << m.d_model << ", "
    << static_cast<long long>(plan.train_tokens) << " tokens\"\n\n"
    << "[metrics]\nlog_freq = 10\n\n"
    << "[model]\n"
    << "name = \"llama3\"\n"
    << "flavor = \"isoflop_plan\"\n";
  if (!o.tokenizer.empty()) t << "hf_assets_path = \"" << o.tokenizer << "\"\n";
  t << "\n[optimizer]\n"
    << "name = \"AdamW\"\n"
    << "lr = " << Real(lr) << "\n"
    << "eps = 1e-8\n"
    << "weight_decay = 0.1\n\n"
    << "[lr_scheduler]\n"
    << "warmup_steps = " << std::max(1LL, std::min(2000LL, iters / 100)) << "\n"
    << "decay_type = \"cosine\"\n"
    << "min_lr_factor = 0.1\n\n"
    << "[training]\n"
    << "local_batch_size = " << local_batch << "\n"
    << "global_batch_size = " << c.global_batch << "\n"
    << "seq_len = " << m.seq_len << "\n"
    << "max_norm = 1.0\n"
    << "steps = " << iters << "\n"
    << "dataset = \"c4\"  # torchtitan reads text through its registered Hugging Face datasets\n";
  if (!o.data_path.empty()) t << "dataset_path = \"" << o.data_path << "\"\n";
  t << "\n[parallelism]\n"
    << "data_parallel_replicate_degree = " << (zero == 0 ? c.dp : 1) << "\n"
    << "data_parallel_shard_degree = " << (zero == 0 ? 1 : c.dp) << "\n";
  if (zero >= 2)
    t << "fsdp_reshard_after_forward = \"" << (zero == 3 ? "always" : "never") << "\"  # ZeRO-" << zero
      << "\n";
  t << "tensor_parallel_degree = " << c.tp << "  # with sequence parallel on the norms (parallelize.py)\n"
    << "pipeline_parallel_degree = " << c.pp << "\n"
    << "context_parallel_degree = " << c.cp << "\n";
  if (c.pp > 1) {
    auto split = SplitPipelineLayers(m.layers, c);
    if (!split.ok()) return split.status();
    const std::vector<int> per = RankLayers(m.layers, c, *split);
    // Stages in schedule order: stage j = chunk x pp + rank (looped placement), each chunk a
    // rank's layers / vpp, layers in order.
    const int stages = c.pp * c.vpp;
    int next = 0;
    t << "pipeline_parallel_schedule = \"" << (c.vpp > 1 ? "Interleaved1F1B" : "1F1B") << "\"\n"
      << "pipeline_parallel_microbatch_size = " << c.micro_batch << "\n"
      << "module_fqns_per_model_part = [\n";
    for (int j = 0; j < stages; ++j) {
      const int rank = j % c.pp;
      t << "  [";
      bool any = false;
      auto item = [&](const std::string& name) {
        t << (any ? ", " : "") << "\"" << name << "\"";
        any = true;
      };
      if (j == 0) item("tok_embeddings");
      for (int k = 0; k < per[rank] / c.vpp; ++k) item("layers." + std::to_string(next++));
      if (j == stages - 1) {
        item("norm");
        item("output");
      }
      t << "]" << (j + 1 < stages ? "," : "") << "\n";
    }
    t << "]\n";
    if (next != m.layers)
      return Status::Internal("torchtitan stage split covers " + std::to_string(next) + " of " +
                              std::to_string(m.layers) + " layers");
  }
  t << "\n[checkpoint]\n"
    << "enable = true  # a requeued job loads the latest step_N from dump_folder/folder\n"
    << "folder = \"checkpoint\"\n"
    << "interval = " << launch.save_interval_steps << "  # Young/Daly from the predicted failure rate\n"
    << "last_save_model_only = false\n"
    << "async_mode = \"disabled\"\n\n"
    << "[activation_checkpoint]\n"
    << "mode = \"" << RecomputeName(c.recompute) << "\"\n\n"
    << "[experimental]\n"
    << "custom_import = \"isoflop_flavor\"\n";
  out.toml = t.str();
  return out;
}

}  // namespace isoflop::planner
