#include "isoflop/dedup.h"
#include "isoflop/parallel_for.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <numeric>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace isoflop::data {
namespace {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

ContentHash HashContent(std::string_view text) {
  XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return ContentHash{h.low64, h.high64};
}

bool MinHashOptions::IsValid(std::string* error) const {
  if (ngram < 1) return *error = "minhash.ngram must be >= 1", false;
  if (num_bands < 1 || rows_per_band < 1)
    return *error = "minhash.bands and minhash.rows must be >= 1", false;
  if (NumHashes() > 1024) return *error = "minhash.bands * minhash.rows must be <= 1024", false;
  if (verify_threshold < 0 || verify_threshold > 1)
    return *error = "minhash.verify_threshold must be in [0, 1]", false;
  return true;
}

double CandidateProbability(double s, int num_bands, int rows_per_band) {
  return 1.0 - std::pow(1.0 - std::pow(s, rows_per_band), num_bands);
}

std::string ShingleNormalize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto push_space = [&] {
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
  };
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c + 32));
    } else if (c >= '0' && c <= '9') {
      out.push_back('0');  // FineWeb maps every digit run to one "0"
      while (i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9') ++i;
    } else if (c < 0x80 && (std::isspace(c) || std::ispunct(c) || c < 0x20)) {
      push_space();
    } else if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80) {
      // U+2010–U+203F: dashes, curly quotes, bullets, ellipsis — punctuation → space.
      push_space();
      i += 2;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

namespace {

#if defined(__x86_64__) || defined(__i386__)
#define ISOFLOP_MINHASH_AVX2 1
bool CpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

// Byte classes of ShingleNormalize, one table lookup per byte (C locale: isspace/ispunct).
enum ByteClass : uint8_t { kWordByte, kUpper, kDigit, kSeparator, kE2 };

constexpr std::array<uint8_t, 256> MakeByteClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c >= 'A' && c <= 'Z') {
      t[c] = kUpper;
    } else if (c >= '0' && c <= '9') {
      t[c] = kDigit;
    } else if (c < 0x20 || c == ' ' || (c >= 0x21 && c <= 0x7E && !alnum)) {
      t[c] = kSeparator;  // control, space, ASCII punctuation (DEL 0x7F stays a word byte)
    } else if (c == 0xE2) {
      t[c] = kE2;  // U+2010–U+203F start with E2 80
    } else {
      t[c] = kWordByte;
    }
  }
  return t;
}
constexpr std::array<uint8_t, 256> kByteClass = MakeByteClasses();

// MurmurHash3's 64-bit finaliser (Appleby): a bijection of 64-bit words with full avalanche.
inline uint64_t Fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

constexpr uint64_t kWordSeed = 0x243f6a8885a308d3ULL;     // digits of π
constexpr uint64_t kShingleBase = 0x9e3779b97f4a7c15ULL;  // odd: multiplication is invertible

// Word hash: the word's bytes packed little-endian 8 at a time into a 64-bit lane, each full
// lane folded into a chain through Fmix64, then Fmix64(chain ^ last partial lane). Words of
// < 8 bytes (no zero bytes) map injectively to a lane and Fmix64 is a bijection, so distinct
// short words never collide.
class WordHashState {
 public:
  void Push(unsigned char c) {
    packed_ |= uint64_t{c} << (8 * lane_bytes_);
    if (++lane_bytes_ == 8) {
      chain_ = Fmix64(chain_ ^ packed_);
      packed_ = 0;
      lane_bytes_ = 0;
    }
  }
  uint64_t Finish() {
    uint64_t h = Fmix64(chain_ ^ packed_);
    *this = WordHashState();
    return h;
  }

 private:
  uint64_t chain_ = kWordSeed, packed_ = 0;
  unsigned lane_bytes_ = 0;
};

