/* options.c - options of the data module (loaders, splits). */
#include "data.h"

const option_spec data_options[] = {
    /* ---- splits (split.c) ---- */
    {"split", AISLE_OPTION_STRING, 0, 0, "random", "random|time|last|kfold", "data",
     "How aisle_dataset_split divides events: random (per user, whole (user, item) pairs), time "
     "(one global time cutoff), last (each user's last leave_last events), kfold (per-user folds "
     "of (user, item) pairs). See docs/DATA.md."},
    {"test_fraction", AISLE_OPTION_FLOAT, 0, 1, "0.2", NULL, "data",
     "Share of the data put in the test part by split=random (each user's pairs) and split=time "
     "(all events)."},
    {"leave_last", AISLE_OPTION_INT, 1, 1000000, "1", NULL, "data",
     "split=last: number of each user's latest events put in the test part; users with no more "
     "events than this stay entirely in train."},
    {"folds", AISLE_OPTION_INT, 2, 1000, "5", NULL, "data", "split=kfold: number of folds."},
    {"fold", AISLE_OPTION_INT, 0, 999, "0", NULL, "data",
     "split=kfold: which fold (0-based, below folds) is the test part."},
    OPTION_END};
