// NCCL all-reduce for data parallel on GPUs, independent of libtorch's own process groups
// (Debian's CPU libtorch has none for NCCL, and this keeps the GPU build to libtorch,
// CUDA and NCCL). Rendezvous: rank 0 writes the NCCL unique id to a file on the shared
// run directory (temp file + rename); the other ranks poll for it.
#ifndef ISOFLOP_TRAINER_NCCL_COMMUNICATOR_H_
#define ISOFLOP_TRAINER_NCCL_COMMUNICATOR_H_

#include <cstddef>
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
