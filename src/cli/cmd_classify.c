/* cmd_classify.c - text classification from the command line: `aisle
 * train --model intent`, `aisle eval` of an intent model and `aisle
 * classify`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Loads --data as labelled (or, with --columns text=COL only, unlabelled)
 * texts. */
static int load_texts(const cli_opts *o, aisle_texts **out) {
    if (!o->data) return cli_error(CLI_USAGE, "--data FILE is required (a CSV/TSV of text,label rows)");
    aisle_texts *t;
    int rc = aisle_texts_new(&t);
    if (rc) return cli_fail(rc, "texts");
    double t0 = cli_now();
    rc = aisle_texts_load(t, o->data, o->cfg);
    if (rc) {
        aisle_texts_free(t);
        return cli_error(rc == AISLE_EINVAL ? CLI_USAGE : CLI_RUNTIME, "cannot load texts: %s%s", aisle_last_error(),
                         rc == AISLE_EFORMAT ? " (check --columns text=COL,label=COL, --delimiter, --header; "
                                               "--lenient skips bad rows)" : "");
    }
    size_t read = 0, loaded = 0, skipped = 0, labels = 0;
    aisle_texts_load_report(t, &read, &loaded, &skipped);
    aisle_texts_label_count(t, &labels);
    if (!loaded) {
        aisle_texts_free(t);
        return cli_error(CLI_RUNTIME, "%s: no texts loaded (%zu rows read, %zu skipped)", o->data, read, skipped);
    }
    if (o->verbose || (skipped && !o->quiet)) {
        fprintf(stderr, "aisle: %s: %zu rows read, %zu loaded, %zu skipped; %zu labels (%.2fs)\n", o->data, read,
                loaded, skipped, labels, cli_now() - t0);
        for (size_t i = 0; o->verbose; i++) {
            const char *msg;
            if (aisle_texts_load_message(t, i, &msg) != AISLE_OK) break;
            fprintf(stderr, "aisle:   skipped: %s\n", msg);
        }
    }
    *out = t;
    return CLI_OK;
}

int cmd_train_intent(cli_opts *o) {
    if (o->split) return cli_error(CLI_USAGE, "--split is for event models; evaluate an intent model with "
                                              "`aisle eval --model M --data TEST_FILE`");
    if (aisle_config_set(o->cfg, "model", "intent") != AISLE_OK) return cli_fail(AISLE_ENOMEM, "--model");
    aisle_texts *t = NULL;
    int rc = load_texts(o, &t);
    if (rc) return rc;
    aisle_model *m = NULL;
    cli_progress_install(o->cfg, o, "train intent: epoch");
    double t0 = cli_now();
    int arc = aisle_text_train(t, o->cfg, &m);
    double secs = cli_now() - t0;
    cli_progress_done();
    aisle_config_set_progress(o->cfg, NULL, NULL);
    if (arc) rc = cli_fail(arc, "training 'intent' failed");
    const char *out = o->out ? o->out : "model.aisle";
    if (!rc && (arc = aisle_model_save(m, out, o->cfg))) rc = cli_fail(arc, "saving the model failed");
    if (!rc) {
        size_t n = 0, labels = 0;
        double ece = -1;
        aisle_texts_count(t, &n);
        aisle_model_label_count(m, &labels);
        aisle_model_get_metric(m, "ece", &ece);
        if (o->json) {
            printf("{\"model\": \"intent\", \"out\": ");
            cli_json_string(stdout, out);
            printf(", \"texts\": %zu, \"labels\": %zu, \"train_seconds\": ", n, labels);
            cli_json_number(stdout, secs);
            if (ece >= 0) {
                printf(", \"calibration_ece\": ");
                cli_json_number(stdout, ece);
            }
            printf("}\n");
        } else {
            printf("trained intent on %zu texts (%zu labels) in %.2fs\n", n, labels, secs);
            if (ece >= 0) printf("held-out expected calibration error: %.4f\n", ece);
            printf("saved %s\n", out);
        }
    }
    aisle_model_free(m);
    aisle_texts_free(t);
    return rc;
}

