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
    /* ---- loaders (load.c, catalog_load.c) ---- */
    {"delimiter", AISLE_OPTION_STRING, 0, 0, "", NULL, "data",
     "Field delimiter of data files: one byte (',' ';' '|'), a doubled byte ('::' as in MovieLens "
     "ratings.dat) or tab|comma|semicolon|pipe|space. Empty: by file extension (.tsv .data .txt "
     "tab, .csv comma, .gz ignored), else guessed from the first line."},
    {"header", AISLE_OPTION_STRING, 0, 0, "auto", "auto|yes|no", "data",
     "Whether the first row of a data file names the columns. auto: yes when `columns` names "
     "columns or the first row holds known names (user_id, item_id, CustomerID, StockCode, ...), "
     "or when a numeric column's first field is not a number."},
    {"columns", AISLE_OPTION_STRING, 0, 0, "", NULL, "data",
     "Event file columns as role=column pairs separated by ',' or ';', a column given by header "
     "name or 1-based position: e.g. user=CustomerID,item=StockCode,value=Quantity,time=InvoiceDate "
     "or user=1,item=2,value=3,time=4. Roles: user, item (required), value, time, event. Empty: "
     "known header names, else user=1 item=2 value=3 time=4 (as far as the first row has fields)."},
    {"event", AISLE_OPTION_STRING, 0, 0, "view", NULL, "data",
     "Event name given to rows of a file without an event column (or with an empty one): view, "
     "cart, purchase, rating (e.g. for MovieLens) or a custom name."},
    {"time_format", AISLE_OPTION_STRING, 0, 0, "", NULL, "data",
     "Format of the time column: empty for epoch seconds or ISO 8601 (2010-12-01 08:26:00, "
     "2010-12-01T08:26:00Z, 2010-12-01), else strftime-style conversions %Y %y %m %d %e %H %I %M "
     "%S %p %b %B %j %s %z %T %F %D %%, e.g. \"%m/%d/%y %H:%M\" for 12/1/10 8:26. Times are UTC "
     "unless an offset is read."},
    {"negative", AISLE_OPTION_STRING, 0, 0, "subtract", "subtract|skip|keep", "data",
     "Rows with a negative value (returns): subtract loads them as given, so they subtract from "
     "the pair's sum; skip drops them (counted as filtered); keep loads their absolute value."},
    {"weight_scale", AISLE_OPTION_STRING, 0, 0, "log", "linear|log", "data",
     "How implicit-feedback kinds (popular, itemknn, als, bpr, sasrec) read a (user, item) pair's "
     "summed value w, e.g. a quantity: linear uses w, log uses ln(1 + w). Pairs whose sum is <= 0 "
     "(returns outweighing purchases) are no interaction for these kinds whatever this says; the "
     "model stores how many as the metric nonpositive_pairs. Ratings for mf are used as given."},
    {"weight_cap", AISLE_OPTION_FLOAT, 0, 1e30, "0", NULL, "data",
     "If > 0, implicit-feedback kinds clip a pair's weight (after weight_scale) at this value; the "
     "model stores how many pairs were clipped as the metric capped_pairs. 0: no cap."},
    {"lenient", AISLE_OPTION_BOOL, 0, 1, "false", NULL, "data",
     "Loaders skip bad rows (counting them and keeping the first messages, see "
     "aisle_dataset_load_report) instead of failing on the first one."},
    {"max_field", AISLE_OPTION_INT, 1, 1073741824.0, "65536", NULL, "data",
     "Longest field a data file may hold, in bytes; longer ones are bad rows."},
    {"max_fields", AISLE_OPTION_INT, 1, 268435456.0, "10000", NULL, "data",
     "Most fields a record of a data file may hold; a record with more is a bad row (a catalog "
     "with more attribute columns needs a larger value)."},
    {"max_record", AISLE_OPTION_INT, 1024, 1073741824.0, "16777216", NULL, "data",
     "Longest record (line) a data file may hold, in bytes (default 16 MiB). A longer one ends "
     "the load, even a lenient one: an input without line breaks (such as /dev/zero) has no next "
     "record to resume at."},
    {"fifo_timeout", AISLE_OPTION_FLOAT, 0, 86400, "30", NULL, "data",
     "Seconds a load from a FIFO (named pipe) waits for a writer to write; a FIFO nobody writes "
     "to then fails with AISLE_EIO instead of blocking forever. Pipes and /dev/stdin that already "
     "have their writer are read as they come."},
    {"encoding", AISLE_OPTION_STRING, 0, 0, "utf8", "utf8|latin1", "data",
     "Text encoding of data files: utf8 (invalid bytes are errors) or latin1 (converted to UTF-8, "
     "e.g. for MovieLens u.item)."},
    {"quoting", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "data",
     "Whether a field starting with '\"' is an RFC 4180 quoted field (which may hold delimiters, "
     "line breaks and doubled quotes). false: quotes are data."},
    {"catalog_columns", AISLE_OPTION_STRING, 0, 0, "", NULL, "data",
     "Catalog file columns as role=column pairs (like `columns`): key (required), title, "
     "description, category, brand, price. With a header row, other columns become attributes "
     "named by the header. Empty: known header names, else key=1 title=2."},
    OPTION_END};
