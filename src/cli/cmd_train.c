/* cmd_train.c - `aisle train` and `aisle eval`: load events, train (with
 * an optional held-out split), evaluate, save. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sets cfg's model kind from --model, rejecting unknown kinds up front. */
static int choose_kind(cli_opts *o) {
    if (!o->model) return CLI_OK;
    for (int i = 0; i < aisle_model_kind_count(); i++) {
        const char *name;
        if (aisle_model_kind_info(i, &name, NULL) == AISLE_OK && !strcmp(name, o->model)) {
            if (aisle_config_set(o->cfg, "model", o->model) != AISLE_OK) return cli_fail(AISLE_ENOMEM, "--model");
            return CLI_OK;
        }
    }
    char known[256] = "";
    for (int i = 0; i < aisle_model_kind_count(); i++) {
        const char *name;
        if (aisle_model_kind_info(i, &name, NULL) != AISLE_OK) continue;
        if (strlen(known) + strlen(name) + 3 < sizeof known) strcat(strcat(known, i ? ", " : ""), name);
    }
    return cli_error(CLI_USAGE, "--model: unknown model kind '%s' (known: %s)", o->model, known);
}

static const char *kind_of(const cli_opts *o, char *buf, size_t len) {
    if (aisle_config_get_string(o->cfg, "model", buf, len) != AISLE_OK) snprintf(buf, len, "?");
    return buf;
}

/* Loads --data and splits it per --split (test NULL without a split). */
static int load_and_split(cli_opts *o, aisle_dataset **all, aisle_dataset **train, aisle_dataset **test) {
    *all = *train = *test = NULL;
    int rc = cli_load_data(o, all);
    if (rc) return rc;
    if (!o->split) {
        *train = *all;
        return CLI_OK;
    }
    int64_t seed = 42;
    aisle_config_get_int(o->cfg, "seed", &seed);
    int arc = aisle_dataset_split_spec(*all, o->split, (uint64_t)seed, train, test);
    if (arc) {
        int usage = arc == AISLE_EINVAL || arc == AISLE_ERANGE;
        return cli_error(usage ? CLI_USAGE : CLI_RUNTIME, "--split %s: %s", o->split, aisle_last_error());
    }
    return CLI_OK;
}

static int train(cli_opts *o, const aisle_dataset *ds, const aisle_catalog *cat, aisle_model **model,
                 double *seconds) {
    aisle_catalog *users = NULL;
    int urc = cli_users_load(o, &users);
    if (urc) return urc;
    char kind[64], label[96];
    kind_of(o, kind, sizeof kind);
    snprintf(label, sizeof label, "train %s: epoch", kind);
    cli_progress_install(o->cfg, o, label);
    double t0 = cli_now();
    int rc = aisle_model_train_with_features(ds, cat, users, o->cfg, model);
    *seconds = cli_now() - t0;
    aisle_catalog_free(users);
    cli_progress_done();
    aisle_config_set_progress(o->cfg, NULL, NULL);
    if (rc) {
        char what[96];
        snprintf(what, sizeof what, "training '%s' failed", kind);
        return cli_fail(rc, what);
    }
    /* once per training: what the weight rule did (src/models/weights.c) */
    double dropped = 0, capped = 0;
    if (!o->quiet && aisle_model_get_metric(*model, "nonpositive_pairs", &dropped) == AISLE_OK && dropped > 0)
        fprintf(stderr, "aisle: note: %.0f (user, item) pairs sum to zero or less (e.g. returns outweighing "
                        "purchases) and count as no interaction (docs/MODELS.md, \"Implicit weights\")\n", dropped);
    if (!o->quiet && aisle_model_get_metric(*model, "capped_pairs", &capped) == AISLE_OK && capped > 0)
        fprintf(stderr, "aisle: note: %.0f pair weights were clipped at weight_cap\n", capped);
    return CLI_OK;
}

static int evaluate(cli_opts *o, const aisle_model *m, const aisle_dataset *test, aisle_eval_result **res) {
    aisle_config *ecfg;
    int rc = cli_eval_config(o, &ecfg);
    if (rc) return rc;
    cli_progress_install(ecfg, o, "evaluate: users block");
    double t0 = cli_now();
    rc = aisle_evaluate(m, test, ecfg, res);
    if (o->verbose) fprintf(stderr, "aisle: evaluated in %.2fs\n", cli_now() - t0);
    cli_progress_done();
    aisle_config_free(ecfg);
    return rc ? cli_fail(rc, "evaluation failed") : CLI_OK;
}

