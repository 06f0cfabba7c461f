/* text_eval.c - quality of an intent model on labelled texts: accuracy,
 * macro-F1 (the unweighted mean of per-label F1 over labels that occur in
 * the truth or the predictions), expected calibration error, the share
 * answered unknown, and the confusion matrix.
 *
 * Test labels the model does not know are a defined result: their texts
 * are counted wrong and the labels get confusion rows after the model's
 * labels. */
#include "eval.h"
#include "models/models.h"
#include "text/text.h"

#include <math.h>
#include <string.h>

struct aisle_text_eval {
    core_keys labels;     /* model labels, then unseen test labels */
    size_t n_model_labels;
    size_t *confusion;    /* labels x labels: [truth][predicted] */
    size_t texts, unseen;
    double accuracy, macro_f1, ece, unknown_rate;
};

AISLE_API void aisle_text_eval_free(aisle_text_eval *e) {
    if (!e) return;
    keys_clear(&e->labels);
    core_free(e->confusion);
    core_free(e);
}

static double label_f1(const aisle_text_eval *e, size_t l, double *prec, double *rec, size_t *support) {
    size_t n = e->labels.n, tp = e->confusion[l * n + l], row = 0, col = 0;
    for (size_t k = 0; k < n; k++) row += e->confusion[l * n + k], col += e->confusion[k * n + l];
    *prec = col ? (double)tp / (double)col : 0;
    *rec = row ? (double)tp / (double)row : 0;
    *support = row;
    return *prec + *rec > 0 ? 2 * *prec * *rec / (*prec + *rec) : 0;
}

static int summarize(aisle_text_eval *e, const float *probs, const uint32_t *truth, float threshold) {
    size_t n = e->texts, nl = e->n_model_labels, L = e->labels.n;
    float *conf = core_malloc((n ? n : 1) * sizeof *conf);
    uint8_t *ok = core_malloc(n ? n : 1);
    if (!conf || !ok) {
        core_free(conf);
        core_free(ok);
        return core_oom("text evaluation");
    }
    size_t correct = 0, unknown = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * nl;
        size_t best = 0;
        for (size_t l = 1; l < nl; l++) best = p[l] > p[best] ? l : best;
        conf[i] = p[best];
        ok[i] = best == truth[i];
        correct += ok[i];
        unknown += p[best] < threshold;
        e->confusion[(size_t)truth[i] * L + best]++;
    }
    e->accuracy = n ? (double)correct / (double)n : 0;
    e->unknown_rate = n ? (double)unknown / (double)n : 0;
    e->ece = text_ece(conf, ok, n, 15);
    double f1 = 0;
    size_t used = 0;
    for (size_t l = 0; l < L; l++) {
        double pr, rc;
        size_t sup, col = 0;
        for (size_t k = 0; k < L; k++) col += e->confusion[k * L + l];
        double f = label_f1(e, l, &pr, &rc, &sup);
        if (!sup && !col) continue; /* a label absent from truth and predictions */
        f1 += f;
        used++;
    }
    e->macro_f1 = used ? f1 / (double)used : 0;
    core_free(conf);
    core_free(ok);
    return AISLE_OK;
}

AISLE_API int aisle_text_evaluate(const aisle_model *m, const aisle_texts *test, const aisle_config *cfg,
                                  aisle_text_eval **out) {
    if (!m || !test || !out) return core_error(AISLE_EINVAL, "aisle_text_evaluate: NULL argument");
    size_t nl;
    int rc = aisle_model_label_count(m, &nl);
    if (rc) return rc;
    if (!test->n) return core_error(AISLE_EINVAL, "aisle_text_evaluate: no test texts");
    if (keys_find(&test->labels, "", 0) >= 0)
        return core_error(AISLE_EINVAL, "aisle_text_evaluate: test texts without labels (map a label column)");
    int threads = core_thread_count(config_int(cfg, text_options, "threads"));
    aisle_text_eval *e = core_calloc(1, sizeof *e);
    uint32_t *truth = core_malloc(test->n * sizeof *truth);
    float *probs = NULL, threshold = 0;
    if (!e || !truth) rc = core_oom("text evaluation");
    if (e) keys_init(&e->labels);
    for (size_t l = 0; !rc && l < nl; l++) {
        const char *name;
        uint32_t idx;
        rc = aisle_model_label(m, l, &name);
        if (!rc) rc = keys_intern(&e->labels, name, strlen(name), &idx, NULL);
    }
    if (!rc) e->n_model_labels = nl;
    for (size_t i = 0; !rc && i < test->n; i++) {
        const char *name = keys_at(&test->labels, test->label[i]);
        bool added = false;
        rc = keys_intern(&e->labels, name, strlen(name), &truth[i], &added);
        if (!rc && truth[i] >= nl) e->unseen++;
    }
    if (!rc) {
        e->texts = test->n;
        e->confusion = core_calloc(e->labels.n * e->labels.n, sizeof *e->confusion);
        if (!e->confusion) rc = core_oom("confusion matrix");
    }
    if (!rc) rc = model_text_probs(m, test, threads, &probs, &threshold);
    if (!rc) rc = summarize(e, probs, truth, threshold);
    core_free(probs);
    core_free(truth);
    if (rc) {
        aisle_text_eval_free(e);
        return rc;
    }
    *out = e;
    return AISLE_OK;
}

