"""Text classification: labelled texts (aisle_texts), intent models
(aisle_text_train), classification with calibrated probabilities and an
unknown flag, per-token explanations and evaluation (see docs/TEXT.md).

    with aisle.Texts() as t:
        t.add("where is my refund?", "refund")
        ...
        with aisle.train_text(t, epochs=10) as model:
            model.classify("money back please", k=3)   # -> Classification
            model.explain("money back please")           # -> [(token, contribution)]

classify, explain, labels and evaluate_texts are methods of aisle.Model
(defined here); they raise aisle.Unsupported on recommender models."""
import ctypes
from collections import namedtuple

from . import _lib
from ._base import Handle, dec, enc
from ._loading import Loadable
from .errors import check
from .model import Model, _run_with_config

P = ctypes.POINTER
_c = _lib.c_void_p
_PROTOTYPES = {
    "aisle_texts_new": (_lib.c_int, [P(_c)]),
    "aisle_texts_free": (None, [_c]),
    "aisle_texts_add": (_lib.c_int, [_c, _lib.c_char_p, _lib.c_size_t, _lib.c_char_p]),
    "aisle_texts_load": (_lib.c_int, [_c, _lib.c_char_p, _c]),
    "aisle_texts_load_buffer": (_lib.c_int, [_c, _lib.c_char_p, _lib.c_size_t, _lib.c_char_p, _c]),
    "aisle_texts_load_report": (_lib.c_int, [_c, P(_lib.c_size_t), P(_lib.c_size_t), P(_lib.c_size_t)]),
    "aisle_texts_load_message": (_lib.c_int, [_c, _lib.c_size_t, P(_lib.c_char_p)]),
    "aisle_texts_count": (_lib.c_int, [_c, P(_lib.c_size_t)]),
    "aisle_texts_label_count": (_lib.c_int, [_c, P(_lib.c_size_t)]),
    "aisle_texts_at": (_lib.c_int, [_c, _lib.c_size_t, P(_lib.c_char_p), P(_lib.c_char_p)]),
    "aisle_texts_split": (_lib.c_int, [_c, _lib.c_double, ctypes.c_uint64, P(_c), P(_c)]),
    "aisle_text_train": (_lib.c_int, [_c, _c, P(_c)]),
    "aisle_model_label_count": (_lib.c_int, [_c, P(_lib.c_size_t)]),
    "aisle_model_label": (_lib.c_int, [_c, _lib.c_size_t, P(_lib.c_char_p)]),
    "aisle_text_classify": (_lib.c_int, [_c, _lib.c_char_p, _lib.c_size_t, _lib.c_size_t, P(_lib.c_char_p),
                                         P(_lib.c_float), P(_lib.c_size_t), P(_lib.c_int)]),
    "aisle_text_explain": (_lib.c_int, [_c, _lib.c_char_p, _lib.c_size_t, _lib.c_char_p, P(_c)]),
    "aisle_text_explanation_label": (_lib.c_int, [_c, P(_lib.c_char_p)]),
    "aisle_text_explanation_count": (_lib.c_int, [_c, P(_lib.c_size_t)]),
    "aisle_text_explanation_at": (_lib.c_int, [_c, _lib.c_size_t, P(_lib.c_char_p), P(_lib.c_float)]),
    "aisle_text_explanation_free": (None, [_c]),
    "aisle_text_evaluate": (_lib.c_int, [_c, _c, _c, P(_c)]),
    "aisle_text_eval_metric": (_lib.c_int, [_c, _lib.c_char_p, P(_lib.c_double)]),
    "aisle_text_eval_label_count": (_lib.c_int, [_c, P(_lib.c_size_t)]),
    "aisle_text_eval_label": (_lib.c_int, [_c, _lib.c_size_t, P(_lib.c_char_p)]),
    "aisle_text_eval_confusion": (_lib.c_int, [_c, _lib.c_size_t, _lib.c_size_t, P(_lib.c_size_t)]),
    "aisle_text_eval_to_json": (_lib.c_int, [_c, _lib.c_char_p, _lib.c_size_t, P(_lib.c_size_t)]),
    "aisle_text_eval_free": (None, [_c]),
}
for _name, (_res, _args) in _PROTOTYPES.items():
    try:
        _f = getattr(_lib.lib, _name)
    except AttributeError:
        setattr(_lib.fn, _name[len("aisle_"):], _lib._Missing(_name))
        continue
    _f.restype = _res
    _f.argtypes = _args
    setattr(_lib.fn, _name[len("aisle_"):], _f)

