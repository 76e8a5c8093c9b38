// Quality rules. Definitions follow the papers (see quality_filters.h) and, where a paper
// leaves a detail open, datatrove's reference implementation (gopher_repetition_filter.py,
// gopher_quality_filter.py, c4_filters.py); departures are listed in docs/data.md.
//
// Speed (docs/data.md, "Quality rules: how they are computed"): a document's words are split
// once and shared by the Gopher rules; n-gram statistics are built level by level (n-gram
// hash = (n−1)-gram hash extended by one word hash), and only n-grams whose (n−1)-gram prefix
// occurs more than once are counted at level n, since an n-gram can only repeat if its prefix
// does. Every decision equals the straightforward definition (tests/data_pipeline/
// quality_reference.h keeps that definition and the tests compare the two).
#include "isoflop/quality_filters.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <string.h>  // memmem

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <memory>
#include <span>
#include <unordered_set>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace isoflop::data {
namespace {

// Byte classes in the C locale (what <cctype> answers there), as one table lookup.
enum ByteClass : uint8_t {
  kSpace = 1,   // ' ' \n \t \r \f \v
  kPunct = 2,   // ASCII ispunct
  kLetter = 4,  // ASCII isalpha, or any non-ASCII byte (see IsLetterByte below)
  kLead = 8,    // not a UTF-8 continuation byte: starts a code point
};

constexpr std::array<uint8_t, 256> MakeByteClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') v |= kSpace;
    if ((c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
        (c >= 0x7B && c <= 0x7E))
      v |= kPunct;
    // Non-ASCII bytes count as letters: most non-ASCII text in an English corpus is letters
    // (accented, other scripts); the exceptions (…, –, “) are handled where they matter.
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) v |= kLetter;
    if ((c & 0xC0) != 0x80) v |= kLead;
    t[c] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kByteClass = MakeByteClasses();

inline uint8_t Class(char c) {
  return kByteClass[static_cast<unsigned char>(c)];
}
inline bool IsSpace(char c) {
  return Class(c) & kSpace;
}
inline bool IsAsciiPunctuation(char c) {
  return Class(c) & kPunct;
}
inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

// Words: maximal runs of non-space bytes. Appends to `words` (cleared first).
void SplitWordsInto(std::string_view text, std::vector<std::string_view>* words) {
  words->clear();
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    while (p < end && IsSpace(*p)) ++p;
    const char* start = p;
    while (p < end && !IsSpace(*p)) ++p;
    if (p > start) words->emplace_back(start, static_cast<size_t>(p - start));
  }
}

// The Gopher quality rule's per-word statistics, gathered while splitting the words.
struct WordStats {
  size_t non_symbol_words = 0;   // words not made of ASCII punctuation only
  size_t non_symbol_chars = 0;   // their code points
  size_t alpha_words = 0;        // words with a letter byte
  uint32_t stop_words_seen = 0;  // bit per stop word (StopWordIndex)
};

// Stop-word index 0..7 of {the, be, to, of, and, that, have, with}, or -1. Compares the
// word's bytes as one integer (a memcmp call per candidate cost more than the rest of the
// word scan).
inline int StopWordIndex(std::string_view w) {
  auto pack = [](const char* p, size_t n) {
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
  };
  constexpr auto kPack = [](const char* p, size_t n) {
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
  };
  switch (w.size()) {
    case 2: {
      uint32_t v = pack(w.data(), 2);
      if (v == kPack("be", 2)) return 1;
      if (v == kPack("to", 2)) return 2;
      if (v == kPack("of", 2)) return 3;
      return -1;
    }
    case 3: {
      uint32_t v = pack(w.data(), 3);
      if (v == kPack("the", 3)) return 0;
      if (v == kPack("and", 3)) return 4;
      return -1;
    }
    case 4: {
      uint32_t v = pack(w.data(), 4);
      if (v == kPack("that", 4)) return 5;
      if (v == kPack("have", 4)) return 6;
      if (v == kPack("with", 4)) return 7;
      return -1;
    }
    default:
      return -1;
  }
}

// StopWordIndex as a bit (1 << index, or 0), without branches: the word's length and first
// four bytes form one key, which a perfect hash (found at compile time) maps to the one
// stop word it can equal (word lengths in prose are unpredictable, and a mispredicted
// branch per word cost more than the rest of the word's scan).
constexpr uint64_t StopWordKey(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < s.size() && i < 4; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(s[i])) << (8 * i);
  return v | (static_cast<uint64_t>(s.size() < 5 ? s.size() : 5) << 32);
}
constexpr std::array<std::string_view, 8> kStopWords = {"the", "be",   "to",   "of",
                                                        "and", "that", "have", "with"};
