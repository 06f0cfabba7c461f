/* cmd_serve.c - the read commands on a saved model: `aisle recommend`,
 * `similar`, `explain` and `info`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int load_model(const cli_opts *o, const char *path, aisle_model **m) {
    if (!path) return cli_error(CLI_USAGE, "--model FILE is required (a model saved by `aisle train`)");
    int rc = aisle_model_load(m, path, o->cfg);
    return rc ? cli_fail(rc, "cannot load the model") : CLI_OK;
}

/* Prints a ranked list of items as text or as a JSON array. */
static void print_items(const cli_opts *o, const cli_titles *t, const char *const *items, const float *scores,
                        size_t n, const char *score_name) {
    if (o->json) {
        fputs("[", stdout);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ", {\"item\": " : "{\"item\": ", stdout);
            cli_json_string(stdout, items[i]);
            printf(", \"%s\": ", score_name);
            cli_json_number(stdout, scores[i]);
            if (t) {
                fputs(", \"title\": ", stdout);
                cli_json_string(stdout, cli_title(t, items[i]));
            }
            fputs("}", stdout);
        }
        fputs("]", stdout);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char kb[512], tb[512];
        printf("%3zu  %-16s %10.4f", i + 1, cli_text(items[i], kb, sizeof kb), scores[i]);
        if (t) printf("  %s", cli_text(cli_title(t, items[i]), tb, sizeof tb));
        putchar('\n');
    }
}

/* What recommend, similar and explain share: the model, optional titles
 * and room for k ranked (key, value) results. */
typedef struct ranked_run {
    aisle_model *m;
    cli_titles *t;
    const char **items;
    float *values;
    size_t k;
} ranked_run;

static void ranked_end(ranked_run *r) {
    free(r->items);
    free(r->values);
    cli_titles_free(r->t);
    aisle_model_free(r->m);
}

/* Allocates the result arrays (k from -k or default_k), loads the model and
 * the catalog titles.  On failure everything is released. */
static int ranked_begin(cli_opts *o, size_t default_k, ranked_run *r) {
    memset(r, 0, sizeof *r);
    r->k = o->k > 0 ? (size_t)o->k : default_k;
    r->items = calloc(r->k, sizeof *r->items);
    r->values = calloc(r->k, sizeof *r->values);
    int rc = r->items && r->values ? CLI_OK : cli_error(CLI_RUNTIME, "out of memory for -k %zu", r->k);
    if (!rc) rc = load_model(o, o->model, &r->m);
    if (!rc) rc = cli_titles_load(o, &r->t);
    if (!rc) rc = cli_add_catalog(o, r->m, r->t);
    if (rc) ranked_end(r);
    return rc;
}

int cmd_recommend(cli_opts *o) {
    if (!o->user) return cli_error(CLI_USAGE, "--user KEY is required");
    ranked_run r;
    int rc = ranked_begin(o, 10, &r);
    if (rc) return rc;
    aisle_rec_options *ro = NULL;
    if (aisle_rec_options_new(&ro) != AISLE_OK) rc = cli_fail(AISLE_ENOMEM, "serving options");
    if (!rc && o->exclude_seen >= 0 && aisle_rec_options_set(ro, "exclude_seen", o->exclude_seen ? "true" : "false"))
        rc = cli_fail(AISLE_EINVAL, "--exclude-seen");
    size_t n = 0;
    int fallback = 0;
    if (!rc) {
        int arc = aisle_recommend_v2(r.m, o->user, r.k, ro, r.items, r.values, &n, &fallback);
        if (arc) rc = cli_fail(arc, "recommend failed");
    }
    if (!rc) {
        int known = !fallback;
        if (o->json) {
            fputs("{\"user\": ", stdout);
            cli_json_string(stdout, o->user);
            printf(", \"known_user\": %s, \"popular_fallback\": %s, \"items\": ", known ? "true" : "false",
                   fallback ? "true" : "false");
            print_items(o, r.t, r.items, r.values, n, "score");
            puts("}");
        } else {
            if (!known && !o->quiet)
                fprintf(stderr, "aisle: note: user '%s' is not in the model; showing the most popular items "
                                "(scores are popularity, not the model's)\n",
                        cli_text(o->user, (char[512]){0}, 512));
            print_items(o, r.t, r.items, r.values, n, "score");
        }
    }
    aisle_rec_options_free(ro);
    ranked_end(&r);
    return rc;
}

int cmd_similar(cli_opts *o) {
    if (!o->item) return cli_error(CLI_USAGE, "--item KEY is required");
    ranked_run r;
    int rc = ranked_begin(o, 10, &r);
    if (rc) return rc;
    size_t n = 0;
    int arc = aisle_similar_items(r.m, o->item, r.k, NULL, r.items, r.values, &n);
    if (arc) rc = cli_fail(arc, "similar failed");
    if (!rc) {
        if (o->json) {
            fputs("{\"item\": ", stdout);
            cli_json_string(stdout, o->item);
            if (r.t) {
                fputs(", \"title\": ", stdout);
                cli_json_string(stdout, cli_title(r.t, o->item));
            }
            fputs(", \"similar\": ", stdout);
            print_items(o, r.t, r.items, r.values, n, "similarity");
            puts("}");
        } else {
            if (r.t)
                printf("items similar to %s  %s\n", cli_text(o->item, (char[512]){0}, 512),
                       cli_text(cli_title(r.t, o->item), (char[512]){0}, 512));
            print_items(o, r.t, r.items, r.values, n, "similarity");
        }
    }
    ranked_end(&r);
    return rc;
}

