"""movielens_cold.py - what the cold-start analysis scripts (cold_start_ridge.py,
cold_start_ceiling.py) share with bench/bench_movielens.h: the MovieLens 100K
files, the held-out movie sets (xorshift64 shuffle of the ids, seed 17 for the
test movies, then seed 18 on the rest for the validation movies, as
bench_hybrid --tune) and the training / held-out rating indices, so the
analysis is held to bench_hybrid's split exactly.  Debian's python3-numpy and
python3-scipy."""
import os
import sys
from collections import Counter

import numpy as np
import scipy.sparse as sp

NITEMS, NUSERS = 1683, 944


class Movie:
    """One u.item line: title (without the trailing "(yyyy)"), release date
    "dd-Mon-yyyy" (may be empty), year "yyyy" (may be empty), video release
    date, IMDb URL, genre indices 0..18."""

    def __init__(self, f):
        t = f[1].strip()
        self.title = t[:-7].strip() if len(t) >= 7 and t[-1] == ")" and t[-6] == "(" else t
        self.date, self.video, self.url = f[2], f[3], f[4]
        self.year = f[2][-4:] if len(f[2]) >= 4 else ""
        self.genres = [g for g in range(19) if f[5 + g] == "1"]


def age_band(age):
    for top, name in ((17, "under18"), (24, "18-24"), (34, "25-34"), (44, "35-44"), (49, "45-49"), (55, "50-55")):
        if age <= top:
            return name
    return "56+"


class Data:
    """Ratings u, i, r (numpy), movies {id: Movie}, users {id: [age band,
    gender, occupation]}.  Exits 0 with "skipped" when the files are absent,
    as the C benches do."""

    def __init__(self):
        root = os.environ.get("AISLE_SHARED_DATA") or "../shared/data"
        d = os.path.join(root, "ml-100k")
        if not os.path.exists(os.path.join(d, "u.data")):
            print("skipped: %s/u.data not present (set AISLE_SHARED_DATA)" % d)
            sys.exit(0)
        R = np.loadtxt(os.path.join(d, "u.data"), dtype=np.int64)
        self.u, self.i, self.r = R[:, 0], R[:, 1], R[:, 2].astype(float)
        self.movies = {}
        for line in open(os.path.join(d, "u.item"), encoding="latin-1"):
            f = line.rstrip("\n").split("|")
            self.movies[int(f[0])] = Movie(f)
        self.users = {}
        for line in open(os.path.join(d, "u.user"), encoding="latin-1"):
            f = line.rstrip("\n").split("|")
            self.users[int(f[0])] = ["age:" + age_band(int(f[1])), "gender:" + f[2], "occupation:" + f[3]]


def hold_out(mask, seed, mark):
    """bench_movielens.h's ml_hold_out: marks the first fifth of a seeded
    xorshift64 Fisher-Yates shuffle of the ids whose mask is still 0."""
    perm = [k for k in range(1, NITEMS) if mask[k] == 0]
    x, M = seed, (1 << 64) - 1
    for a in range(len(perm) - 1, 0, -1):
        x ^= (x << 13) & M
        x ^= x >> 7
        x ^= (x << 17) & M
        j = x % (a + 1)
        perm[a], perm[j] = perm[j], perm[a]
    for k in range(len(perm) // 5):
        mask[perm[k]] = mark


def split(data, validation):
    """(mask, tr, te): mask per movie id (1 test, 2 validation, 0 training);
    indices of the training ratings and of the held-out ratings (the
    validation movies' with validation=True, else the test movies') by users
    with training ratings, as ml_cold_run scores them."""
    mask = np.zeros(NITEMS, int)
    hold_out(mask, 17, 1)
    if validation:
        hold_out(mask, 18, 2)
    tr = np.where(mask[data.i] == 0)[0]
    te = np.where(mask[data.i] == (2 if validation else 1))[0]
    seen = np.zeros(NUSERS, bool)
    seen[data.u[tr]] = True
    return mask, tr, te[seen[data.u[te]]]


def feature_index(movie_ids, features, min_support=20):
    """{feature: column} of the features at least min_support of the movies
    have (bench_hybrid's min_feature_support), in sorted order"""
    support = Counter()
    for it in movie_ids:
        support.update(features(it))
    return {f: k for k, f in enumerate(sorted(f for f, c in support.items() if c >= min_support))}


def affinity_design(uu, ii, features, fidx, identity, attrs=None, nattrs=0):
    """Sparse design of (rating - mean) for the ratings (uu[n], ii[n]): a user
    bias (column u); either the movie's identity (identity=True, column
    NUSERS + i) or its features (weights 1/count, as hybrid's sums); one
    weight per (user, item feature): each user's genre/year/decade affinity;
    with attrs ({user: attribute indices}) one per (attribute, item feature)."""
    nf = len(fidx)
    aff_at = NUSERS + (NITEMS if identity else nf)
    attr_at = aff_at + NUSERS * nf
    rows, cols, vals = [], [], []
    for n, (a, b) in enumerate(zip(uu, ii)):
        fs = [fidx[f] for f in features(b) if f in fidx]
        rows.append(n), cols.append(a), vals.append(1.0)
        if identity:
            rows.append(n), cols.append(NUSERS + b), vals.append(1.0)
        for f in fs:
            pairs = [aff_at + a * nf + f] + ([] if identity else [NUSERS + f])
            pairs += [attr_at + x * nf + f for x in (attrs[a] if attrs else ())]
            rows += [n] * len(pairs)
            cols += pairs
            vals += [1.0 / len(fs)] * len(pairs)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(uu), attr_at + nattrs * nf))
