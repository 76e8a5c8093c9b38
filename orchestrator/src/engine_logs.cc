// Readers of Megatron-LM, torchtitan and nanoGPT training logs. Each reads the lines the engine's
// own source prints (file and commit below and in docs/orchestrator.md, "Runs from other engines");
// nothing else in a log matters, so a log may hold any other output in between.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "isoflop/planner.h"
#include "isoflop/run_import.h"

namespace isoflop::orchestrator {
namespace {

std::string StripAnsi(const std::string& line) {
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      i += 2;
      while (i < line.size() && !std::isalpha(static_cast<unsigned char>(line[i]))) ++i;
      continue;
    }
    if (line[i] != '\r') out += line[i];
  }
  return out;
}

std::string Trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// A number as the engines print it: "1.043863E+01", "121,163", "3.18".
bool ParseNumber(std::string text, double* out) {
  text = Trim(text);
  text.erase(std::remove(text.begin(), text.end(), ','), text.end());
  if (text.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return false;
  *out = v;
  return true;
}

struct Lines {
  std::vector<std::string> lines;  // ANSI colour codes removed
};

StatusOr<Lines> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot open");
  Lines l;
  std::string line;
  while (std::getline(in, line)) l.lines.push_back(StripAnsi(line));
  return l;
}

std::string Where(const std::string& path, size_t index) {
  return path + ":" + std::to_string(index + 1);
}

// Fills the run's summary from its points: the last evaluation (else the last training loss) and
// the tokens trained when it was taken; throughput and MFU from the last point that has them.
Status Finish(ParsedRun* run) {
  const EngineLogPoint* eval = nullptr;
  const EngineLogPoint* train = nullptr;
  for (const auto& p : run->points) {
    // An evaluation before the first update (nanoGPT's "step 0", Megatron's eval at iteration 0)
    // has no trained tokens: it says nothing about the law.
    if (p.eval_loss && p.tokens > 0) eval = &p;
    if (p.train_loss && p.tokens > 0) train = &p;
    if (p.tokens_per_s) run->tokens_per_s = p.tokens_per_s;
    if (p.mfu) run->mfu = p.mfu;
    run->steps = std::max(run->steps, p.step);
  }
  if (eval == nullptr && train == nullptr)
    return Status::InvalidArgument(run->source + ": no training or evaluation loss found (is this a " +
                                   run->format + "?)");
  const EngineLogPoint& at = eval ? *eval : *train;
  run->loss = eval ? *eval->eval_loss : *train->train_loss;
  run->loss_kind = eval ? "eval" : "train";
  run->tokens = at.tokens;
  if (!eval) run->notes.push_back("no evaluation in the log: the loss is the last training loss");
  if (!(run->params > 0)) return Status::InvalidArgument(run->source + ": no parameter count");
  if (!(run->tokens > 0) || !std::isfinite(run->loss) || run->loss <= 0) {
    return Status::InvalidArgument(run->source + ": the loss at step " + std::to_string(at.step) +
                                   " has no positive token count or loss");
  }
  run->flops = 6.0 * run->params * run->tokens;
  return Status::OK();
}

