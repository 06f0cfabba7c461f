"""aisle_model: training, key dictionaries, metrics (serving comes with the
serving API)."""
import collections
import ctypes
import os

from . import _lib
from ._base import Handle, KeyDictionaries, add_from_catalog, dec, enc, in_use, numpy
from .config import make_config
from .errors import check
from .serving import ResultList, float_array, key_array, serve
from .dataset import _index_array, _ptr

ModelKind = collections.namedtuple("ModelKind", "name summary")


def model_kinds():
    """The model kinds compiled into the library, as (name, summary)."""
    out = []
    for i in range(_lib.fn.model_kind_count()):
        name, summary = ctypes.c_char_p(), ctypes.c_char_p()
        check(_lib.fn.model_kind_info(i, ctypes.byref(name), ctypes.byref(summary)))
        out.append(ModelKind(dec(name.value), dec(summary.value)))
    return out


def _run_with_config(call, config, options, progress):
    """Runs call(cfg_ptr) -> status with a temporary config; re-raises an
    exception from the progress callback in preference to ECANCELLED."""
    cfg, adapter = make_config(config, options, progress)
    try:
        rc = call(cfg._h)
        if adapter is not None:
            adapter.reraise()
        check(rc)
    finally:
        cfg.close()


class Recommendations(list):
    """A list of (item_key, score) pairs, best first, with one flag:
    ``popular_fallback`` is True when the user is unknown to the model and
    the list is the popularity fallback (scores are then popularity
    masses, not the model's scores)."""
    popular_fallback = False


