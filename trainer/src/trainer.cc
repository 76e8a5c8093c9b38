// Train(): the loop, data parallel, checkpoints, metrics. See docs/trainer.md.
#include <ATen/autocast_mode.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "device_monitor.h"
#include "gpt_model.h"
#include "isoflop/file_util.h"
#include "isoflop/token_reader.h"
#include "isoflop/trainer.h"

#if ISOFLOP_HAVE_GLOO
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if ISOFLOP_HAVE_TCPSTORE
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if ISOFLOP_WITH_CUDA
#include "nccl_communicator.h"
#endif

namespace isoflop::trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---------------------------------------------------------------------------------------
// Signals: SIGTERM (Slurm's preemption and time-limit warning) and SIGUSR1 (Slurm's
// --signal) ask for a checkpoint and a clean exit; the loop polls the flag between steps.
std::atomic<int> g_stop_signal{0};
extern "C" void OnStopSignal(int sig) {
  g_stop_signal.store(sig);
}

class SignalGuard {
 public:
  explicit SignalGuard(bool install) : installed_(install) {
    if (!installed_) return;
    g_stop_signal.store(0);
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGUSR1, &sa, &old_usr1_);
  }
  ~SignalGuard() {
    if (!installed_) return;
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGUSR1, &old_usr1_, nullptr);
  }

 private:
  bool installed_;
  struct sigaction old_term_ {
  }, old_usr1_{};
};

// ---------------------------------------------------------------------------------------
// Files: every file the orchestrator reads is replaced atomically (temp, fsync, rename, fsync of
// the directory; common/include/isoflop/file_util.h), so a crash leaves the old or the new
// version, never a torn one.
using isoflop::RenameIntoPlace;
using isoflop::WriteFileAtomically;

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";  // JSON has no NaN/inf
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// ---------------------------------------------------------------------------------------
// Collectives: sum-all-reduce of tensors over ranks. Gloo on CPU (Debian's libtorch has
// it), NCCL on CUDA (trainer/cuda/nccl_communicator.cc).
class Collective {
 public:
  virtual ~Collective() = default;
  virtual Status AllReduceSum(torch::Tensor& t) = 0;  // in place, contiguous tensor
};

#if ISOFLOP_HAVE_GLOO
class GlooCollective : public Collective {
 public:
  GlooCollective(const std::string& file, int rank, int world)
      : GlooCollective(c10::make_intrusive<c10d::FileStore>(file, world), rank, world) {}
  GlooCollective(c10::intrusive_ptr<c10d::Store> store, int rank, int world) {
    auto opts = c10d::ProcessGroupGloo::Options::create();
    opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, opts);
  }
  Status AllReduceSum(torch::Tensor& t) override {
    std::vector<torch::Tensor> v{t};
    pg_->allreduce(v)->wait();
    return Status::OK();
  }

 private:
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
};
#endif

#if ISOFLOP_WITH_CUDA
class NcclCollective : public Collective {
 public:
  explicit NcclCollective(std::unique_ptr<cuda::NcclCommunicator> comm) : comm_(std::move(comm)) {}
  Status AllReduceSum(torch::Tensor& t) override {
    cuda::ElementType type = cuda::ElementType::kFloat32;
    if (t.scalar_type() == torch::kFloat64) type = cuda::ElementType::kFloat64;
    if (t.scalar_type() == torch::kInt64) type = cuda::ElementType::kInt64;
    if (t.scalar_type() == torch::kBFloat16) type = cuda::ElementType::kBFloat16;
    return comm_->AllReduceSum(t.data_ptr(), static_cast<size_t>(t.numel()), type, /*stream=*/nullptr);
  }

 private:
  std::unique_ptr<cuda::NcclCommunicator> comm_;
};
#endif

// Averages the gradients over ranks in flat buckets of about 25 MiB (the size
// PyTorch's DistributedDataParallel uses), one all-reduce per bucket.
Status AllReduceMeanGradients(Collective& coll, const std::vector<torch::Tensor>& params, int world) {
  constexpr int64_t kBucketBytes = 25 << 20;
  std::vector<torch::Tensor> bucket;
  int64_t bytes = 0;
  auto flush = [&]() -> Status {
    if (bucket.empty()) return Status::OK();
    std::vector<torch::Tensor> flat_parts;
    for (auto& g : bucket) flat_parts.push_back(g.reshape({-1}));
    auto flat = torch::cat(flat_parts);
    ISOFLOP_RETURN_IF_ERROR(coll.AllReduceSum(flat));
    flat.div_(world);
    int64_t offset = 0;
    for (auto& g : bucket) {
      g.copy_(flat.slice(0, offset, offset + g.numel()).view_as(g));
      offset += g.numel();
    }
    bucket.clear();
    bytes = 0;
    return Status::OK();
  };
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    bucket.push_back(p.grad());
    bytes += p.grad().numel() * static_cast<int64_t>(p.grad().element_size());
    if (bytes >= kBucketBytes) ISOFLOP_RETURN_IF_ERROR(flush());
  }
  return flush();
}

