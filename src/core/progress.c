/* progress.c - monotonic time and the progress/cancel callback. */
#include "core.h"

#include <math.h>
#include <time.h>

double core_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void core_progress_init(core_progress *p, const aisle_config *cfg) {
    p->fn = cfg ? cfg->progress : NULL;
    p->user = cfg ? cfg->progress_user : NULL;
    p->start = core_now();
}

int core_progress_report(core_progress *p, int step, int steps, double loss, double metric) {
    if (!p || !p->fn) return AISLE_OK;
    if (p->fn(p->user, step, steps, loss, metric, core_now() - p->start))
        return core_error(AISLE_ECANCELLED, "cancelled by the progress callback at step %d of %d", step, steps);
    return AISLE_OK;
}