constexpr uint64_t Mix64Constexpr(uint64_t x) {  // splitmix64's finaliser
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
struct StopWordTable {
  uint64_t multiplier = 0;
  std::array<uint64_t, 32> keys{};  // slot → key (0: none; no real key is 0)
  std::array<uint32_t, 32> bits{};
};
constexpr StopWordTable MakeStopWordTable() {
  for (uint64_t seed = 1;; ++seed) {
    StopWordTable t;
    const uint64_t m = Mix64Constexpr(seed) | 1;
    t.multiplier = m;
    bool ok = true;
    for (size_t k = 0; k < kStopWords.size() && ok; ++k) {
      uint64_t key = StopWordKey(kStopWords[k]);
      size_t slot = (key * m) >> 59;
      ok = t.keys[slot] == 0;
      t.keys[slot] = key;
      t.bits[slot] = 1u << k;
    }
    if (ok) return t;
  }
}
constexpr StopWordTable kStopWordTable = MakeStopWordTable();

inline uint32_t StopWordBits(std::string_view w, const char* text_end) {
  if constexpr (std::endian::native == std::endian::little) {
    static constexpr uint32_t kMasks[6] = {0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF};
    const size_t n = w.size() < 5 ? w.size() : 5;  // any length above 4 matches nothing
    uint32_t bytes = 0;
    if (w.data() + 4 <= text_end) {
      std::memcpy(&bytes, w.data(), 4);
    } else {
      std::memcpy(&bytes, w.data(), n < 4 ? n : 4);
    }
    const uint64_t key = (bytes & kMasks[n]) | (static_cast<uint64_t>(n) << 32);
    const size_t slot = (key * kStopWordTable.multiplier) >> 59;
    return kStopWordTable.bits[slot] & (0u - static_cast<uint32_t>(kStopWordTable.keys[slot] == key));
  } else {
    int index = StopWordIndex(w);
    return index >= 0 ? 1u << index : 0;
  }
}

// A document's words: a thread-local buffer reused across documents and written without a
// capacity check per word (the check is per 64-byte block, which starts at most 32 words).
struct WordBuffer {
  std::vector<std::string_view> storage;
  size_t count = 0;
  void Reserve(size_t more) {
    if (storage.size() < count + more) storage.resize(std::max(2 * storage.size(), count + more));
  }
  std::span<const std::string_view> view() const { return {storage.data(), count}; }
};

// Adds a finished word to `words` and `stats`: its bytes are all ASCII punctuation
// (all_punct), it holds a letter byte (any_letter), and it has `continuation` UTF-8
// continuation bytes (code points = bytes − continuation bytes).
inline void AddWord(std::string_view w, const char* text_end, bool all_punct, bool any_letter,
                    size_t continuation, WordBuffer* words, WordStats* stats) {
  words->storage[words->count++] = w;
  if (!all_punct) {
    ++stats->non_symbol_words;
    stats->non_symbol_chars += w.size() - continuation;
  }
  stats->alpha_words += any_letter;
  stats->stop_words_seen |= StopWordBits(w, text_end);
}

#if defined(__SSE2__)
// One 64-byte block's bytes as bit masks (bit i = byte i): whitespace, ASCII punctuation,
// letter bytes, UTF-8 continuation bytes — the byte classes of kByteClass, computed with
// SSE2 compares instead of a lookup per byte.
struct BlockMasks {
  uint64_t space = 0, punct = 0, letter = 0, continuation = 0;
};

inline BlockMasks ClassifyBlock(const char* p) {
  // x ∈ [lo, lo + width] as an unsigned byte compare: min(x − lo, width) == x − lo.
  auto in_range = [](__m128i v, char lo, char width) {
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8(lo));
    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(width)), d);
  };
  BlockMasks m;
  for (int q = 0; q < 4; ++q) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * q));
    __m128i space =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), in_range(v, '\t', 4));  // \t \n \v \f \r
    __m128i graph = in_range(v, 0x21, 0x7E - 0x21);
    __m128i digit = in_range(v, '0', 9);
    __m128i alpha = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 25);
    __m128i punct = _mm_andnot_si128(_mm_or_si128(digit, alpha), graph);
    // Signed compares: bytes >= 0x80 are negative; 0x80..0xBF are below −64 (0xC0).
    __m128i letter = _mm_or_si128(alpha, _mm_cmplt_epi8(v, _mm_setzero_si128()));
    __m128i continuation = _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(0xC0)));
    const int shift = 16 * q;
    m.space |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(space))) << shift;
    m.punct |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(punct))) << shift;
    m.letter |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(letter))) << shift;
    m.continuation |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(continuation))) << shift;
  }
  return m;
}

inline uint64_t LowBits(int k) {
  return k >= 64 ? ~uint64_t{0} : (uint64_t{1} << k) - 1;
}