// ---- Megatron-LM ----
// megatron/training/training.py (NVIDIA/Megatron-LM @ d98e8a64) training_log:
//   " [date] iteration {:8d}/{:8d} | consumed samples: {:12d} | elapsed time per iteration (ms): {:.1f} |
//    [throughput per GPU (TFLOP/s/GPU): {:.1f} |] learning rate: ... | global batch size: {:5d} |
//    lm loss: {:.6E} | ..."   (older releases: the same fields, without the date)
// evaluate_and_print_results: " validation loss at iteration N | lm loss value: {:.6E} | lm loss PPL: ..."
// arguments.py _print_args: "  seq_length ........ 2048" between "---- arguments ----" lines;
// " > padded vocab (size: V) with K dummy tokens (new size: P)"; " > number of parameters on
// (tensor, pipeline) model parallel rank (t, p): N".
StatusOr<ParsedRun> ParseMegatron(const std::string& path, const Lines& in, const LogOverrides& o) {
  ParsedRun run;
  run.source = path;
  run.format = "megatron-log";
  std::map<std::string, std::string> args;
  double padded_vocab = 0, total_billions = 0;
  std::map<std::string, double> rank_params;
  struct Iter {
    int64_t step;
    double samples = -1, tokens = -1, latency_s = -1, tflops = -1, gbs = -1;
    std::optional<double> loss;
  };
  std::vector<Iter> iters;
  std::vector<std::pair<int64_t, double>> evals;  // (iteration, loss)
  static const std::regex kArg(R"(^\s*([A-Za-z_][A-Za-z0-9_]*) \.{2,} (.*)$)");
  static const std::regex kIter(R"(iteration\s+(\d+)\s*/\s*(\d+)\s*\|(.*)$)");
  static const std::regex kRank(
      R"(number of parameters on \([^)]*\) model parallel rank \(([0-9, ]+)\):\s*(\d+))");
  static const std::regex kEval(R"(validation loss at (iteration (\d+)|the end of training[^|]*)\s*\|(.*)$)");
  bool in_args = false;
  for (size_t i = 0; i < in.lines.size(); ++i) {
    const std::string& line = in.lines[i];
    std::smatch m;
    if (line.find("---- arguments ----") != std::string::npos) {
      in_args = true;
      continue;
    }
    if (line.find("end of arguments") != std::string::npos) {
      in_args = false;
      continue;
    }
    if (in_args) {
      if (std::regex_match(line, m, kArg) && !args.count(m[1])) args[m[1]] = Trim(m[2]);
      continue;
    }
    if (auto at = line.find("(new size: ");
        at != std::string::npos && line.find("padded vocab") != std::string::npos) {
      ParseNumber(line.substr(at + 11, line.find(')', at) - at - 11), &padded_vocab);
    } else if (line.find("Total number of parameters in billions:") != std::string::npos) {
      ParseNumber(line.substr(line.find(':') + 1), &total_billions);
    } else if (line.find("number of parameters on") != std::string::npos &&
               std::regex_search(line, m, kRank)) {
      rank_params[m[1]] = std::stod(m[2]);
    } else if (line.find("validation") != std::string::npos && std::regex_search(line, m, kEval)) {
      const std::string fields = m[3];
      static const std::regex kValue(R"(([^|:]*?)\s*value:\s*([-+0-9.eEnaif]+))");
      std::smatch v;
      std::string rest = fields;
      std::optional<double> loss;
      while (std::regex_search(rest, v, kValue)) {
        double value = 0;
        if (ParseNumber(v[2], &value) && (!loss || Trim(v[1]) == "lm loss")) loss = value;
        rest = v.suffix();
      }
      if (!loss) return Status::InvalidArgument(Where(path, i) + ": a validation line without a 'value:'");
      const int64_t step = m[2].matched ? std::stoll(m[2]) : (iters.empty() ? 0 : iters.back().step);
      evals.emplace_back(step, *loss);
    } else if (line.find("iteration") != std::string::npos && line.find('|') != std::string::npos &&
               std::regex_search(line, m, kIter)) {
      Iter it;
      it.step = std::stoll(m[1]);
      std::stringstream fields(m[3].str());
      std::string field;
      while (std::getline(fields, field, '|')) {
        const auto colon = field.rfind(':');
        if (colon == std::string::npos) continue;
        const std::string key = Trim(field.substr(0, colon));
        double value = 0;
        if (!ParseNumber(field.substr(colon + 1), &value)) continue;
        if (key == "consumed samples")
          it.samples = value;
        else if (key == "consumed tokens")
          it.tokens = value;  // Megatron-DeepSpeed
        else if (key == "elapsed time per iteration (ms)")
          it.latency_s = value / 1000.0;
        else if (key == "throughput per GPU (TFLOP/s/GPU)")
          it.tflops = value;
        else if (key == "global batch size")
          it.gbs = value;
        else if (key == "lm loss")
          it.loss = value;
      }
      iters.push_back(it);
    }
  }
  if (iters.empty()) return Status::InvalidArgument(path + ": no Megatron 'iteration N/M | ...' lines");

  auto arg = [&](const char* key) -> std::optional<double> {
    auto it = args.find(key);
    double v = 0;
    if (it == args.end() || !ParseNumber(it->second, &v)) return std::nullopt;
    return v;
  };
  auto flag = [&](const char* key) { return args.count(key) && args[key] == "True"; };
  double seq_len = o.seq_len;
  if (seq_len <= 0) seq_len = arg("seq_length").value_or(arg("encoder_seq_length").value_or(0));
  if (seq_len <= 0) {
    return Status::InvalidArgument(path + ": no 'seq_length' in the log's arguments block: pass --seq-len");
  }

  // Parameters: the flag; else the model the arguments describe, counted by the planner's formula
  // (Narayanan et al. 2021 eq. 2 for the GPT block; LLaMA-style with SwiGLU + RoPE + untied output);
  // else Megatron's "Total number of parameters in billions"; else the per-rank counts when TP = PP = 1.
  double rank_sum = 0;
  for (const auto& [_, n] : rank_params) rank_sum += n;
  const double tp = arg("tensor_model_parallel_size").value_or(1),
               pp = arg("pipeline_model_parallel_size").value_or(1);
  if (o.params > 0) {
    run.params = o.params;
    run.params_source = "--params";
  } else if (arg("num_layers") && arg("hidden_size") && arg("num_attention_heads") &&
             (padded_vocab > 0 || arg("padded_vocab_size"))) {
    planner::ModelShape shape;
    shape.layers = static_cast<int>(*arg("num_layers"));
    shape.d_model = static_cast<int>(*arg("hidden_size"));
    shape.heads = static_cast<int>(*arg("num_attention_heads"));
    shape.kv_heads = flag("group_query_attention")
                         ? static_cast<int>(arg("num_query_groups").value_or(shape.heads))
                         : shape.heads;
    shape.ffn = static_cast<int>(arg("ffn_hidden_size").value_or(4.0 * shape.d_model));
    shape.vocab = static_cast<int>(padded_vocab > 0 ? padded_vocab : *arg("padded_vocab_size"));
    shape.seq_len = static_cast<int>(arg("max_position_embeddings").value_or(seq_len));
    const bool swiglu = flag("swiglu");
    shape.mlp = swiglu ? planner::Mlp::kSwiglu : planner::Mlp::kGelu;
    const std::string pos =
        args.count("position_embedding_type") ? args["position_embedding_type"] : "learned_absolute";
    const bool untied = flag("untie_embeddings_and_output_weights");
    const bool standard = swiglu ? (untied && pos == "rope") : (!untied && pos == "learned_absolute");
    run.params = shape.ParamsTotal();
    run.params_source =
        "arguments num_layers=" + std::to_string(shape.layers) +
        " hidden_size=" + std::to_string(shape.d_model) + " ffn_hidden_size=" + std::to_string(shape.ffn) +
        " vocab (padded)=" + std::to_string(shape.vocab) + ", counted as docs/planner.md \"Parameter count\"";
    if (!standard) {
      run.notes.push_back(
          "the arguments describe a block the planner's count does not model exactly (swiglu=" +
          std::string(swiglu ? "True" : "False") + ", position_embedding_type=" + pos +
          ", untied=" + (untied ? "True" : "False") + "): pass --params to be exact");
    }
    if (rank_sum > 0 && tp * pp > 0 && rank_params.size() == static_cast<size_t>(tp * pp) &&
        std::abs(rank_sum / run.params - 1) > 0.05) {
      run.notes.push_back("the per-rank parameter counts sum to " + std::to_string(rank_sum) +
                          " (replicated norms and the last stage's embedding copy counted again)");
    }
  } else if (total_billions > 0) {
    run.params = total_billions * 1e9;
    run.params_source = "'Total number of parameters in billions' (2 decimals)";
  } else if (tp == 1 && pp == 1 && rank_params.size() == 1) {
    run.params = rank_sum;
    run.params_source = "'number of parameters on ... rank (0, 0)'";
  } else {
    return Status::InvalidArgument(
        path + ": cannot count the parameters (no model arguments, no total): pass --params");
  }

  const double gbs_arg = arg("global_batch_size").value_or(0);
  auto tokens_at = [&](int64_t step) -> double {
    for (const Iter& it : iters) {
      if (it.step != step) continue;
      if (it.tokens >= 0) return it.tokens;
      if (it.samples >= 0) return it.samples * seq_len;
    }
    const double gbs = iters.back().gbs > 0 ? iters.back().gbs : gbs_arg;
    return o.tokens_per_step > 0 ? static_cast<double>(o.tokens_per_step) * step : gbs * seq_len * step;
  };
  for (const Iter& it : iters) {
    EngineLogPoint p;
    p.step = it.step;
    p.tokens = tokens_at(it.step);
    p.train_loss = it.loss;
    if (it.latency_s > 0) {
      p.step_latency_s = it.latency_s;
      const double gbs = it.gbs > 0 ? it.gbs : gbs_arg;
      if (gbs > 0) p.tokens_per_s = gbs * seq_len / it.latency_s;
    }
    if (it.tflops > 0 && o.peak_tflops > 0) p.mfu = it.tflops / o.peak_tflops;
    run.points.push_back(p);
  }
  for (const auto& [step, loss] : evals) {
    EngineLogPoint p;
    p.step = step;
    p.tokens = tokens_at(step);
    p.eval_loss = loss;
    run.points.push_back(p);
  }
  std::stable_sort(run.points.begin(), run.points.end(),
                   [](const EngineLogPoint& a, const EngineLogPoint& b) { return a.step < b.step; });
  bool have_tflops = false;
  for (const Iter& it : iters) have_tflops |= it.tflops > 0;
  if (have_tflops && o.peak_tflops <= 0)
    run.notes.push_back("MFU not computed: pass --peak-tflops (per GPU)");
  ISOFLOP_RETURN_IF_ERROR(Finish(&run));
  return run;
}

