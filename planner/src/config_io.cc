// Cluster and model files (YAML through yaml-cpp). Every error names the file and the field.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "isoflop/planner.h"

namespace isoflop::planner {
namespace {

// Reads `key` (dotted: "gpu.peak_bf16_tflops") from `root`; null node when absent.
YAML::Node Lookup(const YAML::Node& root, const std::string& dotted) {
  YAML::Node node = YAML::Clone(root);
  std::stringstream ss(dotted);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node next = node[part];
    if (!next.IsDefined() || next.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
    node = next;
  }
  return node;
}

Status FieldError(const std::string& path, const std::string& field, const std::string& problem) {
  return Status::InvalidArgument(path + ": field '" + field + "' " + problem);
}

// A required positive number (or >= 0 / >= 1 as `min_inclusive`, strict when `strict`).
Status ReadNumber(const YAML::Node& root, const std::string& path, const std::string& field, double min,
                  bool strict, double* out) {
  YAML::Node node = Lookup(root, field);
  if (!node.IsDefined()) return FieldError(path, field, "is missing");
  if (!node.IsScalar()) return FieldError(path, field, "must be a number");
  double value = 0;
  try {
    value = node.as<double>();
  } catch (const YAML::Exception&) {
    return FieldError(path, field, "must be a number (got '" + node.Scalar() + "')");
  }
  if (!std::isfinite(value)) return FieldError(path, field, "must be finite");
  if (strict ? !(value > min) : !(value >= min)) {
    std::ostringstream msg;
    msg << "must be " << (strict ? "> " : ">= ") << min << " (got " << node.Scalar() << ")";
    return FieldError(path, field, msg.str());
  }
  *out = value;
  return Status::OK();
}

Status ReadInt(const YAML::Node& root, const std::string& path, const std::string& field, int min, int* out) {
  double value = 0;
  ISOFLOP_RETURN_IF_ERROR(ReadNumber(root, path, field, min, false, &value));
  if (value != std::floor(value) || value > 1e9) return FieldError(path, field, "must be an integer");
  *out = static_cast<int>(value);
  return Status::OK();
}

StatusOr<YAML::Node> ParseFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(path + ": no such file");
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) return Status::InvalidArgument(path + ": expected a YAML mapping of key: value");
    return root;
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax: " + e.msg);
  } catch (const YAML::Exception& e) {
    return Status::IOError(path + ": " + e.what());
  }
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
  return true;
}

StatusOr<ClusterSpec> LoadClusterYaml(const std::string& path) {
  auto root_or = ParseFile(path);
  if (!root_or.ok()) return root_or.status();
  const YAML::Node& root = *root_or;
  ClusterSpec c;
  c.path = path;
  c.name = root["name"] && root["name"].IsScalar() ? root["name"].Scalar()
                                                   : std::filesystem::path(path).stem().string();
  YAML::Node model = Lookup(root, "gpu.model");
  if (!model.IsDefined() || !model.IsScalar()) return FieldError(path, "gpu.model", "is missing");
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
  std::string error;
  if (!c.IsValid(&error)) return Status::InvalidArgument(error);
  return c;
}

StatusOr<ModelShape> LoadModelYaml(const std::string& path) {
  auto root_or = ParseFile(path);
  if (!root_or.ok()) return root_or.status();
  const YAML::Node& root = *root_or;
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
      return FieldError(path, "mlp", "must be gelu or swiglu (got '" + mlp + "')");
    }
  }
  std::string error;
  if (!m.IsValid(&error)) return Status::InvalidArgument(path + ": " + error);
  return m;
}

Status SaveModelYaml(const ModelShape& shape, const std::string& path) {
  std::string error;
  if (!shape.IsValid(&error)) return Status::InvalidArgument("model shape: " + error);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status::IOError(path + ": cannot open for writing");
    out << shape.ToYaml();
    if (!out.flush()) return Status::IOError(path + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IOError(path + ": rename failed: " + ec.message());
  return Status::OK();
}

}  // namespace isoflop::planner
