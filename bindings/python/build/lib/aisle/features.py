"""Feature engineering: tokenizer, hashing vectorizer, TF-IDF/BM25,
categorical and numeric encoders (docs/FEATURES.md gives the rules).

Sparse vectors come back as SparseVector(dim, indices, values) copied out
of the library (NumPy arrays when NumPy is installed, else lists)."""
import collections
import ctypes
import math

from . import _lib
from ._base import Handle, dec, enc, numpy
from .config import make_config
from .errors import check

NUL_TERMINATED = ctypes.c_size_t(-1).value
TOKEN_KINDS = {0: "word", 1: "cjk", 2: "cjk_bigram", 3: "word_ngram", 4: "char_ngram"}

Token = collections.namedtuple("Token", "text kind")
class SparseVector(collections.namedtuple("SparseVector", "dim indices values")):
    """A sparse vector: strictly increasing indices below dim, with values.
    Equality compares contents, whether the parts are lists or NumPy arrays."""
    __slots__ = ()

    def __eq__(self, other):
        if not isinstance(other, SparseVector):
            return NotImplemented
        return (self.dim == other.dim and [int(i) for i in self.indices] == [int(i) for i in other.indices]
                and [float(v) for v in self.values] == [float(v) for v in other.values])

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None


def hash32(data, seed=0):
    """MurmurHash3 x86_32 of a str (UTF-8) or bytes, as aisle hashes features."""
    b = enc(data, "data") if isinstance(data, str) else bytes(data)
    out = ctypes.c_uint32()
    check(_lib.fn.hash32(b, len(b), seed, ctypes.byref(out)))
    return out.value


def _text(text):
    b = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return b, len(b)  # explicit length: embedded NULs are separators


