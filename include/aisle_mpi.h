/*
 * aisle_mpi.h - distributed training over MPI (libaisle_mpi, `make MPI=1`).
 *
 * The ordinary library (libaisle, aisle.h) never links MPI.  `make MPI=1`
 * builds libaisle_mpi: every call of libaisle plus the aisle_dist_* calls
 * below, linked against OpenMPI.  Programs using it are started by
 * `mpirun -np N program ...`; every rank runs the same calls in the same
 * order (they are collective: a rank that skips one makes the others wait).
 *
 * Data: each rank loads its own shard of the events (aisle_dist_load), so
 * no rank ever holds every event.  The key dictionaries are merged by a
 * distributed hash of the keys, and every rank ends with the same user and
 * item indices, in the order one process loading the whole input would
 * give them (first appearance).  Training (aisle_dist_train) partitions
 * users and items over the ranks; rank 0 receives an ordinary model that
 * aisle_model_save writes and plain libaisle loads.
 *
 * Errors: a call fails on every rank together.  When one rank fails (a bad
 * row in its shard, a full disk), all return the same code and
 * aisle_last_error() on each reads "rank R: <that rank's message>".  A rank
 * that dies (killed, crashed) ends the whole job: mpirun reports the rank
 * and its signal and stops the others.
 *
 * Threads: MPI is called only from the thread that called aisle_dist_init;
 * the `threads` option sets each rank's worker threads as in one process.
 * A handle belongs to one thread.
 */
#ifndef AISLE_MPI_H
#define AISLE_MPI_H

#include "aisle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts MPI (MPI_Init_thread, funneled) unless the program already did.
 * argc/argv may be NULL.  Returns AISLE_OK or AISLE_EIO (MPI failed to
 * start). */
AISLE_API int aisle_dist_init(int *argc, char ***argv);

/* Ends MPI if aisle_dist_init started it.  Returns AISLE_OK or AISLE_EIO. */
AISLE_API int aisle_dist_finalize(void);

/* This process's rank and the number of ranks (either may be NULL).
 * Returns AISLE_OK or AISLE_EINVAL (MPI not started). */
AISLE_API int aisle_dist_rank(int *rank, int *size);

/* A rank's shard of the events plus the merged key dictionaries. */
typedef struct aisle_dist_data aisle_dist_data;

/* Collective.  Loads this rank's shard of `path` with cfg's input options
 * (columns, delimiter, header, lenient, event weights, ...: as
 * aisle_dataset_load):
 *   - a directory: its files named part-* (sorted by name) are dealt out
 *     in contiguous runs, rank r taking files [r n / N, (r+1) n / N);
 *   - a file: rank r reads bytes [r size / N, (r+1) size / N) moved to
 *     line starts, so every line is read by exactly one rank.  A header
 *     line is given to every rank.  Plain text only (no gzip), and quoted
 *     fields must not contain line breaks.
 * Then merges the key dictionaries.  *out is set on every rank.
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument, MPI not started, gzip
 * file), AISLE_ENOTFOUND (no such file, no part-* in the directory),
 * AISLE_EIO, AISLE_EFORMAT (a bad row: the message names the file and its
 * line in the whole file), AISLE_ENOMEM, AISLE_ERANGE (more than 2^31
 * bytes to exchange with one rank) -- the same code on every rank. */
AISLE_API int aisle_dist_load(aisle_dist_data **out, const char *path, const aisle_config *cfg);

/* Frees d (NULL is a no-op).  Not collective. */
AISLE_API void aisle_dist_data_free(aisle_dist_data *d);

/* Global counts of the loaded data (any may be NULL): users and items of
 * the merged dictionaries, and events over all ranks.  AISLE_OK or
 * AISLE_EINVAL. */
AISLE_API int aisle_dist_data_counts(const aisle_dist_data *d, size_t *users, size_t *items, size_t *events);

/* Collective.  Trains a model of cfg's kind on the distributed data.
 * Kinds: als (users and items partitioned over the ranks; with the
 * factor rows all-gathered the model is bit-identical to one process's
 * aisle_model_train on the whole input, for any rank count; with the
 * point-to-point exchange, which sends each rank only the rows its own
 * rows touch and keeps no rank's memory at the whole matrices, it equals
 * it within rounding of the Gram matrix (bound and rule in
 * docs/SCALING.md).  The environment variable AISLE_DIST_EXCHANGE, read
 * on rank 0, picks: allgather, p2p, or auto (unset: p2p when it sends at
 * most half the all-gather's rows); another value fails with
 * AISLE_EINVAL) and
 * sasrec (synchronous data parallelism: every rank holds the events and a
 * replica of the network, each step's global batch -- the one process's
 * batch -- is split over the ranks and the gradients summed in rank order;
 * bit-identical at one rank, equal to float rounding carried through
 * AdamW at more, with dropout masks drawn per rank: docs/SCALING.md),
 * bpr (data-parallel epochs, the ranks' changes summed after each) and mf
 * (DSGD: rank r owns user block r and item blocks rotate round the ranks;
 * bit-identical to one process at one rank, the same convergence within
 * the tolerance docs/SCALING.md measures at more).
 * checkpoint (every kind; NULL: none) names a file rank 0 writes
 * atomically after every checkpoint_every-th epoch and the last (0:
 * never); when that file exists at the start and matches the kind, data,
 * options (and for bpr, mf and sasrec the rank count), training resumes
 * after the epoch it holds and ends with the same model as an
 * uninterrupted run, byte for byte (docs/SCALING.md "Checkpoint and
 * restart").
 * On rank 0 *out receives the model (free with aisle_model_free); on the
 * other ranks *out is NULL.  Returns AISLE_OK, AISLE_EINVAL (NULL
 * argument, bad option, empty data), AISLE_EUNSUPPORTED (another kind),
 * AISLE_EFORMAT (a checkpoint that is not one, is damaged, or does not
 * match: the message names the differing field),
 * AISLE_EIO, AISLE_ENOMEM, AISLE_ECANCELLED (rank 0's progress callback
 * asked to stop) -- the same code on every rank. */
