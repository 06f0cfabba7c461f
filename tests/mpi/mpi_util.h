/* mpi_util.h - scaffolding shared by the MPI suites (tests/mpi/test_*.c,
 * linked into each by the Makefile): start-up, the scratch directory every
 * rank shares, and model comparisons. */
#ifndef AISLE_MPI_UTIL_H
#define AISLE_MPI_UTIL_H

#include "dist/dist.h"

#include "util/test_util.h"

extern int g_rank, g_size;
extern char g_dir[512]; /* made by rank 0, known to every rank */

/* The suite's main: starts MPI, learns rank and size, runs the n tests
 * (filtered by AISLE_TEST_FILTER) after making the scratch directory
 * tests/tmp/<dir>..., ends MPI.  Returns the process status. */
int tm_main(int *argc, char ***argv, const char *dir, const struct CMUnitTest *tests, size_t n);
/* g_dir/name into out. */
void tm_path(char *out, size_t len, const char *name);
/* Max |difference| of two factor models' user and item factors (same
 * shapes asserted); *largest (may be NULL): the largest |factor| of a. */
double tm_factor_diff(const aisle_model *a, const aisle_model *b, double *largest);

/* A local status agreed over every rank (dist_agree). */
int tm_agree(int rc);
/* Every allocation point of the last rank fails once in turn while step
 * runs on every rank; all ranks must return the same status (AISLE_OK or
 * AISLE_ENOMEM), leak nothing, never hang.  Every point at one rank,
 * every 10th at more (AISLE_MPI_OOM_STRIDE, AISLE_MPI_OOM_FIRST). */
void tm_sweep_one_rank(int (*step)(const char *, const char *), const char *name, const char *train,
                       const char *test);

/* Both models saved to buffers must be the same bytes (what: for the
 * failure message). */
void tm_same_model_bytes(const aisle_model *a, const aisle_model *b, const char *what);
/* The bytes of a file (malloc'd: free with free). */
unsigned char *tm_file_bytes(const char *path, size_t *len);
/* On rank 0, cfg's progress callback stops training (AISLE_ECANCELLED on
 * every rank) at its n-th call from now; n 0 removes it. */
void tm_stop_after(aisle_config *cfg, int n);

/* Checkpoint and resume, for any distributed training: train(ctx, cfg,
 * checkpoint, every, &model) is one collective run. */
typedef int (*tm_train_fn)(void *ctx, const aisle_config *cfg, const char *checkpoint, int every, aisle_model **out);
/* Trains `options` uninterrupted; then with a checkpoint (g_dir/<name>.ckpt)
 * every `every` epochs, stopped by rank 0's progress callback at its
 * `stop_after`-th call (AISLE_ECANCELLED on every rank); then the same
 * call again, which resumes: rank 0's model must equal the uninterrupted
 * one byte for byte.  Then every rank refuses the checkpoint under
 * `other` (options added; the message names `field`), damaged, or not a
 * checkpoint at all. */
void tm_check_resume(const char *name, tm_train_fn train, void *ctx, const char *options, int every, int stop_after,
                     const char *other, const char *field);

/* One collective training run of `options`: rank 0's model in *out,
 * what this rank sent in *bytes. */
typedef int (*tm_bytes_train_fn)(void *ctx, const aisle_config *cfg, aisle_model **out, double *bytes);
/* The sparse gradient sum (only touched rows of a lazily updated table)
 * against the dense one (test hook AISLE_DIST_DENSE_SUM=1): rank 0's
 * models must be the same bytes; at more than one rank every rank must
 * send fewer bytes with the sparse sum (so it did run).  *sparse_bytes,
 * *dense_bytes (may be NULL): this rank's. */
void tm_check_sparse_sum(const char *name, tm_bytes_train_fn train, void *ctx, const char *options,
                         double *sparse_bytes, double *dense_bytes);
#endif
