#!/usr/bin/env python3
"""Reference for aisle's bert module, written from BERT's definition (the
math of Transformers' BertModel / BertForSequenceClassification and the
logic of its BertTokenizer; Transformers itself is not used).

  bert_ref.py --out DIR [--seed N]
      writes DIR/cls (2 layers x 64 hidden x 4 heads, vocab 500, "bert."
      prefix, 3-label classifier, F32) and DIR/reg (1 layer x 32 x 2 heads,
      no prefix, cased via tokenizer_config.json, regression head, F16
      tensors), each with config.json, vocab.txt, model.safetensors, and
      DIR/expected.txt: the tokenizer corpus with its ids, and the hidden
      states, pooled outputs and head outputs of a padded batch computed
      with torch in float64 with an attention mask.
The checkpoint builders are shared with bench/bert_torch.py."""
import argparse, json, os, struct, sys, time, unicodedata

import torch

# ---------------------------------------------------------------- tokenizer

def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"

def is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c).startswith("C")

def is_punct(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")

def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)

def basic_tokenize(text, lower, strip):
    out = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or is_control(c):
            continue
        out.append(" " if is_whitespace(c) else c)
    text = "".join(" %s " % c if is_cjk(ord(c)) else c for c in out)
    # Transformers' BasicTokenizer (4.x) puts the text in NFC here
    text = unicodedata.normalize("NFC", text)
    toks = []
    for tok in text.strip().split():
        if lower:
            tok = tok.lower()
        if strip:
            tok = "".join(c for c in unicodedata.normalize("NFD", tok) if unicodedata.category(c) != "Mn")
        cur = []
        for c in tok:
            if is_punct(c):
                if cur:
                    toks.append("".join(cur)); cur = []
                toks.append(c)
            else:
                cur.append(c)
        if cur:
            toks.append("".join(cur))
    return toks

