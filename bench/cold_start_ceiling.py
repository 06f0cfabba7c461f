#!/usr/bin/env python3
"""cold_start_ceiling.py - how much of a cold movie's own signal its u.item row
can recover, on bench_hybrid's item cold-start split (docs/BENCHMARKS.md,
"Item cold start on MovieLens 100K"; the split is movielens_cold.py's).

1. Oracle ceilings (cheating on purpose, to bound every content model): the
   user part of a model (user bias, and each user's affinities to genres,
   year and decade) plus each held-out movie's TRUE item bias, the mean
   residual of its held-out ratings.  Nothing predicted from features can
   beat the true mean residual of the movie (for a fixed user part, it is
   the least-squares optimum per movie), so the RMSE a model reaches is
       MSE = MSE(oracle) + (1 - R2) * (MSE(constant) - MSE(oracle))
   exactly, R2 the rating-weighted R^2 of its predicted against the true
   item biases of the held-out movies: the aim's RMSE (0.95 x user mean)
   turns into the R2 the features would have to reach ("share needed").
2. Nonlinear item-bias models, all on the same user part, fitted to the
   warm movies' biases (weights: their training rating counts): ridge on
   the item features (the linear reference), content kNN of the warm
   biases, gradient-boosted trees, a one-hidden-layer MLP; and a kNN of
   the user's own residuals on similar warm movies (user-specific, not a
   bias).  Item features: genres, year, decade, exact-date flag, release
   month, title length and word count, sequel markers (digits, roman
   numerals, ":"), an alternate title in parentheses, a trailing article
   (", The", ", La"...), genre count, title words of >= 20 training movies,
   the IMDb URL's and video date's presence (constant columns drop out).
   Nothing from outside u.item / u.user; not the movie id or its rating
   count (neither is known for a new product).

Every hyper-parameter is chosen on the validation movies (seed 18, held out
of the training movies, the user part retrained without them), as
bench_hybrid --tune: the script runs that selection first, then reports the
test movies (seed 17) with each method's chosen setting, trained on all the
training movies.  /usr/bin/python3 bench/cold_start_ceiling.py [--grid]
(--grid prints every grid point, and also each method's best grid point on
the test movies: selection on the test set, a bound on what tuning could
find, never a result).  Debian's python3-numpy and -scipy; about a minute of
CPU (two with --grid).
"""
import re
import sys
from collections import Counter

import numpy as np
from scipy.sparse.linalg import lsqr

from movielens_cold import NITEMS, NUSERS, Data, affinity_design, feature_index, split

GRID = "--grid" in sys.argv
D = Data()


def rating_features(it):
    """the user-affinity features (cold_start_ridge.py's): genres, year, decade"""
    m = D.movies[it]
    return ["g%d" % g for g in m.genres] + (["y" + m.year, "d" + m.year[:3]] if m.year else [])


ROMAN = re.compile(r"(^|\s)(II|III|IV|V|VI|2|3|4|5|6)(\s|:|$)")
FOREIGN = re.compile(r", (Le|La|Les|L'|Il|El|Der|Die|Das|Lo|Los|Las)$")


def item_columns(it, words):
    """one movie's named item features for the item-bias models"""
    m = D.movies[it]
    t = m.title
    main = t.split(" (")[0]
    day_month = m.date.split("-")[:2]
    exact = len(day_month) == 2 and day_month != ["01", "Jan"]
    year = float(m.year) if m.year else np.nan
    col = {"g%d" % g: 1.0 for g in m.genres}
    col.update({
        "year": year, "no_year": float(not m.year), "exact_date": float(exact),
        "month": float(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                        "Dec"].index(day_month[1]) + 1) if exact else 0.0,
        "title_chars": float(len(main)), "title_words": float(len(main.split())),
        "sequel": float(bool(ROMAN.search(main))), "colon": float(":" in main), "digit": float(bool(re.search(r"\d", main))),
        "alt_title": float(" (" in t), "article": float(bool(re.search(r", (The|A|An)$", main))),
        "foreign_article": float(bool(FOREIGN.search(main))), "n_genres": float(len(m.genres)),
        "url": float(bool(m.url)), "video_date": float(bool(m.video)),
    })
    if m.year:
        col["d" + m.year[:3]] = 1.0
    for w in set(re.findall(r"[a-z0-9']+", main.lower())):
        if w in words:
            col["w_" + w] = 1.0
    return col


