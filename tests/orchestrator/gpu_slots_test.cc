// GPU slots of the local backend (spec `local.gpus`): each running run gets its own GPU ids in
// CUDA_VISIBLE_DEVICES, disjoint from every other running run's, freed when it ends; a run never
// starts without its GPUs. This machine has no GPU: what is tested is the assignment, recorded by
// the stand-in trainer (fake_trainer.sh writes CUDA_VISIBLE_DEVICES and its start/end times to
// RUN_DIR/fake_gpus), not any use of a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "isoflop/orchestrator.h"
#include "test_util.h"

namespace isoflop::orchestrator {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::string GpuSpec(const std::string& out_dir, const std::string& gpu_pool, int gpus_per_run) {
  return "name: gpus\nbackend: local\nout_dir: \"" + out_dir + "\"\ndata: \"" + testing::ShardsDir() +
         "\"\nbudgets_flops: [1e13]\n"
         "models:\n"
         "  - {layers: 2, d_model: 32, heads: 2}\n"
         "  - {layers: 2, d_model: 64, heads: 2}\n"
         "  - {layers: 4, d_model: 64, heads: 2}\n"
         "  - {layers: 4, d_model: 128, heads: 4}\n"
         "  - {layers: 6, d_model: 128, heads: 4}\n"
         "train:\n  vocab: 256\n  seq_len: 64\n  fake_sleep_s: 1\n"
         "trainer_command: [\"" ISOFLOP_FAKE_TRAINER
         "\"]\n"
         "retry: {max_attempts: 3, backoff_s: 0.05, backoff_max_s: 0.2}\n"
         "local: {slots: 4, gpus: " +
         gpu_pool + "}\nresources: {cpus: 1, gpus: " + std::to_string(gpus_per_run) +
         ", mem_mb: 256, time_limit_min: 5}\n";
}

struct Holding {
  std::string run;
  double start = 0, end = 0;
  std::vector<int> ids;
  std::string raw;  // CUDA_VISIBLE_DEVICES as the trainer saw it
};

// RUN_DIR/fake_gpus: "start T IDS" and "end T" lines, one pair per attempt.
std::vector<Holding> ReadHoldings(const RunStatus& run) {
  std::vector<Holding> out;
  std::istringstream in(ReadFile(run.run_dir + "/fake_gpus"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string what;
    double t = 0;
    ls >> what >> t;
    if (what == "start") {
      Holding h;
      h.run = run.name;
      h.start = t;
      ls >> h.raw;
      std::istringstream ids(h.raw);
      for (std::string id; std::getline(ids, id, ',');) h.ids.push_back(std::stoi(id));
      out.push_back(h);
    } else if (what == "end" && !out.empty()) {
      out.back().end = t;
    }
  }
  return out;
}

Status Submit(const std::string& dir, const std::string& text, const std::string& db) {
  WriteFile(dir + "/s.yaml", text);
  auto spec = ParseSweepSpec(dir + "/s.yaml");
  if (!spec.ok()) return spec.status();
  SubmitOptions o;
  o.db_path = db;
  auto s = SubmitSweep(*spec, o);
  return s.ok() ? Status::OK() : s.status();
}

TEST(DaemonLocalGpuSlotsTest, EachRunningRunHoldsItsOwnGpusAndFreesThemWhenItEnds) {
  TempDir dir;
  std::string db = dir / "state.db";
  // 4 GPUs, 2 per run: at most two of the five runs at once, although local.slots allows four.
  ASSERT_TRUE(Submit(dir.path(), GpuSpec(dir / "runs", "[0, 1, 2, 3]", 2), db).ok());
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->runs.size(), 5u);
  EXPECT_EQ(report->counts["done"], 5) << report->ToText();

  std::vector<Holding> all;
  for (const RunStatus& r : report->runs) {
    auto h = ReadHoldings(r);
    ASSERT_EQ(h.size(), 1u) << r.name << ": " << ReadFile(r.run_dir + "/fake_gpus");
    ASSERT_EQ(h[0].ids.size(), 2u) << r.name << " got CUDA_VISIBLE_DEVICES=" << h[0].raw;
    EXPECT_NE(h[0].ids[0], h[0].ids[1]) << r.name;
    for (int id : h[0].ids) EXPECT_TRUE(id >= 0 && id <= 3) << r.name << " got GPU " << id;
    EXPECT_GT(h[0].end, h[0].start) << r.name;
    all.push_back(h[0]);
  }
  // Runs that were alive at the same time never shared a GPU, and no more than two were alive at once.
  int overlapping_pairs = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      bool overlap = all[i].start < all[j].end && all[j].start < all[i].end;
      if (!overlap) continue;
      ++overlapping_pairs;
      for (int id : all[i].ids) {
        EXPECT_EQ(std::count(all[j].ids.begin(), all[j].ids.end(), id), 0)
            << all[i].run << " and " << all[j].run << " both held GPU " << id;
      }
    }
  }
  for (const Holding& h : all) {
    int alive = 0;
    for (const Holding& o : all) alive += (o.start <= h.start && h.start < o.end) ? 1 : 0;
    EXPECT_LE(alive, 2) << "at " << h.run << "'s start";
  }
  // Two ran side by side (the pool was shared, not serialised), and the GPUs were handed on:
  // five runs of two GPUs each from a pool of four means ids were freed and reused.
  EXPECT_GE(overlapping_pairs, 1);
}

TEST(DaemonLocalGpuSlotsTest, ARunAskingForNoGpuSeesNone) {
  TempDir dir;
  std::string db = dir / "state.db";
  ASSERT_TRUE(Submit(dir.path(), GpuSpec(dir / "runs", "[0, 1]", 0), db).ok());
  ASSERT_EQ(testing::RunDaemonToIdle(db, dir / "daemon.log"), 0) << ReadFile(dir / "daemon.log");
  auto report = GetStatus(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->counts["done"], 5) << report->ToText();
  for (const RunStatus& r : report->runs) {
    auto h = ReadHoldings(r);
    ASSERT_EQ(h.size(), 1u) << r.name;
    EXPECT_EQ(h[0].raw, "") << r.name;  // CUDA_VISIBLE_DEVICES set, and empty
  }
}

TEST(DaemonLocalGpuSlotsTest, SpecErrorsNameTheField) {
  TempDir dir;
  // More GPUs per run than the pool has: the run could never start, so the spec is bad input.
  auto too_many = ParseSweepSpecText(GpuSpec(dir / "runs", "[0, 1]", 3), "s.yaml");
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("resources.gpus"), std::string::npos)
      << too_many.status().message();
  auto twice = ParseSweepSpecText(GpuSpec(dir / "runs", "[0, 0]", 1), "s.yaml");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("local.gpus[1]"), std::string::npos) << twice.status().message();
  auto negative = ParseSweepSpecText(GpuSpec(dir / "runs", "[-1]", 1), "s.yaml");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("local.gpus[0]"), std::string::npos)
      << negative.status().message();
  auto ok = ParseSweepSpecText(GpuSpec(dir / "runs", "[3, 5]", 2), "s.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->local_gpus, (std::vector<int>{3, 5}));
}

}  // namespace
}  // namespace isoflop::orchestrator
