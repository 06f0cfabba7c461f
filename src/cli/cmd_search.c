/* cmd_search.c - `aisle index` and `aisle search`: build a product search
 * index from a catalog file, and query one.  These commands parse their own
 * arguments (repeatable --filter, --query/--queries). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime, mkdtemp, popen, getline, strndup, dlopen */
#endif
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int need_value(int i, int argc, char **argv) {
    if (i + 1 >= argc) return cli_error(CLI_USAGE, "%s needs a value", argv[i]);
    return CLI_OK;
}

static int set_option(aisle_config *cfg, const char *kv) {
    const char *eq = strchr(kv, '=');
    if (!eq) return cli_error(CLI_USAGE, "--set wants KEY=VALUE, got '%s'", kv);
    char key[128];
    size_t n = (size_t)(eq - kv);
    if (n >= sizeof key) return cli_error(CLI_USAGE, "--set: option name too long");
    memcpy(key, kv, n);
    key[n] = 0;
    int rc = aisle_config_set(cfg, key, eq + 1);
    return rc ? cli_fail(rc, "--set") : CLI_OK;
}

/* A flag that takes one value, and where the value goes. */
typedef struct value_flag {
    const char *name;
    const char **value;
} value_flag;

/* The arguments of `index` and `search-learn`: --quiet/-q, --set KEY=VALUE
 * (into cfg, repeatable) and the valued flags of table[0..n). */
static int parse_flags(const char *cmd, int argc, char **argv, const value_flag *table, size_t n, aisle_config *cfg,
                       int *quiet) {
    int rc = CLI_OK;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            *quiet = 1;
            continue;
        }
        size_t k = 0;
        while (k < n && strcmp(a, table[k].name)) k++;
        if (k == n && strcmp(a, "--set")) {
            rc = cli_error(CLI_USAGE, "%s: unknown argument '%s' (try `aisle %s --help`)", cmd, a, cmd);
        } else if (!(rc = need_value(i, argc, argv))) {
            const char *v = argv[++i];
            if (k < n) *table[k].value = v;
            else rc = set_option(cfg, v);
        }
    }
    return rc;
}

/* A text encoder: a BERT checkpoint directory (imported), a file written
 * by `aisle bert import --out` (loaded) or an intent model file
 * (architecture transformer or bag). */
typedef struct cli_encoder {
    aisle_bert *bert;
    aisle_model *text;
} cli_encoder;

static int load_encoder(const char *path, const aisle_config *cfg, cli_encoder *e) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        int rc = aisle_bert_import(&e->bert, path, cfg);
        return rc ? cli_fail(rc, "loading the encoder") : CLI_OK;
    }
    if (aisle_model_load(&e->text, path, cfg) == AISLE_OK) return CLI_OK;
    char first[300];
    snprintf(first, sizeof first, "%s", aisle_last_error());
    int rc = aisle_bert_load(&e->bert, path, cfg);
    if (!rc) return CLI_OK;
    return cli_error(CLI_RUNTIME, "loading the encoder %s: not a model file (%s), nor a bert file (%s)", path, first,
                     aisle_last_error());
}

/* Attaches e (when loaded) to idx: with cat, computes the vectors. */
static int attach_encoder(aisle_search_index *idx, const cli_encoder *e, const aisle_catalog *cat,
                          const aisle_config *cfg) {
    int rc = e->bert   ? aisle_search_index_set_encoder(idx, e->bert, cat, cfg)
             : e->text ? aisle_search_index_set_text_model(idx, e->text, cat, cfg)
                       : AISLE_OK;
    return rc ? cli_fail(rc, "--encoder") : CLI_OK;
}

static void free_encoder(cli_encoder *e) {
    aisle_bert_free(e->bert);
    aisle_model_free(e->text);
}