// Splits `text` into words (maximal runs of non-space bytes) and gathers WordStats, 64
// bytes at a time: word starts and ends come from the whitespace mask, each word's
// statistics from its bit range of the other masks — no branch per byte.
void ScanWords(std::string_view text, WordBuffer* words, WordStats* stats) {
  words->count = 0;
  *stats = WordStats{};
  const size_t size = text.size();
  bool in_word = false;  // a word runs into the next block
  size_t word_start = 0;
  bool all_punct = true, any_letter = false;
  size_t continuation = 0;
  const char* const text_end = text.data() + size;
  auto accumulate = [&](const BlockMasks& m, uint64_t range) {
    all_punct = all_punct & ((m.punct & range) == range);
    any_letter = any_letter | ((m.letter & range) != 0);
    // Without -mpopcnt std::popcount is a library call: skip it for ASCII blocks.
    if (m.continuation != 0) continuation += static_cast<size_t>(std::popcount(m.continuation & range));
  };
  auto finish = [&](size_t end) {
    AddWord(text.substr(word_start, end - word_start), text_end, all_punct, any_letter, continuation, words,
            stats);
  };
  for (size_t base = 0; base < size; base += 64) {
    words->Reserve(33);  // a block finishes at most 32 words, plus one running into it
    BlockMasks m;
    if (size - base >= 64) {
      m = ClassifyBlock(text.data() + base);
    } else {
      char tail[64];
      std::memset(tail, ' ', sizeof(tail));  // padding is whitespace: the last word ends at the text's end
      std::memcpy(tail, text.data() + base, size - base);
      m = ClassifyBlock(tail);
    }
    const uint64_t word_bytes = ~m.space;
    const uint64_t previous = (word_bytes << 1) | (in_word ? 1 : 0);
    uint64_t starts = word_bytes & ~previous;
    uint64_t ends = ~word_bytes & previous;  // first byte after a word
    if (in_word) {
      if (ends == 0) {
        accumulate(m, ~uint64_t{0});
        continue;
      }
      int e = std::countr_zero(ends);
      ends &= ends - 1;
      accumulate(m, LowBits(e));
      finish(base + e);
      in_word = false;
    }
    while (starts != 0) {
      int s = std::countr_zero(starts);
      starts &= starts - 1;
      word_start = base + s;
      all_punct = true;
      any_letter = false;
      continuation = 0;
      if (ends == 0) {
        accumulate(m, ~LowBits(s));
        in_word = true;
        break;
      }
      int e = std::countr_zero(ends);
      ends &= ends - 1;
      accumulate(m, LowBits(e) & ~LowBits(s));
      finish(base + e);
    }
  }
  if (in_word) finish(size);
}
#else
// SplitWordsInto plus WordStats, in one pass over the bytes.
void ScanWords(std::string_view text, WordBuffer* words, WordStats* stats) {
  words->count = 0;
  *stats = WordStats{};
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    while (p < end && IsSpace(*p)) ++p;
    if (p == end) break;
    const char* start = p;
    uint8_t all = 0xFF, any = 0;
    size_t continuation = 0;
    for (uint8_t k = Class(*p); !(k & kSpace); k = Class(*p)) {
      all &= k;
      any |= k;
      continuation += (k & kLead) == 0;
      if (++p == end) break;
    }
    words->Reserve(1);
    AddWord(std::string_view(start, static_cast<size_t>(p - start)), end, all & kPunct, any & kLetter,
            continuation, words, stats);
  }
}
#endif

size_t CountWordsUpTo(std::string_view text, size_t limit) {
  size_t n = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = IsSpace(c);
    if (!space && !in_word && ++n >= limit) return n;
    in_word = !space;
  }
  return n;
}

// Calls f(line) for each '\n'-separated line, empty ones included (Python's text.split("\n")).
template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  size_t start = 0;
  while (true) {
    const void* nl = std::memchr(text.data() + start, '\n', text.size() - start);
    size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
    f(text.substr(start, end - start), start);
    if (!nl) return;
    start = end + 1;
  }
}

// Non-empty lines (datatrove: re.split(r"\n+", text)) or paragraphs (re.split(r"\n{2,}")).
// A paragraph keeps a single leading or trailing newline, as the regex split does.
template <typename F>
void ForEachBlock(std::string_view text, bool paragraphs, F&& f) {
  const size_t size = text.size();
  size_t i = 0;
  while (i < size) {
    size_t start = i, end = i;
    while (end < size) {
      const void* nl = std::memchr(text.data() + end, '\n', size - end);
      if (!nl) {
        end = size;
        break;
      }
      end = static_cast<size_t>(static_cast<const char*>(nl) - text.data());
      size_t run = end;
      while (run < size && text[run] == '\n') ++run;
      if (!paragraphs || run - end >= 2) break;
      end = run;
    }
    if (end > start) f(text.substr(start, end - start));
    i = end;
    while (i < size && text[i] == '\n') ++i;
  }
}

// Open-addressing hash table of 64-bit keys (linear probing, load ≤ 1/2), cleared in
// O(capacity) and reused, so counting allocates nothing per document.
class FlatTable {
 public:
  struct Entry {
    uint64_t key;
    uint32_t count;  // 0: empty slot
    uint32_t first;  // value stored with the key's first occurrence
  };
  void Reset(size_t expected) {
    size_t capacity = 16;
    int bits = 4;
    while (capacity < 2 * expected) capacity <<= 1, ++bits;
    // Only the first `capacity` slots are used: a large document's table serves small ones
    // without reallocating, and clearing costs what the document needs.
    if (entries_.size() < capacity) entries_.resize(capacity);
    std::memset(static_cast<void*>(entries_.data()), 0, capacity * sizeof(Entry));
    mask_ = capacity - 1;
    shift_ = 64 - bits;
  }
  void Prefetch(uint64_t key) const {
    __builtin_prefetch(&entries_[(key * 0x9e3779b97f4a7c15ULL) >> shift_]);
  }
  // Counts `key`; returns its slot (count and first occurrence via at()).
  uint32_t Add(uint64_t key, uint32_t first) {
    size_t slot = (key * 0x9e3779b97f4a7c15ULL) >> shift_;
    while (entries_[slot].count != 0 && entries_[slot].key != key) slot = (slot + 1) & mask_;
    Entry& e = entries_[slot];
    if (e.count == 0) {
      e.key = key;
      e.first = first;
    }
    ++e.count;
    return static_cast<uint32_t>(slot);
  }
  // Inserts `key` if absent; returns whether it was already there.
  bool Contains(uint64_t key) {
    size_t slot = (key * 0x9e3779b97f4a7c15ULL) >> shift_;
    while (entries_[slot].count != 0) {
      if (entries_[slot].key == key) return true;
      slot = (slot + 1) & mask_;
    }
    entries_[slot] = Entry{key, 1, 0};
    return false;
  }
  const Entry& at(uint32_t slot) const { return entries_[slot]; }

