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
[--pairs] [--user-attrs].  The nonlinear models and the oracle ceilings:
cold_start_ceiling.py.
"""
import sys

import numpy as np
from scipy.sparse.linalg import lsqr

from movielens_cold import NUSERS, Data, affinity_design, feature_index, split

PAIRS = "--pairs" in sys.argv
USER_ATTRS = "--user-attrs" in sys.argv
data = Data()
u, i, r = data.u, data.i, data.r
attr_idx = {}
user_attrs = {k: [attr_idx.setdefault(a, len(attr_idx)) for a in v] for k, v in data.users.items()}
NA = len(attr_idx)
mask, tr, te = split(data, "--validation" in sys.argv)


def item_features(it):
    year, genres = data.movies[it].year, data.movies[it].genres
    fs = ["g%d" % g for g in genres]
    if year:
        fs += ["y" + year, "d" + year[:3]]
    if PAIRS:
        gs = ["g%d" % g for g in genres]
        fs += [a + "&" + b for a in gs for b in gs if a < b] + [a + "&d" + year[:3] for a in gs if year]
    return fs


fidx = feature_index(set(i[tr]), item_features)
NF = len(fidx)


def design(rows):
    return affinity_design(u[rows], i[rows], item_features, fidx, False, user_attrs if USER_ATTRS else None, NA)


usum, ucnt = np.bincount(u[tr], r[tr], NUSERS), np.bincount(u[tr], None, NUSERS)
mu = r[tr].mean()
print("%d item features; %d training, %d held-out ratings" % (NF, len(tr), len(te)))
print("user mean RMSE %.4f" % np.sqrt(np.mean((usum[u[te]] / ucnt[u[te]] - r[te]) ** 2)))
Xtr, Xte = design(tr), design(te)
for damp in (1.0, 2.0, 3.0):
    w = lsqr(Xtr, r[tr] - mu, damp=damp, iter_lim=300)[0]
    p = np.clip(mu + Xte @ w, 1, 5)
    print("ridge damp %.0f: RMSE %.4f" % (damp, np.sqrt(np.mean((p - r[te]) ** 2))))