int cmd_index_raw(int argc, char **argv) {
    const char *catalog = NULL, *columns = NULL, *out = NULL, *model = NULL, *encoder = NULL;
    int quiet = 0, rc = CLI_OK;
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg)) return cli_fail(AISLE_ENOMEM, "config");
    const value_flag flags[] = {{"--catalog", &catalog}, {"--columns", &columns}, {"--out", &out},
                                {"--model", &model},     {"--encoder", &encoder}};
    rc = parse_flags("index", argc, argv, flags, sizeof flags / sizeof flags[0], cfg, &quiet);
    if (!rc && (!catalog || !out)) rc = cli_error(CLI_USAGE, "index: --catalog FILE and --out IDX are required");
    if (!rc && columns && (rc = aisle_config_set(cfg, "catalog_columns", columns))) rc = cli_fail(rc, "--columns");
    aisle_catalog *cat = NULL;
    aisle_search_index *idx = NULL;
    aisle_model *m = NULL;
    cli_encoder enc = {NULL, NULL};
    double t0 = cli_now();
    int lrc;
    if (!rc && (lrc = aisle_catalog_new(&cat))) rc = cli_fail(lrc, "catalog");
    if (!rc && (lrc = aisle_catalog_load(cat, catalog, cfg))) rc = cli_fail(lrc, "loading the catalog");
    if (!rc && (lrc = aisle_search_index_new(&idx))) rc = cli_fail(lrc, "index");
    if (!rc && encoder) rc = load_encoder(encoder, NULL, &enc);
    if (!rc) rc = attach_encoder(idx, &enc, cat, cfg);
    if (!rc && (lrc = aisle_search_index_build(idx, cat, cfg))) rc = cli_fail(lrc, "building the index");
    if (!rc && model && (lrc = aisle_model_load(&m, model, NULL))) rc = cli_fail(lrc, "loading the model");
    if (!rc && m && (lrc = aisle_search_index_set_popularity(idx, m))) rc = cli_fail(lrc, "popularity");
    if (!rc && (lrc = aisle_search_index_save(idx, out, cfg))) rc = cli_fail(lrc, "saving the index");
    size_t n = 0;
    if (!rc && !quiet) {
        aisle_search_index_count(idx, &n);
        fprintf(stderr, "indexed %zu products into %s in %.2f s\n", n, out, cli_now() - t0);
    }
    aisle_model_free(m);
    aisle_search_index_free(idx);
    free_encoder(&enc);
    aisle_catalog_free(cat);
    aisle_config_free(cfg);
    return rc;
}

typedef struct search_args {
    const char *index, *query, *queries, *user, *model, *session, *encoder;
    int k, json, explain, suggest;
    const char **filters;
    size_t n_filters;
    aisle_config *cfg;
} search_args;

/* Splits "a,b,c" into a new array of new strings. */
static int split_list(const char *s, char ***out, size_t *n_out) {
    size_t n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    char **v = calloc(n, sizeof *v);
    if (!v) return cli_error(CLI_RUNTIME, "out of memory");
    size_t k = 0;
    for (const char *p = s;;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l && !(v[k++] = strndup(p, l))) return cli_error(CLI_RUNTIME, "out of memory");
        if (!e) break;
        p = e + 1;
    }
    *out = v;
    *n_out = k;
    return CLI_OK;
}

static void print_hits(const search_args *a, const aisle_search_results *r, const char *query) {
    size_t n = 0, total = 0, nf = 0;
    aisle_search_results_count(r, &n);
    aisle_search_results_total(r, &total);
    aisle_search_results_facet_count(r, &nf);
    if (a->json) {
        if (nf) printf("{\"total\":%zu,\"hits\":", total);
        putchar('[');
        for (size_t i = 0; i < n; i++) {
            const char *key, *matched, *why;
            double score;
            aisle_search_results_hit(r, i, &key, &score);
            aisle_search_results_matched(r, i, &matched);
            printf("%s{\"item\":", i ? "," : "");
            cli_json_string(stdout, key);
            printf(",\"score\":");
            cli_json_number(stdout, score);
            printf(",\"matched\":[");
            int first = 1;
            for (const char *p = matched; *p;) {
                const char *e = strchr(p, ' ');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                char *t = strndup(p, l);
                if (t) {
                    if (!first) putchar(',');
                    cli_json_string(stdout, t);
                    first = 0;
                    free(t);
                }
                p += l + (e ? 1 : 0);
                if (!e) break;
            }
            putchar(']');
            if (a->explain) {
                aisle_search_results_explain(r, i, &why);
                printf(",\"explain\":");
                cli_json_string(stdout, why);
            }
            putchar('}');
        }
        putchar(']');
        if (nf) {
            printf(",\"facets\":{");
            for (size_t f = 0; f < nf; f++) {
                const char *name;
                size_t nv;
                aisle_search_results_facet(r, f, &name, &nv);
                printf("%s", f ? "," : "");
                cli_json_string(stdout, name);
                printf(":{");
                for (size_t i = 0; i < nv; i++) {
                    const char *v;
                    size_t c;
                    aisle_search_results_facet_value(r, f, i, &v, &c);
                    printf("%s", i ? "," : "");
                    cli_json_string(stdout, v);
                    printf(":%zu", c);
                }
                putchar('}');
            }
            printf("}}");
        }
        putchar('\n');
        return;
    }
    printf("query: %s  (%zu matching)\n", query, total);
    for (size_t i = 0; i < n; i++) {
        const char *key, *matched, *why;
        double score;
        aisle_search_results_hit(r, i, &key, &score);
        aisle_search_results_matched(r, i, &matched);
        printf("%3zu  %-20s %10.4f  %s\n", i + 1, key, score, matched);
        if (a->explain && !aisle_search_results_explain(r, i, &why)) printf("       %s\n", why);
    }
    for (size_t f = 0; f < nf; f++) {
        const char *name;
        size_t nv;
        aisle_search_results_facet(r, f, &name, &nv);
        printf("facet %s:", name);
        for (size_t i = 0; i < nv; i++) {
            const char *v;
            size_t c;
            aisle_search_results_facet_value(r, f, i, &v, &c);
            printf(" %s (%zu)%s", v, c, i + 1 < nv ? "," : "");
        }
        putchar('\n');
    }
}