 private:
  std::vector<Entry> entries_;
  size_t mask_ = 0;
  int shift_ = 60;
};

// Gopher Table A1 "duplicate line/paragraph fraction" and "… character fraction":
// elements equal to an earlier one (byte for byte), by count and by characters.
struct DuplicateCount {
  size_t elements = 0, duplicates = 0, duplicate_chars = 0;
};

// Whether some run of '\n' in `text` is a single newline.
bool HasLoneNewline(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))) != nullptr) {
    const char* run = p;
    while (p < end && *p == '\n') ++p;
    if (p - run == 1) return true;
  }
  return false;
}

DuplicateCount CountDuplicateBlocks(std::string_view text, bool paragraphs) {
  thread_local std::vector<std::pair<uint64_t, std::string_view>> blocks;
  thread_local std::vector<uint32_t> table;  // index + 1 into blocks; 0 = empty
  blocks.clear();
  ForEachBlock(text, paragraphs,
               [](std::string_view b) { blocks.emplace_back(XXH3_64bits(b.data(), b.size()), b); });
  DuplicateCount result;
  result.elements = blocks.size();
  if (blocks.size() < 2) return result;
  size_t capacity = 16;
  while (capacity < 2 * blocks.size()) capacity <<= 1;
  table.assign(capacity, 0);
  const size_t mask = capacity - 1;
  for (uint32_t b = 0; b < blocks.size(); ++b) {
    const auto& [hash, view] = blocks[b];
    size_t slot = hash & mask;
    bool duplicate = false;
    while (table[slot] != 0) {
      const auto& other = blocks[table[slot] - 1];
      if (other.first == hash && other.second == view) {
        duplicate = true;
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (duplicate) {
      ++result.duplicates;
      result.duplicate_chars += view.size();
    } else {
      table[slot] = b + 1;
    }
  }
  return result;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Occurrences of a byte that is rare in prose ('#'), by memchr.
size_t CountByte(std::string_view text, char c) {
  size_t n = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while ((p = static_cast<const char*>(std::memchr(p, c, static_cast<size_t>(end - p)))) != nullptr) {
    ++n;
    ++p;
  }
  return n;
}

// Non-overlapping occurrences of "..." (Python's str.count): floor(k / 3) per maximal run of
// k dots.
size_t CountTripleDots(std::string_view text) {
  size_t n = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while ((p = static_cast<const char*>(std::memchr(p, '.', static_cast<size_t>(end - p)))) != nullptr) {
    const char* run = p;
    while (p < end && *p == '.') ++p;
    n += static_cast<size_t>(p - run) / 3;
  }
  return n;
}

// Occurrences of a needle that cannot overlap itself (here "…", E2 80 A6).
size_t CountOccurrences(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size()))
    ++n;
  return n;
}

// Lowercases ASCII letters (the C locale's tolower), 16 bytes at a time where SSE2 exists.
void AsciiLowercase(std::string_view in, char* out) {
  size_t i = 0;
  const size_t n = in.size();
#if defined(__SSE2__)
  const __m128i before_a = _mm_set1_epi8('A' - 1), after_z = _mm_set1_epi8('Z' + 1),
                bit = _mm_set1_epi8(0x20);
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in.data() + i));
    // Signed compares: bytes >= 0x80 are negative, so never in 'A'..'Z'.
    __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, before_a), _mm_cmplt_epi8(v, after_z));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_or_si128(v, _mm_and_si128(upper, bit)));
  }
#endif
  for (; i < n; ++i) out[i] = AsciiLower(in[i]);
}

// A phrase to look for, with the offset of a byte pair in it that is rare in prose: candidate
// positions are where that pair occurs, and only they are compared with the whole phrase.
struct Needle {
  std::string_view text;
  size_t pair;
};

