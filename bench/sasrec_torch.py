#!/usr/bin/env python3
"""sasrec_torch.py - PyTorch CPU reference of aisle's sasrec, written for
bench/bench_sasrec.c's training-throughput comparison (issue #6).

Same model and training step as src/models/sasrec.c (Kang & McAuley 2018;
block_layout=sasrec, the default, or --layout pre_ln):
  x = dropout(E[item] * sqrt(d) + P[pos]); per block, sasrec layout:
  a = LN1(x); x = a + dropout(Wo attn(Q = Wq a, K = Wk x, V = Wv x))
  a = LN2(x); x = a + dropout(W2 dropout(relu(W1 a)))
  (attention weights dropped out with the same rate; causal mask), or pre-LN:
  x = x + dropout(Wo attn(Wqkv LN1(x)));  x = x + dropout(W2 relu(W1 LN2(x)))
  h = LNf(x); logit(i) = h . E[i]            (item embedding shared)
  loss = BCE(positive) + BCE(1 sampled negative outside the user's history),
  mean over real (non-padding) positions; Adam(beta 0.9/0.98, eps 1e-8),
  linear warm-up over 2% of the steps, global gradient-norm clip 5.

Sequences are left-padded to maxlen (newest item at position maxlen-1) as
in the reference PyTorch SASRec; each batch is trimmed to its longest
sequence, padding keys are masked and padding positions carry no loss, so
the model computes what aisle's ragged batches compute.

Data: each user's items of Video.txt ("user item" lines, time-ordered) minus
the last two (test and validation items) for users with 3+ items, exactly as
bench_sasrec --throughput trains aisle.  Users with 2+ training items train.

Prints `torch_sequences_per_second WALL CPU SEQUENCES WALL_S CPU_S` over the
timed epochs (after --warmup epochs): CPU is sequences per process-CPU
second (all threads), the fairer figure on a shared machine.

  /usr/bin/python3 bench/sasrec_torch.py Video.txt --threads 2 --epochs 2
"""
import argparse
import math
import os
import sys
import time

# torch parallelises with its own (OpenMP) threads; Debian's torch calls the
# system OpenBLAS, whose own thread pool on top oversubscribes the cores
# (measured: ~10x slower steps on 2 cores).  Must be set before the import.
os.environ["OPENBLAS_NUM_THREADS"] = "1"

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("sasrec_torch: skipped: torch not importable by %s" % sys.executable)
    sys.exit(3)


class Block(nn.Module):
    def __init__(self, d, heads, p, layout):
        super().__init__()
        self.d, self.heads, self.sasrec = d, heads, layout == "sasrec"
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff1, self.ff2 = nn.Linear(d, d), nn.Linear(d, d)
        self.drop = nn.Dropout(p)

    def forward(self, x, mask):
        B, L, d = x.shape
        h, dh = self.heads, d // self.heads
        a = self.ln1(x)
        if self.sasrec:  # queries from LN1(x), keys and values from x
            w, b = self.qkv.weight, self.qkv.bias
            qkv = torch.cat([F.linear(a, w[:d], b[:d]), F.linear(x, w[d:], b[d:])], dim=-1)
        else:
            qkv = self.qkv(a)
        q, k, v = qkv.view(B, L, 3, h, dh).permute(2, 0, 3, 1, 4)
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
        s = s.masked_fill(mask, float("-inf"))
        P = torch.softmax(s, dim=-1)
        if self.sasrec:
            P = self.drop(P)
        o = torch.matmul(P, v).transpose(1, 2).reshape(B, L, d)
        if self.sasrec:
            x = a + self.drop(self.proj(o))
            a = self.ln2(x)
            return a + self.drop(self.ff2(self.drop(F.relu(self.ff1(a)))))
        x = x + self.drop(self.proj(o))
        return x + self.drop(self.ff2(F.relu(self.ff1(self.ln2(x)))))