// ---- torchtitan ----
// torchtitan/components/metrics.py (pytorch/torchtitan @ b5bcd76c) MetricsProcessor.log:
//   "step: {step:2}  loss: {loss:8.5f}  grad_norm: ...  memory: ...GiB(...%)  tps: {round(tps):,}
//    tflops: {tflops:,.2f}  mfu: {mfu:.2f}%"   (tps: tokens per second per device)
// log_validation: "validate step: {step:2}  loss: {loss:7.4f}  memory: ...  tps: ..."
// trainer.py: "Model {name} {flavor} size: {n:,} total parameters"; "... global batch size G, ...
// sequence length S, ..."; parallel_dims.py: "Building device mesh with parallelism: pp=.., dp_replicate=..,
// dp_shard=.., cp=.., tp=.., ep=.." (older: "Building N-D device mesh with [names], [sizes]").
StatusOr<ParsedRun> ParseTorchtitan(const std::string& path, const Lines& in, const LogOverrides& o) {
  ParsedRun run;
  run.source = path;
  run.format = "torchtitan-log";
  double global_batch = 0, seq_len = 0, world = 0;
  static const std::regex kSize(R"(size:\s*([0-9,]+) total parameters)");
  static const std::regex kBatch(R"(global batch size (\d+))");
  static const std::regex kSeq(R"(sequence length (\d+))");
  static const std::regex kMesh(R"(Building device mesh with parallelism:\s*(.*)$)");
  static const std::regex kMeshOld(R"(Building \d+-D device mesh with \[[^\]]*\], \[([0-9, ]+)\])");
  static const std::regex kStep(R"((validate )?step:\s*(\d+)\s+loss:\s*([-+0-9.eEnaif]+))");
  static const std::regex kTps(R"(tps:\s*([0-9,]+))");
  static const std::regex kMfu(R"(mfu:\s*([0-9.]+)%)");
  struct Raw {
    int64_t step;
    bool validate;
    double loss;
    std::optional<double> tps, mfu;
  };
  std::vector<Raw> raw;
  for (size_t i = 0; i < in.lines.size(); ++i) {
    const std::string& line = in.lines[i];
    std::smatch m;
    if (line.find("total parameters") != std::string::npos && std::regex_search(line, m, kSize)) {
      ParseNumber(m[1], &run.params);
      run.params_source = "'Model ... size: N total parameters'";
    } else if (line.find("Total parameter count:") != std::string::npos) {
      run.notes.push_back("mixture of experts: " + Trim(line.substr(line.find("Total parameter count:"))) +
                          "; N is the total count (all experts)");
    }
    if (line.find("global batch size") != std::string::npos && std::regex_search(line, m, kBatch)) {
      global_batch = std::stod(m[1]);
      if (std::regex_search(line, m, kSeq)) seq_len = std::stod(m[1]);
    }
    if (line.find("device mesh") != std::string::npos) {
      if (std::regex_search(line, m, kMesh)) {
        world = 1;
        std::stringstream parts(m[1].str());
        std::string part;
        while (std::getline(parts, part, ',')) {
          const auto eq = part.find('=');
          if (eq == std::string::npos) continue;
          const std::string name = Trim(part.substr(0, eq));
          double v = 0;
          // ep (and etp) reuse the dp_shard/cp/tp ranks; they are not extra devices.
          if (name != "ep" && name != "etp" && ParseNumber(part.substr(eq + 1), &v)) world *= v;
        }
      } else if (std::regex_search(line, m, kMeshOld)) {
        world = 1;
        std::stringstream parts(m[1].str());
        std::string part;
        double v = 0;
        while (std::getline(parts, part, ',')) {
          if (ParseNumber(part, &v)) world *= v;
        }
      }
    }
    if (line.find("step:") != std::string::npos && line.find("loss:") != std::string::npos &&
        std::regex_search(line, m, kStep)) {
      Raw r{std::stoll(m[2]), m[1].matched, 0, std::nullopt, std::nullopt};
      if (!ParseNumber(m[3], &r.loss)) return Status::InvalidArgument(Where(path, i) + ": unreadable loss");
      double v = 0;
      if (std::regex_search(line, m, kTps) && ParseNumber(m[1], &v)) r.tps = v;
      if (std::regex_search(line, m, kMfu) && ParseNumber(m[1], &v)) r.mfu = v / 100.0;
      raw.push_back(r);
    }
  }
  if (raw.empty()) return Status::InvalidArgument(path + ": no torchtitan 'step: N  loss: X' lines");
  if (o.params > 0) {
    run.params = o.params;
    run.params_source = "--params";
  }
  if (!(run.params > 0))
    return Status::InvalidArgument(path + ": no 'size: N total parameters' line: pass --params");
  if (o.seq_len > 0) seq_len = static_cast<double>(o.seq_len);
  double tokens_per_step =
      o.tokens_per_step > 0 ? static_cast<double>(o.tokens_per_step) : global_batch * seq_len;
  if (!(tokens_per_step > 0)) {
    return Status::InvalidArgument(path +
                                   ": no 'global batch size G ... sequence length S' line: pass "
                                   "--tokens-per-step (or --seq-len with the batch in the log)");
  }
  if (o.gpus > 0) world = o.gpus;
  if (!(world > 0))
    run.notes.push_back("devices unknown (no device-mesh line): tokens/s not computed; pass --gpus");
  for (const Raw& r : raw) {
    EngineLogPoint p;
    p.step = r.step;
    p.tokens = tokens_per_step * static_cast<double>(r.step);
    if (r.validate) {
      p.eval_loss = r.loss;
    } else {
      p.train_loss = r.loss;
      if (r.tps && world > 0) p.tokens_per_s = *r.tps * world;
      p.mfu = r.mfu;
    }
    run.points.push_back(p);
  }
  ISOFLOP_RETURN_IF_ERROR(Finish(&run));
  return run;
}

