// Predicted against published: the performance model on the papers' own configurations.
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
  for (double e : {tflops_error, mfu_error, hfu_error, iteration_error})
    if (!std::isnan(e)) worst = std::max(worst, std::abs(e));
  return worst;
}

StatusOr<std::vector<PublishedRun>> LoadPublishedRuns(const std::string& path) {
  auto table = ReadCsvFile(path);  // the project's CSV reader (common/include/isoflop/csv.h)
  if (!table.ok()) return table.status();
  const std::vector<std::string>& header = table->header;
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) col[LowerAscii(header[i])] = i;
  for (const char* required : {"id",
                               "source",
                               "table",
                               "row",
                               "layers",
                               "d_model",
                               "heads",
                               "vocab",
                               "seq_len",
                               "tp",
                               "pp",
                               "vpp",
                               "dp",
                               "micro_batch",
                               "global_batch",
                               "recompute",
                               "flash_attention",
                               "zero",
                               "published_tflops_per_gpu",
                               "published_mfu",
                               "published_hfu",
                               "published_iteration_s"}) {
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
      return Status::InvalidArgument(where + ": expected " + std::to_string(header.size()) + " columns");
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
    PublishedRun r;
    r.id = f[col["id"]];
    r.source = f[col["source"]];
    r.table = f[col["table"]];
    r.row = f[col["row"]];
    ISOFLOP_RETURN_IF_ERROR(integer("layers", &r.model.layers));
    ISOFLOP_RETURN_IF_ERROR(integer("d_model", &r.model.d_model));
    ISOFLOP_RETURN_IF_ERROR(integer("heads", &r.model.heads));
    ISOFLOP_RETURN_IF_ERROR(integer("vocab", &r.model.vocab));
    ISOFLOP_RETURN_IF_ERROR(integer("seq_len", &r.model.seq_len));
    r.model.kv_heads = r.model.heads;
    r.model.ffn = 4 * r.model.d_model;
    r.model.mlp = Mlp::kGelu;
    ISOFLOP_RETURN_IF_ERROR(integer("tp", &r.config.tp));
    ISOFLOP_RETURN_IF_ERROR(integer("pp", &r.config.pp));
    ISOFLOP_RETURN_IF_ERROR(integer("vpp", &r.config.vpp));
    ISOFLOP_RETURN_IF_ERROR(integer("dp", &r.config.dp));
    ISOFLOP_RETURN_IF_ERROR(integer("micro_batch", &r.config.micro_batch));
    ISOFLOP_RETURN_IF_ERROR(integer("global_batch", &r.config.global_batch));
    ISOFLOP_RETURN_IF_ERROR(integer("zero", &r.config.zero));
    int flash = 0;
    ISOFLOP_RETURN_IF_ERROR(integer("flash_attention", &flash));
    r.flash_attention = flash != 0;
    auto recompute = ParseRecompute(f[col["recompute"]]);
    if (!recompute.ok())
      return Status::InvalidArgument(where + ": column 'recompute': " + recompute.status().message());
    r.config.recompute = *recompute;
    ISOFLOP_RETURN_IF_ERROR(number("published_tflops_per_gpu", true, &r.tflops_per_gpu));
    ISOFLOP_RETURN_IF_ERROR(number("published_mfu", true, &r.mfu));
    ISOFLOP_RETURN_IF_ERROR(number("published_hfu", true, &r.hfu));
    ISOFLOP_RETURN_IF_ERROR(number("published_iteration_s", true, &r.iteration_s));
    std::string error;
    if (!r.model.IsValid(&error)) return Status::InvalidArgument(where + ": " + error);
    runs.push_back(std::move(r));
  }
  return runs;
}

StatusOr<std::vector<ValidationResult>> ValidateAgainstPublished(const std::vector<PublishedRun>& runs,
                                                                 const ClusterSpec& cluster,
                                                                 const PerfOptions& options) {
  std::vector<ValidationResult> results;
  for (const PublishedRun& run : runs) {
    PerfOptions row_options = options;
    row_options.flash_attention = run.flash_attention;
    ValidationResult v;
    v.run = run;
    Status st = EvaluatePerf(run.model, cluster, run.config, row_options, &v.predicted);
    if (!st.ok()) return st.WithContext(run.id);
    v.tflops_error = RelativeError(v.predicted.hardware_tflops_per_gpu, run.tflops_per_gpu);
    v.mfu_error = RelativeError(v.predicted.mfu, run.mfu);
    v.hfu_error = RelativeError(v.predicted.hfu, run.hfu);
    v.iteration_error = RelativeError(v.predicted.step_time_s, run.iteration_s);
    results.push_back(std::move(v));
  }
  return results;
}

std::string ValidationMarkdown(const std::vector<ValidationResult>& results) {
  std::ostringstream out;
  out << "| run | source, table, row | layout | published | predicted | error | fits |\n"
      << "| --- | --- | --- | --- | --- | --- | --- |\n";
  char buf[512];
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
    add("TFLOP/s", r.run.tflops_per_gpu, r.predicted.hardware_tflops_per_gpu, r.tflops_error, "%.1f");
    add("MFU", r.run.mfu * 100, r.predicted.mfu * 100, r.mfu_error, "%.1f%%");
    add("HFU", r.run.hfu * 100, r.predicted.hfu * 100, r.hfu_error, "%.1f%%");
    add("iter s", r.run.iteration_s, r.predicted.step_time_s, r.iteration_error, "%.2f");
    std::snprintf(buf, sizeof buf, "| %s | %s, %s, %s | %s | %s | %s | %s | %s |\n", r.run.id.c_str(),
                  r.run.source.c_str(), r.run.table.c_str(), r.run.row.c_str(),
                  r.run.config.ToString().c_str(), published.c_str(), predicted.c_str(), error.c_str(),
                  r.predicted.feasible ? "yes" : "no");
    out << buf;
  }
  return out.str();
}

}  // namespace isoflop::planner
