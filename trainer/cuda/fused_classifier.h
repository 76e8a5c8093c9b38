// The output layer's softmax + cross-entropy + logits gradient in one kernel, as llm.c's
// fused_classifier (Karpathy 2024, llm.c train_gpt2.cu): the logits are read twice and
// overwritten by their gradient, so no softmax or fp32 copy of the (rows, vocab) tensor
// is ever materialised. Plain C++ interface: no CUDA or libtorch headers needed to call it.
#ifndef ISOFLOP_TRAINER_FUSED_CLASSIFIER_H_
#define ISOFLOP_TRAINER_FUSED_CLASSIFIER_H_

#include <cstdint>

namespace isoflop::trainer::cuda {

enum class LogitsType { kFloat32, kBFloat16 };

// For each row r of `logits` (rows x vocab, row-major, device memory):
//   losses[r] = logsumexp(logits[r]) - logits[r][targets[r]]
//   logits[r] := dloss_scale * (softmax(logits[r]) - onehot(targets[r]))   (in place)
// `stream` is a cudaStream_t (nullptr: the legacy default stream). Returns the
// cudaError_t of the launch (0 on success).
int LaunchFusedClassifier(void* logits, LogitsType type, const int64_t* targets, float* losses, int64_t rows,
                          int64_t vocab, float dloss_scale, void* stream);

}  // namespace isoflop::trainer::cuda

#endif  // ISOFLOP_TRAINER_FUSED_CLASSIFIER_H_