AISLE_API int aisle_dist_train(const aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint,
                               int checkpoint_every, aisle_model **out);

/* Bytes this rank sent to other ranks in the last aisle_dist_train, and
 * how many of them per epoch (als: the steady-state exchange of factors;
 * sasrec: the last epoch's gradient sums; bpr, mf: the mean over the
 * epochs, without the dataset's gather).  AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_dist_train_bytes(const aisle_dist_data *d, double *total, double *per_epoch);

/* Collective.  Trains an intent model (aisle_text_train, option
 * architecture=transformer) with synchronous data parallelism: every rank
 * passes the same texts (each loads the whole corpus; a hash check fails
 * every rank with AISLE_EINVAL naming the first rank whose texts differ
 * from rank 0's) and the same options.  Each optimizer step takes the
 * one-process global batch (batch_size texts), rank r of P computes texts
 * [r B / P, (r + 1) B / P) of it, and the gradients are summed in rank
 * order before every rank takes the same AdamW step; masked tokens and
 * dropout masks belong to the text, not the rank.  At one rank the model
 * is one process's byte for byte; at more it equals it to float rounding
 * of the gradient's sum carried through the steps (bound in
 * docs/SCALING.md).  A rank whose loading failed passes t NULL: every rank
 * then fails with AISLE_EINVAL instead of waiting for it.  On rank 0 *out
 * receives the model (an ordinary intent model; free with
 * aisle_model_free), elsewhere NULL; *bytes_sent (may be NULL): the bytes
 * this rank sent to the others.  Returns AISLE_OK, AISLE_EINVAL (NULL out
 * -- a caller bug, not agreed --, NULL texts, bad option, texts that
 * differ between ranks, texts aisle_text_train refuses), AISLE_EUNSUPPORTED
 * (another architecture; option teacher), AISLE_ENOMEM, AISLE_EIO,
 * AISLE_ECANCELLED (rank 0's progress callback asked to stop) -- the same
 * code on every rank. */
AISLE_API int aisle_dist_text_train(const aisle_texts *t, const aisle_config *cfg, aisle_model **out,
                                    double *bytes_sent);

/* Collective.  aisle_dist_text_train with checkpoints (NULL checkpoint:
 * exactly aisle_dist_text_train).  Rank 0 writes the file `checkpoint`
 * atomically after every checkpoint_every-th epoch and the last (0:
 * never; pre-training and fine-tuning epochs counted together, as the
 * progress callback counts them) with the training state: the weights,
 * the AdamW moments and step count, and during pre-training the
 * masked-token head's weights and moments too.  When that file exists at
 * the start and matches the texts and labels, every option of the intent
 * kind and its architecture, the seed and the rank count, rank 0 reads
 * it, every rank receives the state and training goes on after the epoch
 * it holds -- in pre-training or in fine-tuning -- and ends with the same
 * model as an uninterrupted run with the same options and rank count,
 * byte for byte (calibration runs after training, replicated).  A rank
 * that dies ends the job (mpirun names it); the same command then
 * resumes from the last checkpoint (docs/SCALING.md "Checkpoint and
 * restart").  The progress callback reports the resumed run's epochs with
 * their numbers in the whole run.  Threads: as aisle_dist_text_train.
 * Returns aisle_dist_text_train's statuses, plus AISLE_EINVAL
 * (checkpoint_every < 0) and AISLE_EFORMAT (the file is not a
 * checkpoint, is damaged, or was written for other texts, options or
 * rank count: the message names the differing field, e.g. "field
 * 'learning_rate' differs"; remove the file or give another path) -- the
 * same code on every rank.  A file that cannot be written fails with
 * AISLE_EIO on every rank and leaves the previous checkpoint whole. */
AISLE_API int aisle_dist_text_train_checkpointed(const aisle_texts *t, const aisle_config *cfg, const char *checkpoint,
                                                 int checkpoint_every, aisle_model **out, double *bytes_sent);

/* Collective.  aisle_evaluate split over the ranks: every rank passes
 * the same model and test dataset (each loads them: both are small next
 * to the training events) and evaluates the users whose model index %
 * ranks == its rank; the sums, counts and recommended-item sets are then
 * combined, so every rank receives the one-process result (*out, free
 * with aisle_eval_result_free): counts exactly, metrics up to the order
 * of summing per-user values (relative 1e-12).  Returns aisle_evaluate's
 * statuses, the same on every rank. */
AISLE_API int aisle_dist_evaluate(const aisle_model *m, const aisle_dataset *test, const aisle_config *cfg,
                                  aisle_eval_result **out);

#ifdef __cplusplus
}
#endif

#endif /* AISLE_MPI_H */