class Fold:
    """One split: the user part fitted on its training ratings, the warm
    movies' biases, the held-out ratings' oracle biases, the item feature
    matrix."""

    def __init__(self, validation):
        u, i, r = D.u, D.i, D.r
        self.mask, tr, te = split(D, validation)
        self.te_u, self.te_i, self.te_r = u[te], i[te], r[te]
        warm = np.zeros(NITEMS, bool)
        warm[i[tr]] = True
        self.warm = warm
        self.mu = r[tr].mean()
        ucnt = np.bincount(u[tr], None, NUSERS)
        self.umean_rmse = np.sqrt(np.mean((np.bincount(u[tr], r[tr], NUSERS)[self.te_u] / ucnt[self.te_u] - self.te_r) ** 2))
        fidx = feature_index(np.nonzero(warm)[0], rating_features)
        # user part: r - mu = b_u + b_i (identity) + user x feature affinity; the
        # identity takes each warm movie's own mean so the affinities are what
        # is left within movies, and b_i is the warm target of the item models
        X = affinity_design(u[tr], i[tr], rating_features, fidx, True)
        w = lsqr(X, r[tr] - self.mu, damp=1.0, iter_lim=300)[0]
        self.tr = tr
        self.train_residual = r[tr] - self.mu - X @ w  # within-movie residuals of the warm ratings
        self.bias = w[NUSERS:NUSERS + NITEMS]
        self.count = np.bincount(i[tr], None, NITEMS)
        w_user = w.copy()
        w_user[NUSERS:NUSERS + NITEMS] = 0  # held-out movies have no identity
        self.user_part = self.mu + affinity_design(self.te_u, self.te_i, rating_features, fidx, True) @ w_user
        self.user_bias_only = self.mu + w[self.te_u]
        # the cheat: each held-out movie's mean residual
        res = self.te_r - self.user_part
        self.true_bias = np.bincount(self.te_i, res, NITEMS) / np.maximum(np.bincount(self.te_i, None, NITEMS), 1)
        res0 = self.te_r - self.user_bias_only
        self.true_bias0 = np.bincount(self.te_i, res0, NITEMS) / np.maximum(np.bincount(self.te_i, None, NITEMS), 1)
        self.cold = np.unique(self.te_i)

        words = Counter()
        for it in np.nonzero(warm)[0]:
            words.update(set(re.findall(r"[a-z0-9']+", D.movies[it].title.split(" (")[0].lower())))
        words = {w for w, c in words.items() if c >= 20}
        cols = [item_columns(it, words) if it in D.movies else {} for it in range(NITEMS)]
        names = sorted({k for c in cols for k in c})
        F = np.array([[c.get(k, 0.0) for k in names] for c in cols])
        med = np.nanmedian(F[warm, names.index("year")])
        F[np.isnan(F)] = med
        keep = F[warm].std(axis=0) > 0  # constant on the warm movies: nothing to learn
        self.dropped = [n for n, k in zip(names, keep) if not k]
        self.names = [n for n, k in zip(names, keep) if k]
        F = F[:, keep]
        self.F = (F - F[warm].mean(axis=0)) / F[warm].std(axis=0)

    def rmse(self, pred):
        return np.sqrt(np.mean((pred - self.te_r) ** 2))

    def evaluate(self, item_bias):
        """RMSE of user part + predicted item bias, and its R2 against the true biases"""
        return self.rmse(self.user_part + item_bias[self.te_i]), self.r2(item_bias)

    def r2(self, item_bias):
        wt = np.bincount(self.te_i, None, NITEMS)[self.cold]
        t, p = self.true_bias[self.cold], item_bias[self.cold]
        tbar = np.average(t, weights=wt)
        return 1 - np.average((p - t) ** 2, weights=wt) / np.average((t - tbar) ** 2, weights=wt)


def weighted_ridge(F, y, wt, lam):
    X = np.hstack([np.ones((len(F), 1)), F])
    A = X.T @ (X * wt[:, None]) + lam * np.diag([0.0] + [1.0] * F.shape[1])
    return np.linalg.solve(A, X.T @ (wt * y))


def fit_ridge(fold, lam):
    m = fold.warm
    beta = weighted_ridge(fold.F[m], fold.bias[m], fold.count[m], lam)
    return beta[0] + fold.F @ beta[1:]


