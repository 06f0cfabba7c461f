/* sasrec_net.c - the SASRec network (Kang & McAuley, ICDM 2018) on src/nn:
 * item and learned position embeddings, causal transformer blocks, a final
 * layer norm; item embeddings optionally enriched with hashed catalog
 * words (side_info).  Forward and backward over ragged batches. */
#include "features/features.h"
#include "sasrec.h"

#include <math.h>
#include <string.h>

int sasrec_net_build(sasrec_net *net, size_t d, size_t T, int nblocks, int heads, int act, int layout,
                     float dropout, float attn_dropout, uint32_t n_items, uint32_t n_buckets) {
    net->d = d;
    net->ff = d; /* as in the paper: point-wise feed-forward of the same width */
    net->T = T;
    net->nblocks = nblocks;
    net->n_tokens = n_items + 1;
    nn_store_init(&net->s);
    int rc = nn_store_add(&net->s, net->n_tokens, d, true, &net->item_emb);
    if (!rc) rc = nn_store_add(&net->s, T, d, true, &net->pos_emb);
    net->n_buckets = n_buckets;
    if (!rc && n_buckets) rc = nn_store_add(&net->s, n_buckets, d, true, &net->buckets);
    if (rc) return rc;
    net->blocks = core_calloc((size_t)nblocks, sizeof *net->blocks);
    if (!net->blocks) return core_oom("sasrec blocks");
    nn_block_cfg bc = {d, net->ff, heads, act, NN_MASK_CAUSAL, dropout, layout, attn_dropout};
    for (int l = 0; l < nblocks && !rc; l++) rc = nn_block_init(&net->blocks[l], &net->s, &bc);
    if (!rc) rc = nn_layernorm_init(&net->ln_final, &net->s, d);
    return rc;
}

void sasrec_net_free(sasrec_net *net) {
    nn_store_free(&net->s);
    core_free(net->tok_ptr);
    core_free(net->tok_ids);
    core_free(net->eff);
    core_free(net->geff);
    core_free(net->id_keep);
    net->tok_ptr = NULL, net->tok_ids = NULL, net->eff = net->geff = NULL, net->id_keep = NULL;
    core_free(net->blocks);
    net->blocks = NULL;
}

/* eff = E + mean of each item's word-bucket embeddings. */
void sasrec_net_refresh_eff(sasrec_net *net) {
    if (!net->n_buckets) return;
    size_t d = net->d;
    const float *E = nn_w(&net->s, net->item_emb), *Bk = nn_w(&net->s, net->buckets);
    for (uint32_t t = 0; t < net->n_tokens; t++) {
        float *e = net->eff + (size_t)t * d;
        uint64_t b = net->tok_ptr[t], end = net->tok_ptr[t + 1];
        if (net->id_keep && !net->id_keep[t] && b != end)
            memset(e, 0, d * sizeof *e);
        else
            memcpy(e, E + (size_t)t * d, d * sizeof *e);
        if (b == end) continue;
        float inv = 1.0f / (float)(end - b);
        for (uint64_t k = b; k < end; k++) {
            const float *w = Bk + (size_t)net->tok_ids[k] * d;
            for (size_t j = 0; j < d; j++) e[j] += inv * w[j];
        }
    }
}

/* Moves the gradient of the effective embeddings to E and the buckets. */
void sasrec_net_fold_geff(sasrec_net *net) {
    size_t d = net->d;
    float *gE = nn_g(&net->s, net->item_emb), *gB = nn_g(&net->s, net->buckets);
    for (uint32_t t = 0; t < net->n_tokens; t++) {
        float *g = net->geff + (size_t)t * d;
        float *ge = gE + (size_t)t * d;
        uint64_t b = net->tok_ptr[t], end = net->tok_ptr[t + 1];
        float inv = b == end ? 0.0f : 1.0f / (float)(end - b);
        if (!net->id_keep || net->id_keep[t] || b == end)
            for (size_t j = 0; j < d; j++) ge[j] += g[j];
        for (uint64_t k = b; k < end; k++) {
            float *gb = gB + (size_t)net->tok_ids[k] * d;
            for (size_t j = 0; j < d; j++) gb[j] += inv * g[j];
        }
        memset(g, 0, d * sizeof *g);
    }
}