AISLE_API int aisle_text_eval_metric(const aisle_text_eval *e, const char *name, double *out) {
    if (!e || !name || !out) return core_error(AISLE_EINVAL, "aisle_text_eval_metric: NULL argument");
    if (!strcmp(name, "accuracy")) *out = e->accuracy;
    else if (!strcmp(name, "macro_f1")) *out = e->macro_f1;
    else if (!strcmp(name, "ece")) *out = e->ece;
    else if (!strcmp(name, "unknown_rate")) *out = e->unknown_rate;
    else if (!strcmp(name, "texts")) *out = (double)e->texts;
    else if (!strcmp(name, "labels")) *out = (double)e->labels.n;
    else if (!strcmp(name, "unseen_labels")) {
        size_t u = e->labels.n - e->n_model_labels;
        *out = (double)u;
    } else
        return core_error(AISLE_ENOTFOUND, "unknown text metric '%s' (accuracy, macro_f1, ece, unknown_rate, texts, "
                          "labels, unseen_labels)", name);
    return AISLE_OK;
}

AISLE_API int aisle_text_eval_label_count(const aisle_text_eval *e, size_t *out) {
    if (!e || !out) return core_error(AISLE_EINVAL, "aisle_text_eval_label_count: NULL argument");
    *out = e->labels.n;
    return AISLE_OK;
}

AISLE_API int aisle_text_eval_label(const aisle_text_eval *e, size_t index, const char **out) {
    if (!e || !out) return core_error(AISLE_EINVAL, "aisle_text_eval_label: NULL argument");
    if (index >= e->labels.n)
        return core_error(AISLE_ERANGE, "label index %zu out of range [0, %zu)", index, e->labels.n);
    *out = keys_at(&e->labels, (uint32_t)index);
    return AISLE_OK;
}

AISLE_API int aisle_text_eval_confusion(const aisle_text_eval *e, size_t truth, size_t predicted, size_t *out) {
    if (!e || !out) return core_error(AISLE_EINVAL, "aisle_text_eval_confusion: NULL argument");
    if (truth >= e->labels.n || predicted >= e->labels.n)
        return core_error(AISLE_ERANGE, "confusion cell (%zu, %zu) out of range [0, %zu)", truth, predicted,
                          e->labels.n);
    *out = e->confusion[truth * e->labels.n + predicted];
    return AISLE_OK;
}

static int json_str(core_buf *b, const char *s) {
    int rc = buf_append(b, "\"", 1);
    for (; !rc && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') rc = buf_printf(b, "\\%c", c);
        else if (c < 0x20) rc = buf_printf(b, "\\u%04x", c);
        else rc = buf_append(b, s, 1);
    }
    return rc ? rc : buf_append(b, "\"", 1);
}

AISLE_API int aisle_text_eval_to_json(const aisle_text_eval *e, char *out, size_t len, size_t *needed) {
    if (!e || (!out && len)) return core_error(AISLE_EINVAL, "aisle_text_eval_to_json: NULL argument");
    core_buf b;
    buf_init(&b);
    size_t L = e->labels.n;
    int rc = buf_printf(&b, "{\"texts\": %zu, \"accuracy\": %.6f, \"macro_f1\": %.6f, \"ece\": %.6f, "
                            "\"unknown_rate\": %.6f, \"unseen_labels\": %zu, \"labels\": [",
                        e->texts, e->accuracy, e->macro_f1, e->ece, e->unknown_rate, L - e->n_model_labels);
    for (size_t l = 0; !rc && l < L; l++) {
        if (l) rc = buf_append(&b, ", ", 2);
        if (!rc) rc = json_str(&b, keys_at(&e->labels, (uint32_t)l));
    }
    if (!rc) rc = buf_printf(&b, "], \"confusion\": [");
    for (size_t t = 0; !rc && t < L; t++) {
        rc = buf_printf(&b, "%s[", t ? ", " : "");
        for (size_t p = 0; !rc && p < L; p++) rc = buf_printf(&b, "%s%zu", p ? ", " : "", e->confusion[t * L + p]);
        if (!rc) rc = buf_append(&b, "]", 1);
    }
    if (!rc) rc = buf_printf(&b, "], \"per_label\": [");
    for (size_t l = 0; !rc && l < L; l++) {
        double pr, re;
        size_t sup;
        double f = label_f1(e, l, &pr, &re, &sup);
        rc = buf_printf(&b, "%s{\"label\": ", l ? ", " : "");
        if (!rc) rc = json_str(&b, keys_at(&e->labels, (uint32_t)l));
        if (!rc) rc = buf_printf(&b, ", \"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f, \"support\": %zu}", pr, re,
                                 f, sup);
    }
    if (!rc) rc = buf_printf(&b, "]}");
    if (!rc) rc = buf_export(&b, out, len, needed);
    buf_free(&b);
    return rc;
}
