/* test_dist_p2p.c - distributed ALS with point-to-point row exchange
 * (src/dist/als.c, docs/SCALING.md): the model against one process in
 * both exchange modes, the bytes each rank sends per epoch against the
 * formula of docs/SCALING.md counted from the data here, the memory a
 * rank holds, the auto rule, and checkpoint resume.  Run by `make
 * test-mpi` under mpirun at 1, 2 and 3 ranks.  The mode is chosen by
 * AISLE_DIST_EXCHANGE (read on rank 0), set here on every rank. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_util.h"

/* Max |difference| of the distributed model's factors from one process's
 * (5 epochs of CG: the p2p Gram matrix is summed from the ranks' parts,
 * which rounds differently from one BLAS call on the whole matrix, and
 * warm-started CG carries the difference forward: measured up to 5e-5 on
 * factors of size ~1, docs/SCALING.md). */
#define P2P_BOUND 2e-4

/* users x per_user events, items drawn with density ~ 1/rank (Zipf with
 * exponent 1, as the generator's popularity), item keys shuffled so
 * popularity does not follow the index blocks. */
static void write_zipf(const char *path, int users, int items, int per_user, unsigned seed) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "user_id,item_id\n");
    unsigned s = seed;
    for (int u = 0; u < users; u++)
        for (int k = 0; k < per_user; k++) {
            s = s * 1103515245u + 12345u;
            double x = (double)(s >> 8) / (double)(1u << 24);
            int rank = (int)floor(exp(x * log((double)items + 1))) - 1;
            if (rank >= items) rank = items - 1;
            fprintf(f, "u%d,i%d\n", (u * 7919) % users, (int)(((unsigned)rank * 2654435761u) % (unsigned)items));
        }
    fclose(f);
}

static void set_mode(const char *mode) {
    if (mode) assert_int_equal(setenv("AISLE_DIST_EXCHANGE", mode, 1), 0);
    else assert_int_equal(unsetenv("AISLE_DIST_EXCHANGE"), 0);
}

static aisle_config *config(int epochs) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=als factors=6 threads=1 seed=3 regularization=0.05 alpha=2"));
    assert_ok(aisle_config_set_int(cfg, "epochs", epochs));
    return cfg;
}

#define data_path tm_path
#define factor_diff tm_factor_diff

