// Predicted against published: the performance model on the published runs' own layouts, each
// on its own cluster file (docs/planner.md §7; tests/data/parallel_configs.csv).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "isoflop/csv.h"
#include "isoflop/planner.h"

namespace isoflop::planner {

namespace {

double RelativeError(double predicted, double published) {
  return std::isnan(published) ? NAN : predicted / published - 1.0;
}

}  // namespace

double ValidationResult::worst_abs_error() const {
  double worst = 0;
  for (double e : {tflops_error, model_tflops_error, mfu_error, hfu_error, iteration_error, tokens_error})
    if (!std::isnan(e)) worst = std::max(worst, std::abs(e));
  return worst;
}

StatusOr<std::vector<PublishedRun>> LoadPublishedRuns(const std::string& path) {
  auto table = ReadCsvFile(path);  // the project's CSV reader (common/include/isoflop/csv.h)
  if (!table.ok()) return table.status();
  const std::vector<std::string>& header = table->header;
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) col[LowerAscii(header[i])] = i;
  for (const char* required :
       {"id", "source", "table", "row", "cluster", "split", "layers", "d_model", "heads", "kv_heads", "ffn", "mlp",
        "vocab", "seq_len", "tp", "pp", "vpp", "first_stage_layers", "last_stage_layers", "dp", "cp", "gpus",
        "micro_batch", "global_batch", "recompute", "zero", "flash_attention", "tp_comm_overlap",
        "dp_comm_overlap", "grad_bytes", "published_tflops_per_gpu", "published_model_tflops_per_gpu", "published_mfu",
        "published_hfu", "published_iteration_s", "published_tokens_per_s_per_gpu"}) {
    if (!col.count(required)) {
      return Status::InvalidArgument(path + ":" + std::to_string(table->header_line) + ": missing column '" +
                                     required + "'");
    }
  }
  std::vector<PublishedRun> runs;
  for (const CsvRecord& record : table->rows) {
    const std::vector<std::string>& f = record.fields;
    const std::string where = path + ":" + std::to_string(record.line);
    if (f.size() < header.size())
      return Status::InvalidArgument(where + ": expected " + std::to_string(header.size()) + " columns, found " +
                                     std::to_string(f.size()));
    auto number = [&](const char* name, bool optional, double* out) -> Status {
      const std::string& text = f[col[name]];
      if (text.empty()) {
        if (optional) {
          *out = NAN;
          return Status::OK();
        }
        return Status::InvalidArgument(where + ": column '" + name + "' is empty");
      }
      try {
        size_t used = 0;
        *out = std::stod(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
      } catch (const std::exception&) {
        return Status::InvalidArgument(where + ": column '" + name + "' is not a number ('" + text + "')");
      }
      return Status::OK();
    };
    auto integer = [&](const char* name, int* out) -> Status {
      double x = 0;
      ISOFLOP_RETURN_IF_ERROR(number(name, false, &x));
      if (!(x >= 0 && x <= 2147483647.0) || x != std::floor(x)) {
        return Status::InvalidArgument(where + ": column '" + name + "': '" + f[col[name]] +
                                       "' is not a non-negative integer");
      }
      *out = static_cast<int>(x);
      return Status::OK();
    };
    auto flag = [&](const char* name, bool* out) -> Status {
      int x = 0;
      ISOFLOP_RETURN_IF_ERROR(integer(name, &x));
      if (x != 0 && x != 1) return Status::InvalidArgument(where + ": column '" + name + "' must be 0 or 1");
      *out = x == 1;
      return Status::OK();
    };
    PublishedRun r;
    r.id = f[col["id"]];
    r.source = f[col["source"]];
    r.table = f[col["table"]];
    r.row = f[col["row"]];
    r.cluster = f[col["cluster"]];
    r.split = f[col["split"]];
    if (r.split != "calibration" && r.split != "held_out")
      return Status::InvalidArgument(where + ": column 'split' must be calibration or held_out (got '" + r.split +
                                     "')");
    if (r.cluster.empty()) return Status::InvalidArgument(where + ": column 'cluster' is empty");
    ISOFLOP_RETURN_IF_ERROR(integer("layers", &r.model.layers));
    ISOFLOP_RETURN_IF_ERROR(integer("d_model", &r.model.d_model));
    ISOFLOP_RETURN_IF_ERROR(integer("heads", &r.model.heads));
    ISOFLOP_RETURN_IF_ERROR(integer("kv_heads", &r.model.kv_heads));
    ISOFLOP_RETURN_IF_ERROR(integer("ffn", &r.model.ffn));
    ISOFLOP_RETURN_IF_ERROR(integer("vocab", &r.model.vocab));
    ISOFLOP_RETURN_IF_ERROR(integer("seq_len", &r.model.seq_len));
    const std::string mlp = f[col["mlp"]];
    if (mlp == "gelu") {
      r.model.mlp = Mlp::kGelu;
    } else if (mlp == "swiglu") {
      r.model.mlp = Mlp::kSwiglu;
    } else {
      return Status::InvalidArgument(where + ": column 'mlp' must be gelu or swiglu (got '" + mlp + "')");
    }
    ISOFLOP_RETURN_IF_ERROR(integer("tp", &r.config.tp));
    ISOFLOP_RETURN_IF_ERROR(integer("pp", &r.config.pp));
    ISOFLOP_RETURN_IF_ERROR(integer("vpp", &r.config.vpp));
    ISOFLOP_RETURN_IF_ERROR(integer("first_stage_layers", &r.config.first_stage_layers));
    ISOFLOP_RETURN_IF_ERROR(integer("last_stage_layers", &r.config.last_stage_layers));
    ISOFLOP_RETURN_IF_ERROR(integer("dp", &r.config.dp));
    ISOFLOP_RETURN_IF_ERROR(integer("cp", &r.config.cp));
    ISOFLOP_RETURN_IF_ERROR(integer("micro_batch", &r.config.micro_batch));
    ISOFLOP_RETURN_IF_ERROR(integer("global_batch", &r.config.global_batch));
    ISOFLOP_RETURN_IF_ERROR(integer("zero", &r.config.zero));
    // Mixture of experts (optional columns; tests/data/moe_parallel_configs.csv): the shape's MoE
    // fields (common/include/isoflop/model_shape.h) and the expert-parallel degree.
    if (col.count("experts")) {
      ISOFLOP_RETURN_IF_ERROR(integer("experts", &r.model.experts));
      for (const char* name : {"experts_per_token", "shared_experts", "expert_ffn", "moe_layer_every", "ep"})
        if (!col.count(name))
          return Status::InvalidArgument(path + ":" + std::to_string(table->header_line) + ": column 'experts' needs column '" + name + "'");
      ISOFLOP_RETURN_IF_ERROR(integer("experts_per_token", &r.model.experts_per_token));
      ISOFLOP_RETURN_IF_ERROR(integer("shared_experts", &r.model.shared_experts));
      ISOFLOP_RETURN_IF_ERROR(integer("expert_ffn", &r.model.expert_ffn));
      ISOFLOP_RETURN_IF_ERROR(integer("moe_layer_every", &r.model.moe_layer_every));
      ISOFLOP_RETURN_IF_ERROR(integer("ep", &r.config.ep));
    }
    int gpus = 0;
    ISOFLOP_RETURN_IF_ERROR(integer("gpus", &gpus));
    if (gpus != r.config.gpus())
      return Status::InvalidArgument(where + ": column 'gpus' (" + std::to_string(gpus) + ") is not tp x pp x dp x cp (" +
                                     std::to_string(r.config.gpus()) + ")");
    ISOFLOP_RETURN_IF_ERROR(flag("flash_attention", &r.flash_attention));
    ISOFLOP_RETURN_IF_ERROR(flag("tp_comm_overlap", &r.tp_comm_overlap));
    ISOFLOP_RETURN_IF_ERROR(flag("dp_comm_overlap", &r.dp_comm_overlap));
    ISOFLOP_RETURN_IF_ERROR(number("grad_bytes", false, &r.grad_bytes));
    if (r.grad_bytes != 2 && r.grad_bytes != 4)
      return Status::InvalidArgument(where + ": column 'grad_bytes' must be 2 (bf16) or 4 (fp32)");
    auto recompute = ParseRecompute(f[col["recompute"]]);
    if (!recompute.ok())
      return Status::InvalidArgument(where + ": column 'recompute': " + recompute.status().message());
    r.config.recompute = *recompute;
    ISOFLOP_RETURN_IF_ERROR(number("published_tflops_per_gpu", true, &r.tflops_per_gpu));
    ISOFLOP_RETURN_IF_ERROR(number("published_model_tflops_per_gpu", true, &r.model_tflops_per_gpu));
    ISOFLOP_RETURN_IF_ERROR(number("published_mfu", true, &r.mfu));
    ISOFLOP_RETURN_IF_ERROR(number("published_hfu", true, &r.hfu));
    ISOFLOP_RETURN_IF_ERROR(number("published_iteration_s", true, &r.iteration_s));
    ISOFLOP_RETURN_IF_ERROR(number("published_tokens_per_s_per_gpu", true, &r.tokens_per_s_per_gpu));
    std::string error;
    if (!r.model.IsValid(&error)) return Status::InvalidArgument(where + ": " + error);
    runs.push_back(std::move(r));
  }
  return runs;
}

StatusOr<std::vector<ValidationResult>> ValidateAgainstPublished(const std::vector<PublishedRun>& runs,
                                                                 const std::string& clusters_dir,
                                                                 const PerfOptions& options) {
  std::map<std::string, ClusterSpec> clusters;
  std::vector<ValidationResult> results;
  for (const PublishedRun& run : runs) {
    auto it = clusters.find(run.cluster);
    if (it == clusters.end()) {
      auto loaded = LoadClusterYaml(clusters_dir + "/" + run.cluster + ".yaml");
      if (!loaded.ok()) return loaded.status().WithContext(run.id);
      it = clusters.emplace(run.cluster, *loaded).first;
    }
    PerfOptions row_options = options;
    row_options.flash_attention = run.flash_attention;
    row_options.tp_comm_overlap = run.tp_comm_overlap;
    row_options.dp_comm_overlap = run.dp_comm_overlap;
    row_options.grad_bytes = run.grad_bytes;
    ValidationResult v;
    v.run = run;
    Status st = EvaluatePerf(run.model, it->second, run.config, row_options, &v.predicted);
    if (!st.ok()) return st.WithContext(run.id);
    v.tflops_error = RelativeError(v.predicted.hardware_tflops_per_gpu, run.tflops_per_gpu);
    v.model_tflops_error = RelativeError(v.predicted.model_tflops_per_gpu, run.model_tflops_per_gpu);
    v.mfu_error = RelativeError(v.predicted.mfu, run.mfu);
    v.hfu_error = RelativeError(v.predicted.hfu, run.hfu);
    v.iteration_error = RelativeError(v.predicted.step_time_s, run.iteration_s);
    v.tokens_error = RelativeError(v.predicted.tokens_per_s / run.config.gpus(), run.tokens_per_s_per_gpu);
    results.push_back(std::move(v));
  }
  return results;
}

std::string ValidationMarkdown(const std::vector<ValidationResult>& results) {
  std::ostringstream out;
  out << "| run | half | source, table, row | GPUs | layout | published | predicted | error | fits |\n"
      << "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& r : results) {
    std::string published, predicted, error;
    auto add = [&](const char* name, double pub, double pred, double err, const char* fmt) {
      if (std::isnan(pub)) return;
      char a[64], b[64], e[64];
      std::snprintf(a, sizeof a, fmt, pub);
      std::snprintf(b, sizeof b, fmt, pred);
      std::snprintf(e, sizeof e, "%+.1f%%", err * 100);
      if (!published.empty()) {
        published += "; ";
        predicted += "; ";
        error += "; ";
      }
      published += std::string(name) + " " + a;
      predicted += std::string(name) + " " + b;
      error += e;
    };
    add("HW TFLOP/s", r.run.tflops_per_gpu, r.predicted.hardware_tflops_per_gpu, r.tflops_error, "%.1f");
    add("TFLOP/s", r.run.model_tflops_per_gpu, r.predicted.model_tflops_per_gpu, r.model_tflops_error, "%.0f");
    add("MFU", r.run.mfu * 100, r.predicted.mfu * 100, r.mfu_error, "%.1f%%");
    add("HFU", r.run.hfu * 100, r.predicted.hfu * 100, r.hfu_error, "%.1f%%");
    add("iter s", r.run.iteration_s, r.predicted.step_time_s, r.iteration_error, "%.2f");
    add("tok/s/GPU", r.run.tokens_per_s_per_gpu, r.predicted.tokens_per_s / r.run.config.gpus(), r.tokens_error,
        "%.0f");
    out << "| " << r.run.id << " | " << (r.run.held_out() ? "held out" : "calibration") << " | " << r.run.source
        << ", " << r.run.table << ", " << r.run.row << " | " << r.run.config.gpus() << " " << r.run.cluster << " | "
        << r.run.config.ToString() << " | " << published << " | " << predicted << " | " << error << " | "
        << (r.predicted.feasible ? "yes" : "no") << " |\n";
  }
  return out.str();
}

}  // namespace isoflop::planner
