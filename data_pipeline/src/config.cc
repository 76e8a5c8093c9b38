// Options validation and configs/data/*.yaml loading.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "isoflop/data_pipeline.h"

namespace isoflop::data {

bool InputOptions::IsValid(std::string* error) const {
  if (format != "auto" && format != "jsonl" && format != "text") {
    return *error = "input.format must be auto, jsonl or text (got '" + format + "')", false;
  }
  if (text_unit != "file" && text_unit != "paragraph") {
    return *error = "input.text_unit must be file or paragraph (got '" + text_unit + "')", false;
  }
  if (text_field.empty()) return *error = "input.text_field is empty", false;
  if (max_record_bytes < 1) return *error = "input.max_record_bytes must be >= 1", false;
  return true;
}

bool BuildOptions::IsValid(std::string* error) const {
  if (inputs.empty()) return *error = "no input given (--input PATH...)", false;
  if (out_dir.empty()) return *error = "no output directory given (--out DIR)", false;
  if (threads < 1 || threads > 1024) return *error = "threads must be in [1, 1024]", false;
  if (!input.IsValid(error)) return false;
  if (!minhash.IsValid(error)) return false;
  if (tokenizer_path.empty() && !tokenizer.IsValid(error)) return false;
  if (!tokenizer_eos.empty() && tokenizer_path.empty())
    return *error = "--eos-token (tokenizer.eos_token) needs --tokenizer (tokenizer.path)", false;
  if (val_fraction < 0 || val_fraction >= 1) return *error = "val_fraction must be in [0, 1)", false;
  if (max_tokens_per_shard < 1) return *error = "max_tokens_per_shard must be >= 1", false;
  if (batch_bytes < 1) return *error = "batch_bytes must be >= 1", false;
  const auto& rep = quality.gopher_repetition;
  if (rep.max_top_ngram_char_fraction.size() > 3) {
    return *error = "gopher_repetition.max_top_ngram_char_fraction has at most 3 values (n = 2, 3, 4)", false;
  }
  if (rep.max_duplicate_ngram_char_fraction.size() > 6) {
    return *error = "gopher_repetition.max_duplicate_ngram_char_fraction has at most 6 values (n = 5..10)",
           false;
  }
  return true;
}

bool TokenizerTrainOptions::IsValid(std::string* error) const {
  if (inputs.empty()) return *error = "no input given (--input PATH...)", false;
  if (out_path.empty()) return *error = "no output file given (--out tokenizer.json)", false;
  return input.IsValid(error) && trainer.IsValid(error);
}

bool SampleOptions::IsValid(std::string* error) const {
  if (dir.empty()) return *error = "no shard directory given", false;
  if (count < 1) return *error = "-n must be >= 1", false;
  if (seq_len < 1) return *error = "--seq-len must be >= 1", false;
  return true;
}

namespace {

// Binds a YAML key path to a field; every key in the file must be bound.
class Binder {
 public:
  template <typename T>
  void Bind(const std::string& key, T* field) {
    setters_[key] = [field](const YAML::Node& node) { *field = node.as<T>(); };
  }
  // Binds the keys of one YAML section ("prefix.key"), so a section's fields are listed
  // once each without repeating its name.
  template <typename... Fields>
  void BindSection(const std::string& prefix, const std::pair<const char*, Fields*>&... fields) {
    (Bind(prefix + "." + fields.first, fields.second), ...);
  }
  Status Apply(const YAML::Node& node, const std::string& prefix, const std::string& path) {
    for (const auto& entry : node) {
      std::string key = prefix + entry.first.as<std::string>();
      if (entry.second.IsMap()) {
        ISOFLOP_RETURN_IF_ERROR(Apply(entry.second, key + ".", path));
        continue;
      }
      auto it = setters_.find(key);
      if (it == setters_.end()) {
        return Status::InvalidArgument(path + ":" + std::to_string(entry.first.Mark().line + 1) +
                                       ": unknown key '" + key + "'");
      }
      try {
        it->second(entry.second);
      } catch (const YAML::Exception& e) {
        return Status::InvalidArgument(path + ":" + std::to_string(entry.second.Mark().line + 1) +
                                       ": bad value for '" + key + "'");
      }
    }
    return Status::OK();
  }

