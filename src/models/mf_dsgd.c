/* mf_dsgd.c - mf's epoch as DSGD over several processes (Gemulla,
 * Nijkamp, Haas & Sismanis, KDD 2011; models.h model_mf_hook).  A process
 * owns one user block; its ratings are grouped by item block, and in
 * sub-epoch s it updates the item block (part + s) mod parts, which no
 * other process touches then, so the processes' updates never meet: the
 * epoch is a serial SGD pass in a stratified order, with no staleness.
 * Inside a process the sub-epoch is FPSG over its threads as usual: each
 * sub-context's parameter pointers start at its blocks' first rows and its
 * ratings carry block-local indices, so the worker runs on it unchanged.
 * With one process the only sub-epoch holds every rating in the same
 * order and grid as mf's own pass: the same bits. */
#include "mf.h"

#include <string.h>

void mf_dsgd_free(mf_dsgd *g) {
    for (int s = 0; g->sub && s < g->hook->parts; s++) {
        mf_sched_free(&g->sub[s].sc);
        core_free(g->sub[s].bstart);
        core_free(g->sub[s].bsse);
    }
    core_free(g->sub);
    core_free(g->r);
    g->sub = NULL;
    g->r = NULL;
}

/* Block of row k of n split into parts (the inverse of model_part_lo). */
static int part_of(uint32_t k, uint32_t n, int parts) { return (int)((uint64_t)k * (uint64_t)parts / n); }

int mf_dsgd_init(mf_dsgd *g, const model_mf_hook *hook, const mf_ctx *c, const rating *tr, size_t ntr, uint32_t nu,
                 uint32_t ni) {
    int parts = hook->parts, part = hook->part, sb = c->sc.s, rc = AISLE_OK;
    memset(g, 0, sizeof *g);
    g->hook = hook;
    g->arena = (model_mf_arena){c->U, c->Q, c->ub, c->ib, c->su, c->dp, nu, ni};
    uint32_t ulo = model_part_lo(nu, parts, part), uhi = model_part_lo(nu, parts, part + 1);
    size_t own = 0;
    for (size_t k = 0; k < ntr; k++) own += tr[k].u >= ulo && tr[k].u < uhi;
    g->sub = core_calloc((size_t)parts, sizeof *g->sub);
    g->r = core_malloc((own ? own : 1) * sizeof *g->r);
    rating *grouped = core_malloc((own ? own : 1) * sizeof *grouped);
    size_t *start = core_calloc((size_t)parts + 1, sizeof *start);
    if (!g->sub || !g->r || !grouped || !start) rc = core_oom("mf distributed training");
    /* own ratings grouped by item block, in their shuffled order */
    for (size_t k = 0; !rc && k < ntr; k++)
        if (tr[k].u >= ulo && tr[k].u < uhi) start[part_of(tr[k].i, ni, parts) + 1]++;
    for (int b = 0; !rc && b < parts; b++) start[b + 1] += start[b];
    for (size_t k = 0; !rc && k < ntr; k++) {
        if (tr[k].u < ulo || tr[k].u >= uhi) continue;
        int b = part_of(tr[k].i, ni, parts);
        grouped[start[b]++] = (rating){tr[k].u - ulo, tr[k].i - model_part_lo(ni, parts, b), tr[k].r};
    }
    for (int b = parts; !rc && b > 0; b--) start[b] = start[b - 1]; /* the fill moved each start to the next */
    if (!rc) start[0] = 0;
    for (int s = 0; !rc && s < parts; s++) {
        int b = (part + s) % parts;
        uint32_t ilo = model_part_lo(ni, parts, b), ihi = model_part_lo(ni, parts, b + 1);
        mf_ctx *x = &g->sub[s];
        *x = (mf_ctx){.d = c->d, .dp = c->dp, .su = c->su, .U = c->U + ulo * c->su, .Q = c->Q + (size_t)ilo * c->dp,
                      .Y = c->Y, .ub = c->ub + ulo, .ib = c->ib + ilo, .mean = c->mean, .r = g->r + start[b],
                      .reg = c->reg, .reg_bias = c->reg_bias, .reg_y = c->reg_y};
        x->bstart = core_calloc((size_t)sb * sb + 1, sizeof *x->bstart);
        x->bsse = core_calloc((size_t)sb * sb, sizeof *x->bsse);
        if (!x->bstart || !x->bsse) rc = core_oom("mf distributed training");
        if (!rc) rc = mf_sched_init(&x->sc, sb);
        if (!rc && start[b + 1] > start[b])
            rc = mf_fpsg_bucket(x, grouped + start[b], start[b + 1] - start[b], uhi - ulo, ihi - ilo);
    }
    core_free(grouped);
    core_free(start);
    return rc;
}

int mf_dsgd_epoch(mf_dsgd *g, const mf_ctx *c, int threads, core_range_fn epoch, double *sse) {
    const model_mf_hook *h = g->hook;
    int sb = c->sc.s;
    double sum = 0;
    for (int s = 0; s < h->parts; s++) {
        mf_ctx *x = &g->sub[s];
        x->lr = c->lr;
        x->sc.taken = 0;
        memset(x->bsse, 0, (size_t)sb * sb * sizeof *x->bsse);
        int rc = core_parallel_for(threads, (size_t)threads, 1, epoch, x);
        if (rc) return rc;
        for (int b = 0; b < sb * sb; b++) sum += x->bsse[b];
        if ((rc = h->pass(h->ctx, &g->arena, s))) return rc;
    }
    *sse = sum;
    return h->epoch_end(h->ctx, &g->arena, sse);
}
