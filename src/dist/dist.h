/*
 * dist.h - internal interface of the dist module: distributed training
 * over MPI, built only by `make MPI=1` into libaisle_mpi (public calls in
 * include/aisle_mpi.h).  A layer above models and eval: it drives the als
 * kind's row solver (models.h, model_als_solve_rows) on each rank's rows
 * and assembles an ordinary model on rank 0.
 *
 * Files: comm.c (agreement on errors, byte exchanges, traffic counts),
 * shard.c (a rank's shard and the merged key dictionaries), events.c
 * (events shuffled to the owners of their users and items, aggregated as
 * one process would; the whole dataset on every rank for sasrec), als.c
 * (distributed ALS), checkpoint.c (checkpoints of every kind), replica.c (the frame of the data-parallel
 * kinds and their gradient sums), bpr.c (data-parallel BPR epochs), mf.c (MF by DSGD block rotation), sasrec.c (data-parallel sasrec through
 * the kind's training hook, models.h model_sasrec_hook), text.c (the
 * intent kind's transformer, data parallel through nn.h nn_dp_hook), eval.c
 * (distributed evaluation over eval_part_run), api.c (the other public
 * calls).
 *
 * Every MPI call is made from the thread that started MPI; compute inside
 * a rank uses core_parallel_for as in one process.
 */
#ifndef AISLE_DIST_H
#define AISLE_DIST_H

#include "aisle_mpi.h"
#include "models/models.h"

#include <mpi.h>

/* ---- comm.c ----
 * The rule every collective here and in its callers keeps: a local step
 * that can fail (an allocation, a range check, a read) is agreed on
 * (dist_agree) before the next collective or message, so a rank that
 * fails -- out of memory on one machine -- never leaves the others waiting
 * in a collective it will not enter.  The helpers agree on their own
 * allocations; the "local status" they return is an MPI failure or one
 * already agreed, and callers agree on it before going on.  Tested by
 * failing each allocation of one rank in turn (tests/mpi/test_dist.c). */

typedef struct dist_comm {
    MPI_Comm comm;
    int rank, size;
    double bytes_sent; /* to other ranks, counted by the helpers below */
} dist_comm;

/* Fills c from MPI_COMM_WORLD (errors returned, not fatal).  AISLE_OK or
 * AISLE_EINVAL when MPI is not running. */
int dist_comm_world(dist_comm *c);
/* Collective: every rank passes its local status; returns AISLE_OK when
 * all are OK, else on every rank the status of the lowest failing rank
 * with its message prefixed "rank R: ". */
int dist_agree(dist_comm *c, int rc);
/* Collective exchange of byte buffers: send[r] bytes (send_counts[r]) go
 * to rank r; *recv (core_malloc'd, free with core_free) receives
 * recv_counts[r] bytes from each rank r, in rank order (recv_counts sized
 * c->size, filled).  Its allocations and count checks are agreed on
 * inside (AISLE_ENOMEM, AISLE_ERANGE when a count exceeds INT_MAX, on
 * every rank); AISLE_EIO (MPI error) is local: agree afterwards. */
int dist_alltoallv(dist_comm *c, const void *send, const size_t *send_counts, void **recv, size_t *recv_counts);
/* MPI_Allgatherv of floats: each rank's n_mine floats (counts[r] for rank
 * r, offsets by prefix sum) into all (mine may be all's own part: in
 * place).  AISLE_OK, AISLE_ENOMEM or AISLE_ERANGE (agreed inside), or
 * AISLE_EIO. */
int dist_allgather_f(dist_comm *c, const float *mine, const size_t *counts, float *all);
/* Sum-allreduce in place of n floats / doubles.  AISLE_OK or AISLE_EIO. */
int dist_allreduce_f(dist_comm *c, float *v, size_t n);
int dist_allreduce_d(dist_comm *c, double *v, size_t n);
/* Gathers each rank's counts[r] floats to rank 0's all (NULL elsewhere).
 * Statuses as dist_allgather_f. */
int dist_gather_f(dist_comm *c, const float *mine, const size_t *counts, float *all);
/* Rank 0's all (counts[r] floats for rank r, in rank order) dealt out:
 * each rank receives its part in mine.  Statuses as dist_gather_f. */
int dist_scatter_f(dist_comm *c, const float *all, const size_t *counts, float *mine);
/* Bytes: broadcast n bytes from rank 0. */
int dist_bcast(dist_comm *c, void *data, size_t n);
/* All-gather of byte buffers: each rank's n bytes, in rank order, into
 * *all (core_malloc'd; *total bytes).  Local status: AISLE_ERANGE (more
 * than INT_MAX bytes in all), AISLE_ENOMEM, AISLE_EIO. */
