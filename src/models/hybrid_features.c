/* hybrid_features.c - catalogs and shopper attribute tables into the
 * hybrid kind's feature tables.
 *
 * A row's features, named as explain_features shows them: the words of its
 * title and description ("word: mug", the features module's tokenizer),
 * every level of its category path ("category: Kitchen", "category:
 * Kitchen > Mugs"), its brand ("brand: Acme"), a half-octave price band
 * ("price: 5.7-8.1") and every free attribute ("country: UK", "colour:
 * red").  A shopper attribute table is a catalog keyed by user id (loaded
 * by the same loader), so the same rules give "age_band: 25-34".  Each
 * entity's weights are 1 / its feature count (LightFM's normalisation):
 * an entity known only by its row lands on the scale of a trained one. */
#include "hybrid.h"

#include "features/features.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { HY_NAME_MAX = 300 };

void hy_table_free(hy_table *t) {
    core_free(t->ptr);
    core_free(t->idx);
    core_free(t->w);
    memset(t, 0, sizeof *t);
}

void hy_side_free(hy_side *s) {
    hy_table_free(&s->table);
    keys_clear(&s->names);
    core_free(s->emb);
    s->emb = NULL;
    s->n_identity = 0;
}

static int add_feature(hy_feats *f, const char *name, size_t len) {
    if (f->n >= HY_MAX_FEATURES) return AISLE_OK; /* the first 256 features of a row are plenty */
    uint32_t id;
    bool added;
    int rc = keys_intern(f->names, name, len, &id, &added);
    if (rc) return rc;
    for (size_t i = 0; i < f->n; i++)
        if (f->ids[i] == id) return AISLE_OK; /* a word twice counts once */
    f->ids[f->n++] = id;
    return AISLE_OK;
}

/* "prefix: text", cut at HY_NAME_MAX bytes without splitting a UTF-8
 * sequence. */
static int add_named(hy_feats *f, const char *prefix, const char *s, size_t len) {
    char buf[HY_NAME_MAX];
    int pl = snprintf(buf, sizeof buf, "%s: ", prefix);
    if (pl < 0 || (size_t)pl >= sizeof buf) pl = 0;
    if (len > sizeof buf - (size_t)pl) {
        len = sizeof buf - (size_t)pl;
        while (len && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
    }
    memcpy(buf + pl, s, len);
    return add_feature(f, buf, (size_t)pl + len);
}

static int word_feature(void *ctx, const char *tok, size_t len, int kind) {
    (void)kind;
    return add_named(ctx, "word", tok, len);
}

/* Category levels: every prefix of the path ending before a '>' or '/'. */
static int category_features(hy_feats *f, const char *cat) {
    size_t len = strlen(cat);
    while (len && cat[len - 1] == ' ') len--;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && cat[i] != '>' && cat[i] != '/') continue;
        size_t e = i;
        while (e && cat[e - 1] == ' ') e--;
        if (e) {
            int rc = add_named(f, "category", cat, e);
            if (rc) return rc;
        }
    }
    return AISLE_OK;
}