static void print_metrics(const aisle_eval_result *res) {
    size_t n = 0;
    aisle_eval_result_count(res, &n);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        double v;
        int is_count;
        if (aisle_eval_result_at(res, i, &name, &v, &is_count) != AISLE_OK) continue;
        char nb[256];
        name = cli_text(name, nb, sizeof nb); /* metric names come from model files */
        if (is_count)
            printf("  %-16s %.0f\n", name, v);
        else
            printf("  %-16s %.4f\n", name, v);
    }
}

/* The library's JSON object with "model" and "train_seconds" in front. */
static int print_eval_json(const aisle_eval_result *res, const char *kind, double train_s) {
    size_t need = 0;
    aisle_eval_result_to_json(res, NULL, 0, &need);
    char *buf = malloc(need + 1);
    if (!buf) return cli_error(CLI_RUNTIME, "out of memory");
    int rc = aisle_eval_result_to_json(res, buf, need + 1, NULL);
    if (rc) {
        free(buf);
        return cli_fail(rc, "evaluation result");
    }
    fputs("{\"model\": ", stdout);
    cli_json_string(stdout, kind);
    if (train_s >= 0) {
        fputs(", \"train_seconds\": ", stdout);
        cli_json_number(stdout, train_s);
    }
    printf(", %s\n", buf + 1);
    free(buf);
    return CLI_OK;
}

static void store_metrics(aisle_model *m, const aisle_eval_result *res) {
    size_t n = 0;
    aisle_eval_result_count(res, &n);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        double v;
        int is_count;
        if (aisle_eval_result_at(res, i, &name, &v, &is_count) == AISLE_OK && !is_count)
            aisle_model_set_metric(m, name, v);
    }
}

/* Whether the model can be saved at out, checked before training (which
 * may take hours): a regular file or nothing at the path (a symbolic link
 * is followed, as aisle_model_save does), in a writable directory. */
