// Issue 12 item 2: every Megatron-LM argument set `isoflop plan --launch megatron` emits for the
// shipped clusters at 1e22, 1e24 and 3.8e25 FLOPs (Epoch's law) passes Megatron's own argument
// rules, ported from NVIDIA/Megatron-LM @ d98e8a64 (megatron/training/arguments.py validate_args,
// TransformerConfig, the micro-batch calculator: planner/src/megatron_validate.cc), and each ported
// rule refuses the argument set that breaks it.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <utility>
#include <vector>

#include "isoflop/engines.h"
#include "isoflop/fit_record.h"
#include "isoflop/planner.h"

using namespace isoflop::planner;

namespace {

PlanSummary MegatronPlan(const std::string& cluster, double budget, std::vector<BatchRampStage> ramp = {}) {
  auto c = LoadClusterYaml(std::string(ISOFLOP_SOURCE_DIR) + "/configs/clusters/" + cluster + ".yaml");
  EXPECT_TRUE(c.ok());
  PlanOptions o;
  o.budget = budget;
  o.batch_ramp = std::move(ramp);
  o.accept = EngineLayoutFilter(Engine::kMegatron, c->gpus_per_node);
  o.engine = "megatron";
  auto law = isoflop::LoadLaw("epoch");
  PlanSummary s;
  const isoflop::Status st = Plan(o, *law, *c, &s);
  EXPECT_TRUE(st.ok()) << cluster << " " << budget << ": " << st.ToString();
  return s;
}

LaunchOptions Launch() {
  LaunchOptions o;
  o.engine = Engine::kMegatron;
  o.dir = "/tmp/isoflop-megatron-args-test";
  return o;
}

std::string Value(const MegatronArgs& a, const std::string& flag) {
  const std::string* v = a.Find(flag);
  return v ? *v : "<absent>";
}

MegatronArgs With(MegatronArgs a, const std::string& flag, const std::string& value) {
  for (auto& [f, v] : a.flags)
    if (f == flag) {
      v = value;
      return a;
    }
  a.flags.emplace_back(flag, value);
  return a;
}

MegatronArgs Without(MegatronArgs a, const std::string& flag) {
  std::erase_if(a.flags, [&](const auto& fv) { return fv.first == flag; });
  return a;
}

void ExpectRefused(const MegatronArgs& a, const std::string& rule) {
  const isoflop::Status st = ValidateMegatronArgs(a);
  ASSERT_FALSE(st.ok()) << "expected rule " << rule << " to refuse:\n" << a.Text();
  EXPECT_NE(st.message().find("(" + rule), std::string::npos) << st.message();
}

}  // namespace

TEST(MegatronArgs, EveryEmittedSetPassesMegatronsRules) {
  for (const char* cluster : {"h100-sxm", "a100-80gb", "h200", "b200", "gb200-nvl72"}) {
    for (double budget : {1e22, 1e24, 3.8e25}) {
      SCOPED_TRACE(std::string(cluster) + " at " + std::to_string(budget));
      const PlanSummary plan = MegatronPlan(cluster, budget);
      ASSERT_FALSE(plan.layouts.ranked.empty());
      const ParallelConfig& c = plan.layouts.ranked.front().config;
      auto args = BuildMegatronArgs(plan, Launch());
      ASSERT_TRUE(args.ok()) << args.status().ToString();
      const isoflop::Status valid = ValidateMegatronArgs(*args);
      EXPECT_TRUE(valid.ok()) << valid.ToString() << "\n" << args->Text();
      // The arguments say what the plan says.
      EXPECT_EQ(args->world_size, c.gpus());
      EXPECT_EQ(Value(*args, "--num-layers"), std::to_string(plan.shape.layers));
      EXPECT_EQ(Value(*args, "--hidden-size"), std::to_string(plan.shape.d_model));
      EXPECT_EQ(Value(*args, "--ffn-hidden-size"), std::to_string(plan.shape.effective_ffn()));
      EXPECT_EQ(Value(*args, "--tensor-model-parallel-size"), std::to_string(c.tp));
      EXPECT_EQ(Value(*args, "--pipeline-model-parallel-size"), std::to_string(c.pp));
      EXPECT_EQ(Value(*args, "--context-parallel-size"), std::to_string(c.cp));
      EXPECT_EQ(Value(*args, "--micro-batch-size"), std::to_string(c.micro_batch));
      EXPECT_EQ(Value(*args, "--global-batch-size"), std::to_string(plan.batch.sequences));
      EXPECT_EQ(args->Has("--sequence-parallel"), c.tp > 1);
      EXPECT_EQ(args->Has("--use-distributed-optimizer"), c.zero == 1);
      EXPECT_TRUE(args->Has("--swiglu"));
      EXPECT_EQ(Value(*args, "--position-embedding-type"), "rope");
      EXPECT_EQ(Value(*args, "--save"), Value(*args, "--load"));
      // Train iterations cover the plan's tokens with at most one step to spare.
      const double step_tokens = static_cast<double>(c.global_batch) * plan.shape.seq_len;
      const long long iters = std::stoll(Value(*args, "--train-iters"));
      EXPECT_GE(iters * step_tokens, plan.train_tokens);
      EXPECT_LT((iters - 1) * step_tokens, plan.train_tokens);
      const long long save = std::stoll(Value(*args, "--save-interval"));
      EXPECT_GE(save, 1);
      EXPECT_LE(save, iters);
      EXPECT_NEAR(std::stod(Value(*args, "--lr")), plan.batch.peak_lr, plan.batch.peak_lr * 1e-5);
    }
  }
}

