/* comm.c - the few MPI patterns distributed training needs, with aisle
 * statuses instead of MPI's abort-on-error, and a count of bytes sent. */
#include "dist.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

int dist_mpi_error(int mpi_rc, const char *what) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(mpi_rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", mpi_rc);
    return core_error(AISLE_EIO, "%s: %s", what, text);
}

int dist_comm_world(dist_comm *c) {
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (!up || down) return core_error(AISLE_EINVAL, "MPI is not running: call aisle_dist_init first (and start under mpirun)");
    memset(c, 0, sizeof *c);
    c->comm = MPI_COMM_WORLD;
    /* report failures as statuses; a rank that dies still ends the job
     * through mpirun */
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    return AISLE_OK;
}

enum { AGREE_MSG = 1024 };

int dist_agree(dist_comm *c, int rc) {
    /* the lowest failing rank speaks for all: its status and message */
    int mine = rc ? c->rank : c->size, first = c->size;
    int m = MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, c->comm);
    if (m != MPI_SUCCESS) return dist_mpi_error(m, "agreeing on a status");
    if (first == c->size) return AISLE_OK;
    struct {
        int rc;
        char msg[AGREE_MSG];
    } what;
    memset(&what, 0, sizeof what);
    if (c->rank == first) {
        what.rc = rc;
        snprintf(what.msg, sizeof what.msg, "%s", aisle_last_error());
    }
    m = MPI_Bcast(&what, (int)sizeof what, MPI_BYTE, first, c->comm);
    if (m != MPI_SUCCESS) return dist_mpi_error(m, "sharing an error");
    /* a message already prefixed by an earlier agreement keeps its rank */
    if (strncmp(what.msg, "rank ", 5) == 0) return core_error(what.rc, "%s", what.msg);
    return core_error(what.rc, "rank %d: %s", first, what.msg);
}

static int int_counts(const size_t *n, int size, int *out, int *displ, const char *what) {
    size_t off = 0;
    for (int r = 0; r < size; r++) {
        if (n[r] > INT_MAX || off > INT_MAX)
            return core_error(AISLE_ERANGE, "%s: more than %d bytes for one rank (use more ranks)", what, INT_MAX);
        out[r] = (int)n[r];
        if (displ) displ[r] = (int)off;
        off += n[r];
    }
    return AISLE_OK;
}

int dist_alltoallv(dist_comm *c, const void *send, const size_t *send_counts, void **recv, size_t *recv_counts) {
    int p = c->size, rc = AISLE_OK;
    int *sc = core_malloc(4 * (size_t)p * sizeof *sc);
    uint64_t *s64 = core_malloc(2 * (size_t)p * sizeof *s64);
    *recv = NULL;
    /* every local step that can fail is agreed on before the next
     * collective: a rank that left early would leave the others waiting */
    if ((rc = dist_agree(c, sc && s64 ? AISLE_OK : core_oom("exchange counts")))) {
        core_free(sc);
        core_free(s64);
        return rc;
    }
    int *sd = sc + p, *rcn = sc + 2 * p, *rd = sc + 3 * p;
    uint64_t *r64 = s64 + p;
    for (int r = 0; r < p; r++) s64[r] = send_counts[r];
    int m = MPI_Alltoall(s64, 1, MPI_UINT64_T, r64, 1, MPI_UINT64_T, c->comm);
    if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "exchanging counts");
    size_t total = 0;
    for (int r = 0; !rc && r < p; r++) recv_counts[r] = (size_t)r64[r], total += recv_counts[r];
    if (!rc) rc = int_counts(send_counts, p, sc, sd, "exchange");
    if (!rc) rc = int_counts(recv_counts, p, rcn, rd, "exchange");
    if (!rc && !(*recv = core_malloc(total ? total : 1))) rc = core_oom("exchange buffer");
    rc = dist_agree(c, rc);
    if (!rc) {
        m = MPI_Alltoallv(send, sc, sd, MPI_BYTE, *recv, rcn, rd, MPI_BYTE, c->comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "exchanging data");
    }
    if (!rc)
        for (int r = 0; r < p; r++)
            if (r != c->rank) c->bytes_sent += (double)send_counts[r];
    if (rc) {
        core_free(*recv);
        *recv = NULL;
    }
    core_free(sc);
    core_free(s64);
    return rc;
}

