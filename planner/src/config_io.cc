// Cluster and model files (YAML through yaml-cpp). Every error names the file, the line and the
// field; a key the format does not define, or one written twice, is an error (a typo is never
// silently replaced by a default).
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "isoflop/file_util.h"
#include "isoflop/planner.h"

namespace isoflop::planner {
namespace {

// Reads `key` (dotted: "gpu.peak_bf16_tflops") from `root`; null node when absent.
// Walks const nodes (no insertion) so the result keeps its place in the file (Mark) for messages.
YAML::Node Lookup(const YAML::Node& node, const std::string& dotted) {
  const size_t dot = dotted.find('.');
  if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node next = node[dotted.substr(0, dot)];
  if (!next.IsDefined() || next.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  return dot == std::string::npos ? next : Lookup(next, dotted.substr(dot + 1));
}

// "path:LINE: field 'x' ..." (yaml-cpp's marks are 0-based); without a node (a missing key), the
// line of the mapping that should hold it.
Status FieldError(const std::string& path, const std::string& field, const std::string& problem,
                  const YAML::Node& node = YAML::Node(YAML::NodeType::Undefined)) {
  std::string where = path;
  if (node.IsDefined() && node.Mark().line >= 0) where += ":" + std::to_string(node.Mark().line + 1);
  return Status::InvalidArgument(where + ": field '" + field + "' " + problem);
}

// The keys a file may hold, dotted for nested mappings ("gpu.model"). Refuses unknown keys and
// keys written twice (yaml-cpp keeps both; a reader would see only one), naming the line.
Status CheckKeys(const YAML::Node& map, const std::string& path, const std::string& prefix,
                 const std::vector<std::string>& allowed) {
  std::vector<std::string> seen;
  for (const auto& kv : map) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    const std::string dotted = prefix.empty() ? key : prefix + "." + key;
    for (const std::string& s : seen) {
      if (s == key) return FieldError(path, dotted, "is written twice", kv.first);
    }
    seen.push_back(key);
    bool known = false, nested = false;
    for (const std::string& a : allowed) {
      known |= a == dotted;
      nested |= a.rfind(dotted + ".", 0) == 0;
    }
    if (nested) {
      if (!kv.second.IsMap()) return FieldError(path, dotted, "must be a mapping", kv.second);
      ISOFLOP_RETURN_IF_ERROR(CheckKeys(kv.second, path, dotted, allowed));
      continue;
    }
    if (!known) {
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return FieldError(path, dotted, "is not a known key (expected: " + list + ")", kv.first);
    }
  }
  return Status::OK();
}

// A required positive number (or >= 0 / >= 1 as `min_inclusive`, strict when `strict`).
Status ReadNumber(const YAML::Node& root, const std::string& path, const std::string& field, double min,
                  bool strict, double* out) {
  YAML::Node node = Lookup(root, field);
  if (!node.IsDefined()) return FieldError(path, field, "is missing");
  if (!node.IsScalar()) return FieldError(path, field, "must be a number", node);
  double value = 0;
  if (!YAML::convert<double>::decode(node, value)) {
    return FieldError(path, field, "must be a number (got '" + node.Scalar() + "')", node);
  }
  if (!std::isfinite(value)) return FieldError(path, field, "must be finite", node);
  if (strict ? !(value > min) : !(value >= min)) {
    std::ostringstream msg;
    msg << "must be " << (strict ? "> " : ">= ") << min << " (got " << node.Scalar() << ")";
    return FieldError(path, field, msg.str(), node);
  }
  *out = value;
  return Status::OK();
}

Status ReadInt(const YAML::Node& root, const std::string& path, const std::string& field, int min, int* out) {
  double value = 0;
  ISOFLOP_RETURN_IF_ERROR(ReadNumber(root, path, field, min, false, &value));
  if (value != std::floor(value) || value > 1e9) {
    return FieldError(path, field, "must be an integer up to 1e9", Lookup(root, field));
  }
  *out = static_cast<int>(value);
  return Status::OK();
}

// An optional number: absent leaves *out unchanged (the documented default fills it later).
Status ReadOptionalNumber(const YAML::Node& root, const std::string& path, const std::string& field, double min,
                          bool strict, double* out) {
  if (!Lookup(root, field).IsDefined()) return Status::OK();
  return ReadNumber(root, path, field, min, strict, out);
}

StatusOr<YAML::Node> ParseFile(const std::string& path) {
  // A missing file is kNotFound, a directory or an unreadable file kInvalidArgument (file_util.h):
  // never an exception from the stream (issue 15, finding 4).
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  try {
    YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) return Status::InvalidArgument(path + ":1: expected a YAML mapping of key: value");
    return root;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": YAML: " + e.msg);
  }
}