// ---- nanoGPT ----
// train.py (karpathy/nanoGPT @ 3adf61e1): "tokens per iteration will be: {tokens_per_iter:,}";
// "step {iter_num}: train loss {:.4f}, val loss {:.4f}" (before update iter_num + 1);
// "iter {iter_num}: loss {:.4f}, time {dt*1000:.2f}ms, mfu {running_mfu*100:.2f}%" (after it);
// model.py: "number of parameters: %.2fM" (get_num_params: position embeddings excluded).
StatusOr<ParsedRun> ParseNanogpt(const std::string& path, const Lines& in, const LogOverrides& o) {
  ParsedRun run;
  run.source = path;
  run.format = "nanogpt-log";
  double tokens_per_iter = 0;
  static const std::regex kParams(R"(number of parameters:\s*([0-9.]+)M)");
  static const std::regex kTpi(R"(tokens per iteration will be:\s*([0-9,]+))");
  static const std::regex kEval(
      R"(^\s*step (\d+): train loss ([-+0-9.eEnaif]+), val loss ([-+0-9.eEnaif]+))");
  static const std::regex kIter(
      R"(^\s*iter (\d+): loss ([-+0-9.eEnaif]+), time ([0-9.]+)ms, mfu ([-0-9.]+)%)");
  for (size_t i = 0; i < in.lines.size(); ++i) {
    const std::string& line = in.lines[i];
    std::smatch m;
    if (std::regex_search(line, m, kParams)) {
      run.params = std::stod(m[1]) * 1e6;
      run.params_source =
          "'number of parameters: " + m[1].str() + "M' (2 decimals; position embeddings excluded)";
    } else if (std::regex_search(line, m, kTpi)) {
      ParseNumber(m[1], &tokens_per_iter);
    } else if (std::regex_search(line, m, kEval)) {
      EngineLogPoint p;
      p.step = std::stoll(m[1]);
      double v = 0;
      if (!ParseNumber(m[3], &v)) return Status::InvalidArgument(Where(path, i) + ": unreadable val loss");
      p.eval_loss = v;
      p.tokens = static_cast<double>(p.step);  // scaled below, once the batch is known
      run.points.push_back(p);
    } else if (std::regex_search(line, m, kIter)) {
      EngineLogPoint p;
      p.step = std::stoll(m[1]) + 1;  // "iter N" is logged after the (N+1)-th update
      double loss = 0, ms = 0, mfu = 0;
      if (!ParseNumber(m[2], &loss) || !ParseNumber(m[3], &ms) || !ParseNumber(m[4], &mfu))
        return Status::InvalidArgument(Where(path, i) + ": unreadable 'iter' line");
      p.train_loss = loss;
      p.step_latency_s = ms / 1000.0;
      if (mfu >= 0) p.mfu = mfu / 100.0;  // -100% until nanoGPT has measured 5 iterations
      p.tokens = static_cast<double>(p.step);
      run.points.push_back(p);
    }
  }
  if (run.points.empty()) return Status::InvalidArgument(path + ": no nanoGPT 'step N:' or 'iter N:' lines");
  if (o.params > 0) {
    run.params = o.params;
    run.params_source = "--params";
  }
  if (!(run.params > 0))
    return Status::InvalidArgument(path + ": no 'number of parameters: ...M' line: pass --params");
  if (o.tokens_per_step > 0) tokens_per_iter = static_cast<double>(o.tokens_per_step);
  if (!(tokens_per_iter > 0)) {
    return Status::InvalidArgument(path +
                                   ": no 'tokens per iteration will be: N' line: pass --tokens-per-step");
  }
  for (auto& p : run.points) {
    p.tokens *= tokens_per_iter;
    if (p.step_latency_s && *p.step_latency_s > 0) p.tokens_per_s = tokens_per_iter / *p.step_latency_s;
  }
  run.notes.push_back("nanoGPT's MFU is against an A100's 312 TFLOP/s bf16 peak (model.py estimate_mfu)");
  ISOFLOP_RETURN_IF_ERROR(Finish(&run));
  return run;
}

}  // namespace

StatusOr<ParsedRun> ParseEngineLog(const std::string& format, const std::string& path,
                                   const LogOverrides& overrides) {
  auto lines = ReadLines(path);
  if (!lines.ok()) return lines.status();
  if (format == "megatron-log") return ParseMegatron(path, *lines, overrides);
  if (format == "torchtitan-log") return ParseTorchtitan(path, *lines, overrides);
  if (format == "nanogpt-log") return ParseNanogpt(path, *lines, overrides);
  return Status::InvalidArgument("unknown log format '" + format +
                                 "' (megatron-log, torchtitan-log, nanogpt-log)");
}

}  // namespace isoflop::orchestrator