class SASRec(nn.Module):
    def __init__(self, n_tokens, d, T, blocks, heads, p, layout):
        super().__init__()
        self.d, self.T = d, T
        self.item = nn.Embedding(n_tokens, d)
        self.pos = nn.Embedding(T, d)
        nn.init.normal_(self.item.weight, std=0.01)
        nn.init.normal_(self.pos.weight, std=0.02)
        self.drop = nn.Dropout(p)
        self.blocks = nn.ModuleList([Block(d, heads, p, layout) for _ in range(blocks)])
        self.lnf = nn.LayerNorm(d)

    def forward(self, ids):
        B, L = ids.shape
        pos = torch.arange(self.T - L, self.T)
        x = self.drop(self.item(ids) * math.sqrt(self.d) + self.pos(pos))
        pad = ids == 0
        causal = torch.ones(L, L, dtype=torch.bool).triu(1)
        # mask future keys and padding keys; a padding query keeps itself so
        # its (unused) row stays finite
        mask = (causal | pad[:, None, :]) & ~torch.eye(L, dtype=torch.bool)
        mask = mask[:, None, :, :]
        for b in self.blocks:
            x = b(x, mask)
        return self.lnf(x)


def load(path):
    seqs = {}
    with open(path) as f:
        for line in f:
            u, i = line.split()
            seqs.setdefault(int(u), []).append(int(i))
    items = sorted({i for s in seqs.values() for i in s})
    index = {it: k + 1 for k, it in enumerate(items)}  # token 0: padding
    train = []
    for u in sorted(seqs):
        s = seqs[u]
        s = s[:-2] if len(s) >= 3 else s
        if len(s) >= 2:
            train.append([index[i] for i in s])
    return train, len(items) + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs")
    ap.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    ap.add_argument("--hidden", type=int, default=50)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--maxlen", type=int, default=50)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--layout", choices=["sasrec", "pre_ln"], default="sasrec")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    train, n_tokens = load(a.data)
    T, n = a.maxlen, len(train)
    # inputs / targets, left-padded windows of the last T transitions
    inp = torch.zeros(n, T, dtype=torch.long)
    tgt = torch.zeros(n, T, dtype=torch.long)
    lens = torch.zeros(n, dtype=torch.long)
    hist_keys = []
    for r, s in enumerate(train):
        x, y = s[:-1][-T:], s[1:][-T:]
        inp[r, T - len(x):] = torch.tensor(x)
        tgt[r, T - len(y):] = torch.tensor(y)
        lens[r] = len(x)
        hist_keys.extend(r * n_tokens + t for t in set(s))
    hist = torch.tensor(sorted(hist_keys), dtype=torch.long)

    model = SASRec(n_tokens, a.hidden, T, a.blocks, a.heads, a.dropout, a.layout)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.98), eps=1e-8)
    epochs = a.warmup + a.epochs
    steps = epochs * ((n + a.batch - 1) // a.batch)
    warm = max(1, int(0.02 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda st: min(1.0, (st + 1) / warm))

    def negatives(rows, shape):
        """Uniform items outside each row's user history (rejection, 20 tries)."""
        neg = torch.randint(1, n_tokens, shape)
        base = rows[:, None] * n_tokens
        for _ in range(20):
            key = base + neg
            at = torch.searchsorted(hist, key).clamp_(max=len(hist) - 1)
            bad = hist[at] == key
            if not bool(bad.any()):
                break
            neg = torch.where(bad, torch.randint(1, n_tokens, shape), neg)
        return neg

    def epoch():
        model.train()
        perm = torch.randperm(n)
        for st in range(0, n, a.batch):
            rows = perm[st:st + a.batch]
            L = int(lens[rows].max())
            ids, pos = inp[rows, T - L:], tgt[rows, T - L:]
            neg = negatives(rows, pos.shape)
            real = (pos != 0).float()
            h = model(ids)
            E = model.item.weight
            lp = (h * E[pos]).sum(-1)
            ln = (h * E[neg]).sum(-1)
            loss = (F.binary_cross_entropy_with_logits(lp, torch.ones_like(lp), reduction="none")
                    + F.binary_cross_entropy_with_logits(ln, torch.zeros_like(ln), reduction="none"))
            loss = (loss * real).sum() / real.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
        return float(loss)

    for e in range(a.warmup):
        l = epoch()
        print("warm-up epoch %d loss %.4f" % (e + 1, l), file=sys.stderr)
    w0, c0 = time.perf_counter(), time.process_time()
    for e in range(a.epochs):
        l = epoch()
        print("timed epoch %d loss %.4f" % (e + 1, l), file=sys.stderr)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    seqs = n * a.epochs
    print("torch %s, %d threads, %d sequences per epoch" % (torch.__version__, a.threads, n), file=sys.stderr)
    print("torch_sequences_per_second %.1f %.1f %d %.3f %.3f" % (seqs / wall, seqs / cpu, seqs, wall, cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main())