/* Hashed words of each model item's catalog title, category and brand. */
int sasrec_build_item_tokens(sasrec_net *net, const aisle_model *m, const aisle_catalog *cat) {
    size_t cap = 0;
    net->tok_ptr = core_calloc((size_t)net->n_tokens + 1, sizeof *net->tok_ptr);
    if (!net->tok_ptr) return core_oom("sasrec side information");
    uint32_t buf[SASREC_MAX_ITEM_TOKENS];
    const int fields[] = {DATA_FIELD_TITLE, DATA_FIELD_CATEGORY, DATA_FIELD_BRAND};
    for (uint32_t i = 0; i < model_n_items(m); i++) {
        size_t n = 0;
        const char *key = keys_at(&m->items, i);
        int64_t p = cat ? data_catalog_find(cat, key, strlen(key)) : -1;
        for (size_t f = 0; p >= 0 && f < CORE_ARRAY_LEN(fields) && n < SASREC_MAX_ITEM_TOKENS; f++) {
            const char *text = data_catalog_field(cat, (size_t)p, fields[f]);
            size_t got;
            int rc = feat_hash_tokens(text, strlen(text), net->n_buckets, buf + n, SASREC_MAX_ITEM_TOKENS - n, &got);
            if (rc) return rc;
            n += CORE_MIN(got, SASREC_MAX_ITEM_TOKENS - n);
        }
        uint64_t at = net->tok_ptr[i + 1];
        int rc = core_grow((void **)&net->tok_ids, &cap, at + n + 1, sizeof *net->tok_ids);
        if (rc) return rc;
        memcpy(net->tok_ids + at, buf, n * sizeof *buf);
        net->tok_ptr[i + 2] = at + n; /* token i+1 */
    }
    if (!net->tok_ids && !(net->tok_ids = core_malloc(sizeof *net->tok_ids))) return core_oom("sasrec side information");
    return AISLE_OK;
}

/* Allocates eff (and geff for training) and fills eff. */
int sasrec_net_side_alloc(sasrec_net *net, bool training) {
    if (!net->n_buckets) return AISLE_OK;
    size_t n = (size_t)net->n_tokens * net->d;
    net->eff = core_malloc(n * sizeof *net->eff);
    if (training) net->geff = core_calloc(n, sizeof *net->geff);
    if (!net->eff || (training && !net->geff)) return core_oom("sasrec side-information embeddings");
    sasrec_net_refresh_eff(net);
    return AISLE_OK;
}

void sasrec_ws_free(sasrec_ws *w, int nblocks) {
    if (w->caches)
        for (int l = 0; l < nblocks; l++) nn_block_cache_free(&w->caches[l]);
    if (w->xs)
        for (int l = 0; l <= nblocks; l++) core_free(w->xs[l]);
    nn_batch_free(&w->bt);
    core_free(w->caches);
    core_free(w->xs);
    core_free(w->lens);
    core_free(w->ids);
    core_free(w->posi);
    core_free(w->mask0);
    core_free(w->fin);
    core_free(w->meanf);
    core_free(w->rstdf);
    core_free(w->dh);
    core_free(w->dx);
    memset(w, 0, sizeof *w);
}

