/* cmd_bert.c - import, embed, classify and score-pair for pretrained BERT
 * checkpoints (docs/BERT.md). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cmd_import(cli_opts *o) {
    if (!o->format || strcmp(o->format, "bert"))
        return cli_error(CLI_USAGE, "import: --format bert is required (the only checkpoint format so far)");
    if (!o->positional) return cli_error(CLI_USAGE, "import: the checkpoint directory is required");
    if (!o->out) return cli_error(CLI_USAGE, "import: --out MODEL is required");
    aisle_bert *m;
    int rc = aisle_bert_import(&m, o->positional, o->cfg);
    if (rc) return cli_fail(rc, "import");
    rc = aisle_bert_save(m, o->out, o->cfg);
    size_t dim = 0, labels = 0, bytes = 0;
    aisle_bert_info(m, &dim, &labels, NULL, NULL);
    aisle_bert_memory(m, &bytes);
    aisle_bert_free(m);
    if (rc) return cli_fail(rc, "save");
    if (o->json)
        printf("{\"model\": \"%s\", \"dim\": %zu, \"labels\": %zu}\n", o->out, dim, labels);
    else if (!o->quiet)
        fprintf(stderr, "aisle: imported %s -> %s (dim %zu, %zu labels)\n", o->positional, o->out, dim, labels);
    return CLI_OK;
}

/* Texts from --text or one per line of --data (a trailing \r dropped). */
typedef struct {
    char **v;
    size_t n;
    char *buf;
} texts;

static void texts_free(texts *t) {
    free(t->v);
    free(t->buf);
}

static int read_texts(const cli_opts *o, texts *t, const char *cmd) {
    memset(t, 0, sizeof *t);
    if (!!o->text == !!o->data) return cli_error(CLI_USAGE, "%s: give exactly one of --text and --data", cmd);
    if (o->text) {
        t->buf = strdup(o->text);
        t->v = malloc(sizeof *t->v);
        if (!t->buf || !t->v) return cli_error(CLI_RUNTIME, "out of memory");
        t->v[0] = t->buf;
        t->n = 1;
        return CLI_OK;
    }
    FILE *f = fopen(o->data, "rb");
    if (!f) return cli_error(CLI_RUNTIME, "%s: cannot open %s", cmd, o->data);
    size_t cap = 0, len = 0;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *nb = realloc(t->buf, cap);
            if (!nb) {
                fclose(f);
                return cli_error(CLI_RUNTIME, "out of memory");
            }
            t->buf = nb;
        }
        memcpy(t->buf + len, chunk, got);
        len += got;
    }
    fclose(f);
    if (!t->buf) return CLI_OK;
    t->buf[len] = '\0';
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += t->buf[i] == '\n';
    t->v = malloc(lines * sizeof *t->v);
    if (!t->v) return cli_error(CLI_RUNTIME, "out of memory");
    char *p = t->buf;
    while (p < t->buf + len) {
        char *e = strchr(p, '\n');
        if (e) *e = '\0';
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[l - 1] = '\0';
        t->v[t->n++] = p;
        if (!e) break;
        p = e + 1;
    }
    return CLI_OK;
}

static void print_floats(const float *v, size_t n, int json) {
    if (json) putchar('[');
    for (size_t j = 0; j < n; j++) printf(json ? "%s%.9g" : "%s%.9g", j ? (json ? ", " : " ") : "", (double)v[j]);
    puts(json ? "]" : "");
}

static int load_model(const cli_opts *o, aisle_bert **m, const char *cmd) {
    if (!o->model) return cli_error(CLI_USAGE, "%s: --model MODEL is required", cmd);
    int rc = aisle_bert_load(m, o->model, o->cfg);
    return rc ? cli_fail(rc, cmd) : CLI_OK;
}

