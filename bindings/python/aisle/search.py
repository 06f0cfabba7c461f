"""aisle.SearchIndex: product search (docs/SEARCH.md)."""
import collections
import ctypes
import os

from . import _lib
from ._base import Handle, dec, enc
from .config import make_config
from .errors import check

Hit = collections.namedtuple("Hit", "item score matched")
Hit.__doc__ = """One search hit: product key, score and the indexed words it
matched (a list; empty when found by behaviour similarity only)."""


class SearchResults:
    """What one search returned: hits (list of Hit), total (products that
    matched; a lower bound past option search_total_limit), facets
    ({name: [(value, count), ...]}) and explain(i)."""

    def __init__(self, ptr):
        self._ptr = ptr
        try:
            n, total, nf = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t()
            check(_lib.fn.search_results_count(ptr, ctypes.byref(n)))
            check(_lib.fn.search_results_total(ptr, ctypes.byref(total)))
            check(_lib.fn.search_results_facet_count(ptr, ctypes.byref(nf)))
            self.total = total.value
            self.hits = []
            for i in range(n.value):
                key, score, matched = ctypes.c_char_p(), ctypes.c_double(), ctypes.c_char_p()
                check(_lib.fn.search_results_hit(ptr, i, ctypes.byref(key), ctypes.byref(score)))
                check(_lib.fn.search_results_matched(ptr, i, ctypes.byref(matched)))
                words = dec(matched.value)
                self.hits.append(Hit(dec(key.value), score.value, words.split(" ") if words else []))
            self.facets = {}
            for f in range(nf.value):
                name, nv = ctypes.c_char_p(), ctypes.c_size_t()
                check(_lib.fn.search_results_facet(ptr, f, ctypes.byref(name), ctypes.byref(nv)))
                values = []
                for v in range(nv.value):
                    val, cnt = ctypes.c_char_p(), ctypes.c_size_t()
                    check(_lib.fn.search_results_facet_value(ptr, f, v, ctypes.byref(val), ctypes.byref(cnt)))
                    values.append((dec(val.value), cnt.value))
                self.facets[dec(name.value)] = values
        except BaseException:
            self.close()
            raise

    def explain(self, i):
        """Why hit i ranks where it does (one line)."""
        if not self._ptr:
            raise ValueError("aisle: the search results are closed")
        out = ctypes.c_char_p()
        check(_lib.fn.search_results_explain(self._ptr, i, ctypes.byref(out)))
        return dec(out.value)

    def close(self):
        ptr, self._ptr = self._ptr, None
        if ptr:
            _lib.fn.search_results_free(ptr)

    def __len__(self):
        return len(self.hits)

    def __iter__(self):
        return iter(self.hits)

    def __getitem__(self, i):
        return self.hits[i]

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