int dist_allgather_bytes(dist_comm *c, const void *mine, size_t n, void **all, size_t *total);
/* Sum over ranks in place of n floats in a fixed order (rank 0's value,
 * plus rank 1's, ...), whatever MPI's algorithms: every rank receives the
 * same bits, and one rank's sum is its own values.  A reduce-scatter by
 * point-to-point messages then an all-gather: 2 (P-1)/P n floats sent per
 * rank, as a ring all-reduce.  scratch: n + size floats.  Local status:
 * AISLE_ERANGE, AISLE_ENOMEM, AISLE_EIO. */
int dist_sum_ordered(dist_comm *c, float *v, size_t n, float *scratch);
/* Point to point: n_send floats to rank `to` while n_recv floats arrive
 * from rank `from` (MPI_Sendrecv; both sides must call).  AISLE_OK,
 * AISLE_ERANGE or AISLE_EIO. */
int dist_sendrecv_f(dist_comm *c, const float *send, size_t n_send, int to, float *recv, size_t n_recv, int from);
/* Bitwise-or over ranks in place of n bytes.  AISLE_OK, AISLE_ERANGE or
 * AISLE_EIO. */
int dist_or_bytes(dist_comm *c, unsigned char *v, size_t n);
/* Point-to-point exchange of factor rows (als.c, docs/SCALING.md): the
 * rows of a matrix of n rows (block-partitioned, dist_lo) that a rank
 * needs go to it from their owners, and nothing else.  Built once: each
 * rank sends every owner the list of its rows it needs; the owner keeps
 * the list (give) as one MPI indexed type per asking rank, so an exchange
 * sends the rows straight from the owner's matrix (no packing buffer),
 * one message per pair of ranks that share rows. */
typedef struct dist_row_plan {
    uint32_t dim;
    size_t size;      /* ranks */
    size_t n_need;    /* rows of the compact buffer (own block included) */
    size_t own_at;    /* where the own block starts in it */
    size_t n_give;    /* rows sent to other ranks per exchange */
    uint32_t *give;   /* own-block indices of the rows to send, by rank */
    size_t *rows;     /* per rank: first row in the buffer, rows received, rows sent */
    MPI_Datatype *send_type;
    MPI_Request *req;
} dist_row_plan;
/* Collective.  need: the n_need distinct rows (ascending, < n) this rank
 * needs, its whole own block included.  The compact buffer (n_need x dim
 * floats, row k = row need[k]) then holds the own block at own_at, in
 * place: dist_row_exchange fills the rest.  Agreed inside: AISLE_OK,
 * AISLE_ENOMEM, AISLE_ERANGE (more than INT_MAX floats in one message),
 * AISLE_EINVAL (need without the own block, or a row asked of a rank that
 * does not own it: caller bugs), AISLE_EIO. */
int dist_row_plan_build(dist_comm *c, uint32_t n, const uint32_t *need, size_t n_need, uint32_t dim,
                        dist_row_plan *plan);
/* Collective.  Sends the rows of own (this rank's block: the buffer's own
 * part) that each other rank needs and receives the other ranks' rows
 * into needed.  Bytes counted: the rows sent.  AISLE_OK or AISLE_EIO
 * (local: agree afterwards). */
int dist_row_exchange(dist_comm *c, dist_row_plan *plan, const float *own, float *needed);
void dist_row_plan_free(dist_row_plan *plan);
/* An MPI failure as a status with the MPI error text. */
int dist_mpi_error(int mpi_rc, const char *what);

/* Contiguous block partition of n rows over size ranks: rank r owns
 * [dist_lo(n, size, r), dist_lo(n, size, r + 1)). */
static inline uint32_t dist_lo(uint32_t n, int size, int r) { return model_part_lo(n, size, r); }
static inline int dist_owner(uint32_t n, int size, uint32_t row) {
    return (int)(((uint64_t)row * (uint64_t)size) / (uint64_t)n);
}

/* ---- shard.c ---- */

struct aisle_dist_data {
    dist_comm comm;
    aisle_dataset *local;        /* this rank's shard, local dictionaries */
    uint32_t *user_map, *item_map; /* local index -> global index */
    core_keys users, items;      /* merged dictionaries (same on every rank) */
    uint64_t events_before;      /* events of lower ranks (arrival order) */
    uint64_t events_total;
    double train_bytes, epoch_bytes; /* traffic of the last training */
    /* als's last training: the factor exchange used (1: point to point,
     * 0: all-gather) and the bytes of factor rows this rank held */
    int als_p2p;
    double als_factor_bytes;
};

/* ---- events.c ---- */

