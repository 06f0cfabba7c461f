/* events.c - events to the owners of their users, aggregated as one
 * process aggregates them; ruled weights to the owners of their items.
 *
 * One process builds its history by ordering events by (user, item,
 * arrival) and summing event weight x value per pair in arrival order
 * (latest rating wins for ratings: src/data/dataset.c).  Here each event
 * carries its global arrival number (events of lower ranks + its index in
 * the shard), the owner of its user sorts by the same key and sums in the
 * same order, so every pair's float sum is bit for bit the one-process
 * sum. */
#include "dist.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct ev_rec {
    uint64_t arrival;
    int64_t time;
    uint32_t user, item;
    float value;     /* weight x value, or the rating */
    uint32_t rating; /* 1: a rating event */
} ev_rec;

static int ev_cmp(const void *pa, const void *pb) {
    const ev_rec *a = pa, *b = pb;
    if (a->user != b->user) return a->user < b->user ? -1 : 1;
    if (a->item != b->item) return a->item < b->item ? -1 : 1;
    return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

static int csr_alloc(data_csr *m, uint32_t rows, uint32_t cols, size_t nnz, bool extra) {
    memset(m, 0, sizeof *m);
    m->rows = rows;
    m->cols = cols;
    m->nnz = nnz;
    size_t nz = nnz ? nnz : 1;
    m->indptr = core_calloc((size_t)rows + 1, sizeof *m->indptr);
    m->indices = core_malloc(nz * sizeof *m->indices);
    m->values = core_malloc(nz * sizeof *m->values);
    if (extra) {
        m->last_time = core_malloc(nz * sizeof *m->last_time);
        m->count = core_malloc(nz * sizeof *m->count);
    }
    if (!m->indptr || !m->indices || !m->values || (extra && (!m->last_time || !m->count))) {
        data_csr_free(m);
        return core_oom("history rows");
    }
    return AISLE_OK;
}

int dist_user_history(aisle_dist_data *d, dist_rows *out) {
    dist_comm *c = &d->comm;
    const aisle_dataset *ds = d->local;
    uint32_t nu = (uint32_t)d->users.n, ni = (uint32_t)d->items.n;
    int p = c->size, rc = AISLE_OK;
    memset(out, 0, sizeof *out);
    size_t *cnt = core_calloc(3 * (size_t)p, sizeof *cnt), *off = cnt ? cnt + p : NULL, *rcnt = cnt ? cnt + 2 * p : NULL;
    ev_rec *send = core_malloc((ds->n_events ? ds->n_events : 1) * sizeof *send), *recv = NULL;
    if (!cnt || !send) rc = core_oom("event exchange");
    for (size_t e = 0; !rc && e < ds->n_events; e++) cnt[dist_owner(nu, p, d->user_map[ds->events[e].user])]++;
    size_t total = 0;
    for (int r = 0; !rc && r < p; r++) off[r] = total, total += cnt[r], cnt[r] *= sizeof(ev_rec);
    for (size_t e = 0; !rc && e < ds->n_events; e++) {
        const data_event *a = &ds->events[e];
        ev_rec v = {d->events_before + e, a->time, d->user_map[a->user], d->item_map[a->item], 0, 0};
        if (a->type == DATA_EVENT_RATING) v.value = a->value, v.rating = 1;
        else v.value = ds->event_weights[a->type] * a->value; /* the product dataset.c adds */
        send[off[dist_owner(nu, p, v.user)]++] = v;
    }
    rc = dist_agree(c, rc);
    if (!rc) rc = dist_agree(c, dist_alltoallv(c, send, cnt, (void **)&recv, rcnt));
    core_free(send);
    size_t n = 0;
    for (int r = 0; !rc && r < p; r++) n += rcnt[r] / sizeof(ev_rec);
    uint32_t lo = dist_lo(nu, p, c->rank), hi = dist_lo(nu, p, c->rank + 1);
    if (!rc) qsort(recv, n, sizeof *recv, ev_cmp);
    size_t nnz = 0;
    for (size_t k = 0; !rc && k < n; k++)
        nnz += k == 0 || recv[k].user != recv[k - 1].user || recv[k].item != recv[k - 1].item;
    if (!rc) rc = csr_alloc(&out->csr, hi - lo, ni, nnz, true);
    out->lo = lo;
    if (!rc) {
        data_csr *m = &out->csr;
        size_t q = (size_t)-1;
        int64_t rating_time = 0;
        bool rated = false;
        for (size_t k = 0; k < n; k++) {
            const ev_rec *a = &recv[k];
            if (k == 0 || a->user != recv[k - 1].user || a->item != recv[k - 1].item) {
                q++;
                m->indices[q] = a->item;
                m->values[q] = 0.0f;
                m->last_time[q] = a->time;
                m->count[q] = 0;
                m->indptr[a->user - lo + 1]++;
                rated = false;
            }
            m->count[q]++;
            if (a->time > m->last_time[q]) m->last_time[q] = a->time;
            if (a->rating) {
                if (!rated || a->time >= rating_time) {
                    m->values[q] = a->value;
                    rating_time = a->time;
                    rated = true;
                }
            } else if (!rated) {
                m->values[q] += a->value;
            }
        }
        for (uint32_t u = 0; u < m->rows; u++) m->indptr[u + 1] += m->indptr[u];
    }
    core_free(recv);
    core_free(cnt);
    return dist_agree(c, rc);
}

typedef struct pair_rec {
    uint32_t user, item;
    float w;
} pair_rec;

int dist_ruled_views(aisle_dist_data *d, const dist_rows *hist, const model_weight_rule *rule, dist_rows *by_user,
                     dist_rows *by_item) {
    dist_comm *c = &d->comm;
    const data_csr *h = &hist->csr;
    uint32_t ni = (uint32_t)d->items.n;
    int p = c->size, rc = AISLE_OK;
    memset(by_user, 0, sizeof *by_user);
    memset(by_item, 0, sizeof *by_item);
    size_t keep = 0;
    for (size_t k = 0; k < h->nnz; k++) keep += h->values[k] > 0.0f; /* weights.c: <= 0 or NaN is no interaction */
    rc = csr_alloc(&by_user->csr, h->rows, h->cols, keep, false);
    by_user->lo = hist->lo;
    size_t *cnt = core_calloc(3 * (size_t)p, sizeof *cnt), *off = cnt ? cnt + p : NULL, *rcnt = cnt ? cnt + 2 * p : NULL;
    pair_rec *send = core_malloc((keep ? keep : 1) * sizeof *send), *recv = NULL;
    if (!rc && (!cnt || !send)) rc = core_oom("item rows");
    if (!rc) {
        data_csr *m = &by_user->csr;
        size_t q = 0;
        for (uint32_t u = 0; u < h->rows; u++) {
            for (size_t k = h->indptr[u]; k < h->indptr[u + 1]; k++) {
                if (!(h->values[k] > 0.0f)) continue;
                m->indices[q] = h->indices[k];
                m->values[q] = model_weight_apply(rule, h->values[k]);
                cnt[dist_owner(ni, p, h->indices[k])]++;
                q++;
            }
            m->indptr[u + 1] = q;
        }
        size_t total = 0;
        for (int r = 0; r < p; r++) off[r] = total, total += cnt[r], cnt[r] *= sizeof(pair_rec);
        for (uint32_t u = 0; u < m->rows; u++)
            for (size_t k = m->indptr[u]; k < m->indptr[u + 1]; k++)
                send[off[dist_owner(ni, p, m->indices[k])]++] = (pair_rec){hist->lo + u, m->indices[k], m->values[k]};
    }
    rc = dist_agree(c, rc);
    if (!rc) rc = dist_agree(c, dist_alltoallv(c, send, cnt, (void **)&recv, rcnt));
    core_free(send);
    /* users arrive ascending (ranks own ascending user blocks, rows are in
     * order), so a stable counting sort by item gives each item's users
     * ascending, as the one-process transpose does */
    size_t n = 0;
    for (int r = 0; !rc && r < p; r++) n += rcnt[r] / sizeof(pair_rec);
    uint32_t lo = dist_lo(ni, p, c->rank), hi = dist_lo(ni, p, c->rank + 1);
    if (!rc) rc = csr_alloc(&by_item->csr, hi - lo, (uint32_t)d->users.n, n, false);
    by_item->lo = lo;
    if (!rc) {
        data_csr *m = &by_item->csr;
        size_t *ptr = m->indptr;
        for (size_t k = 0; k < n; k++) ptr[recv[k].item - lo + 1]++;
        for (uint32_t i = 0; i < m->rows; i++) ptr[i + 1] += ptr[i];
        for (size_t k = 0; k < n; k++) {
            size_t q = ptr[recv[k].item - lo]++;
            m->indices[q] = recv[k].user;
            m->values[q] = recv[k].w;
        }
        for (uint32_t i = m->rows; i > 0; i--) ptr[i] = ptr[i - 1];
        ptr[0] = 0;
    }
    core_free(recv);
    core_free(cnt);
    rc = dist_agree(c, rc);
    if (rc) {
        data_csr_free(&by_user->csr);
        data_csr_free(&by_item->csr);
    }
    return rc;
}

/* Gathers n_mine elements of size bytes from each rank to rank 0 (in rank
 * order) into *all (core_malloc'd on rank 0). */
static int gather_bytes(dist_comm *c, const void *mine, size_t n_mine, size_t size, void **all, size_t *n_all) {
    int p = c->size, rc = AISLE_OK;
    uint64_t b = (uint64_t)n_mine * size;
    uint64_t *sizes = c->rank == 0 ? core_malloc((size_t)p * sizeof *sizes) : NULL;
    int *cnt = c->rank == 0 ? core_malloc(2 * (size_t)p * sizeof *cnt) : NULL;
    *all = NULL;
    if (c->rank == 0 && (!sizes || !cnt)) rc = core_oom("gather");
    rc = dist_agree(c, rc);
    if (rc) goto out;
    int m = MPI_Gather(&b, 1, MPI_UINT64_T, sizes, 1, MPI_UINT64_T, 0, c->comm);
    if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "gathering sizes");
    size_t total = 0;
    if (!rc && c->rank == 0) {
        for (int r = 0; r < p && !rc; r++) {
            if (sizes[r] > INT_MAX || total > INT_MAX) rc = core_error(AISLE_ERANGE, "gather: more than 2 GiB on rank 0");
            cnt[r] = (int)sizes[r];
            cnt[p + r] = (int)total;
            total += sizes[r];
        }
        if (!rc && !(*all = core_malloc(total ? total : 1))) rc = core_oom("gather");
        *n_all = total / size;
    }
    if (!rc && b > INT_MAX) rc = core_error(AISLE_ERANGE, "gather: more than 2 GiB from one rank");
    rc = dist_agree(c, rc);
    if (rc) goto out;
    m = MPI_Gatherv(mine, (int)b, MPI_BYTE, *all, cnt, cnt ? cnt + p : NULL, MPI_BYTE, 0, c->comm);
    if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "gathering rows");
    if (c->rank) c->bytes_sent += (double)b;
    rc = dist_agree(c, rc);