// Per byte: flags (separator, digit, E2) and the normalised byte (separator → 0, lowercase,
// digit → '0').
constexpr uint8_t kSepFlag = 1, kDigitFlag = 2, kE2Flag = 4;
constexpr std::array<uint8_t, 256> MakeFlags() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = kByteClass[c] == kSeparator ? kSepFlag
           : kByteClass[c] == kDigit   ? kDigitFlag
           : kByteClass[c] == kE2      ? kE2Flag
                                       : 0;
  }
  return t;
}
constexpr std::array<uint8_t, 256> MakeNormalizedByte() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = static_cast<uint8_t>(kByteClass[c] == kSeparator ? 0
                                : kByteClass[c] == kUpper   ? c + 32
                                : kByteClass[c] == kDigit   ? '0'
                                                            : c);
  }
  return t;
}
constexpr std::array<uint8_t, 256> kFlags = MakeFlags();
constexpr std::array<uint8_t, 256> kNormalizedByte = MakeNormalizedByte();

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // little-endian (x86_64, aarch64): byte 0 is the low byte
}

// Writes the hash of each word of ShingleNormalize(text), in order, to (*words)[0, count)
// and returns count, without building ShingleNormalize's string. Two branch-light passes
// (a branch per byte on "word ends here" would be mispredicted every ~6 bytes of prose):
//  1. the bytes normalised into a reused buffer, separators as 0 (not collapsed), digit-run
//     tails dropped, E2 80 xx → 0 (the only branch, rare);
//  2. words read 8 bytes at a time: the first zero byte of a little-endian word ends the
//     word (exactly the lowest set bit of (v − 0x01…) & ~v & 0x80…), so a word of < 8 bytes
//     is one load and a mask — the lane WordHashState would build.
// Scalar pass 1 over text[begin, end): appends normalised bytes at buf + m; returns the new
// m. `prev_digit` carries the digit-run state across calls.
size_t NormalizeBytesScalar(const unsigned char* p, size_t begin, size_t end, size_t n, uint8_t* buf,
                            size_t m, uint64_t* prev_digit_state, size_t* next) {
  uint64_t prev_digit = *prev_digit_state;
  size_t i = begin;
  for (; i < end; ++i) {
    const unsigned char c = p[i];
    uint64_t flags = kFlags[c];
    if (flags & kE2Flag) [[unlikely]] {
      if (i + 2 < n && p[i + 1] == 0x80) {
        buf[m++] = 0;
        i += 2;
        prev_digit = 0;
        continue;
      }
      flags = 0;
    }
    const uint64_t digit = (flags >> 1) & 1;
    buf[m] = kNormalizedByte[c];
    m += 1 - (digit & prev_digit);  // a digit run is one '0'
    prev_digit = digit;
  }
  *prev_digit_state = prev_digit;
  *next = i;  // may pass `end` when an E2 80 xx sequence straddles it
  return m;
}

#ifdef ISOFLOP_MINHASH_AVX2
// Pass 1, 32 bytes at a time: a block with no E2 byte and no digit following a digit maps
// byte by byte (the same table as kNormalizedByte, computed with range compares); other
// blocks go through the scalar code.
// Bytes of c in [lo, hi] (unsigned) as 0xFF lanes.
__attribute__((target("avx2"))) inline __m256i InRange(__m256i c, uint8_t lo, uint8_t hi) {
  const __m256i d = _mm256_sub_epi8(c, _mm256_set1_epi8(static_cast<char>(lo)));
  return _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(static_cast<char>(hi - lo))), d);
}

__attribute__((target("avx2"))) size_t NormalizeBytesAvx2(const unsigned char* p, size_t n, uint8_t* buf) {
  size_t m = 0, i = 0;
  uint64_t prev_digit = 0;
  while (i + 32 <= n) {
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i digit = InRange(c, '0', '9');
    const uint32_t digit_bits = static_cast<uint32_t>(_mm256_movemask_epi8(digit));
    const uint32_t e2_bits =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(c, _mm256_set1_epi8('\xE2'))));
    const uint32_t digit_tails = digit_bits & ((digit_bits << 1) | static_cast<uint32_t>(prev_digit));
    if ((e2_bits | digit_tails) != 0) {
      size_t next;
      m = NormalizeBytesScalar(p, i, i + 32, n, buf, m, &prev_digit, &next);
      i = next;
      continue;
    }
    const __m256i sep = _mm256_or_si256(_mm256_or_si256(InRange(c, 0, 0x2F), InRange(c, 0x3A, 0x40)),
                                        _mm256_or_si256(InRange(c, 0x5B, 0x60), InRange(c, 0x7B, 0x7E)));
    const __m256i upper = InRange(c, 'A', 'Z');
    __m256i out = _mm256_add_epi8(c, _mm256_and_si256(upper, _mm256_set1_epi8(32)));
    out = _mm256_blendv_epi8(out, _mm256_set1_epi8('0'), digit);
    out = _mm256_andnot_si256(sep, out);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(buf + m), out);
    m += 32;
    prev_digit = digit_bits >> 31;
    i += 32;
  }
  size_t next;
  return NormalizeBytesScalar(p, i, n, n, buf, m, &prev_digit, &next);
}
#endif