TEST(MegatronArgs, EachPortedRuleRefusesTheSetThatBreaksIt) {
  const PlanSummary plan = MegatronPlan("h100-sxm", 1e24);
  auto built = BuildMegatronArgs(plan, Launch());
  ASSERT_TRUE(built.ok());
  // A base set with TP 8, PP 4 and GQA so that every rule has something to bite on.
  MegatronArgs a = *built;
  a = With(a, "--num-layers", "96");
  a = With(a, "--hidden-size", "12288");
  a = With(a, "--num-attention-heads", "96");
  a = With(a, "--group-query-attention", "");
  a = With(a, "--num-query-groups", "8");
  a = With(a, "--tensor-model-parallel-size", "8");
  a = With(a, "--pipeline-model-parallel-size", "4");
  a = With(a, "--context-parallel-size", "1");
  a = With(a, "--sequence-parallel", "");
  a = With(a, "--micro-batch-size", "1");
  a = With(a, "--global-batch-size", "1024");
  a = With(With(With(a, "--use-distributed-optimizer", ""), "--overlap-grad-reduce", ""),
           "--overlap-param-gather", "");
  a = Without(Without(a, "--decoder-first-pipeline-num-layers"), "--decoder-last-pipeline-num-layers");
  a = Without(Without(a, "--num-virtual-stages-per-pipeline-rank"),
              "--num-layers-per-virtual-pipeline-stage");
  a = Without(Without(Without(a, "--recompute-granularity"), "--recompute-method"), "--recompute-num-layers");
  a.world_size = 8 * 4 * 16;  // DP 16
  ASSERT_TRUE(ValidateMegatronArgs(a).ok()) << ValidateMegatronArgs(a).ToString();

  MegatronArgs b = a;
  b.world_size = 8 * 4 * 16 + 8;
  ExpectRefused(b, "A 427");                                       // world size by TP x PP x CP
  ExpectRefused(With(a, "--global-batch-size", "1000"), "C 380");  // gb by mb x DP
  ExpectRefused(With(a, "--micro-batch-size", "0"), "A 694");
  ExpectRefused(With(a, "--num-layers", "98"), "A 997");                            // layers by PP
  ExpectRefused(With(a, "--num-layers-per-virtual-pipeline-stage", "5"), "A 972");  // 24 per rank by 5
  ExpectRefused(With(With(a, "--num-layers-per-virtual-pipeline-stage", "6"),
                     "--num-virtual-stages-per-pipeline-rank", "4"),
                "A 927");
  ExpectRefused(With(With(a, "--num-layers-per-virtual-pipeline-stage", "6"),
                     "--decoder-first-pipeline-num-layers", "20"),
                "A 955");
  MegatronArgs pp2 =
      With(With(a, "--pipeline-model-parallel-size", "2"), "--num-layers-per-virtual-pipeline-stage", "8");
  pp2.world_size = 8 * 2 * 16;
  ExpectRefused(pp2, "A 1006");  // interleaving needs PP > 2
  EXPECT_TRUE(ValidateMegatronArgs(With(a, "--num-layers-per-virtual-pipeline-stage", "6")).ok());
  // Uneven stages: 96 = 22 + 26 + 26 + 22 passes; 21 + 27 + 27 + 21 with VPP 2 does not.
  MegatronArgs uneven =
      With(With(a, "--decoder-first-pipeline-num-layers", "22"), "--decoder-last-pipeline-num-layers", "22");
  EXPECT_TRUE(ValidateMegatronArgs(uneven).ok()) << ValidateMegatronArgs(uneven).ToString();
  ExpectRefused(With(uneven, "--decoder-first-pipeline-num-layers", "23"), "T 2347");  // 51 middle on 2
  ExpectRefused(With(With(uneven, "--decoder-first-pipeline-num-layers", "21"),
                     "--num-virtual-stages-per-pipeline-rank", "2"),
                "T 2297");
  ExpectRefused(With(a, "--num-attention-heads", "100"), "A 1332");  // hidden by heads
  ExpectRefused(With(a, "--hidden-size", "12300"), "A 1332");
  MegatronArgs heads = With(With(a, "--num-attention-heads", "36"), "--hidden-size", "4608");
  ExpectRefused(With(heads, "--num-query-groups", "4"), "T 1446");  // 36 heads on TP 8
  ExpectRefused(With(a, "--num-query-groups", "12"), "T 1461");     // 12 groups vs TP 8
  ExpectRefused(Without(a, "--group-query-attention"), "argument_utils.py 330");
  ExpectRefused(With(With(a, "--num-query-groups", "16"), "--num-attention-heads", "24"), "attention.py 357");
  MegatronArgs cp = With(With(a, "--context-parallel-size", "2"), "--seq-length", "2049");
  cp = With(cp, "--max-position-embeddings", "4096");
  cp.world_size = 8 * 4 * 2 * 8;
  ExpectRefused(cp, "A 1336");  // seq by 2 x CP
  ExpectRefused(With(a, "--max-position-embeddings", "1024"), "A 1354");
  ExpectRefused(With(a, "--min-lr", "1"), "A 1360");
  ExpectRefused(Without(a, "--save-interval"), "A 1362");
  ExpectRefused(With(With(a, "--recompute-granularity", "selective"), "--recompute-method", "uniform"),
                "A 1425");
  ExpectRefused(With(a, "--recompute-granularity", "full"), "T 1913");
  ExpectRefused(With(With(With(a, "--recompute-granularity", "full"), "--recompute-method", "uniform"),
                     "--recompute-num-layers", "25"),
                "T 1919");  // more than the 24 layers of a pipeline rank
  ExpectRefused(Without(a, "--use-distributed-optimizer"), "A 1025");  // --overlap-param-gather needs it
  MegatronArgs tp1 = With(a, "--tensor-model-parallel-size", "1");
  tp1.world_size = 4 * 16;
  ExpectRefused(tp1, "M 503");  // sequence parallel needs TP > 1
  ExpectRefused(With(Without(a, "--sequence-parallel"), "--tp-comm-overlap", ""), "A 1442");
  ExpectRefused(Without(a, "--vocab-size"), "build_tokenizer.py 101");
  ExpectRefused(With(a, "--num-layers", "9x"), "argparse");
}

