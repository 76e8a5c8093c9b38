#!/usr/bin/python3
"""Python MinHash reference, datasketch-style, vectorised with numpy (the peer in
docs/benchmarks.md, "Data pipeline").

As datasketch.MinHash does: each shingle is hashed to 32 bits (here: the first 4 bytes of its
SHA-1, datasketch's default hashfunc `sha1_hash32`), then 112 permutations
(a·h + b) mod (2^61 − 1) & (2^32 − 1) are applied to all shingles at once with numpy and
reduced with min; 14 bands × 8 rows are inserted into LSH buckets (a dict per band) as
datasketch.MinHashLSH does. Shingles are word 5-grams after the same normalisation as the C++
pipeline (lowercase, punctuation → space, digits → 0).

Usage: minhash_reference.py CORPUS.jsonl [MEGABYTES]   → prints JSON with MB/s (one core).
"""
import hashlib
import json
import re
import sys
import time

import numpy as np

MERSENNE = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint64((1 << 32) - 1)
NUM_PERM, BANDS, ROWS = 112, 14, 8

_punct = re.compile(r"[^\w\s]|_")
_digits = re.compile(r"\d+")


def shingles(text, n=5):
    words = _digits.sub("0", _punct.sub(" ", text.lower())).split()
    if len(words) < n:
        return {" ".join(words)}
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def main():
    path = sys.argv[1]
    limit = float(sys.argv[2]) * 1e6 if len(sys.argv) > 2 else float("inf")
    gen = np.random.RandomState(1)
    a = gen.randint(1, int(MERSENNE), size=NUM_PERM, dtype=np.uint64)
    b = gen.randint(0, int(MERSENNE), size=NUM_PERM, dtype=np.uint64)
    buckets = [dict() for _ in range(BANDS)]
    text_bytes = 0
    docs = 0
    line_bytes = 0
    start = time.process_time()  # CPU time: the machine is shared (see the C++ bench)
    wall_start = time.perf_counter()
    with open(path, "rb") as f:
        for line in f:
            line_bytes += len(line)
            if line_bytes > limit:
                break
            text = json.loads(line)["text"]
            text_bytes += len(text.encode("utf-8"))
            hv = np.array([int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little")
                           for s in shingles(text)], dtype=np.uint64)
            # datasketch: phv = ((hv * a + b) % MERSENNE) & MAX_HASH; min over shingles.
            phv = ((np.outer(hv, a) + b) % MERSENNE) & MAX_HASH
            signature = phv.min(axis=0)
            for band in range(BANDS):
                key = signature[band * ROWS:(band + 1) * ROWS].tobytes()
                buckets[band].setdefault(key, []).append(docs)
            docs += 1
    seconds = time.process_time() - start
    wall = time.perf_counter() - wall_start
    print(json.dumps({"documents": docs, "text_mb": text_bytes / 1e6, "cpu_s": seconds, "wall_s": wall,
                      "mb_per_cpu_s": text_bytes / 1e6 / seconds}))


if __name__ == "__main__":
    main()
