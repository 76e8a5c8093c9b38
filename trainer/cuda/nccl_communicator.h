// NCCL all-reduce for data parallel on GPUs, independent of libtorch's own process groups
// (Debian's CPU libtorch has none for NCCL, and this keeps the GPU build to libtorch,
// CUDA and NCCL). Rendezvous: rank 0 publishes the NCCL unique id and the other ranks fetch
// it, through a file on the shared run directory (temp file + rename; the others poll), or
// through any other channel the caller passes (the trainer uses torchrun's TCP store).
#ifndef ISOFLOP_TRAINER_NCCL_COMMUNICATOR_H_
#define ISOFLOP_TRAINER_NCCL_COMMUNICATOR_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "isoflop/status.h"

namespace isoflop::trainer::cuda {

enum class ElementType { kFloat32, kFloat64, kInt64, kBFloat16 };

class NcclCommunicator {
 public:
  static StatusOr<std::unique_ptr<NcclCommunicator>> Create(const std::string& rendezvous_file, int rank,
                                                            int world_size, int device,
                                                            double timeout_s = 600);
  // publish = true (rank 0): send *id_bytes to the other ranks; false: wait for them into *id_bytes.
  using IdExchange = std::function<Status(bool publish, std::string* id_bytes)>;
  static StatusOr<std::unique_ptr<NcclCommunicator>> Create(const IdExchange& exchange, int rank,
                                                            int world_size, int device);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  // Sums `count` elements of `data` (device memory) over all ranks, in place, on `stream`
  // (a cudaStream_t; nullptr is the legacy default stream, which libtorch also uses).
  Status AllReduceSum(void* data, size_t count, ElementType type, void* stream);

 private:
  struct Impl;
  explicit NcclCommunicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace isoflop::trainer::cuda

#endif  // ISOFLOP_TRAINER_NCCL_COMMUNICATOR_H_
