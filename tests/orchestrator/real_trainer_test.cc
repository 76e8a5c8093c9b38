// The loop with the REAL trainer (isoflop-train, libtorch on CPU) on the local backend: five
// 12K-83K-parameter GPTs at two budgets on byte-level shards of tests/data/trainer_corpus_gpl3.txt, launched by the
// daemon, every summary.json ingested, the law refitted on the ten results.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isoflop/orchestrator.h"
#include "isoflop/shard_writer.h"
#include "store.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;

void WriteCorpusShards(const std::string& dir) {
  std::string text = ReadFile(std::string(ISOFLOP_TEST_DATA_DIR) + "/trainer_corpus_gpl3.txt");
  ASSERT_FALSE(text.empty());
  std::vector<std::vector<uint32_t>> docs;
  std::vector<std::string> splits;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("\n\n", start);
    if (end == std::string::npos) end = text.size();
    std::vector<uint32_t> doc;
    for (size_t i = start; i < end; ++i) doc.push_back(static_cast<unsigned char>(text[i]));
    if (!doc.empty()) {
      splits.push_back(docs.size() % 8 == 7 ? "val" : "train");
      docs.push_back(std::move(doc));
    }
    start = end + 2;
  }
  data::ShardWriterOptions o;
  o.out_dir = dir;
  o.vocab_size = 256;
  o.eos_id = 0;
  o.max_tokens_per_shard = 8192;
  auto summary = data::WriteShards(o, docs, splits);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
}

TEST(RealTrainerTest, TheDaemonRunsIsoflopTrainAndRefitsOnItsSummaries) {
  TempDir dir;
  WriteCorpusShards(dir / "shards");
  std::string spec =
      "name: real\nbackend: local\nout_dir: \"" + dir / "runs" + "\"\ndata: \"" + dir / "shards" +
      "\"\nbudgets_flops: [1e9, 3e9]\n"
      "models:\n"
      "  - {layers: 1, d_model: 32, heads: 2}\n"
      "  - {layers: 2, d_model: 32, heads: 2}\n"
      "  - {layers: 1, d_model: 48, heads: 2}\n"
      "  - {layers: 2, d_model: 48, heads: 2}\n"
      "  - {layers: 3, d_model: 48, heads: 2}\n"
      "train:\n  vocab: 256\n  seq_len: 32\n  batch_tokens: 256\n  micro_batch: 8\n  lr: 0.01\n"
      "  warmup_steps: 5\n  log_every: 5\n  eval_every: 1000\n  eval_batches: 2\n"
      "  checkpoint_every: 1000\n  seed: 7\n"
      "trainer_command: [\"" ISOFLOP_TRAIN_BINARY
      "\", \"--threads\", \"1\"]\n"
      "local: {slots: 2}\n";
  testing::WriteFile(dir / "s.yaml", spec);
  auto parsed = ParseSweepSpec(dir / "s.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  SubmitOptions o;
  o.db_path = dir / "state.db";
  ASSERT_TRUE(SubmitSweep(*parsed, o).ok());
  ASSERT_EQ(testing::RunDaemonToIdle(o.db_path, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(o.db_path);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->counts["done"], 10)
      << report->ToText() << ReadFile(report->runs[0].run_dir + "/train.log");
  for (const RunStatus& r : report->runs) {
    auto summary = nlohmann::json::parse(ReadFile(r.run_dir + "/summary.json"));
    EXPECT_EQ(*r.final_eval_loss, summary["final_eval_loss"].get<double>()) << r.name;
    EXPECT_GT(r.last_step, 0) << r.name;  // metrics.jsonl ingested
    EXPECT_EQ(r.corrupt_lines, 0) << r.name;
  }
  auto status = nlohmann::json::parse(report->ToJson());
  // The daemon refitted on all 10 summaries. Ten tiny runs of the real trainer may not identify the
  // law (e.g. alpha <= 0): then that refit is kept flagged (fit_error) and the current fit is the last
  // valid one, never the unusable law.
  auto db = Database::Open(o.db_path, false);
  ASSERT_TRUE(db.ok());
  auto q = (*db)->Prepare("SELECT MAX(n_runs) FROM fits");
  ASSERT_TRUE(q.ok() && (*q)->Step());
  EXPECT_EQ((*q)->Int(0), 10) << report->ToText();
  ASSERT_TRUE(status["fit"].is_object()) << report->ToText();
  if (status["fit"]["n_points"] != 10) {
    ASSERT_TRUE(status.contains("fit_error")) << report->ToText();
    EXPECT_NE(status["fit_error"].get<std::string>().find("refit on 10 runs"), std::string::npos);
  }
  EXPECT_TRUE(status["plan"].is_object()) << report->ToText();
}

}  // namespace
}  // namespace isoflop::orchestrator
