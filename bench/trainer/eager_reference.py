#!/usr/bin/env python3
"""PyTorch eager reference of isoflop's GPT, for the trainer's GPU benchmark.

The same model as trainer/src/gpt_model.cc (pre-norm LayerNorm or RMSNorm, RoPE, causal
scaled_dot_product_attention, GELU/SwiGLU MLP, no biases in the matmuls, tied embeddings),
the same optimiser (AdamW, no decay on norms), bf16 autocast with fp32 master weights, the
same batch shape and the same FLOPs-per-token formula (PaLM appendix B) for MFU. Prints
one JSON line: tokens/s and MFU measured after warm-up.

  python3 bench/trainer/eager_reference.py --layers 12 --d-model 768 --heads 12 --ffn 3072 \\
      --vocab 50257 --seq-len 1024 --micro-batch 16 --accum 4 --steps 30 [--compile]
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


class RMSNorm(torch.nn.Module):
    """torch.nn.RMSNorm arrived in PyTorch 2.4; this is the same (Zhang & Sennrich 2019, eq. 4)."""

    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight).to(x.dtype)


def make_norm(kind, d):
    return torch.nn.LayerNorm(d) if kind == "layernorm" else RMSNorm(d)


def causal_attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):  # PyTorch >= 2.0
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return F._scaled_dot_product_attention(q, k, v, None, 0.0, False, True)[0]  # PyTorch 1.13


class Block(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        d, hd = a.d_model, a.d_model // a.heads
        kv = a.kv_heads or a.heads
        self.a = a
        self.norm1 = make_norm(a.norm, d)
        self.norm2 = make_norm(a.norm, d)
        self.wq = torch.nn.Linear(d, a.heads * hd, bias=False)
        self.wk = torch.nn.Linear(d, kv * hd, bias=False)
        self.wv = torch.nn.Linear(d, kv * hd, bias=False)
        self.wo = torch.nn.Linear(a.heads * hd, d, bias=False)
        self.w1 = torch.nn.Linear(d, a.ffn, bias=False)
        self.w3 = torch.nn.Linear(d, a.ffn, bias=False) if a.mlp == "swiglu" else None
        self.w2 = torch.nn.Linear(a.ffn, d, bias=False)

    def rope(self, x, cos, sin):
        half = x.shape[-1] // 2
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)

    def forward(self, x, cos, sin):
        a = self.a
        B, T, _ = x.shape
        hd, kv = a.d_model // a.heads, a.kv_heads or a.heads
        h = self.norm1(x)
        q = self.wq(h).view(B, T, a.heads, hd).transpose(1, 2)
        k = self.wk(h).view(B, T, kv, hd).transpose(1, 2)
        v = self.wv(h).view(B, T, kv, hd).transpose(1, 2)
        q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
        if kv != a.heads:
            k = k.repeat_interleave(a.heads // kv, 1)
            v = v.repeat_interleave(a.heads // kv, 1)
        y = causal_attention(q, k, v)
        x = x + self.wo(y.transpose(1, 2).reshape(B, T, -1))
        h = self.norm2(x)
        m = F.silu(self.w1(h)) * self.w3(h) if self.w3 is not None else F.gelu(self.w1(h))
        return x + self.w2(m)


class Gpt(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.wte = torch.nn.Embedding(a.vocab, a.d_model)
        self.blocks = torch.nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = make_norm(a.norm, a.d_model)
        hd = a.d_model // a.heads
        inv = a.rope_theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        ang = torch.outer(torch.arange(a.seq_len, dtype=torch.float64), inv)
        self.register_buffer("cos", torch.cos(ang).float()[None, None], persistent=False)
        self.register_buffer("sin", torch.sin(ang).float()[None, None], persistent=False)
        for n, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * a.layers) if n.endswith(("wo.weight", "w2.weight")) else 0.02
                torch.nn.init.normal_(p, 0.0, std)

    def forward(self, idx, targets):
        x = self.wte(idx)
        for b in self.blocks:
            x = b(x, self.cos, self.sin)
        logits = F.linear(self.norm(x), self.wte.weight)  # tied output layer
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))


def flops_per_token(a):
    """PaLM (Chowdhery et al. 2022) appendix B, as trainer/src/run_config.cc computes it."""
    d, hd, kv = a.d_model, a.d_model // a.heads, a.kv_heads or a.heads
    attn = d * a.heads * hd + 2 * d * kv * hd + a.heads * hd * d
    mlp = (3 if a.mlp == "swiglu" else 2) * d * a.ffn
    return 6 * a.layers * (attn + mlp) + 6 * d * a.vocab + 12 * a.layers * a.heads * hd * a.seq_len


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for k, v in dict(layers=12, d_model=768, heads=12, kv_heads=0, ffn=3072, vocab=50257, seq_len=1024,
                     micro_batch=16, accum=4, steps=30, warmup=5).items():
        ap.add_argument("--" + k.replace("_", "-"), type=int, default=v)
    ap.add_argument("--mlp", default="gelu")
    ap.add_argument("--norm", default="layernorm")
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--peak-flops", type=float, default=989.4e12, help="per-GPU dense bf16 peak (H100 SXM)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    a = ap.parse_args()

    torch.manual_seed(0)
    dev = a.device
    cuda = dev == "cuda"
    if a.threads:
        torch.set_num_threads(a.threads)
    model = Gpt(a).to(dev)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    fused = {"fused": True} if cuda and int(torch.__version__.split(".")[0]) >= 2 else {}
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8, **fused)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    step_fn = torch.compile(model) if a.compile else model
    x = torch.randint(0, a.vocab, (a.micro_batch, a.seq_len + 1), device=dev)
    tokens_per_step = a.micro_batch * a.seq_len * a.accum
    times = []
    for step in range(a.warmup + a.steps):
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        for _ in range(a.accum):
            x.random_(0, a.vocab)
            if cuda:  # bf16 autocast on GPU, fp32 on CPU, as the C++ trainer
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = step_fn(x[:, :-1], x[:, 1:])
            else:
                loss = step_fn(x[:, :-1], x[:, 1:])
            (loss / a.accum).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_value = loss.item()  # the C++ trainer also reads the loss every step
        sync()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    tps = tokens_per_step * len(times) / sum(times)
    fpt = flops_per_token(a)
    print(json.dumps({"impl": "pytorch-compile" if a.compile else "pytorch-eager", "torch": torch.__version__,
                      "params": sum(p.numel() for p in model.parameters()), "tokens_per_s": tps,
                      "mfu": tps * fpt / a.peak_flops, "flops_per_token": fpt, "final_loss": loss_value,
                      "peak_mem_bytes": torch.cuda.max_memory_allocated() if cuda else None}))


if __name__ == "__main__":
    main()