def wordpiece(tok, vocab):
    if len(tok) > 100:
        return [vocab["[UNK]"]]
    out, start = [], 0
    while start < len(tok):
        end, cur = len(tok), None
        while start < end:
            sub = tok[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                cur = vocab[sub]; break
            end -= 1
        if cur is None:
            return [vocab["[UNK]"]]
        out.append(cur); start = end
    return out

def tokenize(text, vocab, lower, strip):
    ids = []
    for t in basic_tokenize(text, lower, strip):
        ids.extend(wordpiece(t, vocab))
    return ids

def encode(a, b, vocab, lower, strip, max_len):
    ta = tokenize(a, vocab, lower, strip)
    tb = tokenize(b, vocab, lower, strip) if b is not None else []
    special = 3 if b is not None else 2
    while len(ta) + len(tb) > max_len - special:
        if len(ta) > len(tb):
            ta = ta[:-1]
        else:
            tb = tb[:-1]
    ids = [vocab["[CLS]"]] + ta + [vocab["[SEP]"]]
    types = [0] * len(ids)
    if b is not None:
        ids += tb + [vocab["[SEP]"]]
        types += [1] * (len(tb) + 1)
    return ids, types

# ---------------------------------------------------------------- corpus

CORPUS = [
    "The shop sells running shoes and jackets.",
    "Hello, World! Isn't this GREAT?!",
    "Café crème brûlée à Paris; naïve résumé, façade.",
    "Straße ŁÓDŹ Ærø Øresund İstanbul ĳssel",
    "我喜欢这家商店的鞋子。",
    "混合 text 和中文 mixed",
    "great 👍🏽 shoes 😀 !!",
    "Hello!!! (really?) — yes… 'quoted' \"double\" [brackets] {braces} #tag @user 50%",
    "xylophonequux zzqqxx unknownword",
    "a" * 101 + " ok",
    "tab\there\nnewline\r\ncarriage\u3000ideographic\u00a0nbsp",
    "control\x07bell\u200bzero\u200dwidth\ufeffbom end",
    "Ἀθῆναι Ελλάδα Москва",
    "안녕하세요 세계",
    "\uf900 compatibility ideograph",
    "line\u2028separator and\u2029paragraph",
    "U.S.A. costs $3.14, don't panic - well-known",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ！",
    "   leading and trailing spaces   ",
    "",
    "Running runner runs RUNNING",
    "é" + "\u0301" * 3 + "combining marks",
    # composed and decomposed spellings (NFC makes them one)
    "Cafe\u0301 Café A\u030a \u212b \u00c5ngstro\u0308m",
    "e\u0323\u0302 e\u0302\u0323 \u1ec7 q\u0307\u0323 \u0301leading mark",
    "\u1100\u1161\u11a8 \uac01 \u0958 \u2126 \uf91f\u0301",
]

def build_vocab(rng, size):
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # pieces seen in the corpus (lower-cased and stripped) so tokens resolve
    words = set()
    for text in CORPUS:
        for t in basic_tokenize(text, True, True):
            words.add(t)
    pieces = []
    for w in sorted(words):
        if len(w) > 12 or w in ("xylophonequux", "zzqqxx", "unknownword"):
            continue
        pieces.append(w)
    extra = ["run", "##ning", "##ner", "##s", "shop", "##ping", "sh", "##oe", "the", "##e", "a", "##a",
             "Hello", "World", "GREAT", "RUNNING", "Running", "Café", "Paris", "##é", "Ελλάδα", "text"]
    chars = [chr(c) for c in range(33, 127)] + ["##" + chr(c) for c in range(97, 123)]
    toks = special + [t for t in extra] + chars
    for p in pieces:
        if p not in toks:
            toks.append(p)
    seen, out = set(), []
    for t in toks:
        if t not in seen:
            seen.add(t); out.append(t)
    i = 0
    while len(out) < size:
        out.append("filler%d" % i); i += 1
    return out[:size]

# ---------------------------------------------------------------- checkpoint

def num_labels(cfg):
    return cfg.get("num_labels", len(cfg.get("id2label", {})) or 2)

def make_weights(cfg, gen, prefix, pooler, classifier):
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    P, T = cfg["max_position_embeddings"], cfg["type_vocab_size"]
    def r(*shape, std=0.1):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * std
    w = {}
    w[prefix + "embeddings.word_embeddings.weight"] = r(V, H, std=0.5)
    w[prefix + "embeddings.position_embeddings.weight"] = r(P, H, std=0.3)
    w[prefix + "embeddings.token_type_embeddings.weight"] = r(T, H, std=0.3)
    w[prefix + "embeddings.LayerNorm.weight"] = 1 + r(H)
    w[prefix + "embeddings.LayerNorm.bias"] = r(H)
    for l in range(cfg["num_hidden_layers"]):
        b = prefix + "encoder.layer.%d." % l
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w[b + n + ".weight"] = r(H, H, std=H ** -0.5)
            w[b + n + ".bias"] = r(H)
        w[b + "attention.output.LayerNorm.weight"] = 1 + r(H)
        w[b + "attention.output.LayerNorm.bias"] = r(H)
        w[b + "intermediate.dense.weight"] = r(I, H, std=H ** -0.5)
        w[b + "intermediate.dense.bias"] = r(I)
        w[b + "output.dense.weight"] = r(H, I, std=I ** -0.5)
        w[b + "output.dense.bias"] = r(H)
        w[b + "output.LayerNorm.weight"] = 1 + r(H)
        w[b + "output.LayerNorm.bias"] = r(H)
    if pooler:
        w[prefix + "pooler.dense.weight"] = r(H, H, std=H ** -0.5)
        w[prefix + "pooler.dense.bias"] = r(H)
    if classifier:
        w["classifier.weight"] = r(num_labels(cfg), H, std=H ** -0.5)
        w["classifier.bias"] = r(num_labels(cfg))
    return w

def write_safetensors(path, tensors, dtype):
    """tensors: name -> float64 tensor; stored as dtype ("F32" / "F16").
    Returns the stored values as float64 (what a reader sees)."""
    tdt = {"F32": torch.float32, "F16": torch.float16}[dtype]
    header, blobs, off, stored = {}, [], 0, {}
    for name, t in tensors.items():
        s = t.to(tdt).contiguous()
        stored[name] = s.to(torch.float64)
        raw = s.numpy().tobytes() if hasattr(s, "numpy") else bytes(s.untyped_storage())
        header[name] = {"dtype": dtype, "shape": list(s.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    hj = json.dumps(header).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj))); f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return stored

def forward(cfg, w, prefix, batch_ids, batch_types, pooler, classifier, dtype=torch.float64):
    """BERT's forward on a padded batch with an attention mask."""
    H, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d, eps = H // heads, cfg["layer_norm_eps"]
    B = len(batch_ids); L = max(len(x) for x in batch_ids)
    ids = torch.zeros(B, L, dtype=torch.long); tt = torch.zeros(B, L, dtype=torch.long)
    mask = torch.zeros(B, L, dtype=dtype)
    for i, (a, t) in enumerate(zip(batch_ids, batch_types)):
        ids[i, :len(a)] = torch.tensor(a); tt[i, :len(t)] = torch.tensor(t); mask[i, :len(a)] = 1
    g = lambda n: w[prefix + n].to(dtype)
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (H,), g(n + ".weight"), g(n + ".bias"), eps)
    lin = lambda x, n: x @ g(n + ".weight").T + g(n + ".bias")
    x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:L][None] \
        + g("embeddings.token_type_embeddings.weight")[tt]
    x = ln(x, "embeddings.LayerNorm")
    add = (1.0 - mask)[:, None, None, :] * torch.finfo(dtype).min
    for l in range(cfg["num_hidden_layers"]):
        b = "encoder.layer.%d." % l
        sh = lambda y: y.view(B, L, heads, d).transpose(1, 2)
        q, k, v = (sh(lin(x, b + "attention.self." + n)) for n in ("query", "key", "value"))
        s = q @ k.transpose(-1, -2) / (d ** 0.5) + add
        ctx = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, L, H)
        x = ln(x + lin(ctx, b + "attention.output.dense"), b + "attention.output.LayerNorm")
        h = torch.nn.functional.gelu(lin(x, b + "intermediate.dense"))  # exact erf GELU
        x = ln(x + lin(h, b + "output.dense"), b + "output.LayerNorm")
    pooled = torch.tanh(lin(x[:, 0], "pooler.dense")) if pooler else None
    logits = None
    if classifier:
        logits = pooled @ w["classifier.weight"].to(dtype).T + w["classifier.bias"].to(dtype)
    return x, pooled, logits

