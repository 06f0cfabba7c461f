/* topk.c - exact top-k selection shared by serving and evaluation (order and
 * NaN rule in core.h).  The heap's root is the worst hit kept, so an offer
 * is rejected with one comparison; the survivors are heap-sorted in place,
 * which needs no allocation and gives the same order as any sort since
 * (score, item) is a strict total order once NaN is excluded. */
#include "core.h"

/* a ranks after b: the heap keeps the worst hit at its root. */
static inline bool after(core_hit a, core_hit b) { return topk_before(b.score, b.item, a.score, a.item); }

static void sift_down(core_hit *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && after(h[l], h[w])) w = l;
        if (r < n && after(h[r], h[w])) w = r;
        if (w == i) return;
        core_hit t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

void topk_push(core_topk *t, float score, uint32_t item) {
    core_hit *h = t->hits;
    if (t->n < t->k) {
        size_t i = t->n++;
        h[i] = (core_hit){score, item};
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!after(h[i], h[p])) return;
            core_hit x = h[i];
            h[i] = h[p];
            h[p] = x;
            i = p;
        }
    } else {
        h[0] = (core_hit){score, item};
        sift_down(h, t->n, 0);
    }
}

size_t topk_finish(core_topk *t) {
    /* Repeatedly move the worst to the end of the shrinking heap. */
    for (size_t e = t->n; e > 1; e--) {
        core_hit x = t->hits[0];
        t->hits[0] = t->hits[e - 1];
        t->hits[e - 1] = x;
        sift_down(t->hits, e - 1, 0);
    }
    return t->n;
}