int cmd_eval_intent(cli_opts *o, aisle_model *m) {
    aisle_texts *t = NULL;
    int rc = load_texts(o, &t);
    if (rc) return rc;
    aisle_text_eval *e = NULL;
    int arc = aisle_text_evaluate(m, t, o->cfg, &e);
    if (arc) rc = cli_fail(arc, "evaluation failed");
    if (!rc && o->json) {
        size_t need = 0;
        aisle_text_eval_to_json(e, NULL, 0, &need);
        char *buf = malloc(need + 1);
        if (!buf) rc = cli_error(CLI_RUNTIME, "out of memory");
        else if ((arc = aisle_text_eval_to_json(e, buf, need + 1, NULL))) rc = cli_fail(arc, "evaluation result");
        else printf("{\"model\": \"intent\", %s\n", buf + 1);
        free(buf);
    } else if (!rc) {
        double acc = 0, f1 = 0, ece = 0, unk = 0, n = 0, unseen = 0;
        aisle_text_eval_metric(e, "accuracy", &acc);
        aisle_text_eval_metric(e, "macro_f1", &f1);
        aisle_text_eval_metric(e, "ece", &ece);
        aisle_text_eval_metric(e, "unknown_rate", &unk);
        aisle_text_eval_metric(e, "texts", &n);
        aisle_text_eval_metric(e, "unseen_labels", &unseen);
        printf("intent evaluated on %s (%.0f texts):\n", o->data, n);
        printf("  %-16s %.4f\n  %-16s %.4f\n  %-16s %.4f\n  %-16s %.4f\n", "accuracy", acc, "macro_f1", f1, "ece", ece,
               "unknown_rate", unk);
        if (unseen > 0) printf("  %-16s %.0f (their texts count as wrong)\n", "unseen_labels", unseen);
        size_t L = 0;
        aisle_text_eval_label_count(e, &L);
        printf("confusion matrix (rows: true label, columns: predicted, in this order):\n");
        for (size_t i = 0; i < L; i++) {
            const char *name = "";
            aisle_text_eval_label(e, i, &name);
            printf("  %-24s", name);
            for (size_t j = 0; j < L; j++) {
                size_t c = 0;
                aisle_text_eval_confusion(e, i, j, &c);
                printf(" %5zu", c);
            }
            printf("\n");
        }
    }
    aisle_text_eval_free(e);
    aisle_texts_free(t);
    return rc;
}

/* One text's answer (and explanation) as text or a JSON object. */
static int classify_one(const cli_opts *o, const aisle_model *m, const char *text, int k, int first) {
    const char *labels[64];
    float probs[64];
    size_t n = 0;
    int unknown = 0;
    if (k > 64) k = 64;
    int rc = aisle_text_classify(m, text, AISLE_NUL_TERMINATED, (size_t)k, labels, probs, &n, &unknown);
    if (rc) return cli_fail(rc, "classification failed");
    aisle_text_explanation *ex = NULL;
    if (o->explain && (rc = aisle_text_explain(m, text, AISLE_NUL_TERMINATED, NULL, &ex)))
        return cli_fail(rc, "explanation failed");
    size_t nt = 0;
    if (ex) aisle_text_explanation_count(ex, &nt);
    if (o->json) {
        printf("%s{\"text\": ", first ? "" : ",\n ");
        cli_json_string(stdout, text);
        printf(", \"unknown\": %s, \"labels\": [", unknown ? "true" : "false");
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"label\": ", i ? ", " : "");
            cli_json_string(stdout, labels[i]);
            printf(", \"probability\": ");
            cli_json_number(stdout, probs[i]);
            printf("}");
        }
        printf("]");
        if (ex) {
            printf(", \"explanation\": [");
            for (size_t i = 0; i < nt; i++) {
                const char *tok;
                float c;
                aisle_text_explanation_at(ex, i, &tok, &c);
                printf("%s{\"token\": ", i ? ", " : "");
                cli_json_string(stdout, tok);
                printf(", \"contribution\": ");
                cli_json_number(stdout, c);
                printf("}");
            }
            printf("]");
        }
        printf("}");
    } else {
        printf("%s%s\n", unknown ? "unknown (best guesses below)\t" : "", text);
        for (size_t i = 0; i < n; i++) printf("  %-28s %.4f\n", labels[i], probs[i]);
        if (ex) {
            const char *lab = "";
            aisle_text_explanation_label(ex, &lab);
            printf("  tokens towards %s:\n", lab);
            for (size_t i = 0; i < nt; i++) {
                const char *tok;
                float c;
                aisle_text_explanation_at(ex, i, &tok, &c);
                printf("    %-20s %+.4f\n", tok, c);
            }
        }
    }
    aisle_text_explanation_free(ex);
    return CLI_OK;
}

int cmd_classify(cli_opts *o) {
    if (!o->model) return cli_error(CLI_USAGE, "classify needs --model FILE");
    if (!o->text == !o->data) return cli_error(CLI_USAGE, "classify needs exactly one of --text TEXT and --data FILE");
    int handled = 0, brc = cmd_classify_bert(o, &handled); /* a bert model file (cmd_bert.c) */
    if (handled) return brc;
    int k = o->k > 0 ? o->k : 1;
    aisle_model *m = NULL;
    int rc = aisle_model_load(&m, o->model, o->cfg);
    if (rc) return cli_fail(rc, "cannot load the model");
    size_t nl;
    if ((rc = aisle_model_label_count(m, &nl))) {
        aisle_model_free(m);
        return cli_fail(rc, o->model);
    }
    aisle_texts *t = NULL;
    if (o->data) rc = load_texts(o, &t);
    if (!rc) {
        if (o->json && t) printf("[");
        if (o->text) {
            rc = classify_one(o, m, o->text, k, 1);
        } else {
            size_t n = 0;
            aisle_texts_count(t, &n);
            for (size_t i = 0; i < n && !rc; i++) {
                const char *text;
                aisle_texts_at(t, i, &text, NULL);
                rc = classify_one(o, m, text, k, i == 0);
            }
        }
        if (o->json) printf("%s\n", t ? "]" : "");
    }
    aisle_texts_free(t);
    aisle_model_free(m);
    return rc;
}