out:
    if (rc) {
        core_free(*all);
        *all = NULL;
    }
    core_free(sizes);
    core_free(cnt);
    return rc;
}

int dist_gather_history(aisle_dist_data *d, const dist_rows *hist, data_csr *all) {
    dist_comm *c = &d->comm;
    const data_csr *h = &hist->csr;
    memset(all, 0, sizeof *all);
    size_t *row_nnz = core_malloc(((size_t)h->rows + 1) * sizeof *row_nnz);
    int rc = row_nnz ? AISLE_OK : core_oom("gather");
    for (uint32_t u = 0; !rc && u < h->rows; u++) row_nnz[u] = h->indptr[u + 1] - h->indptr[u];
    rc = dist_agree(c, rc);
    void *parts[5] = {0};
    size_t n[5] = {0};
    if (!rc) rc = gather_bytes(c, row_nnz, h->rows, sizeof *row_nnz, &parts[0], &n[0]);
    if (!rc) rc = gather_bytes(c, h->indices, h->nnz, sizeof *h->indices, &parts[1], &n[1]);
    if (!rc) rc = gather_bytes(c, h->values, h->nnz, sizeof *h->values, &parts[2], &n[2]);
    if (!rc) rc = gather_bytes(c, h->last_time, h->nnz, sizeof *h->last_time, &parts[3], &n[3]);
    if (!rc) rc = gather_bytes(c, h->count, h->nnz, sizeof *h->count, &parts[4], &n[4]);
    core_free(row_nnz);
    if (!rc && c->rank == 0) {
        all->rows = (uint32_t)d->users.n;
        all->cols = (uint32_t)d->items.n;
        all->nnz = n[1];
        all->indptr = core_malloc(((size_t)all->rows + 1) * sizeof *all->indptr);
        if (!all->indptr || n[0] != all->rows) rc = all->indptr ? core_error(AISLE_EINTERNAL, "gathered %zu rows of %u", n[0], all->rows)
                                                                : core_oom("history");
        const size_t *rn = parts[0];
        for (uint32_t u = 0; !rc && u <= all->rows; u++) all->indptr[u] = u ? all->indptr[u - 1] + rn[u - 1] : 0;
        all->indices = parts[1];
        all->values = parts[2];
        all->last_time = parts[3];
        all->count = parts[4];
        parts[1] = parts[2] = parts[3] = parts[4] = NULL;
        if (rc) data_csr_free(all);
    }
    for (int k = 0; k < 5; k++) core_free(parts[k]);
    return dist_agree(c, rc);
}