// A batch ramp (--batch-ramp) becomes Megatron's step schedule (--step-batch-size-schedule, thresholds
// in tokens, num_microbatches_calculator.py @ d98e8a64) with sample-based training, and passes the
// ported rules; each schedule rule refuses the set that breaks it.
TEST(MegatronArgs, ABatchRampIsAStepScheduleWithSampleBasedTraining) {
  const PlanSummary plan = MegatronPlan("h100-sxm", 1e24, {{0.25, 0.02}, {0.5, 0.03}});
  ASSERT_EQ(plan.batch.ramp_sequences.size(), 2u);
  const ParallelConfig& c = plan.layouts.ranked.front().config;
  auto built = BuildMegatronArgs(plan, Launch());
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  const MegatronArgs& a = *built;
  const isoflop::Status valid = ValidateMegatronArgs(a);
  EXPECT_TRUE(valid.ok()) << valid.ToString() << "\n" << a.Text();
  EXPECT_FALSE(a.Has("--global-batch-size"));
  EXPECT_FALSE(a.Has("--train-iters"));
  EXPECT_FALSE(a.Has("--lr-decay-iters"));
  EXPECT_FALSE(a.Has("--lr-warmup-iters"));
  const long long seq = plan.shape.seq_len;
  const long long samples = std::stoll(Value(a, "--train-samples"));
  EXPECT_GE(static_cast<double>(samples * seq), plan.train_tokens);
  EXPECT_LT(static_cast<double>((samples - 1) * seq), plan.train_tokens);
  EXPECT_EQ(Value(a, "--lr-decay-samples"), std::to_string(samples));
  EXPECT_EQ(Value(a, "--lr-warmup-samples"),
            std::to_string(std::min(2000LL * c.global_batch, samples / 100)));
  // 0 : a quarter of the batch; 2% of the samples : half; 5% : the whole batch. Thresholds are whole
  // samples written in tokens.
  const long long at1 = std::llround(0.02 * samples), at2 = std::llround(0.05 * samples);
  EXPECT_EQ(Value(a, "--step-batch-size-schedule"),
            "0:" + std::to_string(plan.batch.ramp_sequences[0]) + "," + std::to_string(at1 * seq) + ":" +
                std::to_string(plan.batch.ramp_sequences[1]) + "," + std::to_string(at2 * seq) + ":" +
                std::to_string(c.global_batch));
  EXPECT_EQ(plan.batch.ramp_sequences[0] * 4, c.global_batch);
  EXPECT_EQ(plan.batch.ramp_sequences[1] * 2, c.global_batch);
  EXPECT_EQ(Value(a, "--step-batch-size-schedule").find(' '), std::string::npos);  // one word for $(cat)
  // The launch's step count (sbatch header, save interval) is the iterations Megatron runs for these
  // arguments: its update_train_iters loop (training.py @ d98e8a64) over the emitted schedule.
  std::vector<std::pair<long long, long long>> schedule;
  std::stringstream entries(Value(a, "--step-batch-size-schedule"));
  for (std::string e; std::getline(entries, e, ',');)
    schedule.emplace_back(std::stoll(e.substr(0, e.find(':'))) / seq, std::stoll(e.substr(e.find(':') + 1)));
  long long iterations = 0;
  for (long long consumed = 0; consumed < samples; ++iterations) {
    long long batch = schedule[0].second;
    for (const auto& [at, b] : schedule)
      if (consumed >= at) batch = b;
    consumed += batch;
  }
  EXPECT_EQ(PlanLaunch(plan, Launch()).train_iters, iterations);
  EXPECT_GT(iterations,
            static_cast<long long>(std::ceil(plan.train_tokens / (double(c.global_batch) * seq))));

  // Each rule refuses the set that breaks it.
  ExpectRefused(With(a, "--global-batch-size", std::to_string(c.global_batch)), "A 698");
  ExpectRefused(With(a, "--step-batch-size-schedule", "0:512,x:1024"), "C 518");
  ExpectRefused(
      With(a, "--step-batch-size-schedule", std::to_string(seq) + ":" + std::to_string(c.global_batch)),
      "C 541");
  // 2 x seq - 1 tokens is 1 sample: the same threshold twice after Megatron's integer division.
  ExpectRefused(With(a, "--step-batch-size-schedule",
                     "0:" + std::to_string(c.global_batch) + "," + std::to_string(seq) + ":" +
                         std::to_string(c.global_batch) + "," + std::to_string(2 * seq - 1) + ":" +
                         std::to_string(c.global_batch)),
                "C 546");
  ExpectRefused(With(a, "--step-batch-size-schedule", "0:0"), "C 556");
  const long long micro_dp = static_cast<long long>(c.micro_batch) * (a.world_size / (c.tp * c.pp * c.cp));
  ExpectRefused(With(a, "--step-batch-size-schedule",
                     "0:" + std::to_string(micro_dp + 1) + "," + std::to_string(1000 * seq) + ":" +
                         std::to_string(c.global_batch)),
                "C 584");
  ExpectRefused(With(a, "--train-iters", "100"), "A 1294");
  ExpectRefused(With(a, "--lr-decay-iters", "100"), "A 1296");
  ExpectRefused(With(a, "--lr-warmup-iters", "10"), "A 1298");
  ExpectRefused(Without(a, "--train-samples"), "training.py 2586");
}
