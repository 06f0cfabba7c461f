/* cmd_dist.c - `aisle train --distributed`: the same training over MPI
 * ranks (include/aisle_mpi.h), started as
 *   mpirun -np N build/mpi/bin/aisle train --distributed --data ... --out M
 * Each rank loads its shard of --data, the ranks train together, and rank
 * 0 saves an ordinary model file (`--model intent`: every rank loads the
 * whole corpus and the ranks split each step's batch of texts).  Messages are printed by rank 0 only
 * (every rank holds the same agreed error).  Built into the CLI of
 * `make MPI=1`; the ordinary CLI answers with a usage error. */
#include "cli.h"

#include <string.h>

#ifdef AISLE_MPI
#include "aisle_mpi.h"

#include <stdio.h>

static int rank0_fail(int rank, int rc, const char *what) {
    if (rank == 0) return cli_fail(rc, what);
    return CLI_RUNTIME;
}

/* `aisle train --model intent --distributed`: every rank loads the whole
 * corpus (--data, as `aisle train --model intent`), the ranks train one
 * transformer together (aisle_dist_text_train_checkpointed, resuming from
 * --checkpoint when it exists) and rank 0 saves it. */
static int train_intent_dist(cli_opts *o) {
    if (aisle_config_set(o->cfg, "model", "intent") != AISLE_OK) return cli_fail(AISLE_ENOMEM, "--model");
    if (aisle_dist_init(NULL, NULL) != AISLE_OK) return cli_fail(AISLE_EIO, "cannot start MPI");
    int rank = 0, size = 1;
    aisle_dist_rank(&rank, &size);
    const char *out = o->out ? o->out : "model.aisle";
    aisle_texts *t = NULL;
    int lrc = aisle_texts_new(&t);
    if (!lrc) lrc = aisle_texts_load(t, o->data, o->cfg);
    int rc = lrc ? rank0_fail(rank, lrc, "cannot load texts") : CLI_OK;
    aisle_model *m = NULL;
    double t0 = cli_now(), bytes = 0;
    if (rank == 0) cli_progress_install(o->cfg, o, "train intent (distributed): epoch");
    /* a rank that failed to load joins with NULL texts, so the others do
     * not wait for it: the call then fails on every rank */
    int trc = aisle_dist_text_train_checkpointed(lrc ? NULL : t, o->cfg, o->checkpoint, o->checkpoint_every, &m,
                                                 &bytes);
    double secs = cli_now() - t0;
    if (rank == 0) cli_progress_done();
    aisle_config_set_progress(o->cfg, NULL, NULL);
    if (!rc && trc) rc = rank0_fail(rank, trc, "distributed training failed");
    if (!rc && rank == 0) {
        int src = aisle_model_save(m, out, o->cfg);
        if (src) rc = cli_fail(src, "saving the model failed");
    }
    if (!rc && rank == 0) {
        size_t n = 0, labels = 0;
        aisle_texts_count(t, &n);
        aisle_model_label_count(m, &labels);
        if (o->json) {
            printf("{\"model\": \"intent\", \"out\": ");
            cli_json_string(stdout, out);
            printf(", \"ranks\": %d, \"texts\": %zu, \"labels\": %zu, \"train_seconds\": ", size, n, labels);
            cli_json_number(stdout, secs);
            printf(", \"rank0_bytes_sent\": ");
            cli_json_number(stdout, bytes);
            printf("}\n");
        } else {
            printf("trained intent on %zu texts (%zu labels) over %d rank%s in %.2fs\n", n, labels, size,
                   size == 1 ? "" : "s", secs);
            printf("rank 0 sent %.3g MB\n", bytes / 1e6);
            printf("saved %s\n", out);
        }
    }
    aisle_model_free(m);
    aisle_texts_free(t);
    aisle_dist_finalize();
    return rc;
}