# ---------------------------------------------------------------- fixtures

def fmt(vals):
    return " ".join("%.9g" % float(v) for v in vals)

def write_case(root, name, seed, cfg, prefix, dtype, cased, pairs, out):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    vocab_list = build_vocab(gen, cfg["vocab_size"])
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab_list))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    lower = not cased
    if cased:
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": False}, f)
    vocab = {t: i for i, t in enumerate(vocab_list)}
    w = make_weights(cfg, gen, prefix, True, True)
    w = write_safetensors(os.path.join(d, "model.safetensors"), w, dtype)
    max_len = cfg["max_position_embeddings"]
    out.write("model %s %d %d %d\n" % (name, cfg["hidden_size"], num_labels(cfg), max_len))
    for i, text in enumerate(CORPUS):
        ids = tokenize(text, vocab, lower, lower)
        out.write("text %s %d %s\n" % (name, i, text.encode("utf-8").hex() or "-"))
        out.write("tok %s %d %d %s\n" % (name, i, len(ids), " ".join(map(str, ids))))
    batch_ids, batch_types = [], []
    for i, (a, b, ml) in enumerate(pairs):
        ids, types = encode(CORPUS[a], CORPUS[b] if b is not None else None, vocab, lower, lower, ml)
        batch_ids.append(ids); batch_types.append(types)
        out.write("enc %s %d %d %s %d %d %s %s\n" % (name, i, a, "-" if b is None else b, ml, len(ids),
                                                   " ".join(map(str, ids)), " ".join(map(str, types))))
    x, pooled, logits = forward(cfg, w, prefix, batch_ids, batch_types, True, True)
    for i, ids in enumerate(batch_ids):
        n = len(ids)
        out.write("hidden %s %d %s\n" % (name, i, fmt(x[i, :n].reshape(-1).tolist())))
        out.write("pooled %s %d %s\n" % (name, i, fmt(pooled[i].tolist())))
        lg = logits[i]
        head = lg if num_labels(cfg) == 1 else torch.softmax(lg, -1)
        out.write("head %s %d %s\n" % (name, i, fmt(head.tolist())))

def fixtures(root, seed):
    os.makedirs(root, exist_ok=True)
    cls_cfg = {"architectures": ["BertForSequenceClassification"], "model_type": "bert",
               "vocab_size": 500, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
               "intermediate_size": 128, "hidden_act": "gelu", "max_position_embeddings": 64,
               "type_vocab_size": 2, "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
               "id2label": {"0": "neg", "1": "neutral", "2": "pos"},
               "label2id": {"neg": 0, "neutral": 1, "pos": 2}, "hidden_dropout_prob": 0.1}
    reg_cfg = {"vocab_size": 500, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
               "intermediate_size": 64, "hidden_act": "gelu", "max_position_embeddings": 40,
               "type_vocab_size": 2, "layer_norm_eps": 1e-5, "num_labels": 1, "problem_type": "regression"}
    # (text a, text b or None, max_length): singles, pairs, truncation of either side
    pairs = [(0, None, 64), (1, 2, 64), (4, 5, 64), (6, None, 64), (7, 8, 20), (2, 13, 12), (19, 19, 64),
             (10, 11, 64), (16, 3, 9)]
    tmp = os.path.join(root, "expected.txt.tmp")
    with open(tmp, "w") as out:
        out.write("# generated by tests/bert/bert_ref.py --seed %d; torch %s\n" % (seed, torch.__version__))
        write_case(root, "cls", seed, cls_cfg, "bert.", "F32", False, pairs, out)
        reg_pairs = [(a, b, min(ml, 40)) for a, b, ml in pairs]
        write_case(root, "reg", seed + 1, reg_cfg, "", "F16", True, reg_pairs, out)
    os.replace(tmp, os.path.join(root, "expected.txt"))

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if not a.out:
        ap.error("--out DIR is required")
    fixtures(a.out, a.seed)
