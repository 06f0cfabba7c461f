/* vocab.c - vocab.txt: one token per line, the line number is its id.
 * Looked up through an open-addressing table of FNV-1a hashes; a token
 * listed twice maps to its last line (as Transformers' load_vocab). */
#include "bert.h"

#include <string.h>

static uint32_t fnv1a(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

void bert_vocab_free(bert_vocab *v) {
    if (!v) return;
    core_free(v->arena);
    core_free(v->off);
    core_free(v->len);
    core_free(v->slots);
    memset(v, 0, sizeof *v);
}

int64_t bert_vocab_find(const bert_vocab *v, const char *s, size_t len) {
    if (!v->nslots) return -1;
    uint32_t mask = v->nslots - 1;
    for (uint32_t i = fnv1a(s, len) & mask;; i = (i + 1) & mask) {
        uint32_t id = v->slots[i];
        if (!id) return -1;
        id--;
        if (v->len[id] == len && !memcmp(v->arena + v->off[id], s, len)) return id;
    }
}

static int special(bert_vocab *v, const char *tok, uint32_t *dst, const char *what) {
    int64_t id = bert_vocab_find(v, tok, strlen(tok));
    if (id < 0) return core_error(AISLE_EFORMAT, "%s: the vocabulary has no %s token", what, tok);
    *dst = (uint32_t)id;
    return AISLE_OK;
}

int bert_vocab_parse(bert_vocab *v, const char *text, size_t len, const char *what) {
    memset(v, 0, sizeof *v);
    if (len > BERT_VOCAB_MAX_BYTES)
        return core_error(AISLE_ERANGE, "%s: %zu bytes is larger than the %u bytes a vocabulary may have", what, len,
                          (unsigned)BERT_VOCAB_MAX_BYTES);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    if (len && text[len - 1] != '\n') lines++;
    if (lines < 3) return core_error(AISLE_EFORMAT, "%s: a vocabulary needs at least [UNK], [CLS] and [SEP]", what);
    uint32_t nslots = 16;
    while (nslots < 2 * lines) nslots *= 2;
    v->arena = core_malloc(len + lines + 1);
    v->off = core_malloc(lines * sizeof *v->off);
    v->len = core_malloc(lines * sizeof *v->len);
    v->slots = core_calloc(nslots, sizeof *v->slots);
    if (!v->arena || !v->off || !v->len || !v->slots) {
        bert_vocab_free(v);
        return core_oom("vocabulary");
    }
    v->nslots = nslots;
    size_t at = 0, pos = 0;
    for (uint32_t id = 0; id < lines; id++) {
        size_t e = pos;
        while (e < len && text[e] != '\n') e++;
        size_t l = e - pos;
        if (l && text[pos + l - 1] == '\r') l--;
        if (l > BERT_MAX_TOKEN_BYTES) {
            bert_vocab_free(v);
            return core_error(AISLE_EFORMAT, "%s:%u: token of %zu bytes is longer than %u", what, id + 1, l,
                              (unsigned)BERT_MAX_TOKEN_BYTES);
        }
        memcpy(v->arena + at, text + pos, l);
        v->arena[at + l] = '\0';
        v->off[id] = (uint32_t)at;
        v->len[id] = (uint32_t)l;
        at += l + 1;
        pos = e + 1;
        uint32_t mask = nslots - 1, i = fnv1a(v->arena + v->off[id], l) & mask;
        for (;; i = (i + 1) & mask) {
            uint32_t o = v->slots[i];
            if (!o) break;
            if (v->len[o - 1] == l && !memcmp(v->arena + v->off[o - 1], v->arena + v->off[id], l)) break;
        }
        v->slots[i] = id + 1; /* a repeated token maps to its last line */
        v->n = id + 1;
    }
    int rc = special(v, "[UNK]", &v->unk, what);
    if (!rc) rc = special(v, "[CLS]", &v->cls, what);
    if (!rc) rc = special(v, "[SEP]", &v->sep, what);
    if (!rc) {
        int64_t pad = bert_vocab_find(v, "[PAD]", 5);
        v->pad = pad < 0 ? 0 : (uint32_t)pad;
    }
    if (rc) bert_vocab_free(v);
    return rc;
}
