#!/usr/bin/python3
"""Peer for bench_cf: implicit's CPU ALS solver (benfred/implicit,
implicit/cpu/_als.pyx, least_squares_cg) on the events bench_cf wrote.

The module is built outside the repository (docs/BENCHMARKS.md says how)
and found through PYTHONPATH.  Input: argv[1] a file of uint32 pairs
(user, item) per event, argv[2] threads, argv[3] regularization,
argv[4] alpha, argv[5] factors, argv[6] iterations.  Duplicate pairs are
summed (confidence 1 + alpha * count, as aisle's linear weights), unseen
ids dropped.  Prints one line per iteration: "iteration K wall W cpu C"
(process CPU seconds of all threads).

With --topn TRAIN TEST THREADS: implicit's AlternatingLeastSquares recipe
at its defaults (regularization 0.01, alpha 1, uniform [0, 0.01) initial
factors, 15 iterations, CG 3 steps) with 64 factors on the binary TRAIN
pairs, then P@10 and NDCG@10 over TEST users, every TEST pair relevant,
seen items excluded, as bench_cf evaluates aisle."""
import sys
import time

import numpy as np
import scipy.sparse as sp

from _als import least_squares_cg


def topn(train_path, test_path, threads):
    tr = np.fromfile(train_path, dtype=np.uint32).reshape(-1, 2).astype(np.int64)
    te = np.fromfile(test_path, dtype=np.uint32).reshape(-1, 2).astype(np.int64)
    nu, ni = int(max(tr[:, 0].max(), te[:, 0].max())) + 1, int(max(tr[:, 1].max(), te[:, 1].max())) + 1
    cui = sp.csr_matrix((np.ones(len(tr), dtype=np.float32), (tr[:, 0], tr[:, 1])), shape=(nu, ni))
    cui.sum_duplicates()
    cui.data[:] = 1.0
    ciu = cui.T.tocsr()
    rng = np.random.default_rng(0)
    x = (rng.random((nu, 64), dtype=np.float32) * 0.01)
    y = (rng.random((ni, 64), dtype=np.float32) * 0.01)
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(15):
        least_squares_cg(cui, x, y, 0.01, threads, 3)
        least_squares_cg(ciu, y, x, 0.01, threads, 3)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    known = np.zeros(ni, dtype=bool)
    known[tr[:, 1]] = True  # aisle ranks the items it was trained on
    rel = {}
    for u, i in te:
        rel.setdefault(int(u), set()).add(int(i))
    prec = ndcg = 0.0
    for u, items in rel.items():
        s = y @ x[u]
        s[~known] = -np.inf
        s[cui.indices[cui.indptr[u]:cui.indptr[u + 1]]] = -np.inf
        top = np.argsort(-s, kind="stable")[:10]
        gains = [1.0 / np.log2(r + 2) for r, i in enumerate(top) if int(i) in items]
        prec += len(gains) / 10.0
        ndcg += sum(gains) / sum(1.0 / np.log2(r + 2) for r in range(min(10, len(items))))
    print("  implicit AlternatingLeastSquares recipe (64 factors, regularization 0.01, alpha 1, 15 iterations, "
          "CG 3 steps)  P@10 %.4f  NDCG@10 %.4f  (train %.2f s wall, %.2f s CPU)"
          % (prec / len(rel), ndcg / len(rel), wall, cpu), flush=True)


def main():
    if sys.argv[1] == "--topn":
        topn(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    path, threads, reg, alpha, d, iters = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
        float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    ev = np.fromfile(path, dtype=np.uint32).reshape(-1, 2)
    _, users = np.unique(ev[:, 0], return_inverse=True)
    _, items = np.unique(ev[:, 1], return_inverse=True)
    cui = sp.csr_matrix((np.ones(len(ev), dtype=np.float32), (users, items)))
    cui.sum_duplicates()
    cui.data = (1.0 + alpha * cui.data).astype(np.float32)
    ciu = cui.T.tocsr()
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((cui.shape[0], d)) * 0.01).astype(np.float32)
    y = (rng.standard_normal((cui.shape[1], d)) * 0.01).astype(np.float32)
    print("implicit: %d users x %d items, %d nonzeros" % (cui.shape[0], cui.shape[1], cui.nnz), flush=True)
    for k in range(1, iters + 1):
        w0, c0 = time.perf_counter(), time.process_time()
        least_squares_cg(cui, x, y, reg, threads, 3)
        least_squares_cg(ciu, y, x, reg, threads, 3)
        print("iteration %d wall %.4f cpu %.4f" % (k, time.perf_counter() - w0, time.process_time() - c0),
              flush=True)


if __name__ == "__main__":
    main()
