// Megatron-LM's argument rules, ported (issue 12 item 2; docs/engines.md "Megatron's rules").
// Every rule names its source at NVIDIA/Megatron-LM @ d98e8a64ddf34856e74b24714e3bedb2f5a39553:
//   A = megatron/training/arguments.py (validate_args), line numbers of that file;
//   T = megatron/core/transformer/transformer_config.py (TransformerConfig.__post_init__);
//   M = megatron/core/model_parallel_config.py (ModelParallelConfig.__post_init__);
//   C = megatron/core/num_microbatches_calculator.py (ConstantNumMicroBatchesCalculator,
//       StepBatchsizeNumMicroBatchesCalculator); training.py = megatron/training/training.py;
//   argument_utils.py = megatron/training/argument_utils.py; attention.py =
//   megatron/core/transformer/attention.py.
// Only the rules the emitted flags can reach are ported; each message says which rule failed.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "isoflop/engines.h"

namespace isoflop::planner {

namespace {

struct Parsed {
  std::map<std::string, std::string> values;  // flag -> value ("" for store_true)
  std::string error;
  bool Has(const char* f) const { return values.count(f) > 0; }
  // An integer flag; `fallback` when absent (Megatron's default); error on a malformed value.
  std::optional<long long> Int(const char* f, std::optional<long long> fallback) {
    auto it = values.find(f);
    if (it == values.end()) return fallback;
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0') {
      if (error.empty()) error = std::string(f) + " '" + it->second + "' is not an integer";
      return std::nullopt;
    }
    return v;
  }
  std::optional<double> Real(const char* f) {
    auto it = values.find(f);
    if (it == values.end()) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end != '\0') {
      if (error.empty()) error = std::string(f) + " '" + it->second + "' is not a number";
      return std::nullopt;
    }
    return v;
  }
};

Status Fail(const std::string& rule, const std::string& what) {
  return Status::InvalidArgument("Megatron-LM would refuse these arguments (" + rule + "): " + what);
}

std::string S(long long x) {
  return std::to_string(x);
}

}  // namespace

