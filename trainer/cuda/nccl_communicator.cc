#include "nccl_communicator.h"
#include "isoflop/file_util.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

namespace isoflop::trainer::cuda {

struct NcclCommunicator::Impl {
  ncclComm_t comm = nullptr;
  ~Impl() {
    if (comm) ncclCommDestroy(comm);
  }
};

NcclCommunicator::NcclCommunicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NcclCommunicator::~NcclCommunicator() = default;

StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(const std::string& rendezvous_file,
                                                                     int rank, int world_size, int device,
                                                                     double timeout_s) {
  IdExchange through_file = [&](bool publish, std::string* id_bytes) -> Status {
    if (publish) {
      return WriteFileAtomically(rendezvous_file, *id_bytes).WithContext("cannot publish the NCCL id");
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      std::ifstream in(rendezvous_file, std::ios::binary);
      std::string bytes(sizeof(ncclUniqueId), '\0');
      if (in && in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
        *id_bytes = bytes;
        return Status::OK();
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::Unavailable(rendezvous_file + ": rank 0 did not publish the NCCL id in time");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  return Create(through_file, rank, world_size, device);
}

StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(const IdExchange& exchange, int rank,
                                                                     int world_size, int device) {
  if (cudaSetDevice(device) != cudaSuccess) {
    return Status::FailedPrecondition("cudaSetDevice(" + std::to_string(device) + ") failed");
  }
  ncclUniqueId id;
  std::string bytes;
  if (rank == 0) {
    if (ncclGetUniqueId(&id) != ncclSuccess) return Status::Unavailable("ncclGetUniqueId failed");
    bytes.assign(reinterpret_cast<const char*>(&id), sizeof id);
    ISOFLOP_RETURN_IF_ERROR(exchange(true, &bytes));
  } else {
    ISOFLOP_RETURN_IF_ERROR(exchange(false, &bytes));
    if (bytes.size() != sizeof id) return Status::Unavailable("the NCCL id received has the wrong size");
    std::memcpy(&id, bytes.data(), sizeof id);
  }
  auto impl = std::make_unique<Impl>();
  ncclResult_t r = ncclCommInitRank(&impl->comm, world_size, id, rank);
  if (r != ncclSuccess) return Status::Unavailable(std::string("ncclCommInitRank: ") + ncclGetErrorString(r));
  return std::unique_ptr<NcclCommunicator>(new NcclCommunicator(std::move(impl)));
}

Status NcclCommunicator::AllReduceSum(void* data, size_t count, ElementType type, void* stream) {
  ncclDataType_t t = ncclFloat32;
  switch (type) {
    case ElementType::kFloat32:
      t = ncclFloat32;
      break;
    case ElementType::kFloat64:
      t = ncclFloat64;
      break;
    case ElementType::kInt64:
      t = ncclInt64;
      break;
    case ElementType::kBFloat16:
      t = ncclBfloat16;
      break;
  }
  ncclResult_t r =
      ncclAllReduce(data, data, count, t, ncclSum, impl_->comm, static_cast<cudaStream_t>(stream));
  if (r != ncclSuccess) return Status::Unavailable(std::string("ncclAllReduce: ") + ncclGetErrorString(r));
  return Status::OK();
}

}  // namespace isoflop::trainer::cuda