int dist_allgather_f(dist_comm *c, const float *mine, const size_t *counts, float *all) {
    int p = c->size;
    int *n = core_malloc(2 * (size_t)p * sizeof *n);
    int rc = dist_agree(c, n ? int_counts(counts, p, n, n + p, "all-gather") : core_oom("gather counts"));
    if (!rc) {
        /* own rows already in place (als.c solves them there) */
        const void *src = mine == all + n[p + c->rank] ? MPI_IN_PLACE : (const void *)mine;
        int m = MPI_Allgatherv(src, n[c->rank], MPI_FLOAT, all, n, n + p, MPI_FLOAT, c->comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "all-gathering factors");
        /* sent to each other rank (the algorithm may relay, this is the
         * payload every rank must receive) */
        else c->bytes_sent += (double)counts[c->rank] * sizeof(float) * (p - 1);
    }
    core_free(n);
    return rc;
}

int dist_gather_f(dist_comm *c, const float *mine, const size_t *counts, float *all) {
    int p = c->size;
    int *n = core_malloc(2 * (size_t)p * sizeof *n);
    int rc = dist_agree(c, n ? int_counts(counts, p, n, n + p, "gather") : core_oom("gather counts"));
    if (!rc) {
        int m = MPI_Gatherv(mine, n[c->rank], MPI_FLOAT, all, n, n + p, MPI_FLOAT, 0, c->comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "gathering factors");
        else if (c->rank) c->bytes_sent += (double)counts[c->rank] * sizeof(float);
    }
    core_free(n);
    return rc;
}

int dist_allreduce_f(dist_comm *c, float *v, size_t n) {
    if (n > INT_MAX) return core_error(AISLE_ERANGE, "all-reduce of %zu values", n);
    int m = MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, c->comm);
    if (m != MPI_SUCCESS) return dist_mpi_error(m, "summing over ranks");
    /* a ring all-reduce sends about 2 (p-1)/p of the vector per rank */
    c->bytes_sent += 2.0 * (double)(c->size - 1) / c->size * (double)n * sizeof(float);
    return AISLE_OK;
}

int dist_allreduce_d(dist_comm *c, double *v, size_t n) {
    if (n > INT_MAX) return core_error(AISLE_ERANGE, "all-reduce of %zu values", n);
    int m = MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, MPI_SUM, c->comm);
    if (m != MPI_SUCCESS) return dist_mpi_error(m, "summing over ranks");
    c->bytes_sent += 2.0 * (double)(c->size - 1) / c->size * (double)n * sizeof(double);
    return AISLE_OK;
}

int dist_bcast(dist_comm *c, void *data, size_t n) {
    unsigned char *p = data;
    while (n) { /* in pieces: MPI counts are int */
        int part = n > (size_t)1 << 30 ? 1 << 30 : (int)n;
        int m = MPI_Bcast(p, part, MPI_BYTE, 0, c->comm);
        if (m != MPI_SUCCESS) return dist_mpi_error(m, "broadcasting");
        if (c->rank == 0) c->bytes_sent += (double)part * (c->size - 1);
        p += part;
        n -= (size_t)part;
    }
    return AISLE_OK;
}

int dist_allgather_bytes(dist_comm *c, const void *mine, size_t n, void **all, size_t *total) {
    int p = c->size, rc = AISLE_OK;
    *all = NULL;
    *total = 0;
    uint64_t *n64 = core_malloc((size_t)p * sizeof *n64);
    int *cnt = core_malloc(2 * (size_t)p * sizeof *cnt);
    size_t *sz = core_malloc((size_t)p * sizeof *sz);
    if (!n64 || !cnt || !sz) rc = core_oom("gather counts");
    /* a rank that cannot take part must not leave the others waiting */
    rc = dist_agree(c, rc);
    uint64_t own = n;
    int m = rc ? MPI_SUCCESS : MPI_Allgather(&own, 1, MPI_UINT64_T, n64, 1, MPI_UINT64_T, c->comm);
    if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "gathering counts");
    for (int r = 0; !rc && r < p; r++) sz[r] = (size_t)n64[r], *total += sz[r];
    if (!rc) rc = int_counts(sz, p, cnt, cnt + p, "all-gather");
    if (!rc && !(*all = core_malloc(*total ? *total : 1))) rc = core_oom("all-gather buffer");
    rc = dist_agree(c, rc); /* the failing rank too: it must not skip the agreement */
    if (!rc) {
        m = MPI_Allgatherv(mine, (int)n, MPI_BYTE, *all, cnt, cnt + p, MPI_BYTE, c->comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "all-gathering");
        else c->bytes_sent += (double)n * (p - 1);
    }
    if (rc) {
        core_free(*all);
        *all = NULL;
    }
    core_free(n64);
    core_free(cnt);
    core_free(sz);
    return rc;
}

