// Encodes each case of CASES.jsonl ({"text": ..., "ids": [...]}) with the Hugging Face
// `tokenizers` library (its npm binding) from TOKENIZER.json and compares the ids.
// Usage: node hf_tokenizer_check.js TOKENIZER.json CASES.jsonl
// Prints "hf-check: N cases, M identical" and the first mismatches; exit 0 iff all identical.
// The module is looked up on NODE_PATH (scripts/setup installs it; see docs/data.md).
const fs = require('fs');
const {Tokenizer} = require('tokenizers');

async function main() {
  const [tokenizerPath, casesPath] = process.argv.slice(2);
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const lines = fs.readFileSync(casesPath, 'utf8').split('\n').filter((l) => l.length > 0);
  let same = 0;
  let shown = 0;
  for (let i = 0; i < lines.length; ++i) {
    const c = JSON.parse(lines[i]);
    const encoding = await tokenizer.encode(c.text, null, {addSpecialTokens: false});
    const ids = encoding.getIds();
    const decoded = await tokenizer.decode(c.ids, false);
    const equal = ids.length === c.ids.length && ids.every((v, k) => v === c.ids[k]) && decoded === c.text;
    if (equal) {
      ++same;
    } else if (shown++ < 5) {
      if (decoded !== c.text) console.log(`case ${i}: decoding isoflop's ids gives other text`);
      let k = 0;
      while (k < ids.length && ids[k] === c.ids[k]) ++k;
      console.log(
          `case ${i}: first difference at id ${k}: tokenizers ${JSON.stringify(ids.slice(k, k + 5))}` +
          ` isoflop ${JSON.stringify(c.ids.slice(k, k + 5))}; text near ${
              JSON.stringify(c.text.slice(0, 80))}`);
    }
  }
  console.log(`hf-check: ${lines.length} cases, ${same} identical`);
  process.exit(same === lines.length ? 0 : 1);
}
main().catch((e) => {
  console.log(`hf-check: error: ${e}`);
  process.exit(2);
});
