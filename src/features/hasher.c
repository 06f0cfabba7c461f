/* hasher.c - the hashing vectorizer ("hashing trick", Weinberger et al.
 * 2009, "Feature Hashing for Large Scale Multitask Learning"): every
 * feature string goes to bucket h % buckets of a fixed-size sparse vector,
 * optionally with sign +1/-1 from bit 31 of the same hash so that
 * collisions cancel in expectation. */
#include "features.h"

struct aisle_hasher {
    feat_tok_cfg tc;
    core_keys stop;
    feat_gram_cfg gc;
    uint32_t buckets, seed;
    bool signed_hash, normalize;
};

AISLE_API int aisle_hasher_new(aisle_hasher **out, const aisle_config *cfg) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_hasher_new: out is NULL");
    aisle_hasher *h = core_calloc(1, sizeof *h);
    if (!h) return core_oom("hasher");
    keys_init(&h->stop);
    int rc = feat_tok_configure(&h->tc, &h->stop, cfg);
    if (!rc) rc = feat_gram_configure(&h->gc, cfg);
    if (rc) {
        aisle_hasher_free(h);
        return rc;
    }
    h->buckets = (uint32_t)config_int(cfg, features_options, "hash_buckets");
    h->seed = (uint32_t)config_int(cfg, features_options, "hash_seed");
    h->signed_hash = config_bool(cfg, features_options, "signed_hash");
    h->normalize = config_bool(cfg, features_options, "l2_normalize");
    *out = h;
    return AISLE_OK;
}

AISLE_API void aisle_hasher_free(aisle_hasher *h) {
    if (!h) return;
    keys_clear(&h->stop);
    core_free(h);
}

static void hash_feature(const aisle_hasher *h, const char *f, size_t len, int kind, uint32_t *index,
                         float *sign) {
    /* character n-grams get their own seed so "<ab" and the word "ab" never
     * share a hash by construction */
    uint32_t x = feat_hash32(f, len, kind == FEAT_GRAM_CHAR ? h->seed + 1u : h->seed);
    *index = x % h->buckets;
    *sign = h->signed_hash && (x >> 31) ? -1.0f : 1.0f;
}

AISLE_API int aisle_hasher_feature_index(const aisle_hasher *h, const char *feature, size_t len, int kind,
                                         uint32_t *index, float *sign) {
    if (!h || !index || (!feature && len && len != AISLE_NUL_TERMINATED))
        return core_error(AISLE_EINVAL, "aisle_hasher_feature_index: NULL argument");
    len = feat_text_len(feature, len);
    float s;
    hash_feature(h, feature ? feature : "", len, kind, index, &s);
    if (sign) *sign = s;
    return AISLE_OK;
}

typedef struct pairs {
    const aisle_hasher *h;
    uint32_t *idx;
    float *val;
    size_t n, cap;
} pairs;

static int add_pair(void *ctx, const char *f, size_t len, int kind) {
    pairs *p = ctx;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        uint32_t *i = core_reallocarray(p->idx, cap, sizeof *i);
        if (!i) return core_oom("hashed features");
        p->idx = i;
        float *v = core_reallocarray(p->val, cap, sizeof *v);
        if (!v) return core_oom("hashed features");
        p->val = v;
        p->cap = cap;
    }
    hash_feature(p->h, f, len, kind, &p->idx[p->n], &p->val[p->n]);
    p->n++;
    return 0;
}

AISLE_API int aisle_hasher_transform(const aisle_hasher *h, const char *text, size_t len, aisle_sparse **out) {
    if (!h || !out || (!text && len && len != AISLE_NUL_TERMINATED))
        return core_error(AISLE_EINVAL, "aisle_hasher_transform: NULL %s", !h ? "hasher" : !out ? "out" : "text");
    len = feat_text_len(text, len);
    pairs p = {h, NULL, NULL, 0, 0};
    aisle_sparse *v = NULL;
    int rc = len ? feat_features(&h->tc, &h->gc, text, len, add_pair, &p) : AISLE_OK;
    if (!rc) rc = feat_sparse_alloc(&v, h->buckets);
    if (!rc) rc = feat_sparse_build(v, p.idx, p.val, p.n);
    core_free(p.idx);
    core_free(p.val);
    if (rc) {
        aisle_sparse_free(v);
        return rc;
    }
    if (h->normalize) feat_sparse_l2(v);
    *out = v;
    return AISLE_OK;
}

static int push_feature(void *ctx, const char *f, size_t len, int kind) {
    return feat_tokens_push(ctx, f, len, kind);
}

AISLE_API int aisle_hasher_features(const aisle_hasher *h, const char *text, size_t len, aisle_tokens **out) {
    if (!h || !out || (!text && len && len != AISLE_NUL_TERMINATED))
        return core_error(AISLE_EINVAL, "aisle_hasher_features: NULL %s", !h ? "hasher" : !out ? "out" : "text");
    len = feat_text_len(text, len);
    aisle_tokens *t = NULL;
    int rc = feat_tokens_new(&t);
    if (!rc && len) rc = feat_features(&h->tc, &h->gc, text, len, push_feature, t);
    if (rc) {
        aisle_tokens_free(t);
        return rc;
    }
    *out = t;
    return AISLE_OK;
}