int cmd_train_dist(cli_opts *o) {
    if (o->split) return cli_error(CLI_USAGE, "--split cannot be combined with --distributed (evaluate the saved model)");
    if (o->catalog) return cli_error(CLI_USAGE, "--catalog cannot be combined with --distributed");
    if (!o->data) return cli_error(CLI_USAGE, "train --distributed needs --data FILE|DIR");
    if (o->model && !strcmp(o->model, "intent")) return train_intent_dist(o);
    if (o->model && aisle_config_set(o->cfg, "model", o->model) != AISLE_OK)
        return cli_fail(AISLE_EINVAL, "--model");
    if (aisle_dist_init(NULL, NULL) != AISLE_OK) return cli_fail(AISLE_EIO, "cannot start MPI");
    int rank = 0, size = 1;
    aisle_dist_rank(&rank, &size);
    const char *out = o->out ? o->out : "model.aisle";
    char kind[32] = "als";
    if (aisle_config_get_string(o->cfg, "model", kind, sizeof kind) != AISLE_OK) snprintf(kind, sizeof kind, "als");
    char label[96];
    snprintf(label, sizeof label, "train %s (distributed): epoch", kind);
    aisle_dist_data *d = NULL;
    aisle_model *m = NULL;
    double t0 = cli_now(), secs = 0;
    int rc = aisle_dist_load(&d, o->data, o->cfg);
    if (rc) rc = rank0_fail(rank, rc, "loading the events failed");
    if (!rc) {
        if (rank == 0) cli_progress_install(o->cfg, o, label);
        int trc = aisle_dist_train(d, o->cfg, o->checkpoint, o->checkpoint_every, &m);
        secs = cli_now() - t0;
        if (rank == 0) cli_progress_done();
        aisle_config_set_progress(o->cfg, NULL, NULL);
        if (trc) rc = rank0_fail(rank, trc, "distributed training failed");
    }
    if (!rc && rank == 0) {
        int src = aisle_model_save(m, out, o->cfg);
        if (src) rc = cli_fail(src, "saving the model failed");
    }
    if (!rc && rank == 0) {
        size_t users = 0, items = 0, events = 0;
        double total = 0, per_epoch = 0;
        aisle_dist_data_counts(d, &users, &items, &events);
        aisle_dist_train_bytes(d, &total, &per_epoch);
        if (o->json) {
            printf("{\"model\": ");
            cli_json_string(stdout, kind);
            printf(", \"out\": ");
            cli_json_string(stdout, out);
            printf(", \"ranks\": %d, \"users\": %zu, \"items\": %zu, \"events\": %zu, \"train_seconds\": ", size, users,
                   items, events);
            cli_json_number(stdout, secs);
            printf(", \"rank0_bytes_sent_per_epoch\": ");
            cli_json_number(stdout, per_epoch);
            printf("}\n");
        } else {
            printf("trained %s on %zu events (%zu users, %zu items) over %d rank%s in %.2fs\n", kind, events, users, items,
                   size, size == 1 ? "" : "s", secs);
            printf("rank 0 sent %.3g MB per epoch\n", per_epoch / 1e6);
            printf("saved %s\n", out);
        }
    }
    aisle_model_free(m);
    aisle_dist_data_free(d);
    aisle_dist_finalize();
    return rc;
}

int cmd_eval_dist(cli_opts *o) {
    if (o->split || !o->model || !o->data)
        return cli_error(CLI_USAGE, "eval --distributed needs --model FILE and --data TEST_FILE (no --split)");
    if (o->checkpoint || o->checkpoint_every)
        return cli_error(CLI_USAGE, "--checkpoint and --checkpoint-every belong to train --distributed");
    if (aisle_dist_init(NULL, NULL) != AISLE_OK) return cli_fail(AISLE_EIO, "cannot start MPI");
    int rank = 0;
    aisle_dist_rank(&rank, NULL);
    aisle_model *m = NULL;
    aisle_dataset *te = NULL;
    aisle_eval_result *res = NULL;
    aisle_config *ecfg = NULL;
    /* every rank loads the model and the test file; a failure on one rank
     * (a file missing there) is caught by the collective call below */
    int lrc = aisle_model_load(&m, o->model, o->cfg);
    if (lrc && rank == 0) cli_fail(lrc, "cannot load the model");
    int rc = lrc ? CLI_RUNTIME : CLI_OK;
    if (!rc) {
        rc = cli_load_data(o, &te);
        if (!rc) rc = cli_eval_config(o, &ecfg);
    }
    const char *kind = "?";
    if (m) aisle_model_kind(m, &kind);
    /* a rank that failed above takes part with what it has, so the others
     * do not wait for it: the call then fails everywhere */
    int erc = aisle_dist_evaluate(m, te, ecfg, &res);
    if (!rc && erc) rc = rank0_fail(rank, erc, "distributed evaluation failed");
    if (!rc && rank == 0) rc = cli_eval_report(o, kind, -1, res);
    aisle_eval_result_free(res);
    aisle_config_free(ecfg);
    aisle_dataset_free(te);
    aisle_model_free(m);
    aisle_dist_finalize();
    return rc;
}

#else

int cmd_train_dist(cli_opts *o) {
    (void)o;
    return cli_error(CLI_USAGE, "--distributed needs the MPI build of aisle: make MPI=1, then "
                                "mpirun -np N build/mpi/bin/aisle train --distributed ...");
}

int cmd_eval_dist(cli_opts *o) { return cmd_train_dist(o); }

#endif