static int check_output(const char *out) {
    struct stat st;
    char dir[PATH_MAX];
    const char *target = out;
    char *resolved = NULL;
    if (lstat(out, &st) == 0 && S_ISLNK(st.st_mode)) {
        resolved = realpath(out, NULL);
        if (!resolved) return cli_error(CLI_USAGE, "--out %s: a symbolic link whose target does not exist", out);
        target = resolved;
    }
    int rc = CLI_OK;
    if (stat(target, &st) == 0 && !S_ISREG(st.st_mode))
        rc = cli_error(CLI_USAGE, "--out %s: not a regular file (%s); give a file name", out,
                       S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
    if (!rc) {
        const char *slash = strrchr(target, '/');
        if (!slash) snprintf(dir, sizeof dir, ".");
        else snprintf(dir, sizeof dir, "%.*s", (int)(slash == target ? 1 : slash - target), target);
        if (access(dir, W_OK) != 0)
            rc = cli_error(CLI_RUNTIME, "--out %s: cannot write in directory %s: %s", out, dir, strerror(errno));
    }
    free(resolved);
    return rc;
}

int cmd_train(cli_opts *o) {
    if (o->distributed && o->users)
        return cli_error(CLI_USAGE, "--users (hybrid's shopper attributes) does not go with --distributed");
    if (o->distributed) return cmd_train_dist(o);
    if (o->checkpoint || o->checkpoint_every)
        return cli_error(CLI_USAGE, "--checkpoint and --checkpoint-every need --distributed");
    if (o->model && !strcmp(o->model, "intent")) return cmd_train_intent(o);
    int rc = choose_kind(o);
    if (!rc) rc = check_output(o->out ? o->out : "model.aisle");
    if (rc) return rc;
    aisle_dataset *all, *tr, *te;
    cli_titles *cat = NULL;
    rc = load_and_split(o, &all, &tr, &te);
    if (!rc) rc = cli_titles_load(o, &cat);
    aisle_model *m = NULL;
    aisle_eval_result *res = NULL;
    double secs = 0;
    char kind[64];
    kind_of(o, kind, sizeof kind);
    if (!rc) rc = train(o, tr, cli_titles_catalog(cat), &m, &secs);
    if (!rc && te) rc = evaluate(o, m, te, &res);
    if (!rc && res) store_metrics(m, res);
    const char *out = o->out ? o->out : "model.aisle";
    if (!rc) {
        int src = aisle_model_save(m, out, o->cfg);
        if (src) rc = cli_fail(src, "saving the model failed");
    }
    if (!rc) {
        size_t users = 0, items = 0, events = 0;
        aisle_model_user_count(m, &users);
        aisle_model_item_count(m, &items);
        aisle_dataset_event_count(tr, &events);
        if (o->json) {
            printf("{\"model\": ");
            cli_json_string(stdout, kind);
            printf(", \"out\": ");
            cli_json_string(stdout, out);
            printf(", \"users\": %zu, \"items\": %zu, \"events\": %zu, \"train_seconds\": ", users, items, events);
            cli_json_number(stdout, secs);
            if (res) {
                size_t n = 0;
                aisle_eval_result_count(res, &n);
                printf(", \"metrics\": {");
                for (size_t i = 0, first = 1; i < n; i++) {
                    const char *name;
                    double v;
                    int is_count;
                    if (aisle_eval_result_at(res, i, &name, &v, &is_count) || is_count) continue;
                    printf("%s", first ? "" : ", ");
                    cli_json_string(stdout, name);
                    printf(": ");
                    cli_json_number(stdout, v);
                    first = 0;
                }
                printf("}");
            }
            printf("}\n");
        } else {
            printf("trained %s on %zu events (%zu users, %zu items) in %.2fs\n", kind, events, users, items, secs);
            if (res) {
                printf("held-out quality (--split %s):\n", o->split);
                print_metrics(res);
            }
            printf("saved %s\n", out);
        }
    }
    aisle_eval_result_free(res);
    aisle_model_free(m);
    cli_titles_free(cat);
    if (tr != all) aisle_dataset_free(tr);
    aisle_dataset_free(te);
    aisle_dataset_free(all);
    return rc;
}

int cli_eval_report(const cli_opts *o, const char *kind, double secs, const aisle_eval_result *res) {
    if (o->json) return print_eval_json(res, kind, secs);
    if (secs >= 0) printf("trained %s in %.2fs\n", kind, secs);
    printf("%s evaluated on %s%s%s:\n", kind, o->data, o->split ? " --split " : "", o->split ? o->split : "");
    print_metrics(res);
    return CLI_OK;
}

int cmd_eval(cli_opts *o) {
    if (o->distributed && o->users)
        return cli_error(CLI_USAGE, "--users (hybrid's shopper attributes) does not go with --distributed");
    if (o->distributed) return cmd_eval_dist(o);
    if (o->checkpoint || o->checkpoint_every)
        return cli_error(CLI_USAGE, "--checkpoint and --checkpoint-every belong to train --distributed");
    aisle_dataset *all = NULL, *tr = NULL, *te = NULL;
    aisle_model *m = NULL;
    aisle_eval_result *res = NULL;
    cli_titles *cat = NULL;
    double secs = -1;
    char kind[64];
    int rc;
    if (o->split) {
        rc = choose_kind(o);
        if (!rc) rc = load_and_split(o, &all, &tr, &te);
        if (!rc) rc = cli_titles_load(o, &cat);
        if (!rc) rc = train(o, tr, cli_titles_catalog(cat), &m, &secs);
        kind_of(o, kind, sizeof kind);
    } else {
        if (!o->model)
            return cli_error(CLI_USAGE, "eval needs --model FILE and --data TEST_FILE, or --data FILE --split SPEC");
        rc = aisle_model_load(&m, o->model, o->cfg);
        if (rc) return cli_fail(rc, "cannot load the model");
        /* test products (and shoppers) the model has never seen join it
         * from --catalog (--users), scored from their features */
        rc = cli_titles_load(o, &cat);
        if (!rc) rc = cli_add_catalog(o, m, cat);
        if (rc) {
            cli_titles_free(cat);
            aisle_model_free(m);
            return rc;
        }
        const char *k = "?";
        aisle_model_kind(m, &k);
        snprintf(kind, sizeof kind, "%s", k);
        if (!strcmp(kind, "intent")) {
            rc = cmd_eval_intent(o, m);
            aisle_model_free(m);
            return rc;
        }
        rc = cli_load_data(o, &te);
    }
    if (!rc) rc = evaluate(o, m, te, &res);
    if (!rc) rc = cli_eval_report(o, kind, secs, res);
    aisle_eval_result_free(res);
    cli_titles_free(cat);
    aisle_model_free(m);
    if (tr != all) aisle_dataset_free(tr);
    aisle_dataset_free(te);
    aisle_dataset_free(all);
    return rc;
}