// Bit k of the result is set when needles[k] occurs in `hay` (at most 32 needles). One
// pass over the text for all needles (SSE2: 16 positions per step), instead of one search
// per needle.
uint32_t FindNeedles(std::string_view hay, const Needle* needles, size_t count) {
  uint32_t found = 0;
  auto check = [&](size_t pos, size_t k) {  // the pair of needle k is at hay[pos]
    const Needle& n = needles[k];
    if (pos < n.pair || pos - n.pair + n.text.size() > hay.size()) return;
    if (std::memcmp(hay.data() + pos - n.pair, n.text.data(), n.text.size()) == 0) found |= 1u << k;
  };
  size_t i = 0;
#if defined(__SSE2__)
  __m128i first[32], second[32];
  for (size_t k = 0; k < count; ++k) {
    first[k] = _mm_set1_epi8(needles[k].text[needles[k].pair]);
    second[k] = _mm_set1_epi8(needles[k].text[needles[k].pair + 1]);
  }
  for (; i + 17 <= hay.size(); i += 16) {
    __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay.data() + i));
    __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay.data() + i + 1));
    int any = 0;
    for (size_t k = 0; k < count; ++k)
      any |= _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(v0, first[k]), _mm_cmpeq_epi8(v1, second[k])));
    while (any != 0) {
      size_t pos = i + static_cast<size_t>(std::countr_zero(static_cast<unsigned>(any)));
      for (size_t k = 0; k < count; ++k) {
        if (hay[pos] == needles[k].text[needles[k].pair] &&
            hay[pos + 1] == needles[k].text[needles[k].pair + 1])
          check(pos, k);
      }
      any &= any - 1;
    }
  }
#endif
  for (; i + 1 < hay.size(); ++i) {
    for (size_t k = 0; k < count; ++k) {
      if (hay[i] == needles[k].text[needles[k].pair] && hay[i + 1] == needles[k].text[needles[k].pair + 1])
        check(i, k);
    }
  }
  return found;
}

// Index of the first '.', '!' or '?' at or after i, or s.size().
size_t FindTerminal(std::string_view s, size_t i) {
#if defined(__SSE2__)
  const __m128i dot = _mm_set1_epi8('.'), bang = _mm_set1_epi8('!'), question = _mm_set1_epi8('?');
  for (; i + 16 <= s.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, dot), _mm_cmpeq_epi8(v, bang)),
                               _mm_cmpeq_epi8(v, question));
    int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return i + static_cast<size_t>(std::countr_zero(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < s.size(); ++i) {
    if (s[i] == '.' || s[i] == '!' || s[i] == '?') return i;
  }
  return s.size();
}

// Sentences in a line: terminal . ! ? (optionally followed by closing quotes or brackets)
// at the end of the line or before a space. An approximation of the sentence splitter
// TFDS uses (nltk punkt); abbreviations like "Mr." count as sentence ends.
int CountSentences(std::string_view line) {
  int sentences = 0;
  for (size_t i = FindTerminal(line, 0); i < line.size(); i = FindTerminal(line, i + 1)) {
    size_t j = i + 1;
    while (j < line.size() && (line[j] == '"' || line[j] == '\'' || line[j] == ')')) ++j;
    if (line.substr(j, 3) == "\xE2\x80\x9D" || line.substr(j, 3) == "\xE2\x80\x99") j += 3;  // ” ’
    if (j == line.size() || line[j] == ' ') {
      ++sentences;
      while (i + 1 < line.size() && (line[i + 1] == '.' || line[i + 1] == '!' || line[i + 1] == '?')) ++i;
    }
  }
  return sentences;
}

// ---- Gopher repetition: n-gram statistics ----

// Word n-grams are compared by a 64-bit hash built from their word hashes (a collision only
// ever makes a document look more repetitive, with probability ~n²/2⁶⁴). The hash of the
// n-gram at i is Extend(hash of the (n−1)-gram at i, hash of word i+n−1), so level n costs
// one step per n-gram, and level n only visits the positions whose (n−1)-gram occurs at
// least twice: an n-gram that occurs twice has a prefix that occurs twice, so the positions
// left out hold n-grams that occur once — they can be neither the most frequent n-gram (a
// count of 1 is ignored) nor a duplicate. Counts of the n-grams visited are exact.
inline uint64_t ExtendNgram(uint64_t h, uint64_t word) {
  h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
  return h ^ (h >> 29);
}

// splitmix64's finaliser (a bijection of 64-bit values).
inline uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// 64-bit hash of a word (a slice of a text ending at text_end). Words of up to 16 bytes
// (nearly all) are read as one or two 8-byte loads, which hold every byte of the word, and
// mixed inline; longer ones go to XXH3.
inline uint64_t WordHash(std::string_view w, const char* text_end) {
  const size_t n = w.size();
  if constexpr (std::endian::native == std::endian::little) {
    if (n <= 8) {
      uint64_t v = 0;
      if (w.data() + 8 <= text_end) {
        std::memcpy(&v, w.data(), 8);
        if (n < 8) v &= (uint64_t{1} << (8 * n)) - 1;  // the word's bytes only
      } else {
        std::memcpy(&v, w.data(), n);
      }
      return Mix64(v ^ (n * 0x9e3779b97f4a7c15ULL));
    }
    if (n <= 16) {
      uint64_t a, b;
      std::memcpy(&a, w.data(), 8);
      std::memcpy(&b, w.data() + n - 8, 8);
      return Mix64(a ^ Mix64(b + n));
    }
  }
  return XXH3_64bits(w.data(), n);
}