/* Rank r owns values [chunk_lo(r), chunk_lo(r + 1)) of the sum. */
static size_t chunk_lo(size_t n, int size, int r) {
    return n / (size_t)size * (size_t)r + CORE_MIN(n % (size_t)size, (size_t)r);
}

int dist_sum_ordered(dist_comm *c, float *v, size_t n, float *scratch) {
    int p = c->size, rc = AISLE_OK;
    if (p == 1) return AISLE_OK;
    if (n / (size_t)p + 1 > INT_MAX || n > (size_t)INT_MAX)
        return core_error(AISLE_ERANGE, "sum of %zu values over %d ranks", n, p);
    size_t lo = chunk_lo(n, p, c->rank), mine = chunk_lo(n, p, c->rank + 1) - lo;
    /* counts and requests in scratch's tail would alias; a small array
     * per call, agreed on before any message */
    int *cnt = core_malloc(2 * (size_t)p * sizeof *cnt);
    MPI_Request *req = core_malloc(2 * (size_t)p * sizeof *req);
    if (!cnt || !req) rc = core_oom("sum requests");
    rc = dist_agree(c, rc);
    int nreq = 0, m = MPI_SUCCESS;
    for (int r = 0; !rc && r < p; r++) cnt[r] = (int)(chunk_lo(n, p, r + 1) - chunk_lo(n, p, r)), cnt[p + r] = (int)chunk_lo(n, p, r);
    /* reduce-scatter by one message per pair of ranks: rank r receives
     * every rank's part r */
    for (int r = 0; !rc && r < p && m == MPI_SUCCESS; r++)
        m = MPI_Irecv(scratch + mine * (size_t)r, (int)mine, MPI_FLOAT, r, 71, c->comm, &req[nreq++]);
    for (int r = 0; !rc && r < p && m == MPI_SUCCESS; r++)
        m = MPI_Isend(v + cnt[p + r], cnt[r], MPI_FLOAT, r, 71, c->comm, &req[nreq++]);
    if (nreq) {
        int w = MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE);
        if (m == MPI_SUCCESS) m = w;
    }
    if (!rc && m != MPI_SUCCESS) rc = dist_mpi_error(m, "exchanging partial sums");
    if (!rc) {
        c->bytes_sent += (double)(n - mine) * sizeof(float);
        /* the fixed order: rank 0's part, plus rank 1's, ... */
        for (size_t k = 0; k < mine; k++) {
            float s = scratch[k];
            for (int r = 1; r < p; r++) s += scratch[(size_t)r * mine + k];
            v[lo + k] = s;
        }
        m = MPI_Allgatherv(MPI_IN_PLACE, cnt[c->rank], MPI_FLOAT, v, cnt, cnt + p, MPI_FLOAT, c->comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "all-gathering sums");
        else c->bytes_sent += (double)mine * sizeof(float) * (p - 1);
    }
    core_free(req);
    core_free(cnt);
    return rc;
}

int dist_or_bytes(dist_comm *c, unsigned char *v, size_t n) {
    if (n > INT_MAX) return core_error(AISLE_ERANGE, "all-reduce of %zu flags", n);
    int m = MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_UNSIGNED_CHAR, MPI_BOR, c->comm);
    if (m != MPI_SUCCESS) return dist_mpi_error(m, "combining flags");
    c->bytes_sent += 2.0 * (double)(c->size - 1) / c->size * (double)n;
    return AISLE_OK;
}