int hy_row_features(hy_feats *f, const aisle_catalog *cat, size_t p) {
    feat_tok_cfg tc;
    feat_tok_default(&tc);
    f->n = 0;
    const int text[] = {DATA_FIELD_TITLE, DATA_FIELD_DESCRIPTION};
    for (size_t t = 0; t < CORE_ARRAY_LEN(text); t++) {
        const char *s = data_catalog_field(cat, p, text[t]);
        int rc = feat_tokenize(&tc, s, strlen(s), word_feature, f);
        if (rc) return rc;
    }
    int rc = category_features(f, data_catalog_field(cat, p, DATA_FIELD_CATEGORY));
    const char *brand = data_catalog_field(cat, p, DATA_FIELD_BRAND);
    if (!rc && brand[0]) rc = add_named(f, "brand", brand, strlen(brand));
    double price = data_catalog_price(cat, p);
    if (!rc && isfinite(price) && price >= 0 && price < 1e15) {
        /* half-octave bands of 1 + price: 0-0.41, 0.41-1, 1-1.8, 1.8-3, ... */
        int b = (int)floor(2.0 * log2(1.0 + price));
        char band[64];
        int n = snprintf(band, sizeof band, "%.3g-%.3g", pow(2.0, b / 2.0) - 1.0, pow(2.0, (b + 1) / 2.0) - 1.0);
        rc = add_named(f, "price", band, (size_t)n);
    }
    for (uint32_t e = cat->attr_head[p]; !rc && e; e = cat->attrs[e - 1].next) {
        const char *value = cat->text.data + cat->attrs[e - 1].value;
        const char *name = keys_at(&cat->attr_names, cat->attrs[e - 1].name);
        if (f->skip_attribute && !strcmp(name, f->skip_attribute)) continue; /* a time, not a feature */
        if (value[0]) rc = add_named(f, name, value, strlen(value));
    }
    return rc;
}

/* Keys of cat that dict lacks join it; returns how many joined. */
static int add_keys(core_keys *dict, const aisle_catalog *cat, const char *what) {
    size_t n = data_catalog_size(cat);
    for (size_t p = 0; p < n; p++) {
        const char *key = data_catalog_key(cat, p);
        uint32_t idx;
        bool added;
        int rc = keys_intern(dict, key, strlen(key), &idx, &added);
        if (rc) return rc;
    }
    if (dict->n > UINT32_MAX - 2)
        return core_error(AISLE_ERANGE, "model 'hybrid': %zu %s with the table's, more than supported", dict->n, what);
    return AISLE_OK;
}

int hy_add_catalog_items(aisle_model *m, const aisle_catalog *cat) {
    size_t before = m->items.n;
    int rc = add_keys(&m->items, cat, "items");
    if (rc || m->items.n == before) return rc;
    float *pop = core_realloc(m->popularity, m->items.n * sizeof *pop);
    if (!pop) return core_oom("hybrid catalog items");
    memset(pop + before, 0, (m->items.n - before) * sizeof *pop);
    m->popularity = pop;
    m->history.cols = (uint32_t)m->items.n;
    return AISLE_OK;
}

int hy_add_attribute_users(aisle_model *m, const aisle_catalog *users) {
    size_t before = m->users.n;
    /* the history's row pointers first, so a failure leaves the model
     * consistent (the caller frees it anyway) */
    size_t *ptr = core_realloc(m->history.indptr, (before + data_catalog_size(users) + 1) * sizeof *ptr);
    if (!ptr) return core_oom("hybrid attribute users");
    m->history.indptr = ptr;
    int rc = add_keys(&m->users, users, "users");
    if (rc) return rc;
    for (size_t u = before + 1; u <= m->users.n; u++) ptr[u] = ptr[before]; /* no history */
    m->history.rows = (uint32_t)m->users.n;
    return AISLE_OK;
}