class NgramLevels {
 public:
  // `words` must outlive this object's use.
  void Start(std::span<const std::string_view> words, const char* text_end) {
    n_words_ = words.size();
    hash_.resize(n_words_);
    length_prefix_.resize(n_words_ + 1);
    positions_.resize(n_words_);
    length_prefix_[0] = 0;
    word_hash_.resize(n_words_);
    for (size_t i = 0; i < n_words_; ++i) {
      word_hash_[i] = WordHash(words[i], text_end);
      hash_[i] = ExtendNgram(0x243f6a8885a308d3ULL, word_hash_[i]);
      length_prefix_[i + 1] = length_prefix_[i] + words[i].size();
      positions_[i] = static_cast<uint32_t>(i);
    }
    level_ = 1;
    best_count_ = 0;
    best_start_ = 0;
  }
  // Moves to n-grams of one more word: counts every n-gram that may occur more than once,
  // keeps the positions of those that do, and finds the most frequent (ties: first seen).
  void Advance() {
    const size_t n = ++level_;
    size_t kept = 0;
    for (uint32_t p : positions_) {
      if (p + n > n_words_) break;  // positions are ascending
      positions_[kept++] = p;
    }
    positions_.resize(kept);
    counts_.Reset(kept);
    best_count_ = 0;
    best_start_ = 0;
    // repeated_[p]: the n-gram at p occurs more than once (set for the first occurrence
    // when the second is seen), so keeping those positions needs no second table lookup.
    repeated_.resize(n_words_);
    std::memset(repeated_.data(), 0, n_words_);
    for (size_t j = 0; j < kept; ++j) {
      uint32_t p = positions_[j];
      hash_[p] = ExtendNgram(hash_[p], word_hash_[p + n - 1]);
    }
    // The table outgrows L1 for long documents: prefetch the slot a few n-grams ahead.
    constexpr size_t kAhead = 8;
    for (size_t j = 0; j < kept; ++j) {
      if (j + kAhead < kept) counts_.Prefetch(hash_[positions_[j + kAhead]]);
      uint32_t p = positions_[j];
      const auto& e = counts_.at(counts_.Add(hash_[p], p));
      // Branch-free: whether an n-gram repeats is unpredictable, a mispredicted branch per
      // n-gram cost more than two stores and two conditional moves.
      const uint8_t repeated = e.count >= 2;
      repeated_[e.first] |= repeated;
      repeated_[p] |= repeated;
      const bool better = e.count > best_count_ || (e.count == best_count_ && e.first < best_start_);
      best_count_ = better ? e.count : best_count_;
      best_start_ = better ? e.first : best_start_;
    }
    size_t next = 0;
    for (size_t j = 0; j < kept; ++j) {
      uint32_t p = positions_[j];
      positions_[next] = p;
      next += repeated_[p];
    }
    positions_.resize(next);
  }
  size_t level() const { return level_; }
  size_t n_words() const { return n_words_; }
  size_t best_count() const { return best_count_; }
  size_t best_start() const { return best_start_; }
  size_t Chars(size_t start, size_t n) const { return length_prefix_[start + n] - length_prefix_[start]; }
  // Characters in n-grams equal to an earlier one, walking left to right and skipping past a
  // repeated n-gram so its words are not counted twice (datatrove). Only n-grams that occur
  // more than once can be "equal to an earlier one"; the others only move the walk on by
  // one word, so the walk needs to look at the repeated ones alone.
  size_t DuplicateChars() {
    const size_t n = level_;
    seen_.Reset(positions_.size());
    size_t repeated_chars = 0, next_visit = 0;
    for (uint32_t p : positions_) {
      if (p < next_visit) continue;  // inside an n-gram already counted
      if (seen_.Contains(hash_[p])) {
        repeated_chars += Chars(p, n);
        next_visit = p + n;
      }
    }
    return repeated_chars;
  }

 private:
  size_t n_words_ = 0, level_ = 1;
  std::vector<uint64_t> hash_, word_hash_;
  std::vector<size_t> length_prefix_;  // prefix sums of word lengths (bytes)
  std::vector<uint32_t> positions_;
  std::vector<uint8_t> repeated_;
  FlatTable counts_, seen_;
  size_t best_count_ = 0, best_start_ = 0;
};