// Bit k of bitmap[k / 64] is set when buf[k] != 0, for the first 64 · blocks bytes.
void NonzeroBitmapPortable(const uint8_t* buf, size_t blocks, uint64_t* bitmap) {
  constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL, kHighs = 0x8080808080808080ULL;
  for (size_t block = 0; block < blocks; ++block) {
    uint64_t bits = 0;
    for (int j = 0; j < 8; ++j) {
      const uint64_t v = Load64(buf + 64 * block + 8 * j);
      // The high bit of each byte, set exactly when the byte is nonzero (no carry between bytes).
      const uint64_t nonzero = (((v & kLow7) + kLow7) | v) & kHighs;
      // Gather the 8 high bits into one byte (bit 8i + 7 → bit 56 + i; no two products collide).
      bits |= (((nonzero >> 7) * 0x0102040810204080ULL) >> 56) << (8 * j);
    }
    bitmap[block] = bits;
  }
}

#ifdef ISOFLOP_MINHASH_AVX2
__attribute__((target("avx2"))) void NonzeroBitmapAvx2(const uint8_t* buf, size_t blocks, uint64_t* bitmap) {
  const __m256i zero = _mm256_setzero_si256();
  for (size_t block = 0; block < blocks; ++block) {
    const auto* p = reinterpret_cast<const __m256i*>(buf + 64 * block);
    const uint64_t lo =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256(p), zero)));
    const uint64_t hi =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256(p + 1), zero)));
    bitmap[block] = ~(hi << 32 | lo);
  }
}
#endif

// WordHashState's hash of the word starting at w (ended by a zero byte), read 8 bytes at a
// time: the first zero byte of a little-endian word is exactly the lowest set bit of
// (v − 0x01…) & ~v & 0x80…, so a word of < 8 bytes is one load and a mask.
inline uint64_t HashWordAt(const uint8_t* w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  uint64_t chain = kWordSeed;
  for (;;) {
    const uint64_t v = Load64(w);
    const uint64_t zero = (v - kOnes) & ~v & kHighs;
    if (zero != 0) {
      const unsigned len = static_cast<unsigned>(std::countr_zero(zero)) >> 3;  // 0..7
      return Fmix64(chain ^ (v & ((uint64_t{1} << (8 * len)) - 1)));
    }
    chain = Fmix64(chain ^ v);  // a full 8-byte lane
    w += 8;
  }
}

