// `isoflop serve-perf`: parse flags, call the planner's serving model, print.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "isoflop/planner.h"
#include "isoflop/serving.h"

namespace isoflop::cli {
namespace {

using namespace isoflop::planner;

struct ServeFlags {
  std::string model, cluster, precision = "bf16", validate, clusters_dir = "configs/clusters";
  int context = 4096, batch = 1, output_tokens = 0, tp = 0, pp = 0, int4_group_size = 128;
  double kv_bytes = 2;
  bool all_precisions = false, quantize_output = false, calibrate = false, json = false;
};

int RunServePerf(const ServeFlags& f) {
  ServeOptions options;
  if (!f.validate.empty()) {
    auto rows = LoadPublishedServing(f.validate);
    if (!rows.ok()) return ReportError("serve-perf", rows.status());
    if (f.calibrate) {
      auto fitted = CalibrateServing(*rows, f.clusters_dir, options);
      if (!fitted.ok()) return ReportError("serve-perf", fitted.status());
      options = *fitted;
      std::printf(
          "calibrated on the calibration rows: decode_bandwidth_efficiency %.4f, layer_overhead_us bf16 "
          "%.2f int8 %.2f int4 %.2f, allreduce_base_us %.2f, allreduce_per_peer_us %.3f\n\n",
          options.decode_bandwidth_efficiency, options.layer_overhead_us[0], options.layer_overhead_us[1],
          options.layer_overhead_us[2], options.allreduce_base_us, options.allreduce_per_peer_us);
    }
    auto results = ValidateServing(*rows, f.clusters_dir, options);
    if (!results.ok()) return ReportError("serve-perf", results.status());
    double worst[2] = {0, 0};
    int disagree = 0;
    for (const auto& v : *results) {
      if (!std::isnan(v.error))
        worst[v.row.held_out() ? 1 : 0] = std::max(worst[v.row.held_out() ? 1 : 0], std::abs(v.error));
      if (!v.fit_agrees) ++disagree;
    }
    std::printf(
        "%sworst |predicted/published - 1|: calibration rows %.1f%%, held-out rows %.1f%%; fit/OOM "
        "disagreements: %d\n",
        ServingValidationMarkdown(*results).c_str(), worst[0] * 100, worst[1] * 100, disagree);
    return kExitOk;
  }
  if (f.model.empty())
    return ReportError("serve-perf", Status::InvalidArgument("--model is required (or --validate CSV)"));
  if (f.cluster.empty()) return ReportError("serve-perf", Status::InvalidArgument("--cluster is required"));
  auto model = LoadModelYaml(f.model);
  if (!model.ok()) return ReportError("serve-perf", model.status());
  auto cluster = LoadClusterYaml(f.cluster);
  if (!cluster.ok()) return ReportError("serve-perf", cluster.status());
  auto precision = ParsePrecision(f.precision);
  if (!precision.ok()) return ReportError("serve-perf", precision.status());
  options.precision = *precision;
  options.context = f.context;
  options.batch = f.batch;
  options.output_tokens = f.output_tokens;
  options.tp = f.tp;
  options.pp = f.pp;
  options.int4_group_size = f.int4_group_size;
  options.quantize_output_layer = f.quantize_output;
  options.kv_cache_bytes = f.kv_bytes;
  if (f.all_precisions) {
    auto rows = EvaluateServingPrecisions(*model, *cluster, options);
    if (!rows.ok()) return ReportError("serve-perf", rows.status());
    std::printf("%s\n", f.json ? ServingJson(*rows).c_str() : ServingTable(*rows).c_str());
    return kExitOk;
  }
  ServeSummary summary;
  Status st = EvaluateServing(*model, *cluster, options, &summary);
  if (!st.ok()) return ReportError("serve-perf", st);
  summary.model_name = model->name.empty() ? f.model : model->name;
  std::printf("%s\n", f.json ? summary.ToJson().c_str() : summary.FullReport().c_str());
  if (!summary.fits)
    return ReportError("serve-perf",
                       Status::FailedPrecondition("the replica does not fit: " + summary.fit_reason));
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, CommandContext& ctx) {
  auto flags = std::make_shared<ServeFlags>();
  auto* serve =
      app.add_subcommand("serve-perf",
                         "Predict what serving a model costs: GPUs per replica, memory per GPU (weights at "
                         "bf16/int8/int4, KV cache,\n"
                         "activations), decode and prefill tokens/s from a roofline of the decode step, $ "
                         "and kWh per million tokens\n"
                         "(docs/planner.md, \"Serving\").\n"
                         "Examples:\n"
                         "  isoflop serve-perf --model configs/models/llama2-70b.yaml --cluster "
                         "configs/clusters/h100-sxm.yaml \\\n"
                         "      --precision int4 --context 4096 --batch 8\n"
                         "  isoflop serve-perf --model configs/models/llama2-70b.yaml --cluster "
                         "configs/clusters/h100-sxm.yaml \\\n"
                         "      --context 2048 --batch 1 --all-precisions\n"
                         "  isoflop serve-perf --model configs/models/llama3-405b.yaml --cluster "
                         "configs/clusters/h100-sxm.yaml \\\n"
                         "      --precision int8 --context 8192 --batch 16 --json\n"
                         "  isoflop serve-perf --validate tests/data/serving_published.csv\n"
                         "  isoflop serve-perf --validate tests/data/serving_published.csv --calibrate");
  serve->add_option("--model", flags->model, "model YAML (configs/models/)");
  serve->add_option("--cluster", flags->cluster, "cluster YAML (configs/clusters/)");
  serve
      ->add_option("--precision", flags->precision,
                   "weights: bf16 | int8 | int4 (weight-only, bf16 activations)")
      ->capture_default_str();
  serve->add_flag("--all-precisions", flags->all_precisions, "bf16, int8 and int4 side by side");
  serve->add_option("--context", flags->context, "tokens in each sequence's KV cache (prompt + output)")
      ->capture_default_str();
  serve->add_option("--batch", flags->batch, "sequences decoded together on one replica")
      ->capture_default_str();
  serve
      ->add_option("--output-tokens", flags->output_tokens,
                   "generated tokens per request (0: every decode step at the full context)")
      ->capture_default_str();
  serve->add_option("--tp", flags->tp, "tensor parallel (0: the fewest GPUs that fit)")
      ->capture_default_str();
  serve->add_option("--pp", flags->pp, "pipeline stages (0: the fewest GPUs that fit)")
      ->capture_default_str();
  serve->add_option("--int4-group-size", flags->int4_group_size, "weights per int4 scale/zero group")
      ->capture_default_str();
  serve->add_flag("--quantize-output-layer", flags->quantize_output,
                  "quantise the output (logits) layer too (gpt-fast does; AWQ/GPTQ keep it in 16 bits)");
  serve->add_option("--kv-bytes", flags->kv_bytes, "bytes per cached K/V element: 2 (bf16) or 1 (fp8/int8)")
      ->capture_default_str();
  serve->add_option("--validate", flags->validate,
                    "evaluate every published run in this CSV and print predicted vs published");
  serve->add_flag("--calibrate", flags->calibrate,
                  "with --validate: refit the constants on the calibration rows first and print them");
  serve
      ->add_option("--clusters-dir", flags->clusters_dir,
                   "with --validate: where each row's cluster file lives")
      ->capture_default_str();
  serve->add_flag("--json", flags->json, "print JSON");
  serve->callback([flags, &ctx] { ctx.exit_code = RunServePerf(*flags); });
}

}  // namespace isoflop::cli
