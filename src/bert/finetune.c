/* finetune.c - training a bert model's classification or regression head
 * on labelled texts or pairs.  The encoder stays frozen, so each text's
 * pooled output is computed once; the head (labels x hidden + bias) then
 * trains with the nn core's AdamW on softmax cross-entropy (classes) or
 * squared error (regression), in minibatches, seeded and deterministic. */
#include "bert.h"
#include "data/data.h"
#include "nn/nn.h"

#include <math.h>
#include <string.h>

enum { BATCH = 32 };

int bert_finetune_head(aisle_bert *m, const char *const *a, const char *const *b, const float *labels, size_t n,
                       size_t num_labels, const aisle_config *cfg, double *final_loss) {
    const bert_config *c = &m->cfg;
    if (!c->has_pooler)
        return core_error(AISLE_EUNSUPPORTED, "the model has no pooler, which the classification head reads");
    bool keep = num_labels == 0;
    if (keep && !c->has_classifier)
        return core_error(AISLE_EINVAL, "num_labels 0 keeps the existing head, but the model has none");
    size_t L = keep ? c->num_labels : num_labels, H = c->hidden;
    if (L > 4096) return core_error(AISLE_ERANGE, "num_labels %zu is more than 4096", L);
    bool regression = keep ? c->regression : L == 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(labels[i])) return core_error(AISLE_EINVAL, "label %zu is not finite", i);
        if (!regression && (labels[i] < 0 || labels[i] >= (float)L || labels[i] != floorf(labels[i])))
            return core_error(AISLE_ERANGE, "label %zu (%g) is not a class index in 0..%zu", i, (double)labels[i],
                              L - 1);
    }
    if (n == 0) return core_error(AISLE_EINVAL, "no labelled texts");
    if (config_int(cfg, bert_options, "finetune_layers") > 0) {
        int lrc = bert_finetune_layers(m, a, b, labels, n, (uint32_t)L, regression, keep, cfg, final_loss);
        if (!lrc && !keep) keys_clear(&m->label_names); /* a new head's classes are the caller's ids */
        return lrc;
    }
    int64_t epochs = config_int(cfg, bert_options, "head_epochs");
    double lr = config_float(cfg, bert_options, "head_learning_rate");
    uint64_t seed = (uint64_t)config_int(cfg, NULL, "seed");

    float *pooled = core_malloc(n * H * sizeof *pooled), *logits = core_malloc(L * sizeof *logits),
          *grad = core_malloc(L * sizeof *grad);
    uint32_t *order = core_malloc(n * sizeof *order);
    nn_store s;
    nn_store_init(&s);
    nn_param W, B;
    int rc = !pooled || !logits || !grad || !order ? core_oom("bert head training") : AISLE_OK;
    if (!rc) rc = bert_pooled_batch(m, a, b, n, cfg, pooled);
    if (!rc) rc = nn_store_add(&s, L, H, true, &W);
    if (!rc) rc = nn_store_add(&s, 1, L, false, &B);
    if (!rc) rc = nn_store_alloc(&s, true);
    core_rng rng;
    rng_seed(&rng, seed);
    if (!rc) {
        if (keep) {
            memcpy(nn_w(&s, W), m->cls.f, L * H * sizeof(float));
            memcpy(nn_w(&s, B), m->cls_b, L * sizeof(float));
        } else {
            nn_init_normal(&s, W, 0.02f, &rng); /* BERT's initializer range */
        }
        for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
        nn_adamw opt = {(float)lr, 0.9f, 0.999f, 1e-8f, 0.01f, 1.0f, 0, 0, NN_DECAY_NONE};
        double loss = 0;
        for (int64_t e = 0; e < epochs; e++) {
            rng_shuffle_u32(&rng, order, n);
            loss = 0;
            for (size_t b0 = 0; b0 < n; b0 += BATCH) {
                size_t b1 = b0 + BATCH < n ? b0 + BATCH : n;
                nn_zero_grad(&s);
                float *w = nn_w(&s, W), *bias = nn_w(&s, B), *gw = nn_g(&s, W), *gb = nn_g(&s, B);
                float inv = 1.0f / (float)(b1 - b0);
                for (size_t k = b0; k < b1; k++) {
                    const float *x = pooled + (size_t)order[k] * H;
                    float y = labels[order[k]];
                    for (size_t j = 0; j < L; j++) {
                        double z = bias[j];
                        for (size_t h = 0; h < H; h++) z += (double)w[j * H + h] * x[h];
                        logits[j] = (float)z;
                    }
                    if (regression) {
                        float d = logits[0] - y;
                        loss += 0.5 * (double)d * d;
                        grad[0] = d;
                    } else {
                        loss += nn_softmax_xent(logits, L, (size_t)y, grad);
                    }
                    for (size_t j = 0; j < L; j++) {
                        float g = grad[j] * inv;
                        gb[j] += g;
                        for (size_t h = 0; h < H; h++) gw[j * H + h] += g * x[h];
                    }
                }
                nn_adamw_step(&s, &opt);
            }
        }
        if (final_loss) *final_loss = loss / (double)n;
    }
    /* install the head (both allocations first, so failure changes nothing) */
    bert_mat head;
    memset(&head, 0, sizeof head);
    float *hb = NULL;
    if (!rc) rc = bert_mat_alloc(&head, (uint32_t)L, (uint32_t)H);
    if (!rc && !(hb = core_malloc(L * sizeof *hb))) rc = core_oom("bert head");
    if (!rc) {
        memcpy(head.f, nn_w(&s, W), L * H * sizeof(float));
        memcpy(hb, nn_w(&s, B), L * sizeof(float));
        bert_mat_free(&m->cls);
        core_free(m->cls_b);
        m->cls = head;
        m->cls_b = hb;
        m->cfg.has_classifier = true;
        m->cfg.num_labels = (uint32_t)L;
        m->cfg.regression = regression;
        if (!keep) keys_clear(&m->label_names); /* a new head's classes are the caller's ids */
    } else {
        bert_mat_free(&head);
        core_free(hb);
    }
    nn_store_free(&s);
    core_free(pooled);
    core_free(logits);
    core_free(grad);
    core_free(order);
    return rc;
}

