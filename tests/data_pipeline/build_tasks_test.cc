// The build as stages of tasks (what `--backend slurm --tasks N` runs, here in this process):
// the same bytes as the one-process build for any number of tasks, in any task order, and a
// task that died half-way (its partial files left behind) reruns to the same bytes. The real
// Slurm run, with a SIGKILLed task, is tests/orchestrator/data_build_slurm_test.cc.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "isoflop/data_pipeline.h"
#include "temp_dir.h"
#include "test_corpus.h"

namespace isoflop::data {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files[e.path().filename().string()] = testing::ReadFile(e.path().string());
  }
  return files;
}

class BuildTasks : public ::testing::Test {
 protected:
  void SetUp() override {
    // Three inputs: two plain JSONL files (cut into several tasks at line starts) and a gzip
    // one (never cut), with exact and near duplicates across them.
    auto docs = testing::AustenDocuments(120);
    std::vector<std::string> a, b;
    std::string c;
    for (size_t i = 0; i < docs.size(); ++i) {
      auto& out = i % 3 == 0 ? b : a;
      out.push_back(testing::JsonlRecord("d" + std::to_string(i), docs[i]));
      if (i % 7 == 0) b.push_back(testing::JsonlRecord("dup" + std::to_string(i), docs[i]));
      if (i % 5 == 0) {
        auto words = testing::SplitWords(docs[i]);
        words[words.size() / 2] = "notes";
        c += testing::JsonlRecord("near" + std::to_string(i), testing::JoinWords(words)) + "\n";
      }
    }
    a.push_back("{not json");
    testing::WriteLines(dir_.Join("a.jsonl"), a);
    testing::WriteLines(dir_.Join("b.jsonl"), b);
    gzFile gz = gzopen(dir_.Join("c.jsonl.gz").c_str(), "wb");
    gzwrite(gz, c.data(), static_cast<unsigned>(c.size()));
    gzclose(gz);
  }
  BuildOptions Options(const std::string& out) {
    BuildOptions o;
    o.inputs = {dir_.Join("a.jsonl"), dir_.Join("b.jsonl"), dir_.Join("c.jsonl.gz")};
    o.out_dir = dir_.Join(out);
    o.report_path = dir_.Join(out + "-dropped.jsonl");
    o.progress = false;
    o.tokenizer.vocab_size = 400;
    o.tokenizer.max_train_bytes = 60000;  // a sample of the kept text, not all of it
    o.val_fraction = 0.2;
    o.max_tokens_per_shard = 15000;  // several shards, split across assemble tasks
    return o;
  }
  // Runs a distributed build in this process: each stage's tasks in reverse order.
  void RunTasks(StagedBuild& build, int threads) {
    for (const BuildStageInfo& stage : build.stages()) {
      for (int t = stage.tasks - 1; t >= 0; --t) {
        Status s = RunBuildTask(build.work_dir(), stage.name, t, threads);
        ASSERT_TRUE(s.ok()) << stage.name << " " << t << ": " << s.ToString();
        EXPECT_TRUE(build.TaskDone(stage.name, t));
      }
    }
  }
  testing::TempDir dir_;
};

TEST_F(BuildTasks, AnyNumberOfTasksGivesTheOneProcessBytes) {
  auto one = BuildDataset(Options("one"));
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_GT(one->counters.at("exact_dup"), 0);
  EXPECT_GT(one->counters.at("near_dup"), 0);
  EXPECT_EQ(one->counters.at("invalid_records"), 1);
  EXPECT_LE(one->counters.at("tokenizer_train_bytes"), 60000 + 20000);
  const auto expected = Files(dir_.Join("one"));
  ASSERT_GE(expected.size(), 6u);  // index, manifest, tokenizer, ≥ 3 shards
  for (int tasks : {2, 4, 7}) {
    const std::string out = "tasks" + std::to_string(tasks);
    auto build = StagedBuild::Prepare(Options(out), tasks, /*resume=*/true);
    ASSERT_TRUE(build.ok()) << build.status().ToString();
    EXPECT_GE((*build)->stages().front().tasks, 2) << "scan tasks: the input groups";
    RunTasks(**build, tasks % 2 + 1);
    auto summary = (*build)->Commit();
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    EXPECT_EQ(summary->counters, one->counters) << tasks << " tasks";
    auto files = Files(dir_.Join(out));
    ASSERT_EQ(files.size(), expected.size()) << tasks << " tasks";
    for (const auto& [name, bytes] : expected)
      EXPECT_TRUE(files[name] == bytes) << name << " differs, " << tasks << " tasks";
    EXPECT_EQ(testing::ReadFile(dir_.Join(out + "-dropped.jsonl")),
              testing::ReadFile(dir_.Join("one-dropped.jsonl")));
    EXPECT_FALSE(fs::exists(dir_.Join(out + "/.isoflop-build")));
  }
}

