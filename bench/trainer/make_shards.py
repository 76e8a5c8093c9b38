#!/usr/bin/env python3
"""Writes uniformly random token shards in the format of docs/data.md ("Token shards").

For throughput benchmarks only (the GPU machine has no `isoflop data build`): the ids are
uniform in [0, vocab), so the loss stays near ln(vocab) and only speed is meaningful.
"""
import argparse
import hashlib
import os

import random
import struct
import sys


def random_ids(n, vocab, width, seed):
    """n little-endian ids uniform in [0, vocab): with torch when present (fast), else random."""
    try:
        import torch
        g = torch.Generator().manual_seed(seed)
        ids = torch.randint(0, vocab, (n,), generator=g, dtype=torch.int64)
        ids = ids.to(torch.int16 if width == 2 else torch.int32)  # same bits as uint16/uint32 little-endian
        return ids.numpy().tobytes() if sys.byteorder == "little" else None
    except Exception:  # no torch, or torch without numpy
        rng = random.Random(seed)
        fmt = "<H" if width == 2 else "<I"
        return b"".join(struct.pack(fmt, rng.randrange(vocab)) for _ in range(n))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--train-tokens", type=int, default=20_000_000)
    ap.add_argument("--val-tokens", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    width = 2 if a.vocab <= 65536 else 4
    lines = ["# isoflop token shards: little-endian unsigned ids; format in docs/data.md",
             "isoflop_shards\t1", f"vocab_size\t{a.vocab}", f"token_bytes\t{width}", "eos_id\t0"]
    for split, n in (("train", a.train_tokens), ("val", a.val_tokens)):
        data = bytearray(random_ids(n, a.vocab, width, a.seed + (split == "val")))
        data[-width:] = bytes(width)  # the stream ends with end-of-document (id 0), as the writer's does
        data = bytes(data)
        name = f"{split}-00000.bin"
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(data)
        lines.append(f"shard\t{split}\t{name}\t{n}\t1\t{hashlib.sha256(data).hexdigest()}")
    with open(os.path.join(a.out, "index.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