int dist_sendrecv_f(dist_comm *c, const float *send, size_t n_send, int to, float *recv, size_t n_recv, int from) {
    if (n_send > INT_MAX || n_recv > INT_MAX)
        return core_error(AISLE_ERANGE, "message of %zu floats (use more ranks)", CORE_MAX(n_send, n_recv));
    int m = MPI_Sendrecv(send, (int)n_send, MPI_FLOAT, to, 72, recv, (int)n_recv, MPI_FLOAT, from, 72, c->comm,
                         MPI_STATUS_IGNORE);
    if (m != MPI_SUCCESS) return dist_mpi_error(m, "passing factor rows");
    if (to != c->rank) c->bytes_sent += (double)n_send * sizeof(float);
    return AISLE_OK;
}

int dist_scatter_f(dist_comm *c, const float *all, const size_t *counts, float *mine) {
    int p = c->size;
    int *n = core_malloc(2 * (size_t)p * sizeof *n);
    int rc = dist_agree(c, n ? int_counts(counts, p, n, n + p, "scatter") : core_oom("scatter counts"));
    if (!rc) {
        int m = MPI_Scatterv(all, n, n + p, MPI_FLOAT, mine, n[c->rank], MPI_FLOAT, 0, c->comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "scattering factors");
        else if (c->rank == 0)
            for (int r = 1; r < p; r++) c->bytes_sent += (double)counts[r] * sizeof(float);
    }
    core_free(n);
    return rc;
}

void dist_row_plan_free(dist_row_plan *plan) {
    if (!plan) return;
    for (size_t r = 0; plan->send_type && r < plan->size; r++)
        if (plan->send_type[r] != MPI_DATATYPE_NULL) MPI_Type_free(&plan->send_type[r]);
    core_free(plan->send_type);
    core_free(plan->rows);
    core_free(plan->give);
    core_free(plan->req);
    memset(plan, 0, sizeof *plan);
}

/* The send type to one rank: its rows of own, dim floats each, as one
 * indexed type (no packing buffer). */
static int row_type(const uint32_t *give, size_t n, uint32_t dim, MPI_Datatype *out) {
    int *at = core_malloc((n ? n : 1) * sizeof *at);
    if (!at) return core_oom("row exchange plan");
    for (size_t k = 0; k < n; k++) at[k] = (int)(give[k] * dim);
    int m = MPI_Type_create_indexed_block((int)n, (int)dim, at, MPI_FLOAT, out);
    if (m != MPI_SUCCESS) *out = MPI_DATATYPE_NULL; /* nothing for the plan to free */
    else m = MPI_Type_commit(out);
    core_free(at);
    return m == MPI_SUCCESS ? AISLE_OK : dist_mpi_error(m, "row exchange plan");
}

