// Serving predicted against published: decode throughput and fit / out-of-memory results of
// published inference runs (tests/data/serving_published.csv; docs/planner.md "Serving"), and the
// least-squares calibration of the serving constants on the calibration rows.
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "isoflop/csv.h"
#include "isoflop/planner.h"
#include "isoflop/serving.h"

namespace isoflop::planner {

StatusOr<std::vector<PublishedServing>> LoadPublishedServing(const std::string& path) {
  auto table = ReadCsvFile(path);  // the project's CSV reader (common/include/isoflop/csv.h)
  if (!table.ok()) return table.status();
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < table->header.size(); ++i) col[LowerAscii(table->header[i])] = i;
  for (const char* required : {"id",
                               "source",
                               "split",
                               "cluster",
                               "layers",
                               "d_model",
                               "heads",
                               "kv_heads",
                               "ffn",
                               "vocab",
                               "mlp",
                               "precision",
                               "tp",
                               "pp",
                               "batch",
                               "context",
                               "output_tokens",
                               "int4_group_size",
                               "int4_group_bytes",
                               "quantize_output_layer",
                               "kv_cache_bytes",
                               "published_tokens_per_s",
                               "published_fit"}) {
    if (!col.count(required))
      return Status::InvalidArgument(path + ":" + std::to_string(table->header_line) + ": missing column '" +
                                     required + "'");
  }
  std::vector<PublishedServing> rows;
  for (const CsvRecord& record : table->rows) {
    const std::vector<std::string>& f = record.fields;
    const std::string where = path + ":" + std::to_string(record.line);
    if (f.size() < table->header.size())
      return Status::InvalidArgument(where + ": expected " + std::to_string(table->header.size()) +
                                     " columns, found " + std::to_string(f.size()));
    auto text = [&](const char* name) -> const std::string& { return f[col[name]]; };
    auto number = [&](const char* name, bool optional, double* out) -> Status {
      const std::string& t = text(name);
      if (t.empty()) {
        if (optional) {
          *out = NAN;
          return Status::OK();
        }
        return Status::InvalidArgument(where + ": column '" + name + "' is empty");
      }
      char* end = nullptr;
      *out = std::strtod(t.c_str(), &end);
      if (end != t.c_str() + t.size() || !std::isfinite(*out))
        return Status::InvalidArgument(where + ": column '" + name + "' is not a number ('" + t + "')");
      return Status::OK();
    };
    auto integer = [&](const char* name, int* out) -> Status {
      double x = 0;
      ISOFLOP_RETURN_IF_ERROR(number(name, false, &x));
      if (x != std::floor(x) || x < 0 || x > 1e9)
        return Status::InvalidArgument(where + ": column '" + name + "' must be a non-negative integer");
      *out = static_cast<int>(x);
      return Status::OK();
    };
    PublishedServing r;
    r.id = text("id");
    r.source = text("source");
    r.split = text("split");
    if (r.split != "calibration" && r.split != "held_out")
      return Status::InvalidArgument(where + ": column 'split' must be calibration or held_out");
    r.cluster = text("cluster");
    ISOFLOP_RETURN_IF_ERROR(integer("layers", &r.model.layers));
    ISOFLOP_RETURN_IF_ERROR(integer("d_model", &r.model.d_model));
    ISOFLOP_RETURN_IF_ERROR(integer("heads", &r.model.heads));
    ISOFLOP_RETURN_IF_ERROR(integer("kv_heads", &r.model.kv_heads));
    ISOFLOP_RETURN_IF_ERROR(integer("ffn", &r.model.ffn));
    ISOFLOP_RETURN_IF_ERROR(integer("vocab", &r.model.vocab));
    ISOFLOP_RETURN_IF_ERROR(integer("experts", &r.model.experts));
    ISOFLOP_RETURN_IF_ERROR(integer("experts_per_token", &r.model.experts_per_token));
    ISOFLOP_RETURN_IF_ERROR(integer("shared_experts", &r.model.shared_experts));
    ISOFLOP_RETURN_IF_ERROR(integer("expert_ffn", &r.model.expert_ffn));
    ISOFLOP_RETURN_IF_ERROR(integer("moe_layer_every", &r.model.moe_layer_every));
    auto mlp = ParseMlp(text("mlp"));
    if (!mlp.ok()) return Status::InvalidArgument(where + ": column 'mlp' " + mlp.status().message());
    r.model.mlp = *mlp;
    auto precision = ParsePrecision(text("precision"));
    if (!precision.ok())
      return Status::InvalidArgument(where + ": column 'precision': " + precision.status().message());
    r.options.precision = *precision;
    ISOFLOP_RETURN_IF_ERROR(integer("tp", &r.options.tp));
    ISOFLOP_RETURN_IF_ERROR(integer("pp", &r.options.pp));
    ISOFLOP_RETURN_IF_ERROR(integer("batch", &r.options.batch));
    ISOFLOP_RETURN_IF_ERROR(integer("context", &r.options.context));
    ISOFLOP_RETURN_IF_ERROR(integer("output_tokens", &r.options.output_tokens));
    ISOFLOP_RETURN_IF_ERROR(integer("int4_group_size", &r.options.int4_group_size));
    ISOFLOP_RETURN_IF_ERROR(number("int4_group_bytes", false, &r.options.int4_group_bytes));
    const std::string& qo = text("quantize_output_layer");
    if (qo != "0" && qo != "1")
      return Status::InvalidArgument(where + ": column 'quantize_output_layer' must be 0 or 1");
    r.options.quantize_output_layer = qo == "1";
    ISOFLOP_RETURN_IF_ERROR(number("kv_cache_bytes", false, &r.options.kv_cache_bytes));
    ISOFLOP_RETURN_IF_ERROR(number("published_tokens_per_s", true, &r.published_tokens_per_s));
    r.published_fit = text("published_fit");
    if (!r.published_fit.empty() && r.published_fit != "fits" && r.published_fit != "oom")
      return Status::InvalidArgument(where + ": column 'published_fit' must be empty, fits or oom");
    r.model.seq_len = r.options.context;
    std::string error;
    if (!r.model.IsValid(&error)) return Status::InvalidArgument(where + ": " + error);
    if (!r.options.IsValid(&error)) return Status::InvalidArgument(where + ": " + error);
    rows.push_back(std::move(r));
  }
  return rows;
}