Status ValidateMegatronArgs(const MegatronArgs& args) {
  Parsed p;
  for (const auto& [flag, value] : args.flags) {
    if (flag.rfind("--", 0) != 0) return Fail("argparse", "'" + flag + "' is not a flag");
    if (p.values.count(flag)) return Fail("argparse", flag + " given twice");
    p.values[flag] = value;
  }
  // Required (A 1314-1318: num_layers, hidden_size, num_attention_heads, max_position_embeddings).
  for (const char* f : {"--num-layers", "--hidden-size", "--num-attention-heads", "--max-position-embeddings",
                        "--seq-length", "--micro-batch-size"})
    if (!p.Has(f)) return Fail("A 1314", std::string(f) + " is required");
  const long long layers = *p.Int("--num-layers", 0), hidden = *p.Int("--hidden-size", 0),
                  heads = *p.Int("--num-attention-heads", 0);
  const long long tp = p.Int("--tensor-model-parallel-size", 1).value_or(0),
                  pp = p.Int("--pipeline-model-parallel-size", 1).value_or(0),
                  cp = p.Int("--context-parallel-size", 1).value_or(0);
  const long long seq = p.Int("--seq-length", 0).value_or(0),
                  max_pos = p.Int("--max-position-embeddings", 0).value_or(0);
  const long long micro = p.Int("--micro-batch-size", 0).value_or(0);
  const std::optional<long long> global = p.Int("--global-batch-size", std::nullopt);
  const std::optional<long long> groups = p.Int("--num-query-groups", std::nullopt);
  const std::optional<long long> lpvs = p.Int("--num-layers-per-virtual-pipeline-stage", std::nullopt);
  const std::optional<long long> nvspr = p.Int("--num-virtual-stages-per-pipeline-rank", std::nullopt);
  const std::optional<long long> first = p.Int("--decoder-first-pipeline-num-layers", std::nullopt);
  const std::optional<long long> last = p.Int("--decoder-last-pipeline-num-layers", std::nullopt);
  const std::optional<long long> save_interval = p.Int("--save-interval", std::nullopt);
  const std::optional<long long> recompute_layers = p.Int("--recompute-num-layers", std::nullopt);
  const std::optional<long long> vocab = p.Int("--vocab-size", std::nullopt);
  const std::optional<double> lr = p.Real("--lr"), min_lr = p.Real("--min-lr");
  if (!p.error.empty()) return Fail("argparse", p.error);
  if (layers < 1 || hidden < 1 || heads < 1 || tp < 1 || pp < 1 || cp < 1)
    return Fail("argparse", "sizes must be >= 1");

  // World size and data parallelism (A 427-432, 446-452).
  const long long model_size = tp * pp * cp;
  if (args.world_size < 1 || args.world_size % model_size != 0)
    return Fail("A 427", "world size (" + S(args.world_size) + ") is not divisible by total_model_size (" +
                             S(model_size) + ")");
  const long long dp = args.world_size / model_size;

  // Batch (A 693-705; C 380-390: no --decrease-batch-size-if-needed).
  if (micro <= 0) return Fail("A 694", "micro_batch_size must be > 0");
  const long long gb = global.value_or(micro * dp);
  if (gb <= 0) return Fail("A 705", "global_batch_size must be > 0");
  if (gb % (micro * dp) != 0)
    return Fail("C 380", "global batch size (" + S(gb) + ") is not divisible by micro batch size (" +
                             S(micro) + ") times data parallel size (" + S(dp) + ")");
  // Step batch-size schedule (A 698; C 502-556 parse and validate, C 580-586 each batch when reached).
  if (const auto it = p.values.find("--step-batch-size-schedule"); it != p.values.end()) {
    if (global)
      return Fail("A 698", "Cannot specify both --step-batch-size-schedule and --global-batch-size");
    std::string text = it->second;
    for (char& ch : text)
      if (ch == ',') ch = ' ';
    std::vector<std::pair<long long, long long>> schedule;  // (threshold in samples, batch)
    size_t pos = 0;
    while ((pos = text.find_first_not_of(' ', pos)) != std::string::npos) {
      const size_t end = std::min(text.find(' ', pos), text.size());
      const std::string entry = text.substr(pos, end - pos);
      pos = end;
      const size_t colon = entry.find(':');
      char* e1 = nullptr;
      char* e2 = nullptr;
      const std::string t = colon == std::string::npos ? "" : entry.substr(0, colon);
      const std::string b = colon == std::string::npos ? "" : entry.substr(colon + 1);
      const long long tokens = std::strtoll(t.c_str(), &e1, 10), batch = std::strtoll(b.c_str(), &e2, 10);
      if (t.empty() || b.empty() || *e1 != '\0' || *e2 != '\0')
        return Fail("C 518",
                    "Invalid schedule entry \"" + entry + "\". Expected format: \"THRESHOLD:BATCH_SIZE\"");
      schedule.emplace_back(seq > 0 ? tokens / seq : tokens, batch);  // thresholds in tokens (C 527)
    }
    std::stable_sort(schedule.begin(), schedule.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    if (schedule.empty()) return Fail("C 538", "schedule must have at least one entry");
    if (schedule[0].first != 0)
      return Fail("C 541", "first schedule entry must have threshold 0, got " + S(schedule[0].first));
    for (size_t i = 1; i < schedule.size(); ++i)
      if (schedule[i].first <= schedule[i - 1].first)
        return Fail("C 546", "schedule thresholds must be strictly increasing, got " +
                                 S(schedule[i - 1].first) + " before " + S(schedule[i].first));
    for (const auto& [at, batch] : schedule) {
      if (batch <= 0) return Fail("C 556", "batch size must be positive, got " + S(batch));
      if (batch % (micro * dp) != 0)
        return Fail("C 584", "current global batch size (" + S(batch) +
                                 ") is not divisible by micro_batch_size (" + S(micro) +
                                 ") * data_parallel_size (" + S(dp) + ")");
    }
  }

  // Virtual pipeline and the layer split (A 927-1009; T 2286-2368).
  if (lpvs && nvspr)
    return Fail("A 927",
                "--num-layers-per-virtual-pipeline-stage and --num-virtual-stages-per-pipeline-rank "
                "are both set");
  long long vpp = 1;
  if (lpvs || nvspr) {
    if (!nvspr) {
      if (first || last)
        return Fail("A 955", "uneven pipeline stages need --num-virtual-stages-per-pipeline-rank");
      if (*lpvs < 1) return Fail("A 972", "--num-layers-per-virtual-pipeline-stage must be >= 1");
      if (layers % pp != 0)
        return Fail("A 968", "number of layers (" + S(layers) +
                                 ") must be divisible by the pipeline model parallel "
                                 "size (" +
                                 S(pp) + ")");
      if ((layers / pp) % *lpvs != 0)
        return Fail("A 972", "number of layers per pipeline stage (" + S(layers / pp) +
                                 ") must be divisible by number of layers per virtual pipeline stage (" +
                                 S(*lpvs) + ")");
      vpp = (layers / pp) / *lpvs;
    } else {
      vpp = *nvspr;
    }
  } else if (!first && !last) {
    if (layers % pp != 0)
      return Fail("A 997", "number of layers (" + S(layers) +
                               ") should be divisible by the pipeline-model-parallel "
                               "size (" +
                               S(pp) + ")");
  }
  if (vpp > 1 && !p.Has("--overlap-p2p-communication") && pp <= 2)
    return Fail("A 1006",
                "the interleaved schedule without p2p overlap needs pipeline-model-parallel size > 2 (" +
                    S(pp) + ")");
  if (vpp > 1 && pp <= 1)
    return Fail("A 1002", "the interleaved schedule needs pipeline-model-parallel size > 1");
  if (first || last) {  // T 2290-2368, uneven PP
    long long rest = layers, ranks = pp;
    for (const auto& stage : {first, last}) {
      if (!stage) continue;
      if (*stage <= 0) return Fail("T 2293", "first/last pipeline stage layers must be larger than 0");
      if (vpp > 1 && *stage % vpp != 0)
        return Fail("T 2297", "number of layers at first/last stage (" + S(*stage) +
                                  ") must be divisible by virtual pipeline parallel degree " + S(vpp));
      rest -= *stage;
      --ranks;
    }
    if ((rest != 0) != (ranks != 0) || rest < 0 || ranks < 0)
      return Fail("T 2340",
                  S(rest) + " middle layers remaining but " + S(ranks) + " middle PP stages available");
    if (ranks > 0 && rest % ranks != 0)
      return Fail("T 2347", "number of layers at middle stage (" + S(rest) +
                                ") must be divisible by the middle pipeline model parallel size (" +
                                S(ranks) + ")");
    if (ranks > 0 && vpp > 1 && (rest / ranks) % vpp != 0)
      return Fail("T 2357", "number of layers on each middle pipeline rank (" + S(rest / ranks) +
                                ") must be divisible by virtual pipeline parallel degree " + S(vpp));
  }

  // Distributed optimizer and overlap (A 1024-1029).
  if (p.Has("--overlap-param-gather")) {
    if (!p.Has("--use-distributed-optimizer") && !p.Has("--use-megatron-fsdp"))
      return Fail("A 1025",
                  "--overlap-param-gather only supported with distributed optimizer or megatron fsdp");
    if (!p.Has("--overlap-grad-reduce"))
      return Fail("A 1028", "must use --overlap-param-gather with --overlap-grad-reduce");
  }

  // Iteration- or sample-based training (A 1276-1299; training.py 2586).
  if (!p.Has("--train-iters") && !p.Has("--train-samples"))
    return Fail("training.py 2586", "either train-iters or train-samples should be provided.");
  if (p.Has("--train-samples")) {
    if (p.Has("--train-iters")) return Fail("A 1294", "expected sample-based training");
    if (p.Has("--lr-decay-iters")) return Fail("A 1296", "expected sample-based learning rate decay");
    if (p.Has("--lr-warmup-iters")) return Fail("A 1298", "expected sample-based learnig rate warmup");
  }
  if (p.Has("--train-iters")) {
    if (p.Has("--train-samples") || p.Has("--lr-decay-samples") || p.Has("--lr-warmup-samples"))
      return Fail("A 1279", "expected iteration-based training");
    if (p.Has("--lr-warmup-fraction") && p.Has("--lr-warmup-iters"))
      return Fail("A 1286", "can only specify one of lr-warmup-fraction and lr-warmup-iters");
  }

  // Shape (A 1332, 1336, 1354; T 1446, 1461).
  if (!p.Has("--kv-channels") && hidden % heads != 0)
    return Fail("A 1332", "hidden_size (" + S(hidden) + ") % num_attention_heads (" + S(heads) + ") != 0");
  if (cp > 1 && seq % (cp * 2) != 0)
    return Fail("A 1336", "seq-length (" + S(seq) + ") should be a multiple of 2 * context-parallel-size (" +
                              S(cp) + ")");
  if (max_pos < seq)
    return Fail("A 1354", "max_position_embeddings (" + S(max_pos) +
                              ") must be greater than or equal to seq_length (" + S(seq) + ")");
  if (heads % tp != 0)
    return Fail("T 1446", "num_attention_heads (" + S(heads) +
                              ") must be a multiple of tensor_model_parallel_size (" + S(tp) + ")");
  const long long g = groups.value_or(heads);
  if (groups && !p.Has("--group-query-attention"))
    return Fail("argument_utils.py 330", "--num-query-groups takes effect only with --group-query-attention");
  if (g < 1 || (g % tp != 0 && tp % g != 0))
    return Fail("T 1461", "num_query_groups (" + S(g) +
                              ") must be a multiple or divisor of tensor_model_parallel_size (" + S(tp) +
                              ")");
  if (heads % g != 0)
    return Fail("attention.py 357", "num_attention_heads (" + S(heads) +
                                        ") must be a multiple of num_query_groups (" + S(g) +
                                        ") (divide() in Attention.__init__)");

  // Learning rate and checkpoints (A 1359-1363).
  if (lr && min_lr && *min_lr > *lr) return Fail("A 1360", "min_lr must be <= lr");
  if (p.Has("--save") && (!save_interval || *save_interval <= 0))
    return Fail("A 1362", "--save needs --save-interval > 0");

  // Recomputation (A 1425; T 1901-1931).
  if (p.Has("--recompute-granularity")) {
    const std::string& gran = p.values["--recompute-granularity"];
    if (gran != "full" && gran != "selective")
      return Fail("T 1902", "recompute granularity must be full or selective");
    if (gran == "selective" && (p.Has("--recompute-method") || recompute_layers))
      return Fail("A 1425", "recompute method/num layers are not supported with selective recomputing");
    if (gran == "full") {
      if (!p.Has("--recompute-method")) return Fail("T 1913", "full recompute needs --recompute-method");
      const std::string& method = p.values["--recompute-method"];
      if (method != "uniform" && method != "block")
        return Fail("T 1909", "recompute_method must be \"block\" or \"uniform\"");
      if (!recompute_layers || *recompute_layers < 1 || *recompute_layers > layers / pp)
        return Fail("T 1919", "recompute_num_layers must be between 1 and num_layers_per_pipeline_rank (" +
                                  S(layers / pp) + ")");
    }
  }

  // Sequence parallelism (M 502-504; A 1432-1442).
  if (p.Has("--sequence-parallel") && tp <= 1)
    return Fail("M 503", "Cannot use sequence parallelism without tensor parallelism");
  if (p.Has("--tp-comm-overlap") && !p.Has("--sequence-parallel"))
    return Fail("A 1442",
                "tensor parallel communication/GEMM overlap can happen only when sequence parallelism is "
                "enabled");

  // The null tokenizer takes its vocabulary from --vocab-size
  // (megatron/core/tokenizers/utils/build_tokenizer.py 96-103).
  if (p.Has("--tokenizer-type") && p.values["--tokenizer-type"] == "NullTokenizer" && (!vocab || *vocab < 1))
    return Fail("build_tokenizer.py 101", "NullTokenizer needs --vocab-size");
  return Status::OK();
}

}  // namespace isoflop::planner