AISLE_API int aisle_bert_set_labels(aisle_bert *model, const char *const *names, size_t n) {
    if (!model || (n && !names)) return core_error(AISLE_EINVAL, "aisle_bert_set_labels: NULL argument");
    const bert_config *c = &model->cfg;
    if (!c->has_classifier || c->regression)
        return core_error(AISLE_EUNSUPPORTED, "aisle_bert_set_labels: the model has no classification head%s",
                          c->has_classifier ? " (its head is a regression)" : "");
    if (n && n != c->num_labels)
        return core_error(AISLE_ERANGE, "aisle_bert_set_labels: %zu names for a head of %u labels", n, c->num_labels);
    /* built aside and swapped in, so a failure leaves the old names */
    core_keys k;
    keys_init(&k);
    int rc = AISLE_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        size_t len = names[i] ? strlen(names[i]) : 0;
        uint32_t idx;
        bool added = false;
        if (!len || len > 256 || data_utf8_check(names[i], len) < len)
            rc = core_error(AISLE_EINVAL, "aisle_bert_set_labels: label name %zu is NULL, empty, longer than 256 "
                            "bytes or not UTF-8", i);
        if (!rc) rc = keys_intern(&k, names[i], len, &idx, &added);
        if (!rc && !added) rc = core_error(AISLE_EINVAL, "aisle_bert_set_labels: label name '%s' appears twice",
                                           names[i]);
    }
    if (rc) {
        keys_clear(&k);
        return rc;
    }
    keys_clear(&model->label_names);
    model->label_names = k;
    return AISLE_OK;
}