int sasrec_ws_alloc(sasrec_ws *w, const sasrec_net *net, size_t B, int threads, bool training) {
    memset(w, 0, sizeof *w);
    w->B = B;
    w->threads = threads;
    size_t n = B * net->T, nd = n * net->d;
    int rc = nn_batch_alloc(&w->bt, B);
    if (rc) return rc;
    w->lens = core_calloc(B, sizeof *w->lens);
    w->ids = core_calloc(n, sizeof *w->ids);
    w->posi = core_calloc(n, sizeof *w->posi);
    w->xs = core_calloc((size_t)net->nblocks + 1, sizeof *w->xs);
    w->caches = core_calloc((size_t)net->nblocks, sizeof *w->caches);
    w->fin = core_malloc(nd * sizeof(float));
    w->meanf = core_malloc(n * sizeof(float));
    w->rstdf = core_malloc(n * sizeof(float));
    bool ok = w->lens && w->ids && w->posi && w->xs && w->caches && w->fin && w->meanf && w->rstdf;
    if (ok && training) {
        w->mask0 = core_malloc(nd * sizeof(float));
        w->dh = core_malloc(nd * sizeof(float));
        w->dx = core_malloc(nd * sizeof(float));
        ok = w->mask0 && w->dh && w->dx;
    }
    for (int l = 0; ok && l <= net->nblocks; l++) ok = (w->xs[l] = core_malloc(nd * sizeof(float))) != NULL;
    if (!ok) {
        sasrec_ws_free(w, net->nblocks);
        return core_oom("sasrec workspace");
    }
    for (int l = 0; l < net->nblocks; l++) {
        rc = nn_block_cache_alloc(&w->caches[l], &net->blocks[l].c, n, net->T, threads, training);
        if (rc) {
            sasrec_ws_free(w, net->nblocks);
            return rc;
        }
    }
    return AISLE_OK;
}

/* Forward over the batch's tokens to w->fin: embeddings * sqrt(d) plus
 * learned positions, dropout, the body's blocks, final layer norm. */
int sasrec_body_forward(const sasrec_net *net, const sasrec_body *body, sasrec_ws *w, bool training, core_rng *rng) {
    size_t d = net->d, n = w->bt.rows;
    const float *E = sasrec_net_emb(net), *pos = nn_w(&net->s, net->pos_emb);
    float *x = w->xs[0];
    nn_embedding_forward(E, d, w->ids, n, sqrtf((float)d), x);
    for (size_t r = 0; r < n; r++) {
        const float *p = pos + (size_t)w->posi[r] * d;
        for (size_t k = 0; k < d; k++) x[r * d + k] += p[k];
    }
    float p0 = training ? body->blocks[0].c.dropout : 0.0f;
    if (p0 > 0) nn_dropout_forward(x, n * d, p0, rng, w->mask0, x);
    for (int l = 0; l < net->nblocks; l++) {
        int rc = nn_block_forward(&body->s, &body->blocks[l], &w->caches[l], &w->bt, w->xs[l], training, rng,
                                  w->xs[l + 1]);
        if (rc) return rc;
    }
    nn_layernorm_forward(&body->s, &body->ln_final, w->xs[net->nblocks], n, w->fin, w->meanf, w->rstdf);
    return AISLE_OK;
}

int sasrec_net_forward(const sasrec_net *net, sasrec_ws *w, bool training, core_rng *rng) {
    sasrec_body body = sasrec_net_body(net);
    return sasrec_body_forward(net, &body, w, training, rng);
}

/* Backward from w->dh (gradient wrt w->fin) through the final norm, the
 * blocks and the input dropout; parameter gradients accumulate in
 * body->s.g; *dx: the gradient wrt the scaled embeddings plus positions
 * (w->dh or w->dx). */
int sasrec_body_backward(const sasrec_net *net, sasrec_body *body, sasrec_ws *w, float **dx_out) {
    size_t d = net->d, n = w->bt.rows;
    float *dy = w->dh, *dx = w->dx;
    nn_layernorm_backward(&body->s, &body->ln_final, w->xs[net->nblocks], dy, w->meanf, w->rstdf, n, dx);
    for (int l = net->nblocks - 1; l >= 0; l--) {
        float *t = dy;
        dy = dx;
        dx = t;
        int rc = nn_block_backward(&body->s, &body->blocks[l], &w->caches[l], &w->bt, dy, dx);
        if (rc) return rc;
    }
    if (body->blocks[0].c.dropout > 0) nn_dropout_backward(dx, w->mask0, n * d, dx);
    *dx_out = dx;
    return AISLE_OK;
}

/* Parameters before the body (embeddings, positions, buckets) end here. */
static size_t body_first(const sasrec_net *net) {
    size_t lo = net->pos_emb.off + nn_size(net->pos_emb);
    lo = CORE_MAX(lo, net->item_emb.off + nn_size(net->item_emb));
    if (net->n_buckets) lo = CORE_MAX(lo, net->buckets.off + nn_size(net->buckets));
    return lo;
}

size_t sasrec_body_size(const sasrec_net *net) { return net->s.n - body_first(net); }