int cmd_explain(cli_opts *o) {
    if (!o->user || !o->item) return cli_error(CLI_USAGE, "--user KEY and --item KEY are required");
    ranked_run r;
    int rc = ranked_begin(o, 5, &r);
    if (rc) return rc;
    size_t n = 0;
    float score = 0;
    int arc = aisle_explain(r.m, o->user, o->item, r.k, r.items, r.values, &n);
    if (!arc) arc = aisle_score(r.m, o->user, o->item, &score);
    if (arc) rc = cli_fail(arc, "explain failed");
    /* kinds that explain by features (hybrid) say which ones drove the score */
    const char **fnames = calloc(r.k, sizeof *fnames);
    float *fvals = calloc(r.k, sizeof *fvals);
    size_t nf = 0;
    int frc = !fnames || !fvals ? AISLE_ENOMEM
                                : rc ? AISLE_EUNSUPPORTED : aisle_explain_features(r.m, o->user, o->item, r.k, fnames, fvals, &nf);
    if (!rc && frc && frc != AISLE_EUNSUPPORTED) rc = cli_fail(frc, "explain by features failed");
    if (frc) nf = 0;
    if (!rc) {
        if (o->json) {
            fputs("{\"user\": ", stdout);
            cli_json_string(stdout, o->user);
            fputs(", \"item\": ", stdout);
            cli_json_string(stdout, o->item);
            fputs(", \"score\": ", stdout);
            cli_json_number(stdout, score);
            fputs(", \"because\": ", stdout);
            print_items(o, r.t, r.items, r.values, n, "share");
            if (!frc) {
                fputs(", \"features\": [", stdout);
                for (size_t i = 0; i < nf; i++) {
                    fputs(i ? ", {\"feature\": " : "{\"feature\": ", stdout);
                    cli_json_string(stdout, fnames[i]);
                    fputs(", \"contribution\": ", stdout);
                    cli_json_number(stdout, fvals[i]);
                    fputs("}", stdout);
                }
                fputs("]", stdout);
            }
            puts("}");
        } else {
            printf("%s for %s: score %.4f%s%s\n", cli_text(o->item, (char[512]){0}, 512),
                   cli_text(o->user, (char[512]){0}, 512), score, r.t ? "  " : "",
                   r.t ? cli_text(cli_title(r.t, o->item), (char[512]){0}, 512) : "");
            if (n == 0) printf("  (no past item of the user contributes)\n");
            else printf("because of (share of the score):\n");
            print_items(o, r.t, r.items, r.values, n, "share");
            if (!frc && nf) {
                printf("driven by these features (contribution to the score):\n");
                for (size_t i = 0; i < nf; i++)
                    printf("%3zu  %+10.4f  %s\n", i + 1, fvals[i], cli_text(fnames[i], (char[512]){0}, 512));
            }
        }
    }
    free(fnames);
    free(fvals);
    ranked_end(&r);
    return rc;
}

int cmd_info(cli_opts *o) {
    if (o->positional && o->model_is_set)
        return cli_error(CLI_USAGE, "info takes one model: give MODEL_FILE or --model FILE, not both");
    const char *path = o->positional ? o->positional : o->model;
    if (!path) return cli_error(CLI_USAGE, "info needs a model file: aisle info MODEL_FILE");
    aisle_model *m;
    int rc = load_model(o, path, &m);
    if (rc) return rc;
    size_t need = 0;
    aisle_model_describe(m, NULL, 0, &need);
    char *text = malloc(need + 1);
    if (!text) {
        aisle_model_free(m);
        return cli_error(CLI_RUNTIME, "out of memory");
    }
    int arc = aisle_model_describe(m, text, need + 1, NULL);
    aisle_model_free(m);
    if (arc) {
        free(text);
        return cli_fail(arc, "describe");
    }
    if (!o->json) { /* line by line: metric names and options come from the file */
        for (char *line = text, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next) *next++ = '\0';
            cli_write_text(stdout, line);
            putchar('\n');
        }
        free(text);
        return CLI_OK;
    }
    /* "key: value" lines -> one JSON object: numbers as numbers, true /
     * false as booleans, the training options as an object of their own */
    fputs("{\"file\": ", stdout);
    cli_json_string(stdout, path);
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *colon = strstr(line, ": ");
        if (!colon) continue;
        *colon = '\0';
        fputs(", ", stdout);
        cli_json_string(stdout, line);
        fputs(": ", stdout);
        if (strcmp(line, "options") == 0)
            cli_json_options(stdout, colon + 2);
        else
            cli_json_scalar(stdout, colon + 2);
    }
    puts("}");
    free(text);
    return CLI_OK;
}

int cmd_generate(cli_opts *o) {
    const char *dir = o->out ? o->out : "demo-store";
    double t0 = cli_now();
    int rc = aisle_demo_write(o->cfg, dir);
    if (rc) return cli_fail(rc, "cannot write the demo store");
    if (o->json) {
        fputs("{\"dir\": ", stdout);
        cli_json_string(stdout, dir);
        fputs(", \"files\": [\"events.csv\", \"catalog.csv\", \"messages.csv\"], \"seconds\": ", stdout);
        cli_json_number(stdout, cli_now() - t0);
        puts("}");
    } else {
        printf("wrote %s/events.csv, %s/catalog.csv, %s/messages.csv (%.2fs)\n", dir, dir, dir, cli_now() - t0);
        if (!o->quiet)
            printf("next: aisle train --data %s/events.csv --columns user=user_id,item=item_id,event=event,value=quantity,"
                   "time=timestamp --model als --out shop.aisle\n",
                   dir);
    }
    return CLI_OK;
}