/* A rank's rows of the aggregated history: users [lo, lo + csr.rows) with
 * global item indices (by user), or the reverse (by item). */
typedef struct dist_rows {
    uint32_t lo;
    data_csr csr;
} dist_rows;

/* Collective.  Shuffles the events to the owners of their users and
 * aggregates each (user, item) pair exactly as one process's dataset view
 * does (arrival order over the whole input), giving this rank's rows of
 * the raw history (values as summed; rows sorted).  Local status. */
int dist_user_history(aisle_dist_data *d, dist_rows *out);
/* Collective.  From the raw history rows: the ruled weights (weights.c:
 * pairs netting <= 0 dropped, rule applied) by user, and the same pairs
 * sent to the owners of their items, by item (users ascending).  Only
 * indptr, indices and values are set. */
int dist_ruled_views(aisle_dist_data *d, const dist_rows *hist, const model_weight_rule *rule, dist_rows *by_user,
                     dist_rows *by_item);
/* Collective.  Gathers the raw history rows to rank 0 as one users x items
 * CSR (*all on rank 0 only).  Local status. */
int dist_gather_history(aisle_dist_data *d, const dist_rows *hist, data_csr *all);

/* Collective.  Every rank's events, in the order one process reads them,
 * as a dataset over the merged dictionaries on every rank (*out, free with
 * aisle_dataset_free): its views, sequences and history equal one
 * process's bit for bit.  Non-rating events carry their weighted value
 * (event weight x value) under one type of weight 1.  Local status. */
int dist_gather_dataset(aisle_dist_data *d, aisle_dataset **out);

/* ---- checkpoint.c ---- */

/* A run's checkpoint: where, how often, its fingerprint fields, and the
 * hook a kind's training loop calls (k->hook, ctx k). */
typedef struct dist_ckpt {
    dist_comm *c;
    const aisle_config *cfg;
    const char *path; /* NULL: no checkpoints */
    int every;        /* write after every every-th epoch and the last; 0: never write */
    const char *kind;
    uint64_t max_done; /* a checkpoint past this many epochs is refused */
    model_ckpt_field fields[MODEL_CKPT_MAX_FIELDS];
    size_t n_fields;
    int overflow;     /* more fields than fit (refused on load) */
    int *agreed;      /* the job's flag: set when an agreement failed every rank */
    bool root_only;   /* load fills rank 0's parts only (the caller distributes them) */
    model_ckpt_hook hook;
} dist_ckpt;
/* Starts k with the field "kind". */
void dist_ckpt_init(dist_ckpt *k, dist_comm *c, const aisle_config *cfg, const char *path, int every,
                    const char *kind, int *agreed);
/* Adds a fingerprint field (name must outlive k). */
void dist_ckpt_field(dist_ckpt *k, const char *name, uint64_t value);
/* One field per option of table (its value in k->cfg) except those
 * named in skip (NULL-terminated, or NULL). */
void dist_ckpt_table(dist_ckpt *k, const option_spec *table, const char *const *skip);
/* The field "seed" (the global option). */
void dist_ckpt_seed(dist_ckpt *k);
/* dist_ckpt_table, then "seed", "weight_scale" and "weight_cap". */
void dist_ckpt_options(dist_ckpt *k, const option_spec *table, const char *const *skip);
/* The fingerprint of a kind trained on replicas (bpr, mf, sasrec): the
 * rank count, the keys, the history of m and its kind's options but skip. */
void dist_ckpt_replica(dist_ckpt *k, const aisle_model *m, const char *const *skip);
/* FNV-1a hashes of a key dictionary and of a CSR's structure and values. */
uint64_t dist_ckpt_keys_hash(const core_keys *keys);
uint64_t dist_ckpt_csr_hash(const data_csr *m);
/* Collective.  Opens with an agreement (meets a rank that failed before);
 * with a path, rank 0 reads the checkpoint there if the file exists (it
 * must match k's kind and fields and the parts' names and sizes, and
 * have at most k->max_done epochs), then every rank receives *done and,
 * when it is not 0, every part (unless k->root_only: then only rank 0's
 * parts are filled, and the other ranks' part pointers may be NULL).  AISLE_OK (*done 0: start afresh), or on
 * every rank AISLE_EFORMAT (damaged, another run's: the message names the
 * field), AISLE_ENOMEM, AISLE_EIO. */
int dist_ckpt_load(dist_ckpt *k, const model_ckpt_part *parts, size_t n, uint64_t *done);
/* Collective.  Opens with an agreement like dist_ckpt_load; with a path,
 * rank 0 reads the progress counter of the checkpoint there (a file of
 * at most max_bytes; nothing else is checked: dist_ckpt_load does) and
 * every rank receives it in *done (0: no file).  For a kind whose parts
 * depend on how far the run got (the text encoder's stages).  AISLE_OK,
 * or on every rank AISLE_EFORMAT (not a checkpoint, damaged, too large),
 * AISLE_ENOMEM, AISLE_EIO. */