// A planner-side catch-all: yaml-cpp throws on node access in a few corners (e.g. a scalar read as
// a map); no exception may leave the library.
template <typename Fn>
auto NoThrow(const std::string& path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
}

// A validation message "... field 'x' ..." with the line of x in the file, when it is there.
Status WithFieldLine(const std::string& path, const YAML::Node& root, const std::string& message) {
  const size_t open = message.find("field '");
  std::string where = path;
  if (open != std::string::npos) {
    const size_t close = message.find('\'', open + 7);
    YAML::Node node = Lookup(root, message.substr(open + 7, close - open - 7));
    if (node.IsDefined()) where += ":" + std::to_string(node.Mark().line + 1);
  }
  std::string text = message;
  if (text.rfind(path + ": ", 0) == 0) text = text.substr(path.size() + 2);
  return Status::InvalidArgument(where + ": " + text);
}

}  // namespace

bool ClusterSpec::IsValid(std::string* error) const {
  auto fail = [&](const std::string& field, const std::string& what) {
    if (error) *error = (path.empty() ? std::string("cluster") : path) + ": field '" + field + "' " + what;
    return false;
  };
  if (!(peak_bf16_tflops > 0)) return fail("gpu.peak_bf16_tflops", "must be > 0");
  if (!(hbm_gib > 0)) return fail("gpu.hbm_gib", "must be > 0");
  if (!(hbm_bandwidth_gb_s > 0)) return fail("gpu.hbm_bandwidth_gb_s", "must be > 0");
  if (!(gpu_power_w > 0)) return fail("gpu.power_w", "must be > 0");
  if (gpus_per_node < 1) return fail("gpus_per_node", "must be >= 1");
  if (nodes < 1) return fail("nodes", "must be >= 1");
  if (!(intra_node_bandwidth_gb_s > 0)) return fail("network.intra_node_gb_s", "must be > 0");
  if (!(inter_node_bandwidth_gb_s > 0)) return fail("network.inter_node_gb_s", "must be > 0");
  if (!(price_usd_per_gpu_hour >= 0)) return fail("price_usd_per_gpu_hour", "must be >= 0");
  if (!(pue >= 1.0)) return fail("pue", "must be >= 1");
  if (!(grid_gco2_per_kwh >= 0)) return fail("grid_gco2_per_kwh", "must be >= 0");
  if (!(matmul_tflops >= 0)) return fail("gpu.matmul_tflops", "must be > 0");
  if (matmul_tflops > peak_bf16_tflops) return fail("gpu.matmul_tflops", "must not exceed gpu.peak_bf16_tflops");
  if (sm_count < 0) return fail("gpu.sm_count", "must be >= 1");
  if (!(idle_power_w >= 0) || idle_power_w > gpu_power_w) return fail("gpu.idle_power_w", "must be in [0, gpu.power_w]");
  if (!(host_power_w_per_node >= 0)) return fail("node.host_power_w", "must be >= 0");
  if (!(network_power_w_per_node >= 0)) return fail("network.power_w_per_node", "must be >= 0");
  if (nvlink_domain_gpus < 0) return fail("network.nvlink_domain_gpus", "must be >= 1");
  if (!(intra_node_latency_us >= 0)) return fail("network.intra_node_latency_us", "must be >= 0");
  if (!(inter_node_latency_us >= 0)) return fail("network.inter_node_latency_us", "must be >= 0");
  if (!(collective_base_latency_us >= 0)) return fail("network.collective_base_latency_us", "must be >= 0");
  return true;
}

// Defaults of the optional keys (docs/planner.md, "Cluster files", where each is derived).
void ClusterSpec::FillDefaults() {
  // Maximum achievable matmul FLOP/s: measured values are 77-87% of the datasheet peak (Bekman,
  // ml-engineering, compute/accelerator/README.md, MAMF table); 80% when the file has none.
  if (!(matmul_tflops > 0)) matmul_tflops = 0.8 * peak_bf16_tflops;
  if (sm_count <= 0) sm_count = 132;                                      // H100 SXM
  if (!(idle_power_w > 0)) idle_power_w = 0.1 * gpu_power_w;              // assumption, see docs
  if (!(host_power_w_per_node > 0)) host_power_w_per_node = 350.0 * gpus_per_node;  // Latif et al. 2024
  if (!(network_power_w_per_node > 0)) network_power_w_per_node = 80.0 * gpus_per_node;  // 3 switch ports/NIC
  if (nvlink_domain_gpus <= 0) nvlink_domain_gpus = gpus_per_node;
  if (!(intra_node_latency_us > 0)) intra_node_latency_us = 3.4;          // NCCL ring, Simple, NVLink
  if (!(inter_node_latency_us > 0)) inter_node_latency_us = 14.0;         // NCCL ring, Simple, network
  if (!(collective_base_latency_us > 0)) collective_base_latency_us = 8.4;  // NCCL ring base latency
}

