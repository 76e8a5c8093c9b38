// Trains a GPT-2-style byte-level BPE with the Hugging Face `tokenizers` library (its npm binding)
// and encodes documents with it, for hf_byte_level_input_test.cc.
// Usage: node hf_byte_level_train.js CORPUS.txt DOCS.jsonl OUT_DIR VOCAB
// Writes OUT_DIR/<style>.json (saved by the library) and OUT_DIR/<style>.ids.jsonl (one line per
// document of DOCS.jsonl: the library's ids, add_special_tokens = false) for three styles of the
// same trained model:
//   gpt2    ByteLevel(add_prefix_space = false, use_regex = true): GPT-2's regex
//   roberta ByteLevel(add_prefix_space = true, use_regex = true)
//   llama3  Sequence[Split(Llama 3's regex, Isolated), ByteLevel(use_regex = false)], ignore_merges
// Training: Tokenizer(BPE.empty()) with the ByteLevel pre-tokenizer, tokenizer.train([CORPUS]).
// The binding's train() takes no trainer (it uses BpeTrainer::default(): vocab 30,000, no initial
// alphabet), so the model is cut to its first VOCAB ids (the alphabet and the first merges: the
// merges a VOCAB-sized training learns, greedy BPE being a prefix), the byte characters the corpus
// lacks are appended (what Python's ByteLevelBPETokenizer's initial_alphabet gives) and
// <|endoftext|> is added as GPT-2 has it (in the vocabulary and a special added token). The
// library then loads the result and saves it: the file isoflop reads is the library's writing.
const fs = require('fs');
const path = require('path');
const {Tokenizer, BPE, byteLevelPreTokenizer, byteLevelAlphabet} = require('tokenizers');

const kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" +
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

async function main() {
  const [corpus, docsPath, outDir, vocabArg] = process.argv.slice(2);
  const vocabSize = parseInt(vocabArg, 10);
  const trainer = new Tokenizer(BPE.empty());
  trainer.setPreTokenizer(byteLevelPreTokenizer(false, true));
  trainer.train([corpus]);
  const rawPath = path.join(outDir, 'trained.json');
  trainer.save(rawPath);
  const j = JSON.parse(fs.readFileSync(rawPath, 'utf8'));

  // The first vocabSize ids, and the merges among them (a prefix of the merge list).
  const vocab = {};
  for (const [token, id] of Object.entries(j.model.vocab)) {
    if (id < vocabSize) vocab[token] = id;
  }
  const pair = (m) => (Array.isArray(m) ? m : m.split(' '));
  const merges = [];
  for (const m of j.model.merges) {
    const [a, b] = pair(m);
    if (!(a in vocab) || !(b in vocab) || !(a + b in vocab)) break;
    merges.push([a, b]);
  }
  let next = Object.keys(vocab).length;
  for (const c of byteLevelAlphabet()) {
    if (!(c in vocab)) vocab[c] = next++;
  }
  const eos = next++;
  vocab['<|endoftext|>'] = eos;
  j.model.vocab = vocab;
  j.model.merges = merges;
  j.added_tokens = [{
    id: eos, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true,
    special: true
  }];
  j.decoder = {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true};

  const styles = {
    gpt2: (t) => {
      t.pre_tokenizer = {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true};
    },
    roberta: (t) => {
      t.pre_tokenizer = {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true};
    },
    llama3: (t) => {
      t.pre_tokenizer = {
        type: 'Sequence',
        pretokenizers: [
          {type: 'Split', pattern: {Regex: kLlama3Regex}, behavior: 'Isolated', invert: false},
          {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false},
        ],
      };
      t.model.ignore_merges = true;
    },
  };
  const docs = fs.readFileSync(docsPath, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  for (const [style, edit] of Object.entries(styles)) {
    const t = JSON.parse(JSON.stringify(j));
    edit(t);
    const tokenizer = Tokenizer.fromString(JSON.stringify(t));
    const file = path.join(outDir, style + '.json');
    tokenizer.save(file, true);
    const loaded = Tokenizer.fromFile(file);
    const lines = [];
    for (const d of docs) {
      const encoding = await loaded.encode(d.text, null, {addSpecialTokens: false});
      lines.push(JSON.stringify(encoding.getIds()));
    }
    fs.writeFileSync(path.join(outDir, style + '.ids.jsonl'), lines.join('\n') + '\n');
    console.log(`${style}: vocab ${loaded.getVocabSize(true)}, merges ${merges.length}, eos ${eos}, ` +
                `${docs.length} documents`);
  }
}
main().catch((e) => {
  console.log(`hf-train: error: ${e}`);
  process.exit(2);
});