/* Shifts a tensor of the body by -lo (it must lie at or after lo). */
static bool rebase(nn_param *p, size_t lo, size_t *covered) {
    if (p->off < lo) return false;
    p->off -= lo;
    *covered += nn_size(*p);
    return true;
}

static bool rebase_norm(nn_layernorm *l, size_t lo, size_t *covered) {
    return rebase(&l->gamma, lo, covered) && rebase(&l->beta, lo, covered);
}

static bool rebase_linear(nn_linear *l, size_t lo, size_t *covered) {
    return rebase(&l->W, lo, covered) && rebase(&l->b, lo, covered);
}

int sasrec_body_view(const sasrec_net *net, float *grad, nn_block *blocks, sasrec_body *out) {
    size_t lo = body_first(net), covered = 0;
    out->ln_final = net->ln_final;
    bool ok = rebase_norm(&out->ln_final, lo, &covered);
    for (int l = 0; l < net->nblocks && ok; l++) {
        nn_block *b = &blocks[l];
        *b = net->blocks[l];
        ok = rebase_norm(&b->ln1, lo, &covered) && rebase_norm(&b->ln2, lo, &covered) &&
             rebase_linear(&b->qkv, lo, &covered) && rebase_linear(&b->proj, lo, &covered) &&
             rebase_linear(&b->ff1, lo, &covered) && rebase_linear(&b->ff2, lo, &covered);
    }
    /* every tensor after the embeddings must have been moved, or a
     * gradient would land outside grad */
    if (!ok || covered != net->s.n - lo)
        return core_error(AISLE_EINTERNAL, "sasrec: the block tensors do not tile the parameter store (%zu of %zu)",
                          covered, net->s.n - lo);
    nn_store_init(&out->s);
    out->s.w = net->s.w + lo;
    out->s.g = grad;
    out->s.n = net->s.n - lo;
    out->blocks = blocks;
    return AISLE_OK;
}

/* Writes the last T tokens of items[0..len) (item indices) left-padded. */
void sasrec_fill_window(uint32_t *dst, size_t T, const uint32_t *items, size_t len) {
    size_t take = len < T ? len : T;
    memset(dst, 0, (T - take) * sizeof *dst);
    for (size_t i = 0; i < take; i++) dst[T - take + i] = items[len - take + i] + 1;
}

/* Fresh parameters: item embeddings N(0, emb_std) (times sqrt(d) at the
 * input), positions N(0, 1/d), Glorot blocks, unit norms; optimizer state
 * cleared. */
void sasrec_net_init_params(sasrec_net *net, float emb_std, core_rng *rng) {
    size_t d = net->d;
    nn_init_normal(&net->s, net->item_emb, emb_std, rng);
    memset(nn_w(&net->s, net->item_emb), 0, d * sizeof(float)); /* padding row */
    nn_init_normal(&net->s, net->pos_emb, 1.0f / sqrtf((float)d), rng);
    for (int l = 0; l < net->nblocks; l++) nn_block_reset(&net->blocks[l], &net->s, rng);
    nn_layernorm_reset(&net->ln_final, &net->s);
    if (net->n_buckets) nn_init_normal(&net->s, net->buckets, 1.0f / sqrtf((float)d), rng);
    if (net->s.m) memset(net->s.m, 0, net->s.n * sizeof *net->s.m);
    if (net->s.v) memset(net->s.v, 0, net->s.n * sizeof *net->s.v);
    net->s.step = 0;
}

/* Final hidden state after the newest of items[0..len) (len >= 1). */
int sasrec_encode(const sasrec_net *net, const uint32_t *items, size_t len, float *h) {
    sasrec_ws w;
    size_t take = len < net->T ? len : net->T;
    int rc = sasrec_ws_alloc(&w, net, 1, 1, false);
    if (rc) return rc;
    sasrec_ws_add(&w, net, 0, items + len - take, take);
    sasrec_ws_close(&w, 1);
    rc = sasrec_net_forward(net, &w, false, NULL);
    if (!rc) memcpy(h, w.fin + (take - 1) * net->d, net->d * sizeof *h);
    sasrec_ws_free(&w, net->nblocks);
    return rc;
}