size_t ScanWordHashes(std::string_view text, std::vector<uint64_t>* words, bool allow_simd) {
  thread_local std::vector<uint8_t> buffer;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  if (buffer.size() < n + 96) buffer.resize(n + 96);
  uint8_t* buf = buffer.data();
  size_t m = 0;
#ifdef ISOFLOP_MINHASH_AVX2
  if (allow_simd && CpuHasAvx2()) {
    m = NormalizeBytesAvx2(p, n, buf);
  } else
#endif
  {
    (void)allow_simd;
    uint64_t prev_digit = 0;
    size_t next;
    m = NormalizeBytesScalar(p, 0, n, n, buf, 0, &prev_digit, &next);
  }
  // Zeros up to the end of the last 64-byte block and 16 beyond: loads past the end see
  // separators.
  std::memset(buf + m, 0, 80);
  const size_t blocks = (m + 63) / 64;
  thread_local std::vector<uint64_t> bitmap;
  if (bitmap.size() < blocks) bitmap.resize(blocks);
#ifdef ISOFLOP_MINHASH_AVX2
  if (allow_simd && CpuHasAvx2()) {
    NonzeroBitmapAvx2(buf, blocks, bitmap.data());
  } else
#endif
  {
    NonzeroBitmapPortable(buf, blocks, bitmap.data());
  }

  if (words->size() < m / 2 + 2) words->resize(m / 2 + 2);  // words ≤ ⌈m/2⌉
  uint64_t* out = words->data();
  size_t count = 0;
  uint64_t carry = 0;  // whether the previous block ended inside a word
  for (size_t block = 0; block < blocks; ++block) {
    const uint64_t nonzero = bitmap[block];
    // Word starts: nonzero bytes after a zero byte. They come from the bitmap (one bit-clear
    // per word), so hashing one word does not wait for the previous one.
    uint64_t starts = nonzero & ~((nonzero << 1) | carry);
    carry = nonzero >> 63;
    while (starts != 0) {
      const size_t start = 64 * block + static_cast<size_t>(std::countr_zero(starts));
      starts &= starts - 1;
      out[count++] = HashWordAt(buf + start);
    }
  }
  return count;
}

uint64_t PowMod64(uint64_t base, int exponent) {
  uint64_t r = 1;
  for (int e = 0; e < exponent; ++e) r *= base;
  return r;
}

// Calls emit(shingle hash) for each word n-gram (with repeats), from word hashes w_j:
// s_i = Fmix64(Σ_{j<n} w_{i+j}·B^{n−1−j} mod 2⁶⁴), the polynomial rolled in O(1) per word
// (Karp & Rabin 1987) over word hashes instead of bytes; fewer than n words: one shingle of
// all of them. `words` is scratch space.
template <typename Emit>
void ForEachShingleHash(std::string_view text, int ngram, std::vector<uint64_t>* words, bool allow_simd,
                        Emit&& emit) {
  const size_t m = ScanWordHashes(text, words, allow_simd);
  if (m == 0) return;
  const uint64_t* w = words->data();
  const size_t n = static_cast<size_t>(ngram);
  uint64_t s = 0;
  for (size_t j = 0; j < std::min(m, n); ++j) s = s * kShingleBase + w[j];
  emit(Fmix64(s));
  const uint64_t drop = PowMod64(kShingleBase, ngram);
  for (size_t i = n; i < m; ++i) {
    s = s * kShingleBase + w[i] - w[i - n] * drop;
    emit(Fmix64(s));
  }
}

// sig[k] = min(sig[k], a[k]·x + b[k] mod 2³²) over all x: the portable path.
void MinHashScalar(const uint32_t* xs, size_t count, const uint32_t* a, const uint32_t* b, size_t lanes,
                   uint32_t* sig) {
  for (size_t i = 0; i < count; ++i) {
    const uint32_t x = xs[i];
    for (size_t k = 0; k < lanes; ++k) sig[k] = std::min(sig[k], a[k] * x + b[k]);
  }
}

#ifdef ISOFLOP_MINHASH_AVX2
// V vectors of 8 lanes kept in registers while every x streams past (one broadcast, then
// per vector one vpmulld, vpaddd, vpminud): the same arithmetic as MinHashScalar.
template <int V>
__attribute__((target("avx2"))) void MinHashBlockAvx2(const uint32_t* xs, size_t count, const uint32_t* a,
                                                      const uint32_t* b, uint32_t* sig) {
  __m256i acc[V], va[V], vb[V];
  for (int v = 0; v < V; ++v) {
    acc[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sig + 8 * v));
    va[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 8 * v));
    vb[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 8 * v));
  }
  for (size_t i = 0; i < count; ++i) {
    const __m256i x = _mm256_set1_epi32(static_cast<int>(xs[i]));
    for (int v = 0; v < V; ++v)
      acc[v] = _mm256_min_epu32(acc[v], _mm256_add_epi32(_mm256_mullo_epi32(x, va[v]), vb[v]));
  }
  for (int v = 0; v < V; ++v) _mm256_storeu_si256(reinterpret_cast<__m256i*>(sig + 8 * v), acc[v]);
}