// ---------------------------------------------------------------------------------------
void SetAutocastBf16(bool on) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(at::kCUDA, on);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
  at::autocast::set_enabled(on);
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

std::string EnvString(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

#if ISOFLOP_HAVE_TCPSTORE
// torchrun's rendezvous (torch/distributed/run.py, env:// initialisation): a TCP store at
// MASTER_ADDR:MASTER_PORT, hosted by rank 0 — or by torchrun's agent itself when it sets
// TORCHELASTIC_USE_AGENT_STORE=True (PyTorch >= 2.3) — under a prefix of this restart.
StatusOr<c10::intrusive_ptr<c10d::Store>> TorchrunStore(int rank, int world) {
  const std::string host = EnvString("MASTER_ADDR");
  const int port = EnvInt("MASTER_PORT", 0);
  if (port <= 0 || port > 65535)
    return Status::InvalidArgument("MASTER_PORT '" + EnvString("MASTER_PORT") + "' is not a port");
  const bool agent_store = EnvString("TORCHELASTIC_USE_AGENT_STORE") == "True";
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(port);
  opts.isServer = rank == 0 && !agent_store;
  if (opts.isServer) opts.numWorkers = static_cast<std::size_t>(world);
  opts.waitWorkers = false;
  opts.timeout = std::chrono::minutes(10);
  try {
    c10::intrusive_ptr<c10d::Store> tcp = c10::make_intrusive<c10d::TCPStore>(host, opts);
    const std::string prefix = "isoflop/" + EnvString("TORCHELASTIC_RUN_ID") + "/" +
                               std::to_string(EnvInt("TORCHELASTIC_RESTART_COUNT", 0));
    return c10::intrusive_ptr<c10d::Store>(c10::make_intrusive<c10d::PrefixStore>(prefix, tcp));
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot reach the rendezvous at MASTER_ADDR:MASTER_PORT = " + host + ":" +
                               std::to_string(port) + ": " + e.what());
  }
}
#endif

// What a checkpoint holds besides the model and optimiser tensors.
struct Progress {
  int64_t step = 0;  // completed optimiser steps
  double first_loss = NAN;
  double min_loss = INFINITY;  // running minimum for the divergence test
  double last_loss = NAN;
  double last_eval = -1;
  double wall_time_s = 0;  // accumulated over attempts
  double energy_j = 0;     // accumulated over attempts
};

// One trainer per run directory (issue 15, finding 2): rank 0 holds an exclusive flock(2) on
// RUN_DIR/trainer.lock for its whole life, so a second trainer started in the same directory (an
// orphan's retry, a user's second command) stops before it touches checkpoint.pt or metrics.jsonl.
// The kernel drops the lock when the process ends, however it ends.
class RunDirLock {
 public:
  RunDirLock() = default;
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;
  ~RunDirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Acquire(const std::string& dir) {
    const std::string path = (fs::path(dir) / "trainer.lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::IOError(path + ": cannot open: " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      return Status::FailedPrecondition(dir + ": another trainer is running in this run directory (" + path +
                                        " is locked); one trainer per run directory");
    }
    return Status::OK();
  }

 private:
  int fd_ = -1;
};

class Run {
 public:
  explicit Run(const TrainOptions& o) : opt_(o) {}
  StatusOr<TrainSummary> Go();

 private:
  Status Setup();
  Status LoadCheckpoint();
  Status SaveCheckpoint();
  Status TruncateMetrics();
  StatusOr<double> Evaluate();
  Status AppendMetrics(const std::string& line);
  Status WriteSummary(const std::string& status);
  Status AllReduceScalars(std::vector<double>* values);  // sums
  torch::Tensor NextBatch(data::TokenReader& reader, std::vector<int32_t>& buf, int64_t batch);
  TrainSummary MakeSummary(RunOutcome outcome, const std::string& message);