class SearchIndex(Handle):
    """A product search index.

        idx = aisle.SearchIndex.build(catalog)
        for hit in idx.search("wireles earbuds", k=5, filters=["price=..100"]):
            print(hit.item, hit.score, hit.matched)

    Searching (search, suggest, len, save) is safe from many threads at once
    while nobody changes the index; add, remove and set_popularity need
    exclusive access."""

    _free_name = "search_index_free"
    _what = "search index"

    def __init__(self):
        super().__init__()
        p = ctypes.c_void_p()
        check(_lib.fn.search_index_new(ctypes.byref(p)))
        self._adopt(p.value)

    @classmethod
    def build(cls, catalog, config=None, **options):
        """A new index of every product of catalog."""
        idx = cls()
        try:
            cfg, _ = make_config(config, options)
            try:
                check(_lib.fn.search_index_build(idx._h, catalog._h, cfg._h))
            finally:
                cfg.close()
        except BaseException:
            idx.close()
            raise
        return idx

    @classmethod
    def load(cls, path, config=None, **options):
        """Loads an index saved by save(); raises aisle.FormatError on a
        corrupt file."""
        out = ctypes.c_void_p()
        cfg, _ = make_config(config, options)
        try:
            check(_lib.fn.search_index_load(ctypes.byref(out), enc(os.fspath(path), "path"), cfg._h))
        finally:
            cfg.close()
        idx = cls.__new__(cls)
        Handle.__init__(idx)
        idx._adopt(out.value)
        return idx

    def save(self, path, config=None, **options):
        """Saves atomically (removed products are dropped)."""
        cfg, _ = make_config(config, options)
        try:
            check(_lib.fn.search_index_save(self._h, enc(os.fspath(path), "path"), cfg._h))
        finally:
            cfg.close()

    def add(self, catalog, key):
        """Indexes catalog product key (replacing the indexed one)."""
        check(_lib.fn.search_index_add(self._h, catalog._h, enc(key, "item key")))

    def remove(self, key):
        """Removes a product; raises aisle.NotFound when it is not indexed."""
        check(_lib.fn.search_index_remove(self._h, enc(key, "item key")))

    def set_popularity(self, model):
        """Stores each product's popularity from a model (ranks suggest())."""
        check(_lib.fn.search_index_set_popularity(self._h, model._h))

    def set_encoder(self, encoder, catalog=None, config=None, **options):
        """Attaches an aisle.Bert text encoder: with catalog, computes every
        product's text vector (search_encoder_pooling: mean, cls, pooler);
        without, the index's saved vectors must come from this encoder
        (raises aisle.InvalidArgument otherwise).  Searches then add
        semantic retrieval from the query's vector (search_encoder_weight).
        The index keeps a reference to the encoder; do not close it while
        attached.  encoder None detaches and drops the vectors."""
        cfg, _ = make_config(config, options)
        try:
            check(_lib.fn.search_index_set_encoder(self._h, encoder._h if encoder is not None else None,
                                                   catalog._h if catalog is not None else None, cfg._h))
        finally:
            cfg.close()
        self._encoder = encoder

    def set_text_model(self, model, catalog=None, config=None, **options):
        """Attaches an intent aisle.Model (architecture transformer or bag)
        as the text encoder, as set_encoder does a BERT: with catalog,
        computes every product's vector (the pooled vector the model's head
        reads); without, the index's saved vectors must come from this very
        model (raises aisle.InvalidArgument otherwise).  Raises
        aisle.Unsupported for another kind or an architecture without
        vectors.  The index keeps a reference to the model; do not close it
        while attached.  model None detaches and drops the vectors."""
        cfg, _ = make_config(config, options)
        try:
            check(_lib.fn.search_index_set_text_model(self._h, model._h if model is not None else None,
                                                      catalog._h if catalog is not None else None, cfg._h))
        finally:
            cfg.close()
        self._encoder = model

    def encoder_info(self):
        """(dimension, attached, fingerprint) of the index's encoder vectors
        ((0, False, 0) without)."""
        dim, att, fp = ctypes.c_size_t(), ctypes.c_int(), ctypes.c_uint64()
        check(_lib.fn.search_index_encoder_info(self._h, ctypes.byref(dim), ctypes.byref(att), ctypes.byref(fp)))
        return dim.value, bool(att.value), fp.value

    def learn(self, log, model=None, config=None, **options):
        """Learns the ranking weights from a search log (docs/SEARCH.md
        "Learning to rank"): a path, or the log's text as bytes (a CSV with
        the header query_id,query,user,item,event; event shown, click, cart
        or purchase).  model: the model whose signals (fusion, user score,
        popularity) searches will use.  Options: search_learn_l2,
        search_learn_max_pairs, search_learn_seed, and the search_* options
        the searches run with.  Returns the preference pairs used; the
        weights (ranker()) stay in the index and its saved file."""
        h = ctypes.c_void_p()
        if isinstance(log, (bytes, bytearray)):
            data = bytes(log)
            check(_lib.fn.search_log_load_buffer(ctypes.byref(h), data, len(data), b"log", None))
        else:
            check(_lib.fn.search_log_load(ctypes.byref(h), enc(os.fspath(log), "path"), None))
        cfg = None
        try:
            cfg, _ = make_config(config, options)
            pairs = ctypes.c_size_t()
            check(_lib.fn.search_index_learn(self._h, h, model._h if model is not None else None, cfg._h,
                                             ctypes.byref(pairs)))
            return pairs.value
        finally:
            if cfg is not None:
                cfg.close()
            _lib.fn.search_log_free(h)

    def ranker(self):
        """The learned ranking weights, {signal: weight} ({} when none)."""
        out = {}
        name, w = ctypes.c_char_p(), ctypes.c_double()
        i = 0
        while _lib.fn.search_index_ranker(self._h, i, ctypes.byref(name), ctypes.byref(w)) == 0:
            out[dec(name.value)] = w.value
            i += 1
        return out

    def __len__(self):
        out = ctypes.c_size_t()
        check(_lib.fn.search_index_count(self._h, ctypes.byref(out)))
        return out.value

    def search(self, query, k=10, filters=(), model=None, user=None, session=None, config=None, **options):
        """The k best products for query.  filters: strings "category=PATH",
        "brand=NAME", "price=LO..HI", "NAME=VALUE".  With a model: behaviour-
        space fusion, and with user (a key) or session (item keys)
        personalization.  Options: the search_* options (search_facets=
        "brand,category" for facets).  Returns SearchResults."""
        q = query.encode("utf-8") if isinstance(query, str) else bytes(query)
        fl = [enc(f, "filter") for f in filters]
        farr = (ctypes.c_char_p * max(1, len(fl)))(*fl)
        items = [enc(s, "item key") for s in (session or [])]
        iarr = (ctypes.c_char_p * max(1, len(items)))(*items)
        out = ctypes.c_void_p()
        cfg, _ = make_config(config, options)
        try:
            check(_lib.fn.search(self._h, q, len(q), k, farr, len(fl), model._h if model is not None else None,
                                 enc(user, "user key"), iarr, len(items), cfg._h, ctypes.byref(out)))
        finally:
            cfg.close()
        return SearchResults(out.value)

    def suggest(self, prefix, k=5, config=None, **options):
        """Completions of what was typed so far: a list of (text, score)."""
        q = prefix.encode("utf-8") if isinstance(prefix, str) else bytes(prefix)
        out = ctypes.c_void_p()
        cfg, _ = make_config(config, options)
        try:
            check(_lib.fn.suggest(self._h, q, len(q), k, cfg._h, ctypes.byref(out)))
        finally:
            cfg.close()
        r = SearchResults(out.value)
        try:
            return [(h.item, h.score) for h in r.hits]
        finally:
            r.close()