def similarity(fold, year_scale, word_weight):
    """cold x warm content similarity: cosine of the genre vectors times a
    year kernel exp(-|dy| / year_scale), plus word_weight x shared title words"""
    G = np.array([[1.0 if g in D.movies[it].genres else 0.0 for g in range(19)] if it in D.movies else [0.0] * 19
                  for it in range(NITEMS)])
    G /= np.maximum(np.linalg.norm(G, axis=1, keepdims=True), 1e-9)
    yr = np.array([float(D.movies[it].year) if it in D.movies and D.movies[it].year else 1990.0 for it in range(NITEMS)])
    wcols = [k for k, n in enumerate(fold.names) if n.startswith("w_")]
    W = (fold.F[:, wcols] > 0).astype(float)
    warm = np.nonzero(fold.warm)[0]
    S = (G[fold.cold] @ G[warm].T) * np.exp(-np.abs(yr[fold.cold][:, None] - yr[warm][None, :]) / year_scale)
    return warm, S + word_weight * (W[fold.cold] @ W[warm].T)


def fit_knn_bias(fold, sims, k, lam):
    warm, S = sims
    b = np.zeros(NITEMS)
    top = np.argsort(-S, axis=1)[:, :k]
    for row, c in enumerate(fold.cold):
        s, j = S[row, top[row]], warm[top[row]]
        b[c] = np.sum(s * fold.bias[j]) / (np.sum(s) + lam)
    return b


def knn_user(fold, sims, k, lam, base, residual):
    """base (a prediction per held-out rating) + the similarity-weighted mean
    of the user's training residuals on the k warm movies most similar to
    the cold one that the user rated, shrunk by lam"""
    warm, S = sims
    tr = fold.tr
    Res = np.zeros((NUSERS, NITEMS), np.float32)
    Rated = np.zeros((NUSERS, NITEMS), np.float32)
    Res[D.u[tr], D.i[tr]] = residual
    Rated[D.u[tr], D.i[tr]] = 1.0
    pred = base.copy()
    for row, c in enumerate(fold.cold):
        at = np.nonzero(fold.te_i == c)[0]
        users = fold.te_u[at]
        s = S[row][None, :] * Rated[users][:, warm]  # only movies the user rated
        kth = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, :k]
        sk = np.take_along_axis(s, kth, axis=1)
        rk = np.take_along_axis(Res[users][:, warm], kth, axis=1)
        pred[at] += np.sum(sk * rk, axis=1) / (np.sum(sk, axis=1) + lam)
    return fold.rmse(pred)


def user_bias_knn(fold, sims, k, lam):
    """(a) of issue 17's analysis: the user's shrunk bias + kNN of the user's
    residuals after it (these carry the neighbours' item biases too)"""
    ub = np.bincount(D.u[fold.tr], D.r[fold.tr] - fold.mu, NUSERS) / (np.bincount(D.u[fold.tr], None, NUSERS) + 10.0)
    return knn_user(fold, sims, k, lam, fold.mu + ub[fold.te_u], D.r[fold.tr] - fold.mu - ub[D.u[fold.tr]])


def fit_trees(fold, depth, rate, ntrees, min_weight):
    """gradient-boosted regression trees, weighted squared loss; returns the
    predictions after each tree count in ntrees"""
    m = np.nonzero(fold.warm)[0]
    X, y, wt = fold.F[m], fold.bias[m], fold.count[m].astype(float)
    order = np.argsort(X, axis=0, kind="stable")
    base = np.average(y, weights=wt)
    fit, out, pred = np.full(len(m), base), {}, np.full(NITEMS, base)

    def grow(idx, g, d, leaf_of):
        best = None
        if d < depth:
            inside = np.zeros(len(m), bool)
            inside[idx] = True
            for f in range(X.shape[1]):
                o = order[:, f][inside[order[:, f]]]
                cw, cg, xv = np.cumsum(wt[o]), np.cumsum(wt[o] * g[o]), X[o, f]
                tw, tg = cw[-1], cg[-1]
                ok = (xv[:-1] < xv[1:]) & (cw[:-1] >= min_weight) & (tw - cw[:-1] >= min_weight)
                if not ok.any():
                    continue
                gain = np.where(ok, cg[:-1] ** 2 / cw[:-1] + (tg - cg[:-1]) ** 2 / np.maximum(tw - cw[:-1], 1e-9), -1)
                k = int(np.argmax(gain))
                if gain[k] > 0 and (best is None or gain[k] > best[0]):
                    best = (gain[k], f, (xv[k] + xv[k + 1]) / 2)
        if best is None:
            leaf_of.append((idx, np.sum(wt[idx] * g[idx]) / np.sum(wt[idx])))
            return ("leaf", len(leaf_of) - 1)
        _, f, thr = best
        return (f, thr, grow(idx[X[idx, f] <= thr], g, d + 1, leaf_of), grow(idx[X[idx, f] > thr], g, d + 1, leaf_of))

    def apply(node, Xc, leaves):
        if node[0] == "leaf":
            return np.full(len(Xc), leaves[node[1]][1])
        left = Xc[:, node[0]] <= node[1]
        out = np.empty(len(Xc))
        out[left], out[~left] = apply(node[2], Xc[left], leaves), apply(node[3], Xc[~left], leaves)
        return out

    for t in range(1, max(ntrees) + 1):
        leaves = []
        tree = grow(np.arange(len(m)), y - fit, 0, leaves)
        for idx, v in leaves:
            fit[idx] += rate * v
        pred[fold.cold] += rate * apply(tree, fold.F[fold.cold], leaves)
        if t in ntrees:
            out[t] = pred.copy()
    return out