  TrainOptions opt_;
  RunConfig cfg_;
  int rank_ = 0, world_ = 1, local_rank_ = 0;
  torch::Device device_{torch::kCPU};
  bool cuda_ = false;
  std::string ckpt_path_, metrics_path_, summary_path_;
  std::unique_ptr<data::TokenReader> train_reader_, eval_reader_;
  std::shared_ptr<GptModel> model_;
  std::unique_ptr<torch::optim::AdamW> optim_;
  std::unique_ptr<Collective> coll_;
  std::unique_ptr<DeviceMonitor> monitor_;
  RunDirLock dir_lock_;
  Progress prog_;
  int64_t total_steps_ = 0, accum_ = 0;
  double peak_flops_ = 0;
  FlopsPerToken fpt_;
  ParamCounts params_;
  double tokens_per_s_ = 0, mfu_ = 0;  // of the last logged window
  double attempt_train_s_ = 0;         // training steps of this attempt (no eval, no checkpoints)
  double attempt_tokens_ = 0;
  Clock::time_point attempt_start_;
  double energy_at_attempt_start_j_ = 0;
};

Status Run::Setup() {
  auto cfg = ReadRunConfig(opt_.config_path);
  if (!cfg.ok()) return cfg.status();
  cfg_ = *cfg;

  // Flags; else torchrun's RANK / WORLD_SIZE / LOCAL_RANK (set for each worker it starts, so they
  // win over the Slurm task that runs torchrun); else srun's SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID.
  world_ = opt_.world_size > 0 ? opt_.world_size : EnvInt("WORLD_SIZE", EnvInt("SLURM_NTASKS", 1));
  rank_ = opt_.rank >= 0 ? opt_.rank : EnvInt("RANK", EnvInt("SLURM_PROCID", 0));
  local_rank_ = opt_.local_rank >= 0 ? opt_.local_rank : EnvInt("LOCAL_RANK", EnvInt("SLURM_LOCALID", rank_));
  if (world_ < 1 || rank_ < 0 || rank_ >= world_) {
    return Status::InvalidArgument(
        "rank " + std::to_string(rank_) + " / world size " + std::to_string(world_) +
        " (from flags, RANK/WORLD_SIZE or SLURM_PROCID/SLURM_NTASKS) is not a valid pair");
  }
  std::string error;
  if (!cfg_.IsValid(&error, world_)) return Status::InvalidArgument(opt_.config_path + ": " + error);
  accum_ = cfg_.accumulation_steps(world_);
  total_steps_ = cfg_.steps(world_);
  if (opt_.threads > 0) torch::set_num_threads(opt_.threads);

  if (opt_.device == "cuda") {
    if (!torch::cuda::is_available()) {
      return Status::InvalidArgument("--device cuda: this libtorch has no CUDA or no GPU is visible");
    }
    cuda_ = true;
    device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank_));
  }

  std::error_code ec;
  fs::create_directories(opt_.out_dir, ec);
  if (ec) return Status::IOError(opt_.out_dir + ": cannot create the run directory: " + ec.message());
  if (rank_ == 0) ISOFLOP_RETURN_IF_ERROR(dir_lock_.Acquire(opt_.out_dir));
  ckpt_path_ = (fs::path(opt_.out_dir) / "checkpoint.pt").string();
  metrics_path_ = (fs::path(opt_.out_dir) / "metrics.jsonl").string();
  summary_path_ = (fs::path(opt_.out_dir) / "summary.json").string();

  // Data: the reader names the shard file at fault; any failure here is bad input.
  data::TokenReaderOptions ro;
  ro.shards_dir = opt_.data_dir;
  ro.split = "train";
  ro.batch_size = cfg_.micro_batch;
  ro.seq_len = cfg_.model.seq_len;
  ro.seed = cfg_.seed;
  ro.rank = rank_;
  ro.world_size = world_;
  auto train = data::TokenReader::Open(ro);
  if (!train.ok())
    return Status::InvalidArgument("--data " + opt_.data_dir + ": " + train.status().message());
  train_reader_ = std::move(*train);
  const int64_t shard_vocab = train_reader_->vocab_size();
  if (cfg_.model.vocab == 0) {
    cfg_.model.vocab = shard_vocab;
  } else if (cfg_.model.vocab < shard_vocab) {
    return Status::InvalidArgument(opt_.config_path + ": vocab (" + std::to_string(cfg_.model.vocab) +
                                   ") is smaller than the shards' vocabulary (" +
                                   std::to_string(shard_vocab) + ") in " + opt_.data_dir + "/index.tsv");
  }
  if (cfg_.eval_batches > 0) {
    ro.split = "val";
    auto eval = data::TokenReader::Open(ro);
    if (!eval.ok()) {
      return Status::InvalidArgument(
          "--data " + opt_.data_dir +
          " (split val, needed because eval_batches > 0): " + eval.status().message());
    }
    eval_reader_ = std::move(*eval);
  }

  // Model and optimiser.
  model_ = std::make_shared<GptModel>(cfg_.model, cfg_.seed);
  model_->to(device_);
  params_ = CountParams(cfg_.model);
  int64_t actual = 0;
  for (const auto& p : model_->parameters()) actual += p.numel();
  if (actual != params_.total) {
    return Status::Internal("CountParams says " + std::to_string(params_.total) +
                            " parameters, the model has " + std::to_string(actual));
  }
  fpt_ = TrainingFlopsPerToken(cfg_.model);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto group_opts = [&](double wd) {
    auto o = std::make_unique<torch::optim::AdamWOptions>(cfg_.lr);
    o->betas({cfg_.beta1, cfg_.beta2}).eps(cfg_.adam_eps).weight_decay(wd);
    return o;
  };
  groups.emplace_back(model_->decay_params(), group_opts(cfg_.weight_decay));
  groups.emplace_back(model_->no_decay_params(), group_opts(0.0));
  optim_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(cfg_.lr));

  // Data parallel.
  if (world_ > 1) {
    std::string rdv = opt_.rendezvous;
    // torchrun: meet at MASTER_ADDR:MASTER_PORT (no shared filesystem needed) unless --rendezvous.
    const bool torchrun =
        rdv.empty() && !EnvString("MASTER_ADDR").empty() && !EnvString("MASTER_PORT").empty();
#if ISOFLOP_HAVE_TCPSTORE
    if (torchrun) {
      auto store = TorchrunStore(rank_, world_);
      if (!store.ok()) return store.status();
      if (cuda_) {
#if ISOFLOP_WITH_CUDA
        c10::intrusive_ptr<c10d::Store> s = *store;
        auto exchange = [s](bool publish, std::string* id) -> Status {
          try {
            if (publish) {
              s->set("nccl_unique_id", std::vector<uint8_t>(id->begin(), id->end()));
            } else {
              auto bytes = s->get("nccl_unique_id");  // blocks until rank 0 has set it
              id->assign(bytes.begin(), bytes.end());
            }
            return Status::OK();
          } catch (const std::exception& e) {
            return Status::Unavailable(std::string("NCCL id through the torchrun store: ") + e.what());
          }
        };
        auto comm = cuda::NcclCommunicator::Create(exchange, rank_, world_, local_rank_);
        if (!comm.ok()) return comm.status();
        coll_ = std::make_unique<NcclCollective>(std::move(*comm));
#else
        return Status::FailedPrecondition(
            "multi-GPU data parallel needs a build with -DISOFLOP_WITH_CUDA=ON (NCCL)");
#endif
      } else {
#if ISOFLOP_HAVE_GLOO
        coll_ = std::make_unique<GlooCollective>(*store, rank_, world_);
#else
        return Status::FailedPrecondition(
            "multi-rank CPU runs need libtorch with Gloo (c10d) and the gloo headers");
#endif
      }
    }
#else
    if (torchrun) {
      return Status::FailedPrecondition(
          "MASTER_ADDR/MASTER_PORT are set but this libtorch has no c10d TCPStore: pass --rendezvous FILE");
    }
#endif
    if (!coll_ && rdv.empty()) {
      const char* job = std::getenv("SLURM_JOB_ID");
      rdv = (fs::path(opt_.out_dir) / ("rendezvous-" + std::string(job ? job : "local") + "-" +
                                       std::to_string(EnvInt("SLURM_RESTART_COUNT", 0))))
                .string();
    }
    if (coll_) {
      // met through torchrun's store above
    } else if (cuda_) {
#if ISOFLOP_WITH_CUDA
      auto comm = cuda::NcclCommunicator::Create(rdv, rank_, world_, local_rank_);
      if (!comm.ok()) return comm.status();
      coll_ = std::make_unique<NcclCollective>(std::move(*comm));
#else
      return Status::FailedPrecondition(
          "multi-GPU data parallel needs a build with -DISOFLOP_WITH_CUDA=ON (NCCL)");
#endif
    } else {
#if ISOFLOP_HAVE_GLOO
      coll_ = std::make_unique<GlooCollective>(rdv, rank_, world_);
#else
      return Status::FailedPrecondition(
          "multi-rank CPU runs need libtorch with Gloo (c10d) and the gloo headers");
#endif
    }
  }

  monitor_ = std::make_unique<DeviceMonitor>(cuda_ ? local_rank_ : -1);
  peak_flops_ = cfg_.peak_flops_per_s;
  if (peak_flops_ <= 0 && cuda_) peak_flops_ = DeviceMonitor::DatasheetPeakFlops(monitor_->device_name());
  if (peak_flops_ <= 0) {
    // Nominal CPU fp32 peak: 32 FLOP/cycle per core (two 8-wide AVX2 FMA units) at 2.5 GHz.
    const int cores = opt_.threads > 0 ? opt_.threads : torch::get_num_threads();
    peak_flops_ = cuda_ ? 989.4e12 : cores * 32.0 * 2.5e9;
  }
  return Status::OK();
}