class Model(KeyDictionaries, Handle):
    """A trained or loaded model.  Immutable once built: its read-only
    methods may be called from many threads at once (ctypes releases the
    GIL during C calls).  close() from a filter or progress callback, or
    from another thread during a serving call, is deferred until that call
    has returned its results; the model then counts as closed.

    Works with the Python data stack (NumPy; SciPy for sparse input):

        ds = aisle.Dataset.from_csr(user_item_csr)          # or from_indices
        model = aisle.Model.train(ds, kind="als", factors=64)
        model.user_factors, model.item_factors               # NumPy views
        model.score(np.array([0, 1]), np.array([5, 7]))      # by index
        items, scores = model.recommend_indices(np.arange(100), k=10)
        pickle.loads(pickle.dumps(model))                    # model file bytes"""
    _keys_prefix = "model"


    _free_name = "model_free"
    _what = "model"

    def __init__(self, _ptr=None):
        super().__init__()
        if _ptr is None:
            raise TypeError("aisle.Model: use Model.train(...) or Model.load(...)")
        self._adopt(_ptr)

    @classmethod
    def train(cls, dataset, kind=None, *, catalog=None, users=None, config=None, progress=None, **options):
        """Trains a model of `kind` ("als", "popular", ... see model_kinds())
        on a Dataset.  Keyword arguments are options (factors=64, epochs=15,
        threads=1, seed=7, ...), applied over a copy of `config`.
        progress(p) is called after each epoch with an aisle.Progress; it
        cancels by returning False (aisle.Cancelled) or by raising (the
        exception is re-raised here).  users: a shopper attribute table (an
        aisle.Catalog keyed by user id, e.g. loaded from
        user_id,country,age_band) for kinds "hybrid" (features) and "pair"
        (profile text)."""
        if kind is not None:
            options["model"] = kind
        out = ctypes.c_void_p()
        with in_use(dataset, catalog, users) as ptrs:  # a progress callback may close them
            ptrs = ptrs if isinstance(ptrs, list) else [ptrs]
            d = ptrs.pop(0)
            cat = ptrs.pop(0) if catalog is not None else None
            usr = ptrs.pop(0) if users is not None else None
            _run_with_config(lambda cfg: _lib.fn.model_train_with_features(d, cat, usr, cfg, ctypes.byref(out)),
                             config, options, progress)
        return cls(out.value)

    @classmethod
    def load(cls, path, config=None, **options):
        """Loads a model file written by save() (any release with the same
        format major version).  Option max_model_bytes bounds memory;
        mmap=True maps an als/bpr/mf/hybrid file saved with compression=0
        and serves its factors in place (mapped_bytes(); mmap_verify="none"
        skips their CRC; aisle.Unsupported for a file that cannot be mapped).
        Raises aisle.FormatError (corrupt/truncated: the message names the
        field), VersionError, NotFound (no such file or kind), IOError."""
        p = enc(os.fspath(path), "path")
        out = ctypes.c_void_p()
        _run_with_config(lambda cfg: _lib.fn.model_load(ctypes.byref(out), p, cfg), config, options, None)
        return cls(out.value)

    @classmethod
    def from_bytes(cls, data, config=None, **options):
        """Loads a model from the bytes to_bytes() (or a model file) holds."""
        data = bytes(data)
        out = ctypes.c_void_p()
        _run_with_config(lambda cfg: _lib.fn.model_load_buffer(ctypes.byref(out), data, len(data), cfg),
                         config, options, None)
        return cls(out.value)

    def __reduce__(self):
        # pickled as the model file image (docs/FORMAT.md), so a pickle is
        # as portable and as checked as a saved model
        return (Model.from_bytes, (self.to_bytes(),))

    def save(self, path, config=None, **options):
        """Saves atomically (temporary file, fsync, rename).  Options:
        compression=0..9, quantize="none"|"fp16"|"int8", store_int8=True
        (factor kinds: store the int8 scan's item copy; quantize="none")."""
        p = enc(os.fspath(path), "path")
        _run_with_config(lambda cfg: _lib.fn.model_save(self._h, p, cfg), config, options, None)

    def to_bytes(self, config=None, **options):
        """The model file image as bytes (same options as save)."""
        buf, n = ctypes.c_void_p(), ctypes.c_size_t()
        _run_with_config(lambda cfg: _lib.fn.model_save_buffer(self._h, cfg, ctypes.byref(buf), ctypes.byref(n)),
                         config, options, None)
        try:
            return ctypes.string_at(buf.value, n.value) if n.value else b""
        finally:
            _lib.fn.free(buf)

    def evaluate(self, test, k=None, protocol=None, config=None, progress=None, **options):
        """Evaluates on a held-out test Dataset; returns an EvalResult with
        .metrics ({"ndcg@10": ...}), .counts and .json.  Options:
        k, protocol ("full" | "sampled"), negatives, threads, seed."""
        if k is not None:
            options["k"] = k
        if protocol is not None:
            options["protocol"] = protocol
        out = ctypes.c_void_p()
        with in_use(self, test) as (m, t):  # a progress callback may close them
            _run_with_config(lambda cfg: _lib.fn.evaluate(m, t, cfg, ctypes.byref(out)),
                             config, options, progress)
        return EvalResult._take(out.value)

    @property
    def kind(self):
        out = ctypes.c_char_p()
        check(_lib.fn.model_kind(self._h, ctypes.byref(out)))
        return dec(out.value)

    def describe(self):
        """"key: value" lines: kind, version, sizes, options, metrics."""
        needed = ctypes.c_size_t()
        rc = _lib.fn.model_describe(self._h, None, 0, ctypes.byref(needed))
        if rc not in (0, -6):
            check(rc)
        buf = ctypes.create_string_buffer(needed.value + 1)
        check(_lib.fn.model_describe(self._h, buf, needed.value + 1, None))
        return dec(buf.value)

    def set_metric(self, name, value):
        """Stores a metric with the model (not thread-safe)."""
        check(_lib.fn.model_set_metric(self._h, enc(name, "metric name"), float(value)))

    def get_metric(self, name):
        """A stored metric; raises aisle.NotFound if absent."""
        out = ctypes.c_double()
        check(_lib.fn.model_get_metric(self._h, enc(name, "metric name"), ctypes.byref(out)))
        return out.value

    # ---- serving -------------------------------------------------------
    def _k(self, k, what="k"):
        """k as a result-array size: never negative (C takes size_t), and
        no larger than the item count, which bounds every result list."""
        k = int(k)
        if k < 0:
            raise ValueError("aisle: %s must be >= 0, got %d" % (what, k))
        n = self.__dict__.get("_n_items")
        if n is None:  # fixed until add_items (update_user skips unknown items)
            n = self._n_items = self.n_items
        return min(k, n)

    # Keyword arguments shared by the ranking calls: exclude_seen, allow,
    # deny, filter, unknown_user, threads -- or options=aisle.RecOptions(...)
    # built once and reused.

    def recommend(self, user, k=10, exclude_seen=True, allow=None, deny=None, filter=None,
                  unknown_user=None, threads=None, options=None) -> Recommendations:
        """Top-k (item_key, score) pairs for a user, best first, as a
        Recommendations list.  An unknown user gets the most popular items
        (and ``.popular_fallback`` is True) unless unknown_user="error"
        (aisle.NotFound)."""
        k = self._k(k)
        r = ResultList(k)
        fallback = ctypes.c_int(0)
        u = enc(user, "user key")
        with in_use(self) as h:  # held until the keys are read: a filter may close the model
            serve(options, dict(exclude_seen=exclude_seen, allow=allow, deny=deny, filter=filter,
                                unknown_user=unknown_user, threads=threads),
                  lambda o: _lib.fn.recommend_v2(h, u, k, o, *r.args(), ctypes.byref(fallback)))
            out = Recommendations(r.take())
            out.popular_fallback = bool(fallback.value)
            return out

    def recommend_for_items(self, item_keys, weights=None, k=10, exclude_seen=True, allow=None, deny=None,
                            filter=None, threads=None, options=None):
        """Top-k for an anonymous visitor who interacted with item_keys
        (optional per-item weights); factor kinds fold the visitor in."""
        keys, nk = key_array(item_keys)
        w = float_array(weights, nk)
        k = self._k(k)
        r = ResultList(k)
        with in_use(self) as h:
            serve(options, dict(exclude_seen=exclude_seen, allow=allow, deny=deny, filter=filter, threads=threads),
                  lambda o: _lib.fn.recommend_for_items(h, keys, w, nk, k, o, *r.args()))
            return r.take()

    def similar_items(self, item, k=10, allow=None, deny=None, filter=None, threads=None, options=None):
        """The k items most similar to `item`, as (item_key, similarity)."""
        k = self._k(k)
        r = ResultList(k)
        key = enc(item, "item key")
        with in_use(self) as h:
            serve(options, dict(allow=allow, deny=deny, filter=filter, threads=threads),
                  lambda o: _lib.fn.similar_items(h, key, k, o, *r.args()))
            return r.take()

    def score(self, user, item):
        """The model's score of one (user, item) pair, by keys; or, given
        two equally long arrays (NumPy arrays of integer indices, or
        sequences of indices), a float32 NumPy array of the scores of the
        pairs (users[p], items[p]) by model index, computed in one C call
        (needs NumPy)."""
        if _is_index_array(user) or _is_index_array(item):
            return self.score_indices(user, item)
        out = ctypes.c_float()
        check(_lib.fn.score(self._h, enc(user, "user key"), enc(item, "item key"), ctypes.byref(out)))
        return out.value

    def score_indices(self, users, items):
        """Scores of the pairs (users[p], items[p]) by model index, as a
        float32 NumPy array (one C call).  Raises aisle.OutOfRange for an
        index out of range."""
        np = _need_numpy("Model.score_indices")
        u = _index_array(users, "users")
        i = _index_array(items, "items")
        if len(u) != len(i):
            raise ValueError("aisle: users has %d entries, items %d" % (len(u), len(i)))
        out = np.empty(len(u), dtype=np.float32)
        check(_lib.fn.score_indexed(self._h, _ptr(u), _ptr(i), len(u), _ptr(out)))
        return out

    def recommend_indices(self, users, k=10, exclude_seen=True, allow=None, deny=None, filter=None,
                          threads=None, options=None):
        """Top-k for many users given by model index, as two NumPy arrays
        of shape (n_users, k): item indices (int64, -1 where a user has
        fewer than k results) and scores (float32, NaN there).  One
        parallel C call; no Python loop over users."""
        np = _need_numpy("Model.recommend_indices")
        u = _index_array(users, "users")
        nu = len(u)
        k = self._k(k)
        items = np.zeros((nu, k), dtype=np.uint32)
        scores = np.zeros((nu, k), dtype=np.float32)
        counts = np.zeros(nu, dtype=np.uintp)
        if nu and k:
            with in_use(self) as h:  # a filter may close the model during the call
                serve(options, dict(exclude_seen=exclude_seen, allow=allow, deny=deny, filter=filter,
                                    threads=threads),
                      lambda o: _lib.fn.recommend_indexed(h, _ptr(u), nu, k, o, _ptr(items), _ptr(scores),
                                                          _ptr(counts)))
        idx = items.astype(np.int64)
        pad = np.arange(k)[None, :] >= counts.astype(np.int64)[:, None]
        idx[pad] = -1
        scores[pad] = np.nan
        return idx, scores

    def _factors(self, side, copy):
        np = _need_numpy("Model.user_factors / item_factors")
        ptr, rows, dim = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_size_t()
        check(_lib.fn.model_factors(self._h, side, ctypes.byref(ptr), ctypes.byref(rows), ctypes.byref(dim)))
        n = rows.value * dim.value
        if n == 0:
            return np.zeros((rows.value, dim.value), dtype=np.float32)
        buf = (ctypes.c_float * n).from_address(ptr.value)
        view = np.frombuffer(buf, dtype=np.float32).reshape(rows.value, dim.value)
        if copy:
            return view.copy()
        view.flags.writeable = False
        self._views = getattr(self, "_views", 0) + 1
        return view

    @property
    def user_factors(self):
        """The user factor matrix (mf, als, bpr) as a read-only float32
        NumPy array of shape (n_users, factors), row i = user index i.  A
        zero-copy view of the model's memory: valid while the model is
        open (copy it, or use factors(..., copy=True), to keep it after
        close()).  Raises aisle.Unsupported for kinds without factors."""
        return self._factors(0, False)

    @property
    def item_factors(self):
        """The item factor matrix, shape (n_items, factors); see user_factors."""
        return self._factors(1, False)

    def factors(self, side="items", copy=True):
        """The "users" or "items" factor matrix as a NumPy array (a copy by
        default, independent of the model's lifetime)."""
        if side not in ("users", "items"):
            raise ValueError("aisle: side must be 'users' or 'items', got %r" % (side,))
        return self._factors(0 if side == "users" else 1, copy)

    def explain(self, user, item, max=5):
        """The user's training items contributing most to the score of
        `item`, as (item_key, signed share) pairs."""
        return self._explained(_lib.fn.explain, user, item, max)

    def _explained(self, fn, user, item, max):
        """An explanation call fn(model, user, item, max, keys, values, &n)."""
        m = self._k(max, "max")
        r = ResultList(m)
        with in_use(self) as h:
            check(fn(h, enc(user, "user key"), enc(item, "item key"), m, *r.args()))
            return r.take()

    def rerank(self, user, item_keys):
        """Re-scores candidate items (e.g. another model's top-n) for a
        user with this model (a pair model, typically): returns (scores,
        order), scores[i] for item_keys[i] (NaN for an unknown item) and
        order the candidate indices by descending score (unknown last)."""
        keys, nk = key_array(item_keys)
        scores = (ctypes.c_float * max(nk, 1))()
        order = (ctypes.c_size_t * max(nk, 1))()
        with in_use(self) as h:
            check(_lib.fn.rerank(h, enc(user, "user key"), keys, nk, scores, order))
        return [scores[i] for i in range(nk)], [order[i] for i in range(nk)]

    def explain_words(self, user, item):
        """A pair model's score of item for user in words: a list of
        ("shopper: WORD" or "product: WORD", contribution) for every token
        the model reads (leave-one-token-out)."""
        from . import text  # noqa: F401  (registers the explanation readers)
        e = ctypes.c_void_p()
        with in_use(self) as h:
            check(_lib.fn.pair_explain(h, enc(user, "user key"), enc(item, "item key"), ctypes.byref(e)))
        try:
            n = ctypes.c_size_t()
            check(_lib.fn.text_explanation_count(e, ctypes.byref(n)))
            out = []
            for i in range(n.value):
                tok, c = ctypes.c_char_p(), ctypes.c_float()
                check(_lib.fn.text_explanation_at(e, i, ctypes.byref(tok), ctypes.byref(c)))
                out.append((dec(tok.value), c.value))
            return out
        finally:
            _lib.fn.text_explanation_free(e)

    def explain_features(self, user, item, max=10):
        """The features that drove the score of (user, item), as
        (feature name, signed contribution) pairs, largest first: "brand:
        Acme", "country: UK", "the product's own history".  Over all features
        the contributions add up to the score (plus the mean for ratings).
        Kind hybrid; others raise aisle.Unsupported."""
        return self._explained(_lib.fn.explain_features, user, item, max)

    def history(self, user, max=None):
        """The user's training history as (item_key, weight) pairs, most
        recent first (all of it when max is None)."""
        n = ctypes.c_size_t()
        check(_lib.fn.model_user_history(self._h, enc(user, "user key"), 0, None, None, ctypes.byref(n)))
        m = n.value if max is None else min(self._k(max, "max"), n.value)
        r = ResultList(m)
        with in_use(self) as h:
            check(_lib.fn.model_user_history(h, enc(user, "user key"), m, *r.args()))
            return r.take(m)

    def prepare(self):
        """Builds now what serving builds on first use (the int8 item index
        of als, bpr and hybrid models), so the first request is as fast as
        the rest.  Safe while other threads read the model."""
        with in_use(self) as h:
            check(_lib.fn.model_prepare(h))

    def mapped_bytes(self):
        """Size of the file this model serves from a mapping (loaded with
        mmap=True), 0 for a model in memory."""
        n = ctypes.c_size_t()
        with in_use(self) as h:
            check(_lib.fn.model_mapped_bytes(h, ctypes.byref(n)))
        return n.value

    def update_user(self, user, item_keys, weights=None):
        """Adds a known user's new events and re-fits the user in place.
        NOT thread-safe: no other call may use the model meanwhile."""
        keys, nk = key_array(item_keys)
        check(_lib.fn.update_user(self._h, enc(user, "user key"), keys, float_array(weights, nk), nk))

    def add_items(self, catalog):
        """Adds the products of `catalog` (an aisle.Catalog) the model does
        not know, scored from their catalog features (kind hybrid) or text
        (kind pair), exactly as if they had been in the training catalog;
        products it knows keep their trained vectors.  Returns how many were
        added.  Other kinds (and a hybrid trained without a catalog) raise
        aisle.Unsupported.
        NOT thread-safe: no other call may use the model meanwhile (use
        Server.add_items while serving)."""
        return self._add(_lib.fn.model_add_items, catalog)

    def add_users(self, users):
        """add_items for shoppers: the rows of an attribute table (an
        aisle.Catalog keyed by user id) the model does not know, scored from
        their attributes (a hybrid trained with users=...; a pair model)."""
        return self._add(_lib.fn.model_add_users, users)

    def _add(self, fn, catalog):
        try:
            return add_from_catalog(self, fn, catalog)
        finally:
            self.__dict__.pop("_n_items", None)  # the item count may have grown

    def recommend_batch(self, users, k=10, exclude_seen=True, allow=None, deny=None, filter=None,
                        unknown_user=None, threads=None, options=None, as_arrays=False):
        """recommend() for many users at once (parallel in C).  Returns a
        list of Recommendations (lists of (item_key, score) with
        .popular_fallback), or with as_arrays=True (NumPy required) a pair
        (keys, scores) of (n_users, k) arrays, padded with None / NaN where
        a user has fewer than k results.  For users given by model index,
        recommend_indices returns index arrays without any key."""
        keys, nu = key_array(users)
        k = self._k(k)
        size = max(nu * k, 1)
        items = (ctypes.c_char_p * size)()
        scores = (ctypes.c_float * size)()
        counts = (ctypes.c_size_t * max(nu, 1))()
        fallback = (ctypes.c_int * max(nu, 1))()
        with in_use(self) as h:  # held until the keys are read: a filter may close the model
            serve(options, dict(exclude_seen=exclude_seen, allow=allow, deny=deny, filter=filter,
                                unknown_user=unknown_user, threads=threads),
                  lambda o: _lib.fn.recommend_batch_v2(h, keys, nu, k, o, items, scores, counts, fallback))
            return self._batch_results(items, scores, counts, nu, k, as_arrays, fallback)

    @staticmethod
    def _batch_results(items, scores, counts, nu, k, as_arrays, fallback):
        if as_arrays:
            np = numpy()
            if np is None:
                raise ImportError("aisle: recommend_batch(as_arrays=True) needs NumPy")
            sc = np.ctypeslib.as_array(scores)[:nu * k].reshape(nu, k).copy()
            ks = np.empty((nu, k), dtype=object)
            for u in range(nu):
                c = counts[u]
                sc[u, c:] = np.nan
                for j in range(k):
                    ks[u, j] = dec(items[u * k + j]) if j < c else None
            return ks, sc
        out = []
        for u in range(nu):
            r = Recommendations((dec(items[u * k + j]), float(scores[u * k + j])) for j in range(counts[u]))
            r.popular_fallback = bool(fallback[u])
            out.append(r)
        return out

    def __repr__(self):
        if self.closed:
            return "<aisle.Model closed>"
        return "<aisle.Model kind=%s users=%d items=%d>" % (self.kind, self.n_users, self.n_items)