namespace {

// The calibrated constants from `calibration`, the row's own setting from `row`.
ServeOptions RowOptions(const PublishedServing& row, const ServeOptions& calibration) {
  ServeOptions o = calibration;
  o.precision = row.options.precision;
  o.tp = row.options.tp;
  o.pp = row.options.pp;
  o.batch = row.options.batch;
  o.context = row.options.context;
  o.output_tokens = row.options.output_tokens;
  o.int4_group_size = row.options.int4_group_size;
  o.int4_group_bytes = row.options.int4_group_bytes;
  o.quantize_output_layer = row.options.quantize_output_layer;
  o.kv_cache_bytes = row.options.kv_cache_bytes;
  return o;
}

StatusOr<const ClusterSpec*> ClusterFor(const std::string& name, const std::string& dir,
                                        std::map<std::string, ClusterSpec>* cache) {
  auto it = cache->find(name);
  if (it == cache->end()) {
    auto c = LoadClusterYaml(dir + "/" + name + ".yaml");
    if (!c.ok()) return c.status();
    it = cache->emplace(name, *c).first;
  }
  return &it->second;
}

// Solves the n x n system a x = b by Gaussian elimination with partial pivoting; false if singular.
template <size_t n>
bool Solve(std::array<std::array<double, n>, n> a, std::array<double, n> b, std::array<double, n>* x) {
  for (size_t c = 0; c < n; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    if (std::abs(a[pivot][c]) < 1e-300) return false;
    std::swap(a[c], a[pivot]);
    std::swap(b[c], b[pivot]);
    for (size_t r = c + 1; r < n; ++r) {
      const double factor = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= factor * a[c][k];
      b[r] -= factor * b[c];
    }
  }
  for (size_t c = n; c-- > 0;) {
    double sum = b[c];
    for (size_t k = c + 1; k < n; ++k) sum -= a[c][k] * (*x)[k];
    (*x)[c] = sum / a[c][c];
  }
  return true;
}

}  // namespace

StatusOr<std::vector<ServingValidation>> ValidateServing(const std::vector<PublishedServing>& rows,
                                                         const std::string& clusters_dir,
                                                         const ServeOptions& calibration) {
  std::vector<ServingValidation> out;
  std::map<std::string, ClusterSpec> clusters;
  for (const auto& row : rows) {
    auto cluster = ClusterFor(row.cluster, clusters_dir, &clusters);
    if (!cluster.ok()) return cluster.status();
    ServingValidation v;
    v.row = row;
    Status st = EvaluateServing(row.model, **cluster, RowOptions(row, calibration), &v.predicted);
    if (!st.ok()) return Status::InvalidArgument(row.id + ": " + st.message());
    v.predicted.model_name = row.id;
    v.error = std::isnan(row.published_tokens_per_s)
                  ? NAN
                  : v.predicted.decode_tokens_per_s / row.published_tokens_per_s - 1.0;
    if (row.published_fit == "oom") v.fit_agrees = !v.predicted.fits;
    if (row.published_fit == "fits") v.fit_agrees = v.predicted.fits;
    out.push_back(std::move(v));
  }
  return out;
}