// `lanes` is a multiple of 8 (the coefficient arrays are padded).
__attribute__((target("avx2"))) void MinHashAvx2(const uint32_t* xs, size_t count, const uint32_t* a,
                                                 const uint32_t* b, size_t lanes, uint32_t* sig) {
  constexpr size_t kBlock = 7;  // 7 accumulators: 112 = 2 blocks
  size_t v = 0, vectors = lanes / 8;
  for (; v + kBlock <= vectors; v += kBlock)
    MinHashBlockAvx2<kBlock>(xs, count, a + 8 * v, b + 8 * v, sig + 8 * v);
  const size_t o = 8 * v;
  switch (vectors - v) {
    case 6:
      MinHashBlockAvx2<6>(xs, count, a + o, b + o, sig + o);
      break;
    case 5:
      MinHashBlockAvx2<5>(xs, count, a + o, b + o, sig + o);
      break;
    case 4:
      MinHashBlockAvx2<4>(xs, count, a + o, b + o, sig + o);
      break;
    case 3:
      MinHashBlockAvx2<3>(xs, count, a + o, b + o, sig + o);
      break;
    case 2:
      MinHashBlockAvx2<2>(xs, count, a + o, b + o, sig + o);
      break;
    case 1:
      MinHashBlockAvx2<1>(xs, count, a + o, b + o, sig + o);
      break;
    default:
      break;
  }
}

#endif

struct MinHashScratch {
  std::vector<uint64_t> words;
  std::vector<uint32_t> xs;
  std::vector<uint32_t> sig;
};

MinHashScratch& Scratch() {
  thread_local MinHashScratch scratch;
  return scratch;
}

}  // namespace

namespace {

// Sorts 64-bit hash values: one counting pass on the top ⌈log₂ n⌉ bits into ~n buckets (the
// values are uniform, so buckets hold ~1 key), then each bucket sorted in place (insertion
// sort when small, std::sort otherwise, so skewed input stays O(n log n)); std::sort below 64
// keys. Shingle sets are thousands of keys, where this is several times std::sort.
void SortHashes(std::vector<uint64_t>* keys) {
  const size_t n = keys->size();
  if (n < 64) {
    std::sort(keys->begin(), keys->end());
    return;
  }
  const int bits = std::bit_width(n);  // 2^(bits−1) ≤ n < 2^bits
  const size_t buckets = size_t{1} << bits;
  const int shift = 64 - bits;
  thread_local std::vector<uint32_t> start;
  thread_local std::vector<uint64_t> sorted;
  start.assign(buckets + 1, 0);
  if (sorted.size() < n) sorted.resize(n);
  for (uint64_t key : *keys) ++start[(key >> shift) + 1];
  for (size_t b = 0; b < buckets; ++b) start[b + 1] += start[b];
  for (uint64_t key : *keys) sorted[start[key >> shift]++] = key;  // start[b] becomes bucket b's end
  size_t begin = 0;
  for (size_t b = 0; b < buckets; ++b) {
    const size_t end = start[b];
    if (end - begin > 16) {
      std::sort(sorted.begin() + begin, sorted.begin() + end);
    } else {
      for (size_t i = begin + 1; i < end; ++i) {
        const uint64_t key = sorted[i];
        size_t j = i;
        for (; j > begin && sorted[j - 1] > key; --j) sorted[j] = sorted[j - 1];
        sorted[j] = key;
      }
    }
    begin = end;
  }
  std::copy(sorted.begin(), sorted.begin() + n, keys->begin());
}

}  // namespace

uint64_t NormalizedWordHash(std::string_view word) {
  WordHashState state;
  for (char c : word) state.Push(static_cast<unsigned char>(c));
  return state.Finish();
}

std::vector<uint64_t> ShingleWordHashes(std::string_view text) {
  std::vector<uint64_t> hashes;
  hashes.resize(ScanWordHashes(text, &hashes, /*allow_simd=*/true));
  return hashes;
}

std::vector<uint64_t> ShingleHashes(std::string_view text, int ngram) {
  std::vector<uint64_t> hashes;
  ForEachShingleHash(text, ngram, &Scratch().words, /*allow_simd=*/true,
                     [&](uint64_t h) { hashes.push_back(h); });
  SortHashes(&hashes);
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return hashes;
}