static StatusOr<ClusterSpec> LoadClusterYamlOrThrow(const std::string& path) {
  auto root_or = ParseFile(path);
  if (!root_or.ok()) return root_or.status();
  const YAML::Node& root = *root_or;
  // Keys documented in docs/planner.md ("Cluster files").
  ISOFLOP_RETURN_IF_ERROR(
      CheckKeys(root, path, "",
                {"name", "gpu.model", "gpu.peak_bf16_tflops", "gpu.hbm_gib", "gpu.hbm_bandwidth_gb_s",
                 "gpu.power_w", "gpus_per_node", "nodes", "network.intra_node_gb_s",
                 "network.inter_node_gb_s", "price_usd_per_gpu_hour", "pue", "grid_gco2_per_kwh",
                 // optional (FillDefaults; docs/planner.md, "Cluster files")
                 "gpu.matmul_tflops", "gpu.sm_count", "gpu.idle_power_w", "node.host_power_w",
                 "network.power_w_per_node", "network.nvlink_domain_gpus", "network.intra_node_latency_us",
                 "network.inter_node_latency_us", "network.collective_base_latency_us"}));
  ClusterSpec c;
  c.path = path;
  c.name = root["name"] && root["name"].IsScalar() ? root["name"].Scalar()
                                                   : std::filesystem::path(path).stem().string();
  YAML::Node model = Lookup(root, "gpu.model");
  if (!model.IsDefined() || !model.IsScalar()) return FieldError(path, "gpu.model", "is missing", model);
  c.gpu_model = model.Scalar();
  ISOFLOP_RETURN_IF_ERROR(ReadNumber(root, path, "gpu.peak_bf16_tflops", 0, true, &c.peak_bf16_tflops));
  ISOFLOP_RETURN_IF_ERROR(ReadNumber(root, path, "gpu.hbm_gib", 0, true, &c.hbm_gib));
  ISOFLOP_RETURN_IF_ERROR(ReadNumber(root, path, "gpu.hbm_bandwidth_gb_s", 0, true, &c.hbm_bandwidth_gb_s));
  ISOFLOP_RETURN_IF_ERROR(ReadNumber(root, path, "gpu.power_w", 0, true, &c.gpu_power_w));
  ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "gpus_per_node", 1, &c.gpus_per_node));
  ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "nodes", 1, &c.nodes));
  ISOFLOP_RETURN_IF_ERROR(
      ReadNumber(root, path, "network.intra_node_gb_s", 0, true, &c.intra_node_bandwidth_gb_s));
  ISOFLOP_RETURN_IF_ERROR(
      ReadNumber(root, path, "network.inter_node_gb_s", 0, true, &c.inter_node_bandwidth_gb_s));
  ISOFLOP_RETURN_IF_ERROR(
      ReadNumber(root, path, "price_usd_per_gpu_hour", 0, false, &c.price_usd_per_gpu_hour));
  ISOFLOP_RETURN_IF_ERROR(ReadNumber(root, path, "pue", 1, false, &c.pue));
  ISOFLOP_RETURN_IF_ERROR(ReadNumber(root, path, "grid_gco2_per_kwh", 0, false, &c.grid_gco2_per_kwh));
  // Optional keys; each absent one takes its documented default (FillDefaults).
  ISOFLOP_RETURN_IF_ERROR(ReadOptionalNumber(root, path, "gpu.matmul_tflops", 0, true, &c.matmul_tflops));
  double sm_count = 0, nvlink_domain = 0;
  ISOFLOP_RETURN_IF_ERROR(ReadOptionalNumber(root, path, "gpu.sm_count", 1, false, &sm_count));
  ISOFLOP_RETURN_IF_ERROR(ReadOptionalNumber(root, path, "gpu.idle_power_w", 0, false, &c.idle_power_w));
  ISOFLOP_RETURN_IF_ERROR(ReadOptionalNumber(root, path, "node.host_power_w", 0, false, &c.host_power_w_per_node));
  ISOFLOP_RETURN_IF_ERROR(
      ReadOptionalNumber(root, path, "network.power_w_per_node", 0, false, &c.network_power_w_per_node));
  ISOFLOP_RETURN_IF_ERROR(ReadOptionalNumber(root, path, "network.nvlink_domain_gpus", 1, false, &nvlink_domain));
  ISOFLOP_RETURN_IF_ERROR(
      ReadOptionalNumber(root, path, "network.intra_node_latency_us", 0, false, &c.intra_node_latency_us));
  ISOFLOP_RETURN_IF_ERROR(
      ReadOptionalNumber(root, path, "network.inter_node_latency_us", 0, false, &c.inter_node_latency_us));
  ISOFLOP_RETURN_IF_ERROR(ReadOptionalNumber(root, path, "network.collective_base_latency_us", 0, false,
                                             &c.collective_base_latency_us));
  if (sm_count != std::floor(sm_count) || nvlink_domain != std::floor(nvlink_domain))
    return FieldError(path, sm_count != std::floor(sm_count) ? "gpu.sm_count" : "network.nvlink_domain_gpus",
                      "must be an integer");
  c.sm_count = static_cast<int>(sm_count);
  c.nvlink_domain_gpus = static_cast<int>(nvlink_domain);
  c.FillDefaults();
  std::string error;
  if (!c.IsValid(&error)) return WithFieldLine(path, root, error);
  return c;
}