TEST_F(BuildTasks, ATaskKilledHalfWayRerunsToTheSameBytes) {
  auto one = BuildDataset(Options("one"));
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  auto build = StagedBuild::Prepare(Options("killed"), 3, /*resume=*/true);
  ASSERT_TRUE(build.ok()) << build.status().ToString();
  const std::string work = (*build)->work_dir();
  for (const BuildStageInfo& stage : (*build)->stages()) {
    for (int t = 0; t < stage.tasks; ++t) {
      ASSERT_TRUE(RunBuildTask(work, stage.name, t, 2).ok());
      if (t != 0) continue;
      // A killed attempt of this task: its done marker gone, an output truncated, a stray
      // temporary file of another attempt. The rerun starts over.
      fs::remove(work + "/" + stage.name + "/00000.done");
      for (const auto& e : fs::directory_iterator(work + "/" + stage.name)) {
        if (e.path().filename().string().starts_with("00000.") && e.is_regular_file() &&
            fs::file_size(e.path()) > 8) {
          fs::resize_file(e.path(), fs::file_size(e.path()) / 2);
        }
      }
      std::ofstream(work + "/" + stage.name + "/00000.docs.tmp.999999") << "partial";
      ASSERT_TRUE(RunBuildTask(work, stage.name, 0, 1).ok()) << stage.name;
    }
  }
  // A finished task is not run again.
  const auto before = fs::last_write_time(work + "/scan/00000.done");
  ASSERT_TRUE(RunBuildTask(work, "scan", 0, 1).ok());
  EXPECT_EQ(fs::last_write_time(work + "/scan/00000.done"), before);
  auto summary = (*build)->Commit();
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  auto expected = Files(dir_.Join("one")), files = Files(dir_.Join("killed"));
  ASSERT_EQ(files.size(), expected.size());
  for (const auto& [name, bytes] : expected) EXPECT_TRUE(files[name] == bytes) << name << " differs";
}

TEST_F(BuildTasks, AResumedBuildKeepsItsFinishedTasksAndAChangedOneStartsOver) {
  {
    auto build = StagedBuild::Prepare(Options("resume"), 2, /*resume=*/true);
    ASSERT_TRUE(build.ok()) << build.status().ToString();
    ASSERT_TRUE(RunBuildTask((*build)->work_dir(), "scan", 0, 1).ok());
  }  // the driver stops here (killed): the work directory stays
  auto again = StagedBuild::Prepare(Options("resume"), 2, /*resume=*/true);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->TaskDone("scan", 0));
  EXPECT_FALSE((*again)->TaskDone("scan", 1));
  again->reset();
  BuildOptions changed = Options("resume");
  changed.tokenizer.vocab_size = 500;
  auto other = StagedBuild::Prepare(changed, 2, /*resume=*/true);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_FALSE((*other)->TaskDone("scan", 0)) << "another build's tasks must not be reused";
  EXPECT_TRUE(RunBuildTask((*other)->work_dir(), "nosuch", 0, 1).code() == Status::Code::kInvalidArgument);
  EXPECT_TRUE(RunBuildTask((*other)->work_dir(), "scan", 9, 1).code() == Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace isoflop::data