int dist_row_plan_build(dist_comm *c, uint32_t n, const uint32_t *need, size_t n_need, uint32_t dim,
                        dist_row_plan *plan) {
    int p = c->size, rc = AISLE_OK;
    memset(plan, 0, sizeof *plan);
    plan->dim = dim;
    plan->n_need = n_need;
    plan->size = (size_t)p;
    uint32_t lo = dist_lo(n, p, c->rank), own = dist_lo(n, p, c->rank + 1) - lo;
    size_t *cnt = core_calloc(2 * (size_t)p, sizeof *cnt), *rcnt = cnt ? cnt + p : NULL;
    plan->rows = core_calloc(3 * (size_t)p, sizeof *plan->rows);
    plan->send_type = core_malloc((size_t)p * sizeof *plan->send_type);
    plan->req = core_malloc(2 * (size_t)p * sizeof *plan->req);
    if (plan->send_type)
        for (int r = 0; r < p; r++) plan->send_type[r] = MPI_DATATYPE_NULL;
    rc = dist_agree(c, cnt && plan->rows && plan->send_type && plan->req ? AISLE_OK : core_oom("row exchange plan"));
    if (rc) goto out;
    size_t *recv_at = plan->rows, *recv_rows = plan->rows + p, *send_rows = plan->rows + 2 * p;
    /* the needed rows, ascending, fall into the owners' blocks in rank
     * order: recv_at[r] is where rank r's rows start in need; each owner
     * but this rank gets the list of its rows asked for */
    for (size_t k = 0; k < n_need; k++) recv_rows[dist_owner(n, p, need[k])]++;
    for (int r = 1; r < p; r++) recv_at[r] = recv_at[r - 1] + recv_rows[r - 1];
    if (recv_rows[c->rank] != own)
        rc = core_error(AISLE_EINVAL, "row exchange: %zu own rows needed, not the %u of the block",
                        recv_rows[c->rank], own);
    plan->own_at = recv_at[c->rank];
    /* requests in one all-to-all from need as it is (the own block goes to
     * this rank itself and is dropped: those rows stay in place) */
    for (int r = 0; r < p; r++) cnt[r] = recv_rows[r] * sizeof *need;
    recv_rows[c->rank] = 0;
    rc = dist_agree(c, rc);
    void *asked = NULL;
    if (!rc) rc = dist_agree(c, dist_alltoallv(c, need, cnt, &asked, rcnt));
    if (rc) goto out;
    rcnt[c->rank] = 0;
    size_t total = 0, mine = 0;
    for (int r = 0; r < p; r++) total += rcnt[r] / sizeof *need;
    plan->n_give = total;
    plan->give = core_malloc((total ? total : 1) * sizeof *plan->give);
    if (!plan->give) rc = core_oom("row exchange plan");
    const uint32_t *rows = asked;
    for (int r = 0; !rc && r < p; r++) {
        if (r == c->rank) {
            mine = own; /* this rank's own request, skipped */
            rows += mine;
            continue;
        }
        for (size_t k = 0; !rc && k < rcnt[r] / sizeof *need; k++, rows++) {
            uint32_t row;
            memcpy(&row, rows, sizeof row);
            if (row < lo || row - lo >= own) /* the asker's owner rule is this one: a bug, not bad input */
                rc = core_error(AISLE_EINVAL, "row exchange: row %u asked of rank %d, which owns [%u, %u)", row,
                                c->rank, lo, lo + own);
            else plan->give[(size_t)(rows - (const uint32_t *)asked) - (r > c->rank ? mine : 0)] = row - lo;
        }
    }
    core_free(asked);
    /* one message per pair of ranks: MPI's counts are int */
    if (!rc && ((size_t)own * dim > INT_MAX || n_need * dim > (size_t)INT_MAX * (size_t)p))
        rc = core_error(AISLE_ERANGE, "row exchange: more than %d floats in one message (use more ranks)", INT_MAX);
    for (int r = 0, at = 0; !rc && r < p; at += (int)(rcnt[r] / sizeof *need), r++) {
        send_rows[r] = rcnt[r] / sizeof *need;
        if (recv_rows[r] * dim > INT_MAX)
            rc = core_error(AISLE_ERANGE, "row exchange: more than %d floats in one message (use more ranks)", INT_MAX);
        else if (send_rows[r]) rc = row_type(plan->give + at, send_rows[r], dim, &plan->send_type[r]);
    }
    rc = dist_agree(c, rc);
out:
    core_free(cnt);
    if (rc) dist_row_plan_free(plan);
    return rc;
}

int dist_row_exchange(dist_comm *c, dist_row_plan *plan, const float *own, float *needed) {
    size_t p = plan->size, dim = plan->dim, *recv_at = plan->rows, *recv_rows = plan->rows + p,
           *send_rows = plan->rows + 2 * p;
    int nreq = 0, m = MPI_SUCCESS;
    for (size_t r = 0; r < p && m == MPI_SUCCESS; r++)
        if (recv_rows[r])
            m = MPI_Irecv(needed + recv_at[r] * dim, (int)(recv_rows[r] * dim), MPI_FLOAT, (int)r, 73, c->comm,
                          &plan->req[nreq++]);
    for (size_t r = 0; r < p && m == MPI_SUCCESS; r++)
        if (send_rows[r]) m = MPI_Isend(own, 1, plan->send_type[r], (int)r, 73, c->comm, &plan->req[nreq++]);
    if (nreq) {
        int w = MPI_Waitall(nreq, plan->req, MPI_STATUSES_IGNORE);
        if (m == MPI_SUCCESS) m = w;
    }
    if (m != MPI_SUCCESS) return dist_mpi_error(m, "exchanging factor rows");
    for (size_t r = 0; r < p; r++) c->bytes_sent += (double)send_rows[r] * dim * sizeof(float);
    return AISLE_OK;
}
