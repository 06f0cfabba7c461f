/* eval.c - aisle_dist_evaluate: each rank evaluates a slice of the test
 * users (eval_part_run, the code of aisle_evaluate), then the sums and
 * counts are summed and the recommended-item flags or-ed over the ranks. */
#include "dist.h"

#include "eval/eval.h"

#include <string.h>

AISLE_API int aisle_dist_evaluate(const aisle_model *m, const aisle_dataset *test, const aisle_config *cfg,
                                  aisle_eval_result **out) {
    dist_comm c;
    int rc = dist_comm_world(&c);
    if (rc) return rc;
    if (out) *out = NULL;
    /* a rank without a model or test set still takes part, so that the
     * others learn of it instead of waiting */
    if (!m || !test || !out) rc = core_error(AISLE_EINVAL, "aisle_dist_evaluate: NULL model, test dataset or out");
    eval_part p;
    memset(&p, 0, sizeof p);
    p.index = c.rank;
    p.count = c.size;
    if (!rc && !(p.cover = core_calloc((size_t)model_n_items(m) + 1, 1))) rc = core_oom("evaluation");
    if (!rc) rc = eval_part_run(m, test, cfg, &p);
    rc = dist_agree(&c, rc);
    if (!rc) rc = dist_allreduce_d(&c, p.sums, EVAL_SUMS);
    if (!rc) {
        int mr = MPI_Allreduce(MPI_IN_PLACE, p.counts, EVAL_COUNTS, MPI_UINT64_T, MPI_SUM, c.comm);
        if (mr == MPI_SUCCESS && p.n_items)
            mr = MPI_Allreduce(MPI_IN_PLACE, p.cover, (int)p.n_items, MPI_UNSIGNED_CHAR, MPI_MAX, c.comm);
        if (mr != MPI_SUCCESS) rc = dist_mpi_error(mr, "combining evaluation sums");
    }
    rc = dist_agree(&c, rc);
    /* the same sums on every rank: the same result, or the same error
     * when building it fails on any rank */
    if (!rc) {
        rc = dist_agree(&c, eval_part_result(&p, out));
        if (rc) {
            aisle_eval_result_free(*out);
            *out = NULL;
        }
    }
    core_free(p.cover);
    return rc;
}
