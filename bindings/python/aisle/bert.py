"""Pretrained BERT checkpoints run in-process (docs/BERT.md).

    with aisle.Bert.import_checkpoint("bert-dir") as bert:   # config.json, vocab.txt, model.safetensors
        bert.save("bert.aisle", quantize="int8")
        vectors = bert.embed(["running shoes", "rain jacket"], pooling="mean")
        probs = bert.classify(["user likes trail running"], ["trail shoes"])"""
import ctypes
import os

from . import _lib
from ._base import Handle, enc, numpy
from .config import make_config
from .errors import check

POOLINGS = {"cls": 0, "mean": 1, "pooler": 2}


def _call(call, config, options):
    cfg, _ = make_config(config, options)
    try:
        check(call(cfg._h))
    finally:
        cfg.close()


def _texts(texts, what):
    texts = [enc(t, what) for t in texts]
    return (ctypes.c_char_p * max(len(texts), 1))(*texts), len(texts)


def _rows(buf, n, width):
    np = numpy()
    if np is not None:
        return np.ctypeslib.as_array(buf).reshape(n, width).copy()
    return [list(buf[i * width:(i + 1) * width]) for i in range(n)]


class Bert(Handle):
    """A BERT encoder with its optional classification/regression head.
    Read-only calls (embed, classify, tokenize, hidden) may run from many
    threads at once; finetune_head changes the model."""

    _free_name = "bert_free"
    _what = "bert model"

    def __init__(self, ptr):
        Handle.__init__(self)
        self._adopt(ptr)

    @classmethod
    def import_checkpoint(cls, directory, config=None, **options):
        """Imports a checkpoint directory (config.json, vocab.txt,
        model.safetensors).  Raises aisle.FormatError naming the file and
        field for a malformed or inconsistent checkpoint."""
        out = ctypes.c_void_p()
        d = enc(os.fspath(directory), "path")
        _call(lambda cfg: _lib.fn.bert_import(ctypes.byref(out), d, cfg), config, options)
        return cls(out.value)

    @classmethod
    def load(cls, path, config=None, **options):
        """Loads a model file written by save()."""
        out = ctypes.c_void_p()
        p = enc(os.fspath(path), "path")
        _call(lambda cfg: _lib.fn.bert_load(ctypes.byref(out), p, cfg), config, options)
        return cls(out.value)

    def save(self, path, config=None, **options):
        """Saves atomically; quantize="fp16" or "int8" shrinks the matrices."""
        p = enc(os.fspath(path), "path")
        _call(lambda cfg: _lib.fn.bert_save(self._h, p, cfg), config, options)

    @property
    def info(self):
        """dict: dim, num_labels (0 without a head), regression, max_length."""
        dim, labels, reg, ml = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_int(), ctypes.c_size_t()
        check(_lib.fn.bert_info(self._h, ctypes.byref(dim), ctypes.byref(labels), ctypes.byref(reg),
                                ctypes.byref(ml)))
        return {"dim": dim.value, "num_labels": labels.value, "regression": bool(reg.value),
                "max_length": ml.value}

    @property
    def memory_bytes(self):
        out = ctypes.c_size_t()
        check(_lib.fn.bert_memory(self._h, ctypes.byref(out)))
        return out.value

    def tokenize(self, text_a, text_b=None, config=None, **options):
        """(ids, type_ids) of [CLS] a [SEP] (b [SEP])."""
        a, b = enc(text_a, "text"), enc(text_b, "text")
        cap = self.info["max_length"]
        ids, types, n = (ctypes.c_uint32 * cap)(), (ctypes.c_uint32 * cap)(), ctypes.c_size_t()
        _call(lambda cfg: _lib.fn.bert_tokenize(self._h, a, b, cfg, ids, types, cap, ctypes.byref(n)), config,
              options)
        return list(ids[:n.value]), list(types[:n.value])

    def embed(self, texts, pooling="cls", config=None, **options):
        """One vector per text (NumPy array n x dim when NumPy is installed).
        pooling: "cls", "mean" or "pooler"."""
        if pooling not in POOLINGS:
            raise ValueError("aisle: pooling must be one of %s" % ", ".join(sorted(POOLINGS)))
        arr, n = _texts(texts, "text")
        dim = self.info["dim"]
        out = (ctypes.c_float * max(n * dim, 1))()
        _call(lambda cfg: _lib.fn.bert_embed(self._h, arr, n, POOLINGS[pooling], cfg, out), config, options)
        return _rows(out, n, dim)

    def classify(self, texts, texts_b=None, config=None, **options):
        """Head outputs per text or pair: probabilities per label, or the
        regression value (a row of one)."""
        arr, n = _texts(texts, "text")
        brr = None
        if texts_b is not None:
            brr, nb = _texts(texts_b, "text")
            if nb != n:
                raise ValueError("aisle: texts and texts_b differ in length")
        labels = self.info["num_labels"]
        out = (ctypes.c_float * max(n * max(labels, 1), 1))()
        _call(lambda cfg: _lib.fn.bert_classify(self._h, arr, brr, n, cfg, out), config, options)
        return _rows(out, n, labels)

    def finetune_head(self, texts, labels, texts_b=None, num_labels=0, config=None, **options):
        """Trains the head on labelled texts (class indices, or targets with
        num_labels=1); options head_epochs, head_learning_rate.  Returns
        the last epoch's mean loss."""
        arr, n = _texts(texts, "text")
        brr = None
        if texts_b is not None:
            brr, nb = _texts(texts_b, "text")
            if nb != n:
                raise ValueError("aisle: texts and texts_b differ in length")
        labels = list(labels)
        if len(labels) != n:
            raise ValueError("aisle: %d labels for %d texts" % (len(labels), n))
        lab = (ctypes.c_float * max(n, 1))(*labels)
        loss = ctypes.c_double()
        _call(lambda cfg: _lib.fn.bert_finetune_head(self._h, arr, brr, lab, n, num_labels, cfg,
                                                     ctypes.byref(loss)), config, options)
        return loss.value

    def set_labels(self, names):
        """Names the classification head's classes (names[i] for class i;
        an empty list removes the names).  Saved with the model and learned
        by a student distilled from it (the text option teacher)."""
        arr, n = _texts(names, "label name")
        check(_lib.fn.bert_set_labels(self._h, arr, n))