static int build_side(hy_side *s, const core_keys *keys, uint32_t n_identity, bool identity, const aisle_catalog *cat,
                      const char *skip_attribute, const char *what) {
    uint32_t n = (uint32_t)keys->n;
    hy_feats f = {.names = &s->names, .skip_attribute = skip_attribute};
    hy_table *t = &s->table;
    size_t cap = 0, wcap = 0;
    int rc = AISLE_OK;
    s->n_identity = identity ? n_identity : 0;
    t->rows = n;
    t->ptr = core_calloc((size_t)n + 1, sizeof *t->ptr);
    if (!t->ptr) return core_oom(what);
    for (uint32_t i = 0; i < n && !rc; i++) {
        f.n = 0;
        const char *key = keys_at(keys, i);
        int64_t p = cat ? data_catalog_find(cat, key, strlen(key)) : -1;
        if (p >= 0) rc = hy_row_features(&f, cat, (size_t)p);
        bool own = identity && i < n_identity;
        size_t at = t->ptr[i], cnt = f.n + own;
        if (!rc) rc = core_grow((void **)&t->idx, &cap, at + cnt + 1, sizeof *t->idx);
        if (!rc && cap > wcap) { /* weights follow the ids' capacity */
            float *w = core_realloc(t->w, cap * sizeof *w);
            if (!w) rc = core_oom(what);
            else t->w = w, wcap = cap;
        }
        if (rc) break;
        size_t o = at;
        if (own) t->idx[o++] = i;
        for (size_t j = 0; j < f.n; j++) t->idx[o++] = s->n_identity + f.ids[j];
        for (size_t j = at; j < o; j++) t->w[j] = 1.0f / (float)cnt;
        t->ptr[i + 1] = o;
    }
    if (!rc && (uint64_t)s->n_identity + s->names.n > UINT32_MAX / 2)
        rc = core_error(AISLE_ERANGE, "model 'hybrid': too many %s", what);
    if (!rc && !t->idx && !(t->idx = core_malloc(sizeof *t->idx))) rc = core_oom(what);
    if (!rc && !t->w && !(t->w = core_malloc(sizeof *t->w))) rc = core_oom(what);
    return rc;
}

/* Drops the named features that fewer than min_support of the first
 * n_known entities (those of the training events) have: a feature no
 * trained entity carries would keep its random start and, through the
 * 1 / count weights, dilute the trained features of a cold entity.  Rows
 * are renormalised; names are renumbered in their order. */
static int prune_side(hy_side *s, uint32_t n_known, uint32_t min_support, const char *what) {
    uint32_t nn = (uint32_t)s->names.n, base = s->n_identity;
    hy_table *t = &s->table;
    if (!nn) return AISLE_OK;
    uint32_t *support = core_calloc(nn, sizeof *support), *remap = core_malloc((size_t)nn * sizeof *remap);
    core_keys kept;
    keys_init(&kept);
    int rc = support && remap ? AISLE_OK : core_oom(what);
    for (uint32_t i = 0; !rc && i < CORE_MIN(n_known, t->rows); i++)
        for (size_t e = t->ptr[i]; e < t->ptr[i + 1]; e++)
            if (t->idx[e] >= base) support[t->idx[e] - base]++;
    for (uint32_t j = 0; !rc && j < nn; j++) {
        remap[j] = UINT32_MAX;
        if (support[j] < min_support) continue;
        const char *name = keys_at(&s->names, j);
        rc = keys_intern(&kept, name, strlen(name), &remap[j], NULL);
    }
    if (!rc) {
        size_t o = 0;
        for (uint32_t i = 0; i < t->rows; i++) {
            size_t at = o;
            for (size_t e = t->ptr[i]; e < t->ptr[i + 1]; e++) {
                uint32_t f = t->idx[e];
                if (f >= base && remap[f - base] == UINT32_MAX) continue;
                t->idx[o++] = f < base ? f : base + remap[f - base];
            }
            for (size_t e = at; e < o; e++) t->w[e] = 1.0f / (float)(o - at);
            t->ptr[i] = at;
        }
        t->ptr[t->rows] = o;
        keys_clear(&s->names);
        s->names = kept;
    } else {
        keys_clear(&kept);
    }
    core_free(support);
    core_free(remap);
    return rc;
}

int hy_build_item_side(hy_side *s, const aisle_model *m, uint32_t n_identity, bool identity, const aisle_catalog *cat,
                       uint32_t min_support) {
    int rc = build_side(s, &m->items, n_identity, identity, cat, hy_listed_attribute(m), "item features");
    return rc ? rc : prune_side(s, n_identity, min_support, "item features");
}

int hy_build_user_side(hy_side *s, const aisle_model *m, uint32_t n_identity, bool identity,
                       const aisle_catalog *users, uint32_t min_support) {
    int rc = build_side(s, &m->users, n_identity, identity, users, NULL, "user features");
    return rc ? rc : prune_side(s, n_identity, min_support, "user features");
}