Status Run::AllReduceScalars(std::vector<double>* values) {
  if (!coll_) return Status::OK();
  auto t = torch::tensor(*values, torch::dtype(torch::kFloat64)).to(device_);
  ISOFLOP_RETURN_IF_ERROR(coll_->AllReduceSum(t));
  t = t.to(torch::kCPU);
  for (size_t i = 0; i < values->size(); ++i) (*values)[i] = t[static_cast<int64_t>(i)].item<double>();
  return Status::OK();
}

torch::Tensor Run::NextBatch(data::TokenReader& reader, std::vector<int32_t>& buf, int64_t batch) {
  Status s = reader.Next(&buf);
  TORCH_CHECK(s.ok(), "token reader: ", s.ToString());
  auto t = torch::from_blob(buf.data(), {batch, cfg_.model.seq_len + 1}, torch::kInt32).to(torch::kInt64);
  return t.to(device_);
}

StatusOr<double> Run::Evaluate() {
  if (!eval_reader_) return -1.0;
  torch::NoGradGuard no_grad;
  model_->eval();
  ISOFLOP_RETURN_IF_ERROR(
      eval_reader_->Restore(data::TokenReaderState{}));  // the same held-out windows each time
  std::vector<int32_t> buf;
  double sum = 0;
  const int64_t T = cfg_.model.seq_len;
  for (int64_t i = 0; i < cfg_.eval_batches; ++i) {
    auto batch = NextBatch(*eval_reader_, buf, cfg_.micro_batch);
    if (cuda_) SetAutocastBf16(true);
    auto loss = model_->Loss(batch.slice(1, 0, T), batch.slice(1, 1, T + 1), /*fused_output=*/false);
    if (cuda_) {
      SetAutocastBf16(false);
      at::autocast::clear_cache();
    }
    sum += loss.item<double>();
  }
  model_->train();
  std::vector<double> v{sum / static_cast<double>(cfg_.eval_batches)};
  ISOFLOP_RETURN_IF_ERROR(AllReduceScalars(&v));
  return v[0] / world_;
}