std::string RepetitionRule(std::string_view text, std::span<const std::string_view> words,
                           const GopherRepetitionOptions& o) {
  if (!o.enabled || text.empty()) return "";
  const double total_chars = static_cast<double>(text.size());

  DuplicateCount paragraphs = CountDuplicateBlocks(text, /*paragraphs=*/true);
  if (paragraphs.elements != 0 &&
      static_cast<double>(paragraphs.duplicates) / paragraphs.elements > o.max_duplicate_paragraph_fraction) {
    return "gopher_dup_paragraphs";
  }
  if (paragraphs.duplicate_chars / total_chars > o.max_duplicate_paragraph_char_fraction)
    return "gopher_dup_paragraph_chars";

  // Without a lone newline every run of newlines separates paragraphs, so the lines are the
  // paragraphs (normalised prose with one paragraph per line): reuse their counts.
  DuplicateCount lines = HasLoneNewline(text) ? CountDuplicateBlocks(text, /*paragraphs=*/false) : paragraphs;
  if (lines.elements != 0 &&
      static_cast<double>(lines.duplicates) / lines.elements > o.max_duplicate_line_fraction) {
    return "gopher_dup_lines";
  }
  if (lines.duplicate_chars / total_chars > o.max_duplicate_line_char_fraction)
    return "gopher_dup_line_chars";

  // Rules in their order: top n-gram for n = 2 … 1+T, then duplicate n-gram for n = 5 … 4+D,
  // each skipped once the document has fewer than n words. Levels are computed in
  // increasing n; a failure is returned as soon as every rule before it is known to pass.
  const size_t top_rules = o.max_top_ngram_char_fraction.size();
  const size_t dup_rules = o.max_duplicate_ngram_char_fraction.size();
  const size_t n_words = words.size();
  const size_t last_top = 1 + top_rules, last_dup = 4 + dup_rules;
  const size_t max_level = std::min(n_words, std::max(top_rules ? last_top : 1, dup_rules ? last_dup : 1));
  if (max_level < 2) return "";
  thread_local NgramLevels levels;
  levels.Start(words, text.data() + text.size());
  std::string pending_dup;  // a duplicate n-gram failure found before the last top rule
  for (size_t n = 2; n <= max_level; ++n) {
    levels.Advance();
    if (n <= last_top) {
      size_t best_count = levels.best_count();
      if (best_count >= 2) {  // an n-gram seen once is not repetition
        double chars = static_cast<double>((levels.Chars(levels.best_start(), n) + n - 1) * best_count);
        if (chars / total_chars > o.max_top_ngram_char_fraction[n - 2])
          return "gopher_top_" + std::to_string(n) + "gram";
      }
    }
    if (n >= 5 && n <= last_dup && pending_dup.empty()) {
      if (levels.DuplicateChars() / total_chars > o.max_duplicate_ngram_char_fraction[n - 5]) {
        pending_dup = "gopher_dup_" + std::to_string(n) + "gram";
      }
    }
    if (!pending_dup.empty() && n >= last_top) return pending_dup;
  }
  return pending_dup;
}

// ---- Gopher quality ----

std::string QualityRule(std::string_view text, size_t word_count, const WordStats& stats,
                        const GopherQualityOptions& o) {
  if (!o.enabled) return "";
  const size_t non_symbol_words = stats.non_symbol_words, non_symbol_chars = stats.non_symbol_chars,
               alpha_words = stats.alpha_words;
  const uint32_t stop_words_seen = stats.stop_words_seen;
  if (static_cast<int64_t>(non_symbol_words) < o.min_words) return "gopher_min_words";
  if (static_cast<int64_t>(non_symbol_words) > o.max_words) return "gopher_max_words";
  double mean_length = static_cast<double>(non_symbol_chars) / non_symbol_words;
  if (mean_length < o.min_mean_word_length || mean_length > o.max_mean_word_length)
    return "gopher_mean_word_length";
  const double n_words = static_cast<double>(word_count);
  if (CountByte(text, '#') / n_words > o.max_hash_to_word_ratio) return "gopher_hash_ratio";
  if ((CountTripleDots(text) + CountOccurrences(text, "\xE2\x80\xA6")) / n_words >
      o.max_ellipsis_to_word_ratio) {
    return "gopher_ellipsis_ratio";
  }
  size_t lines = 0, bullet_lines = 0, ellipsis_lines = 0;
  ForEachLine(text, [&](std::string_view line, size_t) {
    ++lines;
    std::string_view t = TrimSpaces(line);
    if (StartsWith(t, "\xE2\x80\xA2") || StartsWith(t, "-")) ++bullet_lines;  // • or -
    if (EndsWith(t, "...") || EndsWith(t, "\xE2\x80\xA6")) ++ellipsis_lines;
  });
  if (static_cast<double>(bullet_lines) / lines > o.max_bullet_line_fraction) return "gopher_bullet_lines";
  if (static_cast<double>(ellipsis_lines) / lines > o.max_ellipsis_line_fraction)
    return "gopher_ellipsis_lines";
  if (alpha_words / n_words < o.min_alpha_word_fraction) return "gopher_alpha_words";
  if (std::popcount(stop_words_seen) < o.min_stop_words) return "gopher_stop_words";
  return "";
}

WordBuffer& ThreadWords() {
  thread_local WordBuffer words;
  return words;
}

}  // namespace

std::string GopherRepetitionRule(std::string_view text, const GopherRepetitionOptions& o) {
  if (!o.enabled || text.empty()) return "";
  auto& words = ThreadWords();
  WordStats stats;
  ScanWords(text, &words, &stats);
  return RepetitionRule(text, words.view(), o);
}

std::string GopherQualityRule(std::string_view text, const GopherQualityOptions& o) {
  if (!o.enabled) return "";
  auto& words = ThreadWords();
  WordStats stats;
  ScanWords(text, &words, &stats);
  return QualityRule(text, words.count, stats, o);
}