static int run_one(const search_args *a, const aisle_search_index *idx, const aisle_model *m, const char *const *items,
                   size_t n_items, const char *query) {
    aisle_search_results *r = NULL;
    int rc = a->suggest ? aisle_suggest(idx, query, AISLE_NUL_TERMINATED, (size_t)a->k, a->cfg, &r)
                        : aisle_search(idx, query, AISLE_NUL_TERMINATED, (size_t)a->k, a->filters, a->n_filters, m,
                                       a->user, items, n_items, a->cfg, &r);
    if (rc) return cli_fail(rc, "search");
    print_hits(a, r, query);
    aisle_search_results_free(r);
    return CLI_OK;
}

int cmd_search_raw(int argc, char **argv) {
    search_args a;
    memset(&a, 0, sizeof a);
    a.k = 10;
    int rc = CLI_OK;
    if (aisle_config_new(&a.cfg)) return cli_fail(AISLE_ENOMEM, "config");
    a.filters = calloc((size_t)argc, sizeof *a.filters);
    if (!a.filters) rc = cli_error(CLI_RUNTIME, "out of memory");
    for (int i = 1; i < argc && !rc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--json")) a.json = 1;
        else if (!strcmp(s, "--explain")) a.explain = 1;
        else if (!strcmp(s, "--suggest")) a.suggest = 1;
        else if (!strcmp(s, "--index") || !strcmp(s, "--query") || !strcmp(s, "--queries") || !strcmp(s, "-k") ||
                 !strcmp(s, "--user") || !strcmp(s, "--model") || !strcmp(s, "--filter") ||
                 !strcmp(s, "--session") || !strcmp(s, "--facets") || !strcmp(s, "--set") ||
                 !strcmp(s, "--encoder")) {
            if ((rc = need_value(i, argc, argv))) break;
            const char *v = argv[++i];
            if (!strcmp(s, "--index")) a.index = v;
            else if (!strcmp(s, "--query")) a.query = v;
            else if (!strcmp(s, "--queries")) a.queries = v;
            else if (!strcmp(s, "--user")) a.user = v;
            else if (!strcmp(s, "--model")) a.model = v;
            else if (!strcmp(s, "--session")) a.session = v;
            else if (!strcmp(s, "--encoder")) a.encoder = v;
            else if (!strcmp(s, "--filter")) a.filters[a.n_filters++] = v;
            else if (!strcmp(s, "--facets")) {
                int src = aisle_config_set_string(a.cfg, "search_facets", v);
                if (src) rc = cli_fail(src, "--facets");
            } else if (!strcmp(s, "--set")) rc = set_option(a.cfg, v);
            else {
                char *end;
                long k = strtol(v, &end, 10);
                if (*end || k < 0 || k > 1000000) rc = cli_error(CLI_USAGE, "-k wants a count 0..1000000, got '%s'", v);
                a.k = (int)k;
            }
        } else {
            rc = cli_error(CLI_USAGE, "search: unknown argument '%s' (try `aisle search --help`)", s);
        }
    }
    if (!rc && !a.index) rc = cli_error(CLI_USAGE, "search: --index IDX is required");
    if (!rc && !a.query == !a.queries) rc = cli_error(CLI_USAGE, "search: give --query TEXT or --queries FILE");
    if (!rc && (a.user || a.session) && !a.model) rc = cli_error(CLI_USAGE, "search: --user/--session need --model");
    if (!rc && a.user && a.session) rc = cli_error(CLI_USAGE, "search: --user and --session exclude each other");
    aisle_search_index *idx = NULL;
    aisle_model *m = NULL;
    char **items = NULL;
    size_t n_items = 0;
    int lrc;
    if (!rc && (lrc = aisle_search_index_load(&idx, a.index, a.cfg))) rc = cli_fail(lrc, "loading the index");
    if (!rc && a.model && (lrc = aisle_model_load(&m, a.model, NULL))) rc = cli_fail(lrc, "loading the model");
    cli_encoder enc = {NULL, NULL};
    if (!rc && a.encoder) rc = load_encoder(a.encoder, NULL, &enc);
    if (!rc) rc = attach_encoder(idx, &enc, NULL, a.cfg);
    if (!rc && a.session) rc = split_list(a.session, &items, &n_items);
    if (!rc && a.query) rc = run_one(&a, idx, m, (const char *const *)items, n_items, a.query);
    if (!rc && a.queries) {
        FILE *f = fopen(a.queries, "rb");
        if (!f) rc = cli_error(CLI_RUNTIME, "%s: cannot open", a.queries);
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while (!rc && f && (len = getline(&line, &cap, f)) >= 0) {
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
            rc = run_one(&a, idx, m, (const char *const *)items, n_items, line);
        }
        free(line);
        if (f) fclose(f);
    }
    for (size_t i = 0; i < n_items; i++) free(items[i]);
    free(items);
    aisle_model_free(m);
    aisle_search_index_free(idx);
    free_encoder(&enc);
    free(a.filters);
    aisle_config_free(a.cfg);
    return rc;
}