def fit_mlp(fold, hidden, decay, steps, seed=1):
    """one tanh hidden layer, weighted squared loss + decay, Adam, full batch"""
    m = np.nonzero(fold.warm)[0]
    X, y, wt = fold.F[m], fold.bias[m], fold.count[m] / fold.count[m].sum()
    rng = np.random.default_rng(seed)
    P = [rng.normal(0, 1 / np.sqrt(X.shape[1]), (X.shape[1], hidden)), np.zeros(hidden),
         rng.normal(0, 1 / np.sqrt(hidden), hidden), np.array([np.sum(wt * y)])]
    M = [np.zeros_like(p) for p in P]
    V = [np.zeros_like(p) for p in P]
    for t in range(1, steps + 1):
        h = np.tanh(X @ P[0] + P[1])
        e = wt * (h @ P[2] + P[3] - y) * 2
        dh = np.outer(e, P[2]) * (1 - h ** 2)
        grads = [X.T @ dh + 2 * decay * P[0], dh.sum(0), h.T @ e + 2 * decay * P[2], np.array([e.sum()])]
        for k in range(4):
            M[k] = 0.9 * M[k] + 0.1 * grads[k]
            V[k] = 0.999 * V[k] + 0.001 * grads[k] ** 2
            P[k] -= 0.01 * (M[k] / (1 - 0.9 ** t)) / (np.sqrt(V[k] / (1 - 0.999 ** t)) + 1e-8)
    return np.tanh(fold.F @ P[0] + P[1]) @ P[2] + P[3]


# each method: its grid (settings), how it predicts; item-bias methods return
# a bias per movie, knn_user an RMSE
def methods(fold, sims, trees):
    yield "ridge on item features", [(lam,) for lam in (1e3, 1e4, 1e5, 3e5, 1e6)], lambda lam: fit_ridge(fold, lam)
    yield "content kNN of warm biases", [(s, k, lam) for s in range(len(sims)) for k in (10, 30, 100)
                                         for lam in (0.0, 1.0, 5.0)], \
        lambda s, k, lam: fit_knn_bias(fold, sims[s][1], k, lam)
    yield "boosted trees", [(d, mw, n) for d in (2, 3, 4) for mw in (50.0, 200.0)
                             for n in (100, 200, 400)], None
    yield "MLP (1 hidden layer)", [(h, dec) for h in (8, 32) for dec in (1e-3, 1e-2, 1e-1)], \
        lambda h, dec: fit_mlp(fold, h, dec, 1500)
    yield "kNN of the user's residuals", [(s, k, lam) for s in range(len(sims)) for k in (10, 30, 100)
                                          for lam in (0.5, 2.0, 5.0)], lambda s, k, lam: user_bias_knn(fold, sims[s][1], k, lam)
    # the trees' item bias (their chosen setting) + kNN of the user's
    # within-movie residuals: what a user liked beyond genre/year affinities
    yield "trees + kNN of within-movie residuals", [(s, k, lam) for s in (0, 1) for k in (10, 30)
                                                    for lam in (5.0, 20.0, 80.0)], \
        lambda s, k, lam: knn_user(fold, sims[s][1], k, lam, fold.user_part + trees[0][fold.te_i], fold.train_residual)