// The checkpoint is one libtorch archive (model, optimiser, progress, every rank's reader
// position) so that a single rename publishes all of it; checkpoint.json mirrors the
// progress for people and the orchestrator.
Status Run::SaveCheckpoint() {
  // Every rank's reader position, gathered by an all-reduce of a one-hot layout.
  std::vector<double> states(2 * world_, 0.0);
  const auto st = train_reader_->state();
  states[2 * rank_] = static_cast<double>(st.epoch);
  states[2 * rank_ + 1] = static_cast<double>(st.position);
  ISOFLOP_RETURN_IF_ERROR(AllReduceScalars(&states));
  if (rank_ != 0) return Status::OK();

  torch::serialize::OutputArchive archive;
  for (const auto& p : model_->named_parameters())
    archive.write("model." + p.key(), p.value().to(torch::kCPU));
  torch::serialize::OutputArchive optim_archive;
  optim_->save(optim_archive);
  archive.write("optimizer", optim_archive);
  archive.write("progress.step", torch::tensor(prog_.step, torch::kInt64));
  archive.write("progress.world_size", torch::tensor(static_cast<int64_t>(world_), torch::kInt64));
  archive.write("progress.reader_states", torch::tensor(states, torch::kFloat64));
  const double attempt_s = SecondsSince(attempt_start_);
  const double energy_j = prog_.energy_j + (monitor_->energy_kwh() * 3.6e6 - energy_at_attempt_start_j_);
  archive.write("progress.scalars",
                torch::tensor(std::vector<double>{prog_.first_loss, prog_.min_loss, prog_.last_loss,
                                                  prog_.last_eval, prog_.wall_time_s + attempt_s, energy_j},
                              torch::kFloat64));
  const std::string tmp = ckpt_path_ + ".tmp";
  archive.save_to(tmp);
  ISOFLOP_RETURN_IF_ERROR(RenameIntoPlace(tmp, ckpt_path_));
  std::ostringstream j;
  j << "{\"step\": " << prog_.step << ", \"total_steps\": " << total_steps_ << ", \"world_size\": " << world_
    << ", \"train_loss\": " << Num(prog_.last_loss) << ", \"reader_state_rank0\": \"" << st.Serialize()
    << "\"}\n";
  return WriteFileAtomically((fs::path(opt_.out_dir) / "checkpoint.json").string(), j.str());
}

