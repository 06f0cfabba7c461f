#!/usr/bin/env python3
"""cold_start_ridge.py - how far the item features of bench_hybrid's cold-start
protocol can carry a linear model (docs/BENCHMARKS.md, "Item cold start").

Same split as bench/bench_movielens.h (xorshift64 shuffle of the movie ids,
seed 17, first fifth held out; --validation: then seed 18 on the rest, as
bench_hybrid --tune) and the same item features (genres, year, decade,
features fewer than 20 training movies have dropped).  Model: ridge
regression (scipy lsqr, damp) of rating - global mean on a user bias, the
item features (weights 1/count, as hybrid) and a per-user weight for each
item feature (user x genre/year/decade affinities); --pairs adds genre x
genre and genre x decade conjunctions; --user-attrs adds a weight per (u.user
attribute, item feature): age band, gender and occupation (bench_hybrid's
shopper table) crossed with genres, year and decade, so what a user's peers
like informs a user with few ratings.  Prints RMSE on the held-out movies'
ratings beside the user mean.  Needs Debian's python3-numpy and
python3-scipy: /usr/bin/python3 bench/cold_start_ridge.py [--validation]
[--pairs] [--user-attrs]
"""
import os
import sys
from collections import Counter

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr

root = os.environ.get("AISLE_SHARED_DATA") or "../shared/data"
D = os.path.join(root, "ml-100k")
if not os.path.exists(os.path.join(D, "u.data")):
    print("skipped: %s/u.data not present (set AISLE_SHARED_DATA)" % D)
    sys.exit(0)
R = np.loadtxt(os.path.join(D, "u.data"), dtype=np.int64)
u, i, r = R[:, 0], R[:, 1], R[:, 2].astype(float)
items = {}
for line in open(os.path.join(D, "u.item"), encoding="latin-1"):
    f = line.rstrip("\n").split("|")
    items[int(f[0])] = (f[2][-4:] if len(f[2]) >= 4 else "", [g for g in range(19) if f[5 + g] == "1"])


def hold_out(mask, seed, mark):
    perm = [k for k in range(1, 1683) if mask[k] == 0]
    x, M = seed, (1 << 64) - 1
    for a in range(len(perm) - 1, 0, -1):
        x ^= (x << 13) & M
        x ^= x >> 7
        x ^= (x << 17) & M
        j = x % (a + 1)
        perm[a], perm[j] = perm[j], perm[a]
    for k in range(len(perm) // 5):
        mask[perm[k]] = mark


PAIRS = "--pairs" in sys.argv
USER_ATTRS = "--user-attrs" in sys.argv


def age_band(age):
    for top, name in ((17, "under18"), (24, "18-24"), (34, "25-34"), (44, "35-44"), (49, "45-49"), (55, "50-55")):
        if age <= top:
            return name
    return "56+"


user_attrs = {}  # user -> indices of its attributes (age band, gender, occupation)
attr_idx = {}
for line in open(os.path.join(D, "u.user"), encoding="latin-1"):
    f = line.rstrip("\n").split("|")
    names = ["age:" + age_band(int(f[1])), "gender:" + f[2], "occupation:" + f[3]]
    user_attrs[int(f[0])] = [attr_idx.setdefault(a, len(attr_idx)) for a in names]
NA = len(attr_idx)
mask = np.zeros(1683, int)
hold_out(mask, 17, 1)
test = 1
if "--validation" in sys.argv:
    hold_out(mask, 18, 2)
    test = 2


def item_features(it):
    year, genres = items[it]
    fs = ["g%d" % g for g in genres]
    if year:
        fs += ["y" + year, "d" + year[:3]]
    if PAIRS:
        gs = ["g%d" % g for g in genres]
        fs += [a + "&" + b for a in gs for b in gs if a < b] + [a + "&d" + year[:3] for a in gs if year]
    return fs


tr = np.where(mask[i] == 0)[0]
support = Counter()
for it in set(i[tr]):
    support.update(item_features(it))
fidx = {f: k for k, f in enumerate(sorted(f for f, c in support.items() if c >= 20))}
NF = len(fidx)


def design(rows):
    ri, ci, v = [], [], []
    attrs_at = 944 + NF + 944 * NF
    for n, k in enumerate(rows):
        fs = [fidx[f] for f in item_features(i[k]) if f in fidx]
        ri.append(n), ci.append(u[k]), v.append(1.0)
        for f in fs:
            ri += [n, n]
            ci += [944 + f, 944 + NF + u[k] * NF + f]
            v += [1.0 / len(fs), 1.0 / len(fs)]
            for a in user_attrs[u[k]] if USER_ATTRS else ():
                ri.append(n), ci.append(attrs_at + a * NF + f), v.append(1.0 / len(fs))
    return sp.csr_matrix((v, (ri, ci)), shape=(len(rows), attrs_at + NA * NF))


te = np.where(mask[i] == test)[0]
seen = np.zeros(944, bool)
seen[u[tr]] = True
te = te[seen[u[te]]]
usum, ucnt = np.bincount(u[tr], r[tr], 944), np.bincount(u[tr], None, 944)
mu = r[tr].mean()
print("%d item features; %d training, %d held-out ratings" % (NF, len(tr), len(te)))
print("user mean RMSE %.4f" % np.sqrt(np.mean((usum[u[te]] / ucnt[u[te]] - r[te]) ** 2)))
Xtr, Xte = design(tr), design(te)
for damp in (1.0, 2.0, 3.0):
    w = lsqr(Xtr, r[tr] - mu, damp=damp, iter_lim=300)[0]
    p = np.clip(mu + Xte @ w, 1, 5)
    print("ridge damp %.0f: RMSE %.4f" % (damp, np.sqrt(np.mean((p - r[te]) ** 2))))
