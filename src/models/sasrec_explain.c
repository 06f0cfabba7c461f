/* sasrec_explain.c - explain for the sasrec kind: which of the shopper's
 * recent items moved an item's score, by leave-one-out re-scoring.  The
 * score of item i after a sequence is E_i . h(sequence); an item's
 * contribution is that score minus the score with the item taken out of
 * the sequence (the rest keep their order and slide to the newest
 * positions, as a shorter history would).  Exact for the model, at the
 * cost of one encoder pass per distinct recent item (at most maxlen). */
#include "sasrec.h"

/* Score of `item` after items[0..len) with positions where drop[] is set
 * left out. */
static int score_without(const sasrec_net *net, const uint32_t *items, size_t len, const unsigned char *drop,
                         uint32_t item, uint32_t *buf, float *h, float *out) {
    size_t n = 0;
    for (size_t k = 0; k < len; k++)
        if (!drop || !drop[k]) buf[n++] = items[k];
    if (n == 0) {
        *out = 0.0f; /* no sequence: the item's score is not defined by the network; 0 as the neutral value */
        return AISLE_OK;
    }
    int rc = sasrec_encode(net, buf, n, h);
    if (!rc) *out = sasrec_dot(sasrec_net_emb(net) + net->d * ((size_t)item + 1), h, net->d);
    return rc;
}

int sasrec_explain(const aisle_model *m, const model_query *q, uint32_t item, float *contrib) {
    const sasrec_state *st = m->state;
    const sasrec_net *net = &st->net;
    size_t T = net->T, len = 0, first = 0;
    if (item >= model_n_items(m))
        return core_error(AISLE_ERANGE, "sasrec: item index %u out of range [0, %u)", item, model_n_items(m));
    uint32_t *items = core_malloc(T * sizeof *items), *buf = core_malloc(T * sizeof *buf);
    unsigned char *drop = core_calloc(T, 1);
    float *h = core_malloc(net->d * sizeof *h);
    int rc = items && buf && drop && h ? sasrec_query_window(m, q, items, &len, &first) : core_oom("sasrec explain");
    float base = 0;
    if (!rc) rc = score_without(net, items, len, NULL, item, buf, h, &base);
    for (size_t i = 0; !rc && i < q->n_items; i++) {
        contrib[i] = 0.0f;
        /* a session's item i is one position of the window; a user's
         * history item is every window position holding it */
        bool any = false;
        memset(drop, 0, T);
        if (q->user < 0) {
            if (i >= first) drop[i - first] = 1, any = true;
        } else {
            for (size_t k = 0; k < len; k++)
                if (items[k] == q->items[i]) drop[k] = 1, any = true;
        }
        float without = 0;
        if (any && !(rc = score_without(net, items, len, drop, item, buf, h, &without))) contrib[i] = base - without;
    }
    core_free(items);
    core_free(buf);
    core_free(drop);
    core_free(h);
    return rc;
}