double ShingleJaccard(std::string_view a, std::string_view b, int ngram) {
  auto ha = ShingleHashes(a, ngram), hb = ShingleHashes(b, ngram);
  if (ha.empty() && hb.empty()) return 1.0;
  std::vector<uint64_t> common;
  std::set_intersection(ha.begin(), ha.end(), hb.begin(), hb.end(), std::back_inserter(common));
  return static_cast<double>(common.size()) / (ha.size() + hb.size() - common.size());
}

MinHasher::MinHasher(const MinHashOptions& options) : options_(options) {
  uint64_t state = options.seed;
  const size_t n = static_cast<size_t>(std::max(0, options.NumHashes()));
  const size_t padded = (n + 7) / 8 * 8;  // whole AVX2 vectors; padding lanes are ignored
  a_.assign(padded, 0);
  b_.assign(padded, 0);
  for (size_t k = 0; k < n; ++k) {
    a_[k] = static_cast<uint32_t>(SplitMix64(&state)) | 1;  // odd: x ↦ a·x + b is a permutation
    b_[k] = static_cast<uint32_t>(SplitMix64(&state));
  }
}

bool MinHasher::UsesAvx2() {
#ifdef ISOFLOP_MINHASH_AVX2
  return CpuHasAvx2();
#else
  return false;
#endif
}

void MinHasher::Compute(std::string_view text, uint32_t* signature, bool allow_simd) const {
  const size_t n = static_cast<size_t>(options_.NumHashes());
  MinHashScratch& scratch = Scratch();
  scratch.xs.clear();
  // The shingle's 32-bit key: the high half of its (avalanched) 64-bit hash. Duplicate
  // shingles are not removed: min is idempotent.
  ForEachShingleHash(text, options_.ngram, &scratch.words, allow_simd,
                     [&](uint64_t h) { scratch.xs.push_back(static_cast<uint32_t>(h >> 32)); });
  scratch.sig.assign(a_.size(), UINT32_MAX);
#ifdef ISOFLOP_MINHASH_AVX2
  if (allow_simd && CpuHasAvx2()) {
    MinHashAvx2(scratch.xs.data(), scratch.xs.size(), a_.data(), b_.data(), a_.size(), scratch.sig.data());
  } else {
    MinHashScalar(scratch.xs.data(), scratch.xs.size(), a_.data(), b_.data(), n, scratch.sig.data());
  }
#else
  (void)allow_simd;
  MinHashScalar(scratch.xs.data(), scratch.xs.size(), a_.data(), b_.data(), n, scratch.sig.data());
#endif
  std::copy(scratch.sig.begin(), scratch.sig.begin() + n, signature);
}

void MinHasher::Signature(std::string_view text, uint32_t* signature) const {
  Compute(text, signature, /*allow_simd=*/true);
}

void MinHasher::SignaturePortable(std::string_view text, uint32_t* signature) const {
  Compute(text, signature, /*allow_simd=*/false);
}

std::vector<uint32_t> MinHasher::Signature(std::string_view text) const {
  std::vector<uint32_t> signature(options_.NumHashes());
  Signature(text, signature.data());
  return signature;
}

double EstimatedJaccard(const uint32_t* a, const uint32_t* b, int num_hashes) {
  int equal = 0;
  for (int k = 0; k < num_hashes; ++k) equal += a[k] == b[k];
  return static_cast<double>(equal) / num_hashes;
}

UnionFind::UnionFind(size_t n) : parent_(n) {
  std::iota(parent_.begin(), parent_.end(), 0u);
}

uint32_t UnionFind::Find(uint32_t x) {
  while (parent_[x] != x) {
    parent_[x] = parent_[parent_[x]];  // path halving
    x = parent_[x];
  }
  return x;
}

void UnionFind::Union(uint32_t a, uint32_t b) {
  a = Find(a);
  b = Find(b);
  if (a == b) return;
  // The smaller index becomes the root: the cluster's survivor is its earliest document.
  if (a < b) {
    parent_[b] = a;
  } else {
    parent_[a] = b;
  }
}

}  // namespace isoflop::data
