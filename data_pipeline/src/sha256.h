// SHA-256 (FIPS 180-4), self-contained.
//
// Why not OpenSSL: the token reader must build on a GPU machine with only libtorch,
// CUDA and NCCL (ISOFLOP_TRAINER_ONLY), so the checksum it verifies on open cannot come
// from a library that machine may lack. ~100 lines, checked against the FIPS 180-4
// test vectors in tests/data_pipeline/sha256_test.cc.
#ifndef ISOFLOP_DATA_PIPELINE_SHA256_H_
#define ISOFLOP_DATA_PIPELINE_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace isoflop::data {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }
  std::array<uint8_t, 32> Finish();  // the digest; the object is reset afterwards
  std::string FinishHex();           // lowercase hex, 64 characters

 private:
  void Compress(const uint8_t* block);
  void CompressBlocks(const uint8_t* blocks, size_t count);  // SHA extensions where the CPU has them
  void Reset();
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string Sha256Hex(std::string_view bytes);

// Streams a file through SHA-256; "" with *error set when it cannot be read.
std::string Sha256OfFile(const std::string& path, std::string* error);

}  // namespace isoflop::data

#endif  // ISOFLOP_DATA_PIPELINE_SHA256_H_