static StatusOr<ModelShape> LoadModelYamlOrThrow(const std::string& path) {
  auto root_or = ParseFile(path);
  if (!root_or.ok()) return root_or.status();
  const YAML::Node& root = *root_or;
  // Keys documented in docs/planner.md ("Model files"), the run-config model keys of
  // docs/interfaces.md.
  ISOFLOP_RETURN_IF_ERROR(CheckKeys(
      root, path, "",
      {"layers", "d_model", "heads", "kv_heads", "ffn", "vocab", "seq_len", "mlp", "norm", "position", "biases",
       "tied_embeddings", "experts", "experts_per_token", "shared_experts", "expert_ffn", "moe_layer_every"}));
  ModelShape m;
  ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "layers", 1, &m.layers));
  ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "d_model", 1, &m.d_model));
  ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "heads", 1, &m.heads));
  if (root["kv_heads"]) {
    ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "kv_heads", 1, &m.kv_heads));
  } else {
    m.kv_heads = m.heads;
  }
  if (root["ffn"]) {
    ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "ffn", 1, &m.ffn));
  } else {
    m.ffn = 4 * m.d_model;
  }
  ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "vocab", 1, &m.vocab));
  ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "seq_len", 1, &m.seq_len));
  if (root["mlp"]) {
    const std::string mlp = root["mlp"].IsScalar() ? root["mlp"].Scalar() : "";
    if (mlp == "gelu") {
      m.mlp = Mlp::kGelu;
    } else if (mlp == "swiglu") {
      m.mlp = Mlp::kSwiglu;
    } else {
      return FieldError(path, "mlp", "must be gelu or swiglu (got '" + mlp + "')", root["mlp"]);
    }
  }
  // Architecture details (common/model_shape.h): absent means the mlp family's default.
  if (root["norm"]) {
    auto norm = ParseNorm(root["norm"].IsScalar() ? root["norm"].Scalar() : "");
    if (!norm.ok()) return FieldError(path, "norm", "must be rmsnorm or layernorm", root["norm"]);
    m.norm = *norm;
  }
  if (root["position"]) {
    const std::string p = root["position"].IsScalar() ? root["position"].Scalar() : "";
    if (p == "rope") {
      m.position = Position::kRope;
    } else if (p == "learned") {
      m.position = Position::kLearned;
    } else {
      return FieldError(path, "position", "must be rope or learned (got '" + p + "')", root["position"]);
    }
  }
  for (const char* key : {"biases", "tied_embeddings"}) {
    if (!root[key]) continue;
    bool value = false;
    if (!root[key].IsScalar() || !YAML::convert<bool>::decode(root[key], value)) {
      return FieldError(path, key, "must be true or false", root[key]);
    }
    (std::string(key) == "biases" ? m.biases : m.tied_embeddings) = value;
  }
  // Mixture of experts (common/model_shape.h): absent means dense (and every layer MoE).
  if (root["experts"]) ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "experts", 0, &m.experts));
  if (root["experts_per_token"])
    ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "experts_per_token", 1, &m.experts_per_token));
  if (root["shared_experts"]) ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "shared_experts", 0, &m.shared_experts));
  if (root["expert_ffn"]) ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "expert_ffn", 1, &m.expert_ffn));
  if (root["moe_layer_every"])
    ISOFLOP_RETURN_IF_ERROR(ReadInt(root, path, "moe_layer_every", 1, &m.moe_layer_every));
  std::string error;
  if (!m.IsValid(&error)) return WithFieldLine(path, root, error);
  return m;
}

StatusOr<ClusterSpec> LoadClusterYaml(const std::string& path) {
  return NoThrow(path, [&] { return LoadClusterYamlOrThrow(path); });
}

StatusOr<ModelShape> LoadModelYaml(const std::string& path) {
  return NoThrow(path, [&] { return LoadModelYamlOrThrow(path); });
}

Status SaveModelYaml(const ModelShape& shape, const std::string& path) {
  std::string error;
  if (!shape.IsValid(&error)) return Status::InvalidArgument("model shape: " + error);
  return WriteFileAtomically(path, shape.ToYaml());
}

}  // namespace isoflop::planner