_NUL_TERMINATED = ctypes.c_size_t(-1).value


def _text_bytes(text):
    """Text to classify: str (UTF-8) or bytes (any bytes, passed with their length)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    elif not isinstance(text, (bytes, bytearray)):
        raise TypeError("aisle: text must be str or bytes, not %s" % type(text).__name__)
    return bytes(text)


class Texts(Loadable, Handle):
    """A list of (text, label) pairs for training and evaluating intent
    models.  Built by one thread; then readable from many.

    Texts.from_file(path, **options) and load(path, **options) append the
    rows of a delimited file (plain or gzip) with options
    columns="text=utterance,label=intent" (names or 1-based positions),
    delimiter, header, lenient, encoding, ...; all or nothing.  load_bytes
    reads from memory; load_report() describes the last load."""

    _free_name = "texts_free"
    _what = "texts"
    _load_prefix = "texts"  # load, load_bytes, load_report, from_file: see _loading.py

    def __init__(self, pairs=None):
        super().__init__()
        p = ctypes.c_void_p()
        check(_lib.fn.texts_new(ctypes.byref(p)))
        self._adopt(p.value)
        for text, label in pairs or ():
            self.add(text, label)

    @classmethod
    def _wrap(cls, ptr):
        t = cls.__new__(cls)
        Handle.__init__(t)
        t._adopt(ptr)
        return t

    def add(self, text, label):
        b = _text_bytes(text)
        check(_lib.fn.texts_add(self._h, b, len(b), enc(label, "label")))

    def __len__(self):
        out = ctypes.c_size_t()
        check(_lib.fn.texts_count(self._h, ctypes.byref(out)))
        return out.value

    @property
    def label_count(self):
        out = ctypes.c_size_t()
        check(_lib.fn.texts_label_count(self._h, ctypes.byref(out)))
        return out.value

    def __getitem__(self, i):
        if i < 0:
            i += len(self)
        text, label = ctypes.c_char_p(), ctypes.c_char_p()
        check(_lib.fn.texts_at(self._h, i, ctypes.byref(text), ctypes.byref(label)))
        return dec(text.value), dec(label.value)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def split(self, test_fraction=0.2, seed=42):
        """Seeded stratified split: (train, test) as new Texts."""
        a, b = ctypes.c_void_p(), ctypes.c_void_p()
        check(_lib.fn.texts_split(self._h, float(test_fraction), int(seed), ctypes.byref(a), ctypes.byref(b)))
        return Texts._wrap(a.value), Texts._wrap(b.value)

    def __repr__(self):
        return "<aisle.Texts closed>" if self.closed else "<aisle.Texts texts=%d>" % len(self)


Classification = namedtuple("Classification", "labels probabilities unknown")
Classification.__doc__ = """Top-k labels (best first), their calibrated probabilities, and whether
the top probability is below the model's unknown_threshold."""