 private:
  std::map<std::string, std::function<void(const YAML::Node&)>> setters_;
};

}  // namespace

StatusOr<BuildOptions> LoadBuildConfig(const std::string& yaml_path, BuildOptions o) {
  std::error_code ec;
  if (std::filesystem::is_directory(yaml_path, ec)) {
    return Status::InvalidArgument("config " + yaml_path + " is a directory; expected a YAML file such as " +
                                   "configs/data/default.yaml");
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(yaml_path);
  } catch (const YAML::BadFile&) {
    return Status::InvalidArgument("config " + yaml_path + " cannot be read");
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(yaml_path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {  // e.g. std::ios_base::failure from a special file
    return Status::InvalidArgument("config " + yaml_path + " cannot be read: " + e.what());
  }
  if (root.IsNull()) return o;
  if (!root.IsMap()) return Status::InvalidArgument(yaml_path + ": expected a mapping of keys");
  Binder b;
  b.BindSection("input", std::pair{"format", &o.input.format}, std::pair{"text_field", &o.input.text_field},
                std::pair{"id_field", &o.input.id_field}, std::pair{"text_unit", &o.input.text_unit},
                std::pair{"max_record_bytes", &o.input.max_record_bytes});
  b.BindSection("normalize", std::pair{"nfc", &o.normalize.nfc},
                std::pair{"clean_whitespace", &o.normalize.clean_whitespace});
  b.Bind("min_document_bytes", &o.min_document_bytes);
  auto& gq = o.quality.gopher_quality;
  b.BindSection("gopher_quality", std::pair{"enabled", &gq.enabled}, std::pair{"min_words", &gq.min_words},
                std::pair{"max_words", &gq.max_words},
                std::pair{"min_mean_word_length", &gq.min_mean_word_length},
                std::pair{"max_mean_word_length", &gq.max_mean_word_length},
                std::pair{"max_hash_to_word_ratio", &gq.max_hash_to_word_ratio},
                std::pair{"max_ellipsis_to_word_ratio", &gq.max_ellipsis_to_word_ratio},
                std::pair{"max_bullet_line_fraction", &gq.max_bullet_line_fraction},
                std::pair{"max_ellipsis_line_fraction", &gq.max_ellipsis_line_fraction},
                std::pair{"min_alpha_word_fraction", &gq.min_alpha_word_fraction},
                std::pair{"min_stop_words", &gq.min_stop_words});
  auto& gr = o.quality.gopher_repetition;
  b.BindSection("gopher_repetition", std::pair{"enabled", &gr.enabled},
                std::pair{"max_duplicate_line_fraction", &gr.max_duplicate_line_fraction},
                std::pair{"max_duplicate_paragraph_fraction", &gr.max_duplicate_paragraph_fraction},
                std::pair{"max_duplicate_line_char_fraction", &gr.max_duplicate_line_char_fraction},
                std::pair{"max_duplicate_paragraph_char_fraction", &gr.max_duplicate_paragraph_char_fraction},
                std::pair{"max_top_ngram_char_fraction", &gr.max_top_ngram_char_fraction},
                std::pair{"max_duplicate_ngram_char_fraction", &gr.max_duplicate_ngram_char_fraction});
  auto& c4 = o.quality.c4;
  b.BindSection("c4", std::pair{"enabled", &c4.enabled}, std::pair{"filter_lines", &c4.filter_lines},
                std::pair{"min_words_per_line", &c4.min_words_per_line},
                std::pair{"min_sentences", &c4.min_sentences},
                std::pair{"drop_lorem_ipsum", &c4.drop_lorem_ipsum},
                std::pair{"drop_curly_brace", &c4.drop_curly_brace},
                std::pair{"drop_policy_lines", &c4.drop_policy_lines}, std::pair{"bad_words", &c4.bad_words});
  b.BindSection("minhash", std::pair{"ngram", &o.minhash.ngram}, std::pair{"bands", &o.minhash.num_bands},
                std::pair{"rows", &o.minhash.rows_per_band}, std::pair{"seed", &o.minhash.seed},
                std::pair{"verify", &o.minhash.verify},
                std::pair{"verify_threshold", &o.minhash.verify_threshold});
  b.BindSection("tokenizer", std::pair{"vocab_size", &o.tokenizer.vocab_size},
                std::pair{"max_train_bytes", &o.tokenizer.max_train_bytes},
                std::pair{"min_pair_count", &o.tokenizer.min_pair_count},
                std::pair{"path", &o.tokenizer_path}, std::pair{"eos_token", &o.tokenizer_eos});
  b.Bind("split.val_fraction", &o.val_fraction);
  b.Bind("shards.max_tokens_per_shard", &o.max_tokens_per_shard);
  try {
    ISOFLOP_RETURN_IF_ERROR(b.Apply(root, "", yaml_path));
  } catch (const std::exception& e) {  // a key that is not a scalar, ...: no exception leaves the library
    return Status::InvalidArgument(yaml_path + ": " + e.what());
  }
  return o;
}

}  // namespace isoflop::data