SIM_SETTINGS = [(5.0, 0.0), (10.0, 0.0), (10.0, 0.5), (1e9, 0.0)]  # year kernel scale, title-word weight


def run(fold, choose=None):
    """evaluates every method's grid (choose=None) or its chosen setting;
    returns {method: (setting, rmse, r2)} of each method's best"""
    sims = [(st, similarity(fold, *st)) for st in SIM_SETTINGS]
    best, trees = {}, []
    for name, grid, fn in methods(fold, sims, trees):
        grid = [choose[name][0]] if choose else grid
        results = []
        if name == "boosted trees":
            for d, mw in sorted({g[:2] for g in grid}):
                preds = fit_trees(fold, d, 0.05, sorted({g[2] for g in grid if g[:2] == (d, mw)}), mw)
                results += [((d, mw, n), fold.evaluate(p)) for n, p in preds.items()]
        else:
            for g in grid:
                out = fn(*g)
                results.append((g, (out, None) if np.isscalar(out) else fold.evaluate(out)))
        for g, (rm, r2) in results:
            if GRID:
                print("    %-38s %-18s RMSE %.4f%s" % (name, g, rm, "" if r2 is None else "  R2 %.3f" % r2))
        g, (rm, r2) = min(results, key=lambda x: x[1][0])
        best[name] = (g, rm, r2)
        if name == "boosted trees":
            trees.append(fit_trees(fold, g[0], 0.05, [g[2]], g[1])[g[2]])
    return best


def report(fold, title):
    um = fold.umean_rmse
    aim = 0.95 * um
    const = fold.user_part + np.average(fold.true_bias[fold.cold], weights=np.bincount(fold.te_i, None, NITEMS)[fold.cold])
    ceil0 = fold.rmse(fold.user_bias_only + fold.true_bias0[fold.te_i])
    ceil = fold.rmse(fold.user_part + fold.true_bias[fold.te_i])
    mc, mo = fold.rmse(const) ** 2, ceil ** 2
    print("%s: %d ratings of %d movies; user mean %.4f, aim (5%% below) %.4f" % (title, len(fold.te_r), len(fold.cold), um, aim))
    print("  ceiling, user bias + TRUE item bias:                 %.4f (%+.1f%% vs user mean)" % (ceil0, 100 * (ceil0 / um - 1)))
    print("  ceiling, user bias + affinities + TRUE item bias:    %.4f (%+.1f%%)" % (ceil, 100 * (ceil / um - 1)))
    print("  user bias + affinities + constant item bias (R2 = 0): %.4f (%+.1f%%)" % (np.sqrt(mc), 100 * (np.sqrt(mc) / um - 1)))
    print("  R2 of the item bias the aim needs: %.3f" % ((mc - aim ** 2) / (mc - mo)))
    # the decomposition the R2 column rests on: an item-bias model's share of
    # the ceiling's gain must equal its R2 (fails if the oracle is not the
    # per-movie least-squares bias of this user part)
    rm, r2 = fold.evaluate(fit_ridge(fold, 1e4))
    assert abs((mc - rm ** 2) / (mc - mo) - r2) < 1e-9, "MSE decomposition does not hold"
    return mc, mo


def table(fold, best, mc, mo):
    """each method's RMSE and its share of the oracle's gain, (MSE(constant) -
    MSE) / (MSE(constant) - MSE(oracle)): for the item-bias models exactly
    their R2 against the true biases"""
    for name, (g, rm, _) in best.items():
        print("    %-38s %-18s RMSE %.4f (%+.1f%% vs user mean)  share %.3f" %
              (name, g, rm, 100 * (rm / fold.umean_rmse - 1), (mc - rm ** 2) / (mc - mo)))


val = Fold(True)
print("item features: %d (%s ...); constant on the training movies, dropped: %s" %
      (len(val.names), " ".join(val.names[:12]), " ".join(val.dropped)))
mc, mo = report(val, "validation movies (seed 18)")
chosen = run(val)
print("  each method at its best setting on the validation movies:")
table(val, chosen, mc, mo)
test = Fold(False)
mc, mo = report(test, "test movies (seed 17)")
print("  each method at its validation choice:")
table(test, run(test, chosen), mc, mo)
if GRID:
    best = run(test)
    print("  each method at its best setting ON THE TEST MOVIES (selection cheats: a bound, not a result):")
    table(test, best, mc, mo)
