// The model half of a plan: the law at the budget (isoflop::PredictAtBudget), whether the budget is
// within the law's evidence (isoflop::CheckEvidence), the law's N convention and vocabulary, and a
// shape near N_opt counted in that convention. `isoflop plan` and the orchestrator's re-plan both
// run it (docs/planner.md, "The plan knows its evidence").
#include <algorithm>
#include <cmath>

#include "isoflop/planner.h"
#include "planner_internal.h"

namespace isoflop::planner {
namespace {

// Shapes near n in the law's convention; small models fall back to narrower steps (64, 32, 16 wide)
// and, for sweep-sized plans (thousands of parameters), to the wider aspect range the orchestrator's
// sweeps use (d_model / layers in [8, 256]; Kaplan et al. 2020, Fig. 5: loss is flat over it), then
// to a 10% tolerance.
std::vector<ModelShape> FindShapes(double n, const ShapeSearchOptions& options) {
  std::vector<ModelShape> shapes = ShapesForParams(n, options);
  for (int width : {64, 32, 16}) {
    if (!shapes.empty()) break;
    ShapeSearchOptions finer = options;
    finer.width_multiple = width;
    finer.head_dim = width;
    shapes = ShapesForParams(n, finer);
    if (shapes.empty()) {
      finer.min_aspect = 8;
      shapes = ShapesForParams(n, finer);
    }
    if (shapes.empty() && width == 16) {
      // Thousands of parameters: 16-wide steps are coarse (one layer of d 48 vs 64 is 28K vs 49K), so
      // the nearest shape within 10% (the plan then trains it on C / (6 N_shape) tokens).
      finer.tolerance = 0.10;
      shapes = ShapesForParams(n, finer);
    }
  }
  return shapes;
}

double ShapeParams(const ModelShape& m, ParamsConvention convention) {
  return convention == ParamsConvention::kNonEmbedding ? m.ParamsNonEmbedding() : m.ParamsTotal();
}

}  // namespace

bool ModelPlanOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& what) {
    if (error) *error = what;
    return false;
  };
  if (vocab < 0) return fail("vocab must be >= 1 (0: the fit's vocabulary)");
  if (seq_len < 1) return fail("seq_len must be >= 1");
  if (tp_divisor < 1) return fail("tp_divisor must be >= 1");
  if (!(unique_tokens >= 0) || !std::isfinite(unique_tokens)) return fail("unique tokens must be >= 0");
  if (!(inference_tokens >= 0) || !std::isfinite(inference_tokens))
    return fail("inference tokens must be >= 0");
  std::string evidence_error;
  if (!evidence.IsValid(&evidence_error)) return fail("evidence options: " + evidence_error);
  return true;
}

StatusOr<ModelPlan> PlanModel(const FitRecord& record, double budget_flops, const ModelPlanOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  const std::string source = record.provenance.source.empty() ? "the law" : record.provenance.source;
  if (!record.has_law) return Status::InvalidArgument(source + ": holds no law to plan with");
  if (!record.law.IsValid(&error)) return Status::InvalidArgument(source + ": " + error);
  const ScalingLaw& law = record.law;
  if (options.inference_tokens > 0 && !law.HasLoss())
    return Status::InvalidArgument(source + ": --inference-tokens needs a law that predicts loss; a " +
                                   LawFormName(law.form) + " law (" + FitMethodName(record.method) +
                                   ") gives only N_opt and D_opt (fit with --method approach3)");
  if (options.inference_tokens > 0 && options.unique_tokens > 0)
    return Status::InvalidArgument("--inference-tokens and --unique-tokens cannot be planned together yet");

  ModelPlan m;
  auto prediction = PredictAtBudget(record, budget_flops, options.unique_tokens);
  if (!prediction.ok()) return prediction.status();
  m.prediction = *prediction;
  m.evidence = CheckEvidence(record, m.prediction, options.evidence);
  m.extrapolated = !m.evidence.supported;
  if (m.extrapolated && !options.allow_extrapolation)
    return Status::InvalidArgument("outside the evidence: " + DescribeProvenance(record) + ": " +
                                   m.evidence.reason +
                                   ". Plan a budget the sweep supports, add runs at larger budgets, or pass "
                                   "--allow-extrapolation to plan anyway (the plan is then flagged)");

  // N convention and vocabulary: the law's own, so the shape counts N the way the runs did.
  m.convention = record.provenance.params_convention == ParamsConvention::kNonEmbedding
                     ? ParamsConvention::kNonEmbedding
                     : ParamsConvention::kTotal;
  m.vocab = options.vocab;
  m.vocab_source = "--vocab";
  if (m.vocab == 0 && record.provenance.vocab > 0) {
    m.vocab = record.provenance.vocab;
    m.vocab_source = "fit.json";
  } else if (m.vocab == 0) {
    m.vocab = kDefaultVocab;
    m.vocab_source = "default";
  }

  double n_target = m.prediction.params_opt;
  if (options.inference_tokens > 0) {
    // Sardana et al. 2024 held to the budget: the lifetime-optimal model among those costing
    // exactly the budget to train (InferenceAwareAtBudget; docs/planner.md §1, "Inference").
    auto split = InferenceAwareAtBudget(ChinchillaForm{law.E, law.A, law.B, law.alpha, law.beta}, budget_flops,
                                        options.inference_tokens);
    if (!split.ok()) return split.status();
    m.inference = *split;
    n_target = split->params;
  }
  ShapeSearchOptions shape_options;
  shape_options.vocab = m.vocab;
  shape_options.convention = m.convention;
  shape_options.seq_len = options.seq_len;
  shape_options.mlp = options.mlp;
  shape_options.tp_divisor = options.tp_divisor;
  if (options.trainer_architecture) {
    const ModelShape trainer = AsTrainerBuilds(ModelShape{});
    shape_options.norm = trainer.norm;
    shape_options.position = trainer.position;
    shape_options.biases = trainer.biases;
    shape_options.tied_embeddings = trainer.tied_embeddings;
  }
  std::vector<ModelShape> shapes = FindShapes(n_target, shape_options);
  if (shapes.empty()) {
    // The search spans ~1e7 (one layer, d_model 128, with the embedding) to ~1e14 parameters (512
    // layers, d_model 131072): which end was missed decides the message (1e308 FLOPs is not "too small").
    if (!(n_target < 1e9)) {
      return Status::InvalidArgument("budget of " + internal::FormatFlops(budget_flops) +
                                     " FLOPs is too large: its compute-optimal model (" +
                                     internal::FormatCount(n_target) +
                                     " parameters) is larger than any transformer the shape search can build "
                                     "(at most 512 layers and d_model 131072)");
    }
    return Status::InvalidArgument("budget of " + internal::FormatFlops(budget_flops) +
                                   " FLOPs is too small: its compute-optimal model (" +
                                   internal::FormatCount(n_target) + " parameters, " +
                                   ParamsConventionName(m.convention) +
                                   ") is smaller than any transformer with vocab " + std::to_string(m.vocab) +
                                   " the shape search can build");
  }
  m.shape = shapes.front();
  m.alternative_shapes.assign(shapes.begin() + 1, shapes.end());
  m.shape_params = ShapeParams(m.shape, m.convention);
  return m;
}

}  // namespace isoflop::planner