Status Run::LoadCheckpoint() {
  if (!fs::exists(ckpt_path_)) return Status::OK();  // --resume on a fresh run directory starts from scratch
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(ckpt_path_);
  } catch (const c10::Error& e) {
    return Status::InvalidArgument(ckpt_path_ + ": not a readable checkpoint: " + e.what_without_backtrace());
  }
  // InputArchive::read() reuses a defined tensor's storage, so every read gets a fresh one.
  auto read = [&archive](const char* key) {
    torch::Tensor t;
    archive.read(key, t);
    return t;
  };
  const int64_t saved_world = read("progress.world_size").item<int64_t>();
  if (saved_world != world_) {
    return Status::InvalidArgument(ckpt_path_ + ": written by a run of world size " +
                                   std::to_string(saved_world) + ", resumed with " + std::to_string(world_));
  }
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model_->named_parameters()) {
      torch::Tensor v;
      archive.read("model." + p.key(), v);
      if (!v.sizes().equals(p.value().sizes())) {
        return Status::InvalidArgument(ckpt_path_ + ": parameter " + p.key() +
                                       " has another shape than the config's (" + opt_.config_path + ")");
      }
      p.value().copy_(v);
    }
  }
  torch::serialize::InputArchive optim_archive;
  archive.read("optimizer", optim_archive);
  optim_->load(optim_archive);
  // Adam's moments were saved from wherever the run was; put them beside the parameters.
  for (auto& entry : optim_->state()) {  // keyed by a string in 1.13, a pointer in 2.x
    auto& s = static_cast<torch::optim::AdamWParamState&>(*entry.second);
    s.exp_avg(s.exp_avg().to(device_));
    s.exp_avg_sq(s.exp_avg_sq().to(device_));
    if (s.max_exp_avg_sq().defined()) s.max_exp_avg_sq(s.max_exp_avg_sq().to(device_));
  }
  prog_.step = read("progress.step").item<int64_t>();
  torch::Tensor t = read("progress.reader_states");
  data::TokenReaderState st;
  st.epoch = static_cast<uint64_t>(t[2 * rank_].item<double>());
  st.position = static_cast<uint64_t>(t[2 * rank_ + 1].item<double>());
  Status rs = train_reader_->Restore(st);
  if (!rs.ok()) return Status::InvalidArgument(ckpt_path_ + ": reader state: " + rs.message());
  t = read("progress.scalars");
  prog_.first_loss = t[0].item<double>();
  prog_.min_loss = t[1].item<double>();
  prog_.last_loss = t[2].item<double>();
  prog_.last_eval = t[3].item<double>();
  prog_.wall_time_s = t[4].item<double>();
  prog_.energy_j = t[5].item<double>();
  return Status::OK();
}

// After a crash the metrics may run past the checkpoint (and end in a torn line); keep
// the lines up to the checkpoint's step so the resumed run continues one curve.
Status Run::TruncateMetrics() {
  if (rank_ != 0 || !fs::exists(metrics_path_)) return Status::OK();
  std::ifstream in(metrics_path_);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty() || line.back() != '}') continue;
    const size_t at = line.find("\"step\":");
    if (at == std::string::npos) continue;
    if (std::stoll(line.substr(at + 7)) <= prog_.step) kept += line + "\n";
  }
  return WriteFileAtomically(metrics_path_, kept);
}

Status Run::AppendMetrics(const std::string& line) {
  if (rank_ != 0) return Status::OK();
  std::ofstream out(metrics_path_, std::ios::app);
  out << line << "\n";
  out.flush();
  return out ? Status::OK() : Status::IOError(metrics_path_ + ": append failed");
}

TrainSummary Run::MakeSummary(RunOutcome outcome, const std::string& message) {
  TrainSummary s;
  s.outcome = outcome;
  s.message = message;
  s.params = params_;
  s.flops_per_token = fpt_;
  s.steps = prog_.step;
  s.total_steps = total_steps_;
  s.tokens = prog_.step * cfg_.batch_tokens;
  s.flops = static_cast<double>(s.tokens) * fpt_.total();
  s.first_train_loss = prog_.first_loss;
  s.final_train_loss = prog_.last_loss;
  s.final_eval_loss = prog_.last_eval;
  s.wall_time_s = prog_.wall_time_s + SecondsSince(attempt_start_);
  s.tokens_per_s = attempt_train_s_ > 0 ? attempt_tokens_ / attempt_train_s_ : tokens_per_s_;
  s.mfu = attempt_train_s_ > 0 ? s.tokens_per_s / world_ * fpt_.total() / peak_flops_ : mfu_;
  s.energy_kwh = (prog_.energy_j + (monitor_->energy_kwh() * 3.6e6 - energy_at_attempt_start_j_)) / 3.6e6;
  s.run_dir = opt_.out_dir;
  return s;
}