std::string C4Rule(std::string* text, const C4Options& o, int* lines_removed) {
  *lines_removed = 0;
  if (!o.enabled) return "";
  static const std::array<std::string_view, 6> kPolicy = {"terms of use", "privacy policy", "cookie policy",
                                                          "uses cookies", "use of cookies", "use cookies"};
  // The page rules and the policy-line rule look for phrases in the lowercased line. None
  // of the phrases starts or ends with whitespace or holds a newline, so a phrase is in
  // some trimmed line exactly when it is in the whole lowercased text: one search over the
  // text decides whether any line needs the check at all.
  thread_local std::string lower;
  lower.resize(text->size());
  AsciiLowercase(*text, lower.data());
  const std::string_view lower_text(lower);
  // "cookie" stands for the four cookie phrases: a line can only hold one of them if the
  // text holds "cookie".
  static constexpr Needle kNeedles[] = {
      {"lorem ipsum", 7}, {"javascript", 0}, {"terms of use", 3}, {"privacy policy", 5}, {"cookie", 3}};
  const uint32_t found = FindNeedles(lower_text, kNeedles, std::size(kNeedles));
  const bool any_lorem = o.drop_lorem_ipsum && (found & 1u);
  const bool any_curly = o.drop_curly_brace && text->find('{') != std::string::npos;
  const bool any_policy = o.filter_lines && o.drop_policy_lines && (found & ~1u);
  std::unique_ptr<std::unordered_set<std::string>> bad_words;
  if (!o.bad_words.empty())
    bad_words = std::make_unique<std::unordered_set<std::string>>(o.bad_words.begin(), o.bad_words.end());
  thread_local std::vector<std::string_view> line_words;

  std::string kept;
  if (o.filter_lines) kept.reserve(text->size());
  int sentences = 0;
  bool paragraph_break = false;
  std::string rule;
  const std::string_view all(*text);
  ForEachLine(all, [&](std::string_view raw, size_t offset) {
    if (!rule.empty()) return;
    std::string_view line = TrimSpaces(raw);
    if (line.empty()) {
      paragraph_break = true;
      return;
    }
    std::string_view lower_line = lower_text.substr(offset + (line.data() - raw.data()), line.size());
    if (any_lorem && lower_line.find("lorem ipsum") != std::string_view::npos) {
      rule = "c4_lorem_ipsum";
      return;
    }
    if (any_curly && line.find('{') != std::string_view::npos) {
      rule = "c4_curly_brace";
      return;
    }
    if (bad_words) {
      SplitWordsInto(lower_line, &line_words);
      for (std::string_view w : line_words) {
        while (!w.empty() && IsAsciiPunctuation(w.back())) w.remove_suffix(1);
        while (!w.empty() && IsAsciiPunctuation(w.front())) w.remove_prefix(1);
        if (bad_words->count(std::string(w))) {
          rule = "c4_bad_words";
          return;
        }
      }
    }
    if (o.filter_lines) {
      bool terminal =
          (EndsWith(line, ".") || EndsWith(line, "!") || EndsWith(line, "?") || EndsWith(line, "\"") ||
           EndsWith(line, "'") || EndsWith(line, "\xE2\x80\x9D") || EndsWith(line, "\xE2\x80\x99")) &&
          !EndsWith(line, "...");
      bool policy = false;
      if (any_policy) {
        policy = lower_line.find("javascript") != std::string_view::npos;
        for (std::string_view p : kPolicy) policy = policy || lower_line.find(p) != std::string_view::npos;
      }
      if (!terminal || policy ||
          static_cast<int64_t>(CountWordsUpTo(line, std::max(o.min_words_per_line, 0))) <
              o.min_words_per_line) {
        ++*lines_removed;
        return;
      }
    }
    sentences += CountSentences(line);
    if (o.filter_lines) {
      if (!kept.empty()) kept.append(paragraph_break ? "\n\n" : "\n");
      kept.append(line);
    }
    paragraph_break = false;
  });
  if (!rule.empty()) return rule;
  if (sentences < o.min_sentences) return "c4_too_few_sentences";
  if (o.filter_lines) *text = std::move(kept);
  return "";
}

QualityResult ApplyQualityRules(std::string* text, const QualityOptions& options) {
  QualityResult result;
  if (options.gopher_repetition.enabled || options.gopher_quality.enabled) {
    auto& words = ThreadWords();
    WordStats stats;
    ScanWords(*text, &words, &stats);
    result.failed_rule = RepetitionRule(*text, words.view(), options.gopher_repetition);
    if (result.failed_rule.empty())
      result.failed_rule = QualityRule(*text, words.count, stats, options.gopher_quality);
  }
  if (result.failed_rule.empty()) result.failed_rule = C4Rule(text, options.c4, &result.lines_removed);
  return result;
}

std::vector<std::string> AllQualityRuleNames() {
  return {
      "gopher_dup_paragraphs", "gopher_dup_paragraph_chars", "gopher_dup_lines",    "gopher_dup_line_chars",
      "gopher_top_2gram",      "gopher_top_3gram",           "gopher_top_4gram",    "gopher_dup_5gram",
      "gopher_dup_6gram",      "gopher_dup_7gram",           "gopher_dup_8gram",    "gopher_dup_9gram",
      "gopher_dup_10gram",     "gopher_min_words",           "gopher_max_words",    "gopher_mean_word_length",
      "gopher_hash_ratio",     "gopher_ellipsis_ratio",      "gopher_bullet_lines", "gopher_ellipsis_lines",
      "gopher_alpha_words",    "gopher_stop_words",          "c4_lorem_ipsum",      "c4_curly_brace",
      "c4_bad_words",          "c4_too_few_sentences"};
}

}  // namespace isoflop::data
