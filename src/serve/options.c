/* options.c - options of the serving calls (recommend, similar, explain). */
#include "serve.h"

const option_spec serve_options[] = {
    {"exclude_seen", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "serve",
     "Leave out items the user interacted with in the training data."},
    {"unknown_user", AISLE_OPTION_STRING, 0, 0, "popular", "popular|error", "serve",
     "What recommend does for a user the model does not know: fall back to popularity, or fail "
     "with AISLE_ENOTFOUND."},
    {"threads", AISLE_OPTION_INT, 0, 256, "0", NULL, "serve",
     "Threads of aisle_recommend_batch; 0 uses every online CPU."},
    {"scan", AISLE_OPTION_STRING, 0, 0, "auto", "auto|int8|fp32", "serve",
     "How recommend scans the items of als, bpr and hybrid models: int8 item factors with every "
     "candidate re-scored in fp32 (results identical to fp32, about 3x faster on large catalogs), the "
     "fp32 factors, or auto (int8 from 4096 items on; its index is built on first use and kept with the "
     "model)."},
    OPTION_END};