def _is_index_array(x):
    """An array of indices (NumPy integer array, or a list/tuple of ints)
    rather than one key."""
    np = numpy()
    if np is not None and isinstance(x, np.ndarray):
        return True
    return isinstance(x, (list, tuple, range)) and all(isinstance(v, int) for v in x)


def _need_numpy(what):
    np = numpy()
    if np is None:
        raise ImportError("aisle: %s needs NumPy (pip install numpy, or Debian python3-numpy)" % what)
    return np


class EvalResult:
    """The outcome of Model.evaluate: .metrics and .counts dicts (name ->
    value), .json (the library's JSON text); result["ndcg@10"] reads
    either.  A plain Python object: the C result is freed at once."""

    def __init__(self, metrics, counts, json):
        self.metrics = metrics
        self.counts = counts
        self.json = json

    @classmethod
    def _take(cls, ptr):
        try:
            n = ctypes.c_size_t()
            check(_lib.fn.eval_result_count(ptr, ctypes.byref(n)))
            metrics, counts = {}, {}
            for i in range(n.value):
                name, value, is_count = ctypes.c_char_p(), ctypes.c_double(), ctypes.c_int()
                check(_lib.fn.eval_result_at(ptr, i, ctypes.byref(name), ctypes.byref(value), ctypes.byref(is_count)))
                (counts if is_count.value else metrics)[dec(name.value)] = value.value
            needed = ctypes.c_size_t()
            rc = _lib.fn.eval_result_to_json(ptr, None, 0, ctypes.byref(needed))
            if rc not in (0, -6):
                check(rc)
            buf = ctypes.create_string_buffer(needed.value + 1)
            check(_lib.fn.eval_result_to_json(ptr, buf, needed.value + 1, None))
            return cls(metrics, counts, dec(buf.value))
        finally:
            _lib.fn.eval_result_free(ptr)

    def __getitem__(self, name):
        if name in self.metrics:
            return self.metrics[name]
        return self.counts[name]

    def __repr__(self):
        return "<aisle.EvalResult %s>" % ", ".join("%s=%.4g" % kv for kv in self.metrics.items())