int cmd_search_learn_raw(int argc, char **argv) {
    const char *index = NULL, *log_path = NULL, *out = NULL, *model = NULL, *encoder = NULL;
    int quiet = 0, rc = CLI_OK;
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg)) return cli_fail(AISLE_ENOMEM, "config");
    const value_flag flags[] = {{"--index", &index}, {"--log", &log_path},      {"--out", &out},
                                {"--model", &model}, {"--encoder", &encoder}};
    rc = parse_flags("search-learn", argc, argv, flags, sizeof flags / sizeof flags[0], cfg, &quiet);
    if (!rc && (!index || !log_path || !out))
        rc = cli_error(CLI_USAGE, "search-learn: --index IDX, --log FILE and --out IDX2 are required");
    aisle_search_index *idx = NULL;
    aisle_search_log *log = NULL;
    aisle_model *m = NULL;
    cli_encoder enc = {NULL, NULL};
    double t0 = cli_now();
    size_t pairs = 0, searches = 0;
    int lrc;
    if (!rc && (lrc = aisle_search_index_load(&idx, index, cfg))) rc = cli_fail(lrc, "loading the index");
    if (!rc && (lrc = aisle_search_log_load(&log, log_path, NULL))) rc = cli_fail(lrc, "loading the log");
    if (!rc && model && (lrc = aisle_model_load(&m, model, NULL))) rc = cli_fail(lrc, "loading the model");
    if (!rc && encoder) rc = load_encoder(encoder, NULL, &enc);
    if (!rc) rc = attach_encoder(idx, &enc, NULL, cfg);
    if (!rc && (lrc = aisle_search_index_learn(idx, log, m, cfg, &pairs))) rc = cli_fail(lrc, "learning");
    if (!rc && (lrc = aisle_search_index_save(idx, out, cfg))) rc = cli_fail(lrc, "saving the index");
    if (!rc) {
        aisle_search_log_count(log, &searches, NULL);
        const char *name;
        double w;
        for (size_t i = 0; aisle_search_index_ranker(idx, i, &name, &w) == AISLE_OK; i++) printf("%s\t%.6g\n", name, w);
        if (!quiet)
            fprintf(stderr, "learned from %zu searches (%zu pairs) into %s in %.2f s\n", searches, pairs, out,
                    cli_now() - t0);
    }
    aisle_model_free(m);
    aisle_search_log_free(log);
    aisle_search_index_free(idx);
    free_encoder(&enc);
    aisle_config_free(cfg);
    return rc;
}