def _take_tokens(ptr):
    try:
        n = ctypes.c_size_t()
        check(_lib.fn.tokens_count(ptr, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            t, ln, kind = ctypes.c_char_p(), ctypes.c_size_t(), ctypes.c_int()
            check(_lib.fn.tokens_get(ptr, i, ctypes.byref(t), ctypes.byref(ln)))
            check(_lib.fn.tokens_kind(ptr, i, ctypes.byref(kind)))
            out.append(Token(dec(t.value), TOKEN_KINDS.get(kind.value, kind.value)))
        return out
    finally:
        _lib.fn.tokens_free(ptr)


def _take_sparse(ptr):
    try:
        idx, val = ctypes.POINTER(ctypes.c_uint32)(), ctypes.POINTER(ctypes.c_float)()
        n, dim = ctypes.c_size_t(), ctypes.c_uint32()
        check(_lib.fn.sparse_data(ptr, ctypes.byref(idx), ctypes.byref(val), ctypes.byref(n)))
        check(_lib.fn.sparse_dim(ptr, ctypes.byref(dim)))
        np = numpy()
        if np is not None:
            if n.value:
                i = np.ctypeslib.as_array(idx, shape=(n.value,)).copy()
                v = np.ctypeslib.as_array(val, shape=(n.value,)).copy()
            else:
                i, v = np.zeros(0, np.uint32), np.zeros(0, np.float32)
            return SparseVector(dim.value, i, v)
        return SparseVector(dim.value, [idx[k] for k in range(n.value)], [val[k] for k in range(n.value)])
    finally:
        _lib.fn.sparse_free(ptr)


class _Configured(Handle):
    _new_name = None

    def __init__(self, config=None, **options):
        super().__init__()
        cfg, _ = make_config(config, options)
        try:
            p = ctypes.c_void_p()
            check(getattr(_lib.fn, self._new_name)(ctypes.byref(p), cfg._h))
            self._adopt(p.value)
        finally:
            cfg.close()


class Tokenizer(_Configured):
    """UTF-8 tokenizer: Tokenizer(lowercase=True, cjk_bigrams=True,
    min_token_len=1, stop_words="_english_").  Thread-safe once built."""

    _free_name = "tokenizer_free"
    _new_name = "tokenizer_new"
    _what = "tokenizer"

    def add_stop_words(self, words):
        words = [enc(w, "stop word") for w in words]
        arr = (ctypes.c_char_p * max(len(words), 1))(*words)
        check(_lib.fn.tokenizer_add_stop_words(self._h, arr, len(words)))

    def tokenize(self, text):
        """Token(text, kind) tuples in text order."""
        b, n = _text(text)
        out = ctypes.c_void_p()
        check(_lib.fn.tokenizer_tokenize(self._h, b, n, ctypes.byref(out)))
        return _take_tokens(out.value)

    def __call__(self, text):
        """Just the token texts."""
        return [t.text for t in self.tokenize(text)]


class Hasher(_Configured):
    """Hashing vectorizer: Hasher(word_ngrams=2, char_ngram_min=3,
    char_ngram_max=5, hash_buckets=2**20, signed_hash=False, l2_normalize=True,
    + tokenizer options)."""

    _free_name = "hasher_free"
    _new_name = "hasher_new"
    _what = "hasher"

    def transform(self, text):
        b, n = _text(text)
        out = ctypes.c_void_p()
        check(_lib.fn.hasher_transform(self._h, b, n, ctypes.byref(out)))
        return _take_sparse(out.value)

    def features(self, text):
        """The feature strings of text, in hashing order, as Tokens."""
        b, n = _text(text)
        out = ctypes.c_void_p()
        check(_lib.fn.hasher_features(self._h, b, n, ctypes.byref(out)))
        return _take_tokens(out.value)

    def feature_index(self, feature, kind="word"):
        """(bucket, sign) of one feature string of the given kind."""
        kinds = {v: k for k, v in TOKEN_KINDS.items()}
        b, n = _text(feature)
        idx, sign = ctypes.c_uint32(), ctypes.c_float()
        check(_lib.fn.hasher_feature_index(self._h, b, n, kinds.get(kind, kind), ctypes.byref(idx),
                                           ctypes.byref(sign)))
        return idx.value, sign.value


class TfIdf(_Configured):
    """TF-IDF / BM25 vectorizer: TfIdf(tfidf_weighting="tfidf"|"bm25", min_df=1,
    max_features=0, ...).  fit(texts) then transform(text)."""

    _free_name = "tfidf_free"
    _new_name = "tfidf_new"
    _what = "tf-idf vectorizer"

    def fit(self, texts):
        texts = [enc(t, "text") for t in texts]
        arr = (ctypes.c_char_p * max(len(texts), 1))(*texts)
        check(_lib.fn.tfidf_fit(self._h, arr, len(texts)))
        return self

    def transform(self, text):
        b, n = _text(text)
        out = ctypes.c_void_p()
        check(_lib.fn.tfidf_transform(self._h, b, n, ctypes.byref(out)))
        return _take_sparse(out.value)

    def __len__(self):
        out = ctypes.c_size_t()
        check(_lib.fn.tfidf_vocab_size(self._h, ctypes.byref(out)))
        return out.value

    def term(self, index):
        """(term, idf) of vocabulary entry index."""
        t, idf = ctypes.c_char_p(), ctypes.c_double()
        check(_lib.fn.tfidf_term(self._h, index, ctypes.byref(t), ctypes.byref(idf)))
        return dec(t.value), idf.value

    def vocabulary(self):
        return [self.term(i)[0] for i in range(len(self))]

    def lookup(self, term):
        out = ctypes.c_size_t()
        check(_lib.fn.tfidf_lookup(self._h, enc(term, "term"), ctypes.byref(out)))
        return out.value


class CategoryEncoder(_Configured):
    """Category values -> 1..size-1, 0 for unseen/rare: CategoryEncoder(category_min_count=1)."""

    _free_name = "category_encoder_free"
    _new_name = "category_encoder_new"
    _what = "category encoder"

    def fit(self, values):
        values = [enc(v, "value") for v in values]
        arr = (ctypes.c_char_p * max(len(values), 1))(*values)
        check(_lib.fn.category_encoder_fit(self._h, arr, len(values)))
        return self

    def transform(self, value):
        out = ctypes.c_size_t()
        check(_lib.fn.category_encoder_transform(self._h, enc(value, "value"), ctypes.byref(out)))
        return out.value

    def __len__(self):
        out = ctypes.c_size_t()
        check(_lib.fn.category_encoder_size(self._h, ctypes.byref(out)))
        return out.value

    def value(self, index):
        out = ctypes.c_char_p()
        check(_lib.fn.category_encoder_value(self._h, index, ctypes.byref(out)))
        return dec(out.value)


class NumericEncoder(_Configured):
    """Numbers: NumericEncoder(numeric_transform="standardize"|"minmax"|
    "log1p"|"quantile", quantile_bins=10)."""

    _free_name = "numeric_encoder_free"
    _new_name = "numeric_encoder_new"
    _what = "numeric encoder"

    def fit(self, values):
        values = [float(v) for v in values]
        arr = (ctypes.c_double * max(len(values), 1))(*values)
        check(_lib.fn.numeric_encoder_fit(self._h, arr, len(values)))
        return self

    def transform(self, x):
        out = ctypes.c_double()
        check(_lib.fn.numeric_encoder_transform(self._h, float(x), ctypes.byref(out)))
        return out.value

    def bin(self, x):
        out = ctypes.c_size_t()
        check(_lib.fn.numeric_encoder_bin(self._h, float(x), ctypes.byref(out)))
        return out.value

    def edges(self):
        """The inner quantile bin edges."""
        e, bins = ctypes.POINTER(ctypes.c_double)(), ctypes.c_size_t()
        check(_lib.fn.numeric_encoder_edges(self._h, ctypes.byref(e), ctypes.byref(bins)))
        return [e[i] for i in range(max(bins.value - 1, 0))]


def sparse_dot(a, b):
    """Dot product of two SparseVectors of the same dimension."""
    if a.dim != b.dim:
        raise ValueError("aisle: sparse dimensions differ (%d, %d)" % (a.dim, b.dim))
    bm = dict(zip((int(i) for i in b.indices), (float(v) for v in b.values)))
    return math.fsum(float(v) * bm.get(int(i), 0.0) for i, v in zip(a.indices, a.values))
