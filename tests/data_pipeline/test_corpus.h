// Real English text for the data-pipeline tests: tests/data/austen_chapters.jsonl
// (provenance in tests/data/PROVENANCE.md).
#ifndef ISOFLOP_TESTS_DATA_PIPELINE_TEST_CORPUS_H_
#define ISOFLOP_TESTS_DATA_PIPELINE_TEST_CORPUS_H_

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace isoflop::data::testing {

inline std::string AustenPath() {
  return std::string(ISOFLOP_TEST_DATA_DIR) + "/austen_chapters.jsonl";
}

// The 12 chapters' texts, in file order.
inline std::vector<std::string> AustenChapters() {
  std::ifstream in(AustenPath());
  std::vector<std::string> chapters;
  std::string line;
  while (std::getline(in, line)) chapters.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
  return chapters;
}

// Every paragraph of the chapters, in order.
inline std::vector<std::string> AustenParagraphs() {
  std::vector<std::string> paragraphs;
  for (const std::string& chapter : AustenChapters()) {
    size_t start = 0;
    while (start < chapter.size()) {
      size_t end = chapter.find("\n\n", start);
      if (end == std::string::npos) end = chapter.size();
      paragraphs.push_back(chapter.substr(start, end - start));
      start = end + 2;
    }
  }
  return paragraphs;
}

// Documents of at least `min_words` words made of consecutive whole paragraphs.
inline std::vector<std::string> AustenDocuments(size_t min_words) {
  std::vector<std::string> docs;
  std::string current;
  size_t words = 0;
  for (const std::string& p : AustenParagraphs()) {
    current += (current.empty() ? "" : "\n\n") + p;
    std::istringstream in(p);
    std::string w;
    while (in >> w) ++words;
    if (words >= min_words) {
      docs.push_back(current);
      current.clear();
      words = 0;
    }
  }
  return docs;
}

inline std::vector<std::string> SplitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

inline std::string JoinWords(const std::vector<std::string>& words, const std::string& separator = " ") {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i ? separator : "") + words[i];
  return out;
}

// Writes `lines` to `path`, one per line.
inline void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary);
  for (const auto& l : lines) out << l << '\n';
}

inline std::string JsonlRecord(const std::string& id, const std::string& text) {
  return nlohmann::json{{"id", id}, {"text", text}}.dump();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace isoflop::data::testing

#endif  // ISOFLOP_TESTS_DATA_PIPELINE_TEST_CORPUS_H_