/* The data of one test, written by rank 0. */
static void make_data(char *path, size_t len, const char *name, int users, int items, int per_user) {
    data_path(path, len, name);
    if (g_rank == 0) write_zipf(path, users, items, per_user, 17u + (unsigned)users);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Trains in one mode; returns rank 0's model (NULL elsewhere) and this
 * rank's exchange, bytes per epoch and factor bytes. */
static aisle_model *train(const char *path, const char *mode, int epochs, int *p2p, double *epoch_bytes,
                          double *factor_bytes) {
    set_mode(mode);
    aisle_config *cfg = config(epochs);
    aisle_dist_data *d;
    assert_ok(aisle_dist_load(&d, path, cfg));
    aisle_model *m = NULL;
    assert_ok(aisle_dist_train(d, cfg, NULL, 0, &m));
    if (p2p) *p2p = d->als_p2p;
    if (epoch_bytes) assert_ok(aisle_dist_train_bytes(d, NULL, epoch_bytes));
    if (factor_bytes) *factor_bytes = d->als_factor_bytes;
    assert_true((m != NULL) == (g_rank == 0));
    aisle_dist_data_free(d);
    aisle_config_free(cfg);
    set_mode(NULL);
    return m;
}

static void test_p2p_equals_one_process_within_bound(void **state) {
    (void)state;
    char path[600];
    make_data(path, sizeof path, "zipf.csv", 400, 900, 3);
    int p2p = -1, ag = -1;
    double mem_p2p = 0, mem_ag = 0;
    aisle_model *a = train(path, "allgather", 5, &ag, NULL, &mem_ag);
    aisle_model *b = train(path, "p2p", 5, &p2p, NULL, &mem_p2p);
    assert_int_equal(ag, 0);
    assert_int_equal(p2p, 1);
    /* a rank other than 0 (which gathers the model) holds less than the
     * two full matrices: 3 events a user spread over 900 items */
    printf("# %d rank(s), rank %d: factor bytes %.0f all-gather, %.0f p2p\n", g_size, g_rank, mem_ag, mem_p2p);
    if (g_rank > 0) assert_true(mem_p2p < 0.8 * mem_ag);
    if (g_rank == 0) {
        aisle_config *cfg = config(5);
        aisle_dataset *ds;
        assert_ok(aisle_dataset_new(&ds));
        assert_ok(aisle_dataset_load(ds, path, cfg));
        aisle_model *one;
        assert_ok(aisle_model_train(ds, cfg, &one));
        double big = 0, d_ag = factor_diff(one, a, NULL), d_p2p = factor_diff(one, b, &big);
        printf("# %d rank(s): max |factor difference| all-gather %g, p2p %g (largest factor %g)\n", g_size, d_ag,
               d_p2p, big);
        assert_true(d_ag == 0);
        /* one rank sums one part: the one-process Gram call itself */
        if (g_size == 1) assert_true(d_p2p == 0);
        assert_true(d_p2p <= P2P_BOUND);
        aisle_model_free(one);
        aisle_dataset_free(ds);
        aisle_config_free(cfg);
    }
    aisle_model_free(a);
    aisle_model_free(b);
}

/* Owner of row r of n over p ranks (the blocks of src/dist). */
static int owner(size_t r, size_t n, int p) { return (int)((uint64_t)r * (uint64_t)p / n); }

/* The bytes docs/SCALING.md says rank r sends per epoch, counted from the
 * one-process history (every pair here has a positive weight): p2p, the
 * own rows each other rank needs, two ordered sums of the d x d Gram
 * matrix and the loss sums; all-gather, the own rows to every other rank
 * and the loss sums. */
static void expected_bytes(const aisle_model *one, int p, uint32_t d, double *p2p, double *ag) {
    const data_csr *h = &one->history;
    size_t nu = one->users.n, ni = one->items.n;
    /* rows of each owner wanted by each other rank, without repeats:
     * user u (of rank owner(u)) goes to every rank owning one of its items;
     * item i goes to every rank owning one of its users */
    unsigned char *item_to = calloc(ni * (size_t)p, 1);
    assert_non_null(item_to);
    for (int r = 0; r < p; r++) p2p[r] = ag[r] = 0;
    for (size_t u = 0; u < nu; u++) {
        unsigned char user_to[64] = {0};
        assert_true(p <= 64);
        for (size_t k = h->indptr[u]; k < h->indptr[u + 1]; k++) {
            assert_true(h->values[k] > 0);
            int qi = owner(h->indices[k], ni, p), qu = owner(u, nu, p);
            if (qi != qu && !user_to[qi]) user_to[qi] = 1, p2p[qu] += 4.0 * d;
            unsigned char *to = &item_to[(size_t)h->indices[k] * p + qu];
            if (qi != qu && !*to) *to = 1, p2p[qi] += 4.0 * d;
        }
    }
    free(item_to);
    double loss = p > 1 ? 2.0 * (p - 1) / p * 2 * sizeof(double) : 0;
    size_t g = (size_t)d * d;
    for (int r = 0; r < p; r++) {
        size_t mine = g / p + (g % p > (size_t)r ? 1 : 0); /* rank r's part of each Gram sum */
        double own_rows = (double)(model_part_lo((uint32_t)nu, p, r + 1) - model_part_lo((uint32_t)nu, p, r)) +
                          (model_part_lo((uint32_t)ni, p, r + 1) - model_part_lo((uint32_t)ni, p, r));
        if (p > 1) p2p[r] += 2 * 4.0 * ((double)(g - mine) + (double)mine * (p - 1));
        p2p[r] += loss;
        ag[r] = own_rows * d * 4 * (p - 1) + loss;
    }
}

static void test_p2p_bytes_per_epoch_match_the_formula(void **state) {
    (void)state;
    char path[600];
    make_data(path, sizeof path, "bytes.csv", 300, 500, 4);
    double sent_p2p = 0, sent_ag = 0;
    aisle_model *a = train(path, "allgather", 3, NULL, &sent_ag, NULL);
    aisle_model *b = train(path, "p2p", 3, NULL, &sent_p2p, NULL);
    double want_p2p[64], want_ag[64];
    if (g_rank == 0) {
        assert_true(g_size <= 64);
        expected_bytes(b, g_size, ((const model_factors *)b->state)->dim, want_p2p, want_ag);
    }
    MPI_Bcast(want_p2p, g_size, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Bcast(want_ag, g_size, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    printf("# %d rank(s), rank %d: bytes per epoch p2p %.0f (formula %.0f), all-gather %.0f (formula %.0f)\n", g_size,
           g_rank, sent_p2p, want_p2p[g_rank], sent_ag, want_ag[g_rank]);
    assert_true(fabs(sent_p2p - want_p2p[g_rank]) < 0.5);
    assert_true(fabs(sent_ag - want_ag[g_rank]) < 0.5);
    if (g_size > 1) assert_true(sent_p2p > 0);
    aisle_model_free(a);
    aisle_model_free(b);
}

/* auto: p2p where it sends at most half the all-gather's rows (sparse
 * data at several ranks), else the all-gather; a bad value fails on every
 * rank. */
static void test_p2p_auto_rule_and_bad_mode(void **state) {
    (void)state;
    char sparse[600], dense[600];
    make_data(sparse, sizeof sparse, "sparse.csv", 600, 3000, 2);
    make_data(dense, sizeof dense, "dense.csv", 60, 20, 30);
    int p2p = -1;
    aisle_model *m = train(sparse, NULL, 1, &p2p, NULL, NULL);
    assert_int_equal(p2p, g_size >= 2 ? 1 : 0);
    aisle_model_free(m);
    m = train(dense, "auto", 1, &p2p, NULL, NULL);
    assert_int_equal(p2p, 0);
    aisle_model_free(m);
    /* rank 0's setting decides for every rank */
    set_mode(g_rank == 0 ? "ring" : "p2p");
    aisle_config *cfg = config(1);
    aisle_dist_data *d;
    assert_ok(aisle_dist_load(&d, dense, cfg));
    assert_status_msg(aisle_dist_train(d, cfg, NULL, 0, &m), AISLE_EINVAL, "AISLE_DIST_EXCHANGE=ring");
    assert_non_null(strstr(aisle_last_error(), "rank 0: "));
    assert_null(m);
    aisle_dist_data_free(d);
    aisle_config_free(cfg);
    set_mode(NULL);
}

/* p2p gathers the factors to rank 0 for checkpoints only; resuming
 * scatters each rank its rows and ends with the uninterrupted model. */
static void test_p2p_checkpoint_resume_equals_uninterrupted(void **state) {
    (void)state;
    char path[600], ckpt[600];
    make_data(path, sizeof path, "ckpt.csv", 250, 400, 3);
    data_path(ckpt, sizeof ckpt, "p2p.ckpt");
    if (g_rank == 0) unlink(ckpt);
    set_mode("p2p");
    aisle_config *full = config(4), *part = config(2);
    aisle_dist_data *d;
    assert_ok(aisle_dist_load(&d, path, full));
    aisle_model *a = NULL, *b = NULL, *tmp = NULL;
    assert_ok(aisle_dist_train(d, full, NULL, 0, &a));
    assert_ok(aisle_dist_train(d, part, ckpt, 1, &tmp));
    aisle_model_free(tmp);
    assert_ok(aisle_dist_train(d, full, ckpt, 2, &b));
    assert_int_equal(d->als_p2p, 1);
    if (g_rank == 0) assert_true(factor_diff(a, b, NULL) == 0);
    aisle_model_free(a);
    aisle_model_free(b);
    aisle_dist_data_free(d);
    aisle_config_free(full);
    aisle_config_free(part);
    set_mode(NULL);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p2p_equals_one_process_within_bound),
        cmocka_unit_test(test_p2p_bytes_per_epoch_match_the_formula),
        cmocka_unit_test(test_p2p_auto_rule_and_bad_mode),
        cmocka_unit_test(test_p2p_checkpoint_resume_equals_uninterrupted),
    };
    return tm_main(&argc, &argv, "mpip2p", tests, sizeof tests / sizeof tests[0]);
}