int dist_ckpt_peek(dist_ckpt *k, uint64_t max_bytes, uint64_t *done);
/* Collective.  After `done` epochs: rank 0 writes the parts atomically
 * when done is a multiple of k->every or last; agreed.  Then the kill
 * test hook (AISLE_DIST_KILL) for epoch done + 1. */
int dist_ckpt_store(dist_ckpt *k, const model_ckpt_part *parts, size_t n, uint64_t done, bool last);
/* AISLE_DIST_KILL=R:E: rank R raises SIGKILL at the start of epoch E. */
void dist_kill_hook(int rank, int epoch);

/* ---- als.c ---- */

/* Collective.  Distributed ALS (aisle_dist_train for kind als). */
int dist_als_train(aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint, int every, aisle_model **out);

/* ---- replica.c ---- */

/* A kind's training on one replica: m initialised from the one-process
 * dataset ds; prog calls the caller's callback on rank 0 only. */
typedef int (*dist_replica_fn)(void *ctx, aisle_model *m, const aisle_dataset *ds, core_progress *prog);
/* Collective.  Gathers the dataset (dist_gather_dataset), initialises a
 * model of kind from it on every rank and runs train; then, unless
 * *agreed (a failed agreement inside training already reached every
 * rank), agrees on the outcome, which meets any rank still waiting in the
 * hook's next agreement.  Rank 0 receives the model in *out. */
int dist_replica_train(aisle_dist_data *d, const aisle_config *cfg, const char *kind, dist_replica_fn train,
                       void *ctx, const int *agreed, aisle_model **out);

/* The gradient exchange of the synchronous data-parallel kinds (sasrec,
 * the text encoder): one call per optimizer step on every rank. */
typedef struct dist_grad_sum {
    dist_comm *c;
    float *scratch;   /* the packed gradient, then dist_sum_ordered's and the gathered sums' */
    size_t scratch_n;
    int agreed;       /* an agreement already failed every rank */
    bool dense;       /* test hook AISLE_DIST_DENSE_SUM=1: sum lazy tables whole (dist_grad_sum_init) */
} dist_grad_sum;
/* An empty sum over c; reads the test hook AISLE_DIST_DENSE_SUM. */
dist_grad_sum dist_grad_sum_init(dist_comm *c);
/* Collective.  Opens with an agreement (meets a rank that failed since
 * the last step, or left training), or-s touched (NULL: none), then sums
 * each of the n_grads arrays (grads[k] of n[k] floats) over the ranks in
 * rank order (dist_sum_ordered: every rank gets the same bits) and adds
 * sums[0..n_sums) in rank order; closes with an agreement.  With
 * rows.width (and touched), grads[0] holds a lazily updated table there:
 * only its rows some rank touched travel (packed after the values before
 * the table, before those after it, the same layout on every rank since
 * the flags are or-ed first), each value still summed in rank order, so
 * the result is the dense sum's bit for bit; untouched rows are left as
 * they are.  AISLE_OK or the same error on every rank (g->agreed set). */
int dist_grad_sum_run(dist_grad_sum *g, float *const *grads, const size_t *n, size_t n_grads,
                      unsigned char *touched, size_t n_touched, nn_lazy_rows rows, double *sums, size_t n_sums);
void dist_grad_sum_free(dist_grad_sum *g);

/* ---- sasrec.c ---- */

/* Collective.  Synchronous data-parallel sasrec (aisle_dist_train for kind
 * sasrec). */
int dist_sasrec_train(aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint, int every,
                      aisle_model **out);

/* ---- text.c ---- */

/* Collective.  Synchronous data-parallel training of an intent model of
 * architecture transformer (aisle_dist_text_train).  *bytes: what this
 * rank sent. */
int dist_text_train(const aisle_texts *t, const aisle_config *cfg, const char *checkpoint, int every,
                    aisle_model **out, double *bytes);

/* ---- mf.c ---- */

/* Collective.  MF by DSGD block rotation (aisle_dist_train for kind mf):
 * rank r owns user block r and passes item blocks round the ring. */
int dist_mf_train(aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint, int every, aisle_model **out);

/* ---- bpr.c ---- */

/* Collective.  Data-parallel BPR epochs, the ranks' changes summed after
 * each (aisle_dist_train for kind bpr). */
int dist_bpr_train(aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint, int every, aisle_model **out);

#endif /* AISLE_DIST_H */