class TextEval:
    """The outcome of Model.evaluate_texts: .metrics (accuracy, macro_f1,
    ece, unknown_rate, texts, labels, unseen_labels), .labels, .confusion
    (rows: true label, columns: predicted) and .json."""

    def __init__(self, metrics, labels, confusion, json):
        self.metrics, self.labels, self.confusion, self.json = metrics, labels, confusion, json

    def __getitem__(self, name):
        return self.metrics[name]

    @classmethod
    def _take(cls, ptr):
        try:
            metrics = {}
            for name in ("accuracy", "macro_f1", "ece", "unknown_rate", "texts", "labels", "unseen_labels"):
                v = ctypes.c_double()
                check(_lib.fn.text_eval_metric(ptr, name.encode(), ctypes.byref(v)))
                metrics[name] = v.value
            n = ctypes.c_size_t()
            check(_lib.fn.text_eval_label_count(ptr, ctypes.byref(n)))
            labels = []
            for i in range(n.value):
                s = ctypes.c_char_p()
                check(_lib.fn.text_eval_label(ptr, i, ctypes.byref(s)))
                labels.append(dec(s.value))
            confusion = []
            for i in range(n.value):
                row = []
                for j in range(n.value):
                    c = ctypes.c_size_t()
                    check(_lib.fn.text_eval_confusion(ptr, i, j, ctypes.byref(c)))
                    row.append(c.value)
                confusion.append(row)
            need = ctypes.c_size_t()
            rc = _lib.fn.text_eval_to_json(ptr, None, 0, ctypes.byref(need))
            if rc not in (0, -6):
                check(rc)
            buf = ctypes.create_string_buffer(need.value + 1)
            check(_lib.fn.text_eval_to_json(ptr, buf, need.value + 1, None))
            return cls(metrics, labels, confusion, dec(buf.value))
        finally:
            _lib.fn.text_eval_free(ptr)


def train_text(texts, config=None, progress=None, **options):
    """Trains an intent model (kind "intent") on Texts.  Options:
    architecture ("bag"), dim, epochs, learning_rate, word_ngrams,
    char_ngram_min/max, calibration_fraction, unknown_threshold, teacher
    (a model file), distill_temperature, distill_alpha, threads, seed."""
    out = ctypes.c_void_p()
    _run_with_config(lambda cfg: _lib.fn.text_train(texts._h, cfg, ctypes.byref(out)), config, options, progress)
    return Model(out.value)


def _labels(self):
    """The intent model's labels in index order."""
    n = ctypes.c_size_t()
    check(_lib.fn.model_label_count(self._h, ctypes.byref(n)))
    out = []
    for i in range(n.value):
        s = ctypes.c_char_p()
        check(_lib.fn.model_label(self._h, i, ctypes.byref(s)))
        out.append(dec(s.value))
    return out


def _classify(self, text, k=1):
    """A Classification of text (str, or bytes of any content)."""
    b = _text_bytes(text)
    k = int(k)
    if k < 1:
        raise ValueError("aisle: k must be >= 1")
    labels = (ctypes.c_char_p * k)()
    probs = (ctypes.c_float * k)()
    n, unknown = ctypes.c_size_t(), ctypes.c_int()
    check(_lib.fn.text_classify(self._h, b, len(b), k, labels, probs, ctypes.byref(n), ctypes.byref(unknown)))
    return Classification([dec(labels[i]) for i in range(n.value)], [probs[i] for i in range(n.value)],
                          bool(unknown.value))


def _explain(self, text, label=None):
    """[(token, contribution)] towards label (None: the top label); also
    sets .label on the returned list."""
    b = _text_bytes(text)
    e = ctypes.c_void_p()
    check(_lib.fn.text_explain(self._h, b, len(b), enc(label, "label") if label is not None else None,
                               ctypes.byref(e)))
    try:
        n = ctypes.c_size_t()
        check(_lib.fn.text_explanation_count(e, ctypes.byref(n)))
        out = _Explanation()
        for i in range(n.value):
            tok, c = ctypes.c_char_p(), ctypes.c_float()
            check(_lib.fn.text_explanation_at(e, i, ctypes.byref(tok), ctypes.byref(c)))
            out.append((dec(tok.value), c.value))
        lab = ctypes.c_char_p()
        check(_lib.fn.text_explanation_label(e, ctypes.byref(lab)))
        out.label = dec(lab.value)
        return out
    finally:
        _lib.fn.text_explanation_free(e)


class _Explanation(list):
    label = None


def _evaluate_texts(self, texts, config=None, **options):
    """A TextEval of the model on labelled Texts (option threads)."""
    out = ctypes.c_void_p()
    _run_with_config(lambda cfg: _lib.fn.text_evaluate(self._h, texts._h, cfg, ctypes.byref(out)), config, options,
                     None)
    return TextEval._take(out.value)


Model.labels = property(_labels)
Model.classify = _classify
Model.explain_text = _explain
Model.evaluate_texts = _evaluate_texts