StatusOr<ServeOptions> CalibrateServing(const std::vector<PublishedServing>& rows,
                                        const std::string& clusters_dir, const ServeOptions& start) {
  // With the constants zeroed (efficiency 1), one decode step of a memory-bound row is
  //   step = (1/eff) x t_bytes + layers x overhead[precision] + n_ar x (base + per_peer x (tp - 1)) + t_fixed
  // where t_bytes is the HBM traffic at full bandwidth, n_ar = 2 x layers all-reduces under tensor
  // parallelism, and t_fixed the all-reduces' bandwidth term. Unknowns x = (1/eff, o_bf16, o_int8,
  // o_int4, base, per_peer) in seconds; each row's equation is divided by its published step so
  // that the least squares minimise the relative error.
  constexpr size_t kN = 6;
  std::array<std::array<double, kN>, kN> ata{};
  std::array<double, kN> atb{};
  std::array<int, 3> per_precision{};
  int used = 0;
  std::map<std::string, ClusterSpec> clusters;
  ServeOptions zero = start;
  zero.decode_bandwidth_efficiency = 1.0;
  for (double& us : zero.layer_overhead_us) us = 0;
  zero.allreduce_base_us = 0;
  zero.allreduce_per_peer_us = 0;
  for (const auto& row : rows) {
    if (row.held_out() || std::isnan(row.published_tokens_per_s)) continue;
    auto cluster = ClusterFor(row.cluster, clusters_dir, &clusters);
    if (!cluster.ok()) return cluster.status();
    ServeSummary s;
    Status st = EvaluateServing(row.model, **cluster, RowOptions(row, zero), &s);
    if (!st.ok()) return Status::InvalidArgument(row.id + ": " + st.message());
    if (!s.fits)
      return Status::InvalidArgument(row.id + ": a calibration row that does not fit: " + s.fit_reason);
    const double published_step = row.options.batch / row.published_tokens_per_s;
    const double t_bytes = s.decode_weights_s + s.decode_kv_s;
    const double t_fixed = s.decode_comm_s;  // bandwidth terms only (latencies zeroed)
    const int p = row.options.precision == WeightPrecision::kBf16   ? 0
                  : row.options.precision == WeightPrecision::kInt8 ? 1
                                                                    : 2;
    const double n_ar = s.tp > 1 ? 2.0 * row.model.layers : 0.0;
    std::array<double, kN> a{t_bytes, 0, 0, 0, n_ar, n_ar * (s.tp - 1)};
    a[1 + p] = row.model.layers;
    const double b = published_step - t_fixed;
    for (size_t i = 0; i < kN; ++i) {
      for (size_t j = 0; j < kN; ++j) ata[i][j] += a[i] * a[j] / (published_step * published_step);
      atb[i] += a[i] * b / (published_step * published_step);
    }
    ++per_precision[p];
    ++used;
  }
  for (int p = 0; p < 3; ++p) {
    if (per_precision[p] == 0)
      return Status::InvalidArgument(std::string("calibration needs at least one ") +
                                     PrecisionName(kAllPrecisions[p]) + " row");
  }
  std::array<double, kN> x{};
  if (used < static_cast<int>(kN) || !Solve(ata, atb, &x))
    return Status::InvalidArgument("calibration rows do not determine the 6 constants (" +
                                   std::to_string(used) +
                                   " rows; tensor-parallel rows at two TP degrees are needed)");
  ServeOptions fitted = start;
  if (!(x[0] >= 1.0))
    return Status::InvalidArgument(
        "calibration gives a bandwidth efficiency above 1 (1/eff = " + std::to_string(x[0]) + ")");
  fitted.decode_bandwidth_efficiency = 1.0 / x[0];
  for (int p = 0; p < 3; ++p) fitted.layer_overhead_us[p] = x[1 + p] * 1e6;
  fitted.allreduce_base_us = x[4] * 1e6;
  fitted.allreduce_per_peer_us = x[5] * 1e6;
  std::string error;
  if (!fitted.IsValid(&error))
    return Status::InvalidArgument("calibration gives invalid constants: " + error);
  return fitted;
}

std::string ServingValidationMarkdown(const std::vector<ServingValidation>& results) {
  std::ostringstream out;
  out << "| run | split | GPU | layout | precision | published | predicted | error | memory per GPU |\n"
      << "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  char buf[512];
  for (const auto& v : results) {
    const auto& p = v.predicted;
    std::string published, predicted, error = "-";
    if (!std::isnan(v.row.published_tokens_per_s)) {
      std::snprintf(buf, sizeof buf, "%.2f tok/s", v.row.published_tokens_per_s);
      published = buf;
      std::snprintf(buf, sizeof buf, "%.2f tok/s", p.decode_tokens_per_s);
      predicted = buf;
    }
    if (!v.row.published_fit.empty()) {
      published +=
          (published.empty() ? "" : "; ") + std::string(v.row.published_fit == "oom" ? "OOM" : "fits");
      predicted += (predicted.empty() ? "" : "; ") + std::string(p.fits ? "fits" : "OOM") +
                   (v.fit_agrees ? "" : " (DISAGREES)");
    }
    if (!std::isnan(v.error)) {
      std::snprintf(buf, sizeof buf, "%+.1f%%", v.error * 100);
      error = buf;
    }
    std::snprintf(buf, sizeof buf, "| %s | %s | %s | TP%d PP%d, batch %d | %s | %s | %s | %s | %.1f GiB |\n",
                  v.row.id.c_str(), v.row.held_out() ? "held out" : "cal", p.gpu_model.c_str(), p.tp, p.pp,
                  v.row.options.batch, PrecisionName(v.row.options.precision), published.c_str(),
                  predicted.c_str(), error.c_str(), p.memory.total() / (1024.0 * 1024.0 * 1024.0));
    out << buf;
  }
  return out.str();
}

}  // namespace isoflop::planner