Status Run::WriteSummary(const std::string& status) {
  if (rank_ != 0) return Status::OK();
  TrainSummary s = MakeSummary(RunOutcome::kDone, "");
  std::ostringstream j;
  j << "{\n  \"status\": \"" << status
    << "\",\n  \"final_eval_loss\": " << (s.final_eval_loss >= 0 ? Num(s.final_eval_loss) : "null")
    << ",\n  \"final_train_loss\": " << Num(s.final_train_loss) << ",\n  \"params_total\": " << s.params.total
    << ",\n  \"params_non_embedding\": " << s.params.non_embedding << ",\n  \"tokens\": " << s.tokens
    << ",\n  \"steps\": " << s.steps << ",\n  \"flops\": " << Num(s.flops)
    << ",\n  \"flops_per_token\": " << Num(fpt_.total()) << ",\n  \"wall_time_s\": " << Num(s.wall_time_s)
    << ",\n  \"tokens_per_s\": " << Num(s.tokens_per_s) << ",\n  \"mfu\": " << Num(s.mfu)
    << ",\n  \"energy_kwh\": " << Num(s.energy_kwh) << ",\n  \"device\": \"" << monitor_->device_name()
    << "\",\n  \"world_size\": " << world_ << "\n}\n";
  return WriteFileAtomically(summary_path_, j.str());
}