/* An event as every rank receives it for dist_gather_dataset. */
typedef struct ev_full {
    int64_t time;
    uint32_t user, item;
    float value;     /* event weight x value, or the rating */
    uint32_t rating; /* 1: a rating event */
} ev_full;

int dist_gather_dataset(aisle_dist_data *d, aisle_dataset **out) {
    dist_comm *c = &d->comm;
    const aisle_dataset *ds = d->local;
    *out = NULL;
    int rc = AISLE_OK;
    ev_full *mine = core_malloc((ds->n_events ? ds->n_events : 1) * sizeof *mine), *all = NULL;
    if (!mine) rc = core_oom("event gather");
    for (size_t e = 0; !rc && e < ds->n_events; e++) {
        const data_event *a = &ds->events[e];
        ev_full v = {a->time, d->user_map[a->user], d->item_map[a->item], 0, 0};
        if (a->type == DATA_EVENT_RATING) v.value = a->value, v.rating = 1;
        else v.value = ds->event_weights[a->type] * a->value; /* the product dataset.c adds */
        mine[e] = v;
    }
    rc = dist_agree(c, rc);
    size_t bytes = 0;
    if (!rc) rc = dist_agree(c, dist_allgather_bytes(c, mine, ds->n_events * sizeof *mine, (void **)&all, &bytes));
    core_free(mine);
    aisle_dataset *full = NULL;
    if (!rc) rc = aisle_dataset_new(&full);
    if (!rc) rc = keys_copy(&full->users, &d->users);
    if (!rc) rc = keys_copy(&full->items, &d->items);
    /* weight 1 for the already weighted values: 1.0f x (w x v) is w x v,
     * so every pair sums the same floats in the same order */
    if (!rc) full->event_weights[DATA_EVENT_VIEW] = 1.0f;
    size_t n = bytes / sizeof *all;
    if (!rc) rc = core_grow((void **)&full->events, &full->events_cap, n ? n : 1, sizeof *full->events);
    for (size_t e = 0; !rc && e < n; e++) {
        data_event ev = {all[e].user, all[e].item, all[e].rating ? DATA_EVENT_RATING : DATA_EVENT_VIEW, all[e].value,
                         all[e].time};
        rc = data_append_event(full, &ev);
    }
    core_free(all);
    rc = dist_agree(c, rc);
    if (rc) aisle_dataset_free(full);
    else *out = full;
    return rc;
}