int cmd_embed(cli_opts *o) {
    int pooling = AISLE_BERT_POOL_CLS;
    if (o->pooling) {
        if (!strcmp(o->pooling, "cls")) pooling = AISLE_BERT_POOL_CLS;
        else if (!strcmp(o->pooling, "mean")) pooling = AISLE_BERT_POOL_MEAN;
        else if (!strcmp(o->pooling, "pooler")) pooling = AISLE_BERT_POOL_POOLER;
        else return cli_error(CLI_USAGE, "embed: --pooling expects cls, mean or pooler, got '%s'", o->pooling);
    }
    texts t;
    int rc = read_texts(o, &t, "embed");
    aisle_bert *m = NULL;
    if (!rc) rc = load_model(o, &m, "embed");
    size_t dim = 0;
    float *out = NULL;
    if (!rc) {
        aisle_bert_info(m, &dim, NULL, NULL, NULL);
        out = malloc((t.n ? t.n : 1) * dim * sizeof *out);
        if (!out) rc = cli_error(CLI_RUNTIME, "out of memory");
    }
    if (!rc) {
        int lrc = aisle_bert_embed(m, (const char *const *)t.v, t.n, pooling, o->cfg, out);
        if (lrc) rc = cli_fail(lrc, "embed");
    }
    for (size_t i = 0; !rc && i < t.n; i++) print_floats(out + i * dim, dim, o->json);
    free(out);
    aisle_bert_free(m);
    texts_free(&t);
    return rc;
}

/* Head outputs for texts (pairs: b non-NULL). */
static int run_head(cli_opts *o, aisle_bert *m, char **a, char **b, size_t n, const char *cmd) {
    size_t labels = 0;
    aisle_bert_info(m, NULL, &labels, NULL, NULL);
    if (!labels) {
        return cli_error(CLI_RUNTIME, "%s: %s has no classification or regression head (import a checkpoint with "
                         "classifier.weight)", cmd, o->model);
    }
    float *out = malloc((n ? n : 1) * labels * sizeof *out);
    if (!out) return cli_error(CLI_RUNTIME, "out of memory");
    int lrc = aisle_bert_classify(m, (const char *const *)a, (const char *const *)b, n, o->cfg, out);
    int rc = lrc ? cli_fail(lrc, cmd) : CLI_OK;
    for (size_t i = 0; !rc && i < n; i++) print_floats(out + i * labels, labels, o->json);
    free(out);
    return rc;
}

int cmd_classify_bert(cli_opts *o, int *handled) {
    *handled = 0;
    aisle_bert *m = NULL;
    int lrc = aisle_bert_load(&m, o->model, o->cfg);
    if (lrc == AISLE_EUNSUPPORTED) return CLI_OK; /* another kind: the intent classifier's */
    *handled = 1;
    if (lrc) return cli_fail(lrc, "classify");
    texts t;
    int rc = read_texts(o, &t, "classify");
    char **b = NULL;
    if (!rc && o->text_b) {
        b = malloc(sizeof *b);
        if (!b) rc = cli_error(CLI_RUNTIME, "out of memory");
        else b[0] = (char *)o->text_b;
    } else if (!rc && o->data) {
        /* pairs: "a<TAB>b" lines */
        size_t tabs = 0;
        for (size_t i = 0; i < t.n; i++) tabs += strchr(t.v[i], '\t') != NULL;
        if (tabs && tabs != t.n)
            rc = cli_error(CLI_USAGE, "classify: %s mixes pair lines (with a tab) and single texts", o->data);
        if (!rc && tabs) {
            b = malloc(t.n * sizeof *b);
            if (!b) rc = cli_error(CLI_RUNTIME, "out of memory");
            for (size_t i = 0; !rc && i < t.n; i++) {
                char *tab = strchr(t.v[i], '\t');
                *tab = '\0';
                b[i] = tab + 1;
            }
        }
    }
    if (!rc) rc = run_head(o, m, t.v, b, t.n, "classify");
    free(b);
    aisle_bert_free(m);
    texts_free(&t);
    return rc;
}

int cmd_score_pair(cli_opts *o) {
    if (!o->text_a || !o->text_b) return cli_error(CLI_USAGE, "score-pair: --text-a and --text-b are required");
    aisle_bert *m = NULL;
    int rc = load_model(o, &m, "score-pair");
    char *a[1] = {(char *)o->text_a}, *b[1] = {(char *)o->text_b};
    if (!rc) rc = run_head(o, m, a, b, 1, "score-pair");
    aisle_bert_free(m);
    return rc;
}