StatusOr<TrainSummary> Run::Go() {
  attempt_start_ = Clock::now();
  ISOFLOP_RETURN_IF_ERROR(Setup());
  if (opt_.resume) ISOFLOP_RETURN_IF_ERROR(LoadCheckpoint());
  if (prog_.step == 0 && rank_ == 0) {
    std::error_code ec;
    fs::remove(metrics_path_, ec);  // a fresh run starts a fresh curve
  }
  ISOFLOP_RETURN_IF_ERROR(TruncateMetrics());
  SignalGuard signals(opt_.handle_signals);
  monitor_->Sample();
  energy_at_attempt_start_j_ = monitor_->energy_kwh() * 3.6e6;

  const int64_t T = cfg_.model.seq_len;
  std::vector<int32_t> buf;
  std::vector<torch::Tensor> all_params = model_->parameters();
  double window_tokens = 0, window_time = 0;
  int64_t window_steps = 0;

  while (prog_.step < total_steps_) {
    const auto t0 = Clock::now();
    const double lr = LearningRateAt(cfg_, prog_.step, total_steps_);
    for (auto& g : optim_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    optim_->zero_grad();
    torch::Tensor loss_sum = torch::zeros({}, torch::dtype(torch::kFloat64).device(device_));
    for (int64_t micro = 0; micro < accum_; ++micro) {
      auto batch = NextBatch(*train_reader_, buf, cfg_.micro_batch);
      if (cuda_) SetAutocastBf16(true);
      auto loss = model_->Loss(batch.slice(1, 0, T), batch.slice(1, 1, T + 1), opt_.fused_output);
      if (cuda_) {
        SetAutocastBf16(false);
        at::autocast::clear_cache();
      }
      (loss / static_cast<double>(accum_)).backward();
      loss_sum += loss.detach().to(torch::kFloat64);
    }
    if (coll_) ISOFLOP_RETURN_IF_ERROR(AllReduceMeanGradients(*coll_, all_params, world_));
    if (cfg_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(all_params, cfg_.grad_clip);
    optim_->step();

    // The step's loss, averaged over micro-batches and ranks; the stop flag rides along so
    // that every rank stops at the same step.
    const int stop_signal = g_stop_signal.load();
    const bool stop_requested =
        stop_signal != 0 || (opt_.stop_after_steps > 0 && prog_.step + 1 >= opt_.stop_after_steps);
    std::vector<double> v{loss_sum.item<double>() / static_cast<double>(accum_), stop_requested ? 1.0 : 0.0};
    ISOFLOP_RETURN_IF_ERROR(AllReduceScalars(&v));
    const double loss = v[0] / world_;
    const bool stop = v[1] > 0;
    const double step_s = SecondsSince(t0);
    ++prog_.step;
    window_tokens += static_cast<double>(cfg_.batch_tokens);
    window_time += step_s;
    ++window_steps;
    attempt_train_s_ += step_s;
    attempt_tokens_ += static_cast<double>(cfg_.batch_tokens);
    if (std::isnan(prog_.first_loss)) prog_.first_loss = loss;
    prog_.last_loss = loss;

    // Divergence: NaN/inf, or the loss past divergence_factor times its running minimum.
    std::string diverged;
    if (!std::isfinite(loss)) {
      diverged = "the training loss is " + Num(loss) + " at step " + std::to_string(prog_.step);
    } else if (prog_.step > cfg_.divergence_grace_steps && loss > cfg_.divergence_factor * prog_.min_loss) {
      diverged = "the training loss " + Num(loss) + " at step " + std::to_string(prog_.step) + " exceeds " +
                 Num(cfg_.divergence_factor) + " x its running minimum " + Num(prog_.min_loss);
    }
    if (std::isfinite(loss)) prog_.min_loss = std::min(prog_.min_loss, loss);

    const bool last = prog_.step == total_steps_;
    double eval_loss = -1;
    if (diverged.empty() && (prog_.step % cfg_.eval_every == 0 || last)) {
      auto e = Evaluate();
      if (!e.ok()) return e.status();
      eval_loss = *e;
      if (eval_loss >= 0) prog_.last_eval = eval_loss;
    }
    if (prog_.step % cfg_.log_every == 0 || last || eval_loss >= 0 || !diverged.empty() || stop) {
      monitor_->Sample();
      tokens_per_s_ = window_tokens / window_time;
      mfu_ = tokens_per_s_ / world_ * fpt_.total() / peak_flops_;
      std::ostringstream j;
      j << "{\"step\":" << prog_.step << ",\"tokens\":" << prog_.step * cfg_.batch_tokens
        << ",\"train_loss\":" << Num(loss);
      if (eval_loss >= 0) j << ",\"eval_loss\":" << Num(eval_loss);
      j << ",\"lr\":" << Num(lr) << ",\"tokens_per_s\":" << Num(tokens_per_s_)
        << ",\"step_latency_s\":" << Num(window_time / window_steps) << ",\"mfu\":" << Num(mfu_)
        << ",\"peak_mem_bytes\":" << monitor_->peak_mem_bytes()
        << ",\"mean_mem_bytes\":" << monitor_->mean_mem_bytes();
      if (monitor_->has_power()) {
        const double kwh =
            (prog_.energy_j + monitor_->energy_kwh() * 3.6e6 - energy_at_attempt_start_j_) / 3.6e6;
        j << ",\"power_w\":" << Num(monitor_->power_w()) << ",\"energy_kwh\":" << Num(kwh);
      }
      j << "}";
      ISOFLOP_RETURN_IF_ERROR(AppendMetrics(j.str()));
      if (opt_.progress && rank_ == 0) {
        std::fprintf(stderr, "step %lld/%lld  loss %.4f%s  lr %.3g  %.0f tok/s  MFU %.1f%%\n",
                     static_cast<long long>(prog_.step), static_cast<long long>(total_steps_), loss,
                     eval_loss >= 0 ? ("  eval " + Num(eval_loss)).c_str() : "", lr, tokens_per_s_,
                     100 * mfu_);
      }
      window_tokens = window_time = 0;
      window_steps = 0;
    }
    if (!diverged.empty()) {
      ISOFLOP_RETURN_IF_ERROR(WriteSummary("diverged"));
      return MakeSummary(RunOutcome::kDiverged, diverged);
    }
    if (last) break;
    if (stop) {
      ISOFLOP_RETURN_IF_ERROR(SaveCheckpoint());
      const std::string why = stop_signal != 0 ? "signal " + std::to_string(stop_signal)
                                               : "--stop-after " + std::to_string(opt_.stop_after_steps);
      return MakeSummary(RunOutcome::kPreempted,
                         why + ": checkpointed at step " + std::to_string(prog_.step));
    }
    if (cfg_.checkpoint_every > 0 && prog_.step % cfg_.checkpoint_every == 0) {
      ISOFLOP_RETURN_IF_ERROR(SaveCheckpoint());
    }
  }
  ISOFLOP_RETURN_IF_ERROR(SaveCheckpoint());
  ISOFLOP_RETURN_IF_ERROR(WriteSummary("done"));
  return MakeSummary(RunOutcome::kDone, "");
}

}  // namespace

StatusOr<TrainSummary> Train(const TrainOptions& options) {
  std::string error;
  if (!options.IsValid(&error)) return Status::InvalidArgument(error);
  try {
    Run run(options);
    return run.Go();
  } catch (const c10::Error& e) {
    return Status::Internal(std::string("libtorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

}  // namespace isoflop::trainer
