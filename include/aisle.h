/*
 * aisle.h - the one public header of aisle, an embeddable machine-learning
 * personalization library for online shops.
 *
 * Copyright (c) 2026 The aisle authors. MIT licence (see LICENSE).
 *
 * This header is the reference manual: every function is documented where it
 * is declared.  Conventions that hold for the whole API:
 *
 *  - Handles are opaque (`typedef struct aisle_xxx aisle_xxx;`).  They are
 *    created by `aisle_xxx_new(&out, ...)` or `aisle_xxx_load(&out, ...)` and
 *    released by `aisle_xxx_free(h)`; every `_free` accepts NULL.
 *  - Every fallible function returns an `int` status: AISLE_OK (0) or one of
 *    the negative AISLE_E* codes below.  Results come back through
 *    out-parameters and caller-provided arrays; on failure the out-parameters
 *    are left untouched unless documented otherwise.
 *  - After a failure, aisle_last_error() returns a message of the calling
 *    thread naming the file, line, field or option involved.
 *  - Strings are NUL-terminated UTF-8.  Pointers returned by the library stay
 *    owned by the handle they came from unless documented otherwise.
 *  - Thread safety: a handle may be used by one thread at a time while it is
 *    being built or changed.  A trained or loaded model is immutable and may be
 *    shared by any number of threads calling the read-only functions (score,
 *    recommend, similar, explain, describe) at once.
 *  - Options are passed by name through aisle_config, so new options never
 *    change a struct layout or a function signature.
 *
 * The header compiles as C99, C11 and C++.
 */
#ifndef AISLE_H
#define AISLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* AISLE_API marks every exported function.  The library is built with
 * -fvisibility=hidden, so only what carries it is visible to linkers. */
#if defined(_WIN32)
#  if defined(AISLE_BUILDING)
#    define AISLE_API __declspec(dllexport)
#  else
#    define AISLE_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define AISLE_API __attribute__((visibility("default")))
#else
#  define AISLE_API
#endif

/* ========================================================================
 * Version
 *
 * The release version follows semantic versioning.  The shared library's
 * ABI version (its soname, libaisle.so.1) changes only when a published
 * function or type changes incompatibly, which aisle avoids: new behaviour
 * comes as new functions or new option names.
 * ======================================================================== */

#define AISLE_VERSION_MAJOR 0
#define AISLE_VERSION_MINOR 1
#define AISLE_VERSION_PATCH 0
#define AISLE_VERSION_STRING "0.1.0"
/* One integer for compile-time comparisons: major*10000 + minor*100 + patch. */
#define AISLE_VERSION_NUMBER \
    (AISLE_VERSION_MAJOR * 10000 + AISLE_VERSION_MINOR * 100 + AISLE_VERSION_PATCH)

/* The version string of the library actually loaded at run time (may differ
 * from AISLE_VERSION_STRING if the program was built against another
 * release).  Never fails; the string is static. */
AISLE_API const char *aisle_version(void);

/* The same as AISLE_VERSION_NUMBER, for the library loaded at run time. */
AISLE_API int aisle_version_number(void);

/* ========================================================================
 * Errors
 *
 * Every status code is one of these values; new codes may be added in later
 * releases, so treat any unknown negative value as a failure.
 * ======================================================================== */

typedef enum aisle_status {
    AISLE_OK = 0,
    AISLE_EINVAL = -1,       /* invalid argument: NULL pointer, bad key, bad value */
    AISLE_ENOMEM = -2,       /* an allocation failed; nothing was changed */
    AISLE_EIO = -3,          /* reading or writing a file failed (errno text in message) */
    AISLE_EFORMAT = -4,      /* malformed input: data file, model file or option text */
    AISLE_ENOTFOUND = -5,    /* unknown user, item, option, file or model kind */
    AISLE_ERANGE = -6,       /* a value or index outside its allowed range */
    AISLE_EUNSUPPORTED = -7, /* the operation is not supported (e.g. by this model kind) */
    AISLE_ECANCELLED = -8,   /* a callback asked to stop; nothing half-built is returned */
    AISLE_ESTATE = -9,       /* the handle is not in a state that allows the call */
    AISLE_EVERSION = -10,    /* a file written by an incompatible (newer) format version */
    AISLE_EINTERNAL = -11    /* a bug in aisle: please report it with the message */
} aisle_status;

/* A static, English description of a status code ("out of memory").  Never
 * returns NULL: unknown codes give "unknown error". */
AISLE_API const char *aisle_strerror(int code);

/* The detailed message of the calling thread's most recent failure, e.g.
 * "events.csv:17:3: expected a number in column 'value', found 'abc'".
 * Returns "" when the thread has seen no failure.  The text is thread-local:
 * a failure in one thread never changes another thread's message.  The
 * pointer stays valid until the next aisle call in the same thread. */
AISLE_API const char *aisle_last_error(void);

/* Clears the calling thread's last error message. */
AISLE_API void aisle_clear_error(void);

/* ========================================================================
 * Memory
 *
 * Every allocation aisle makes goes through one allocator, which the host
 * may replace to account memory or inject failures.  (OpenBLAS and zlib
 * internals keep their own allocators.)
 * ======================================================================== */

typedef void *(*aisle_malloc_fn)(void *ctx, size_t size);
typedef void *(*aisle_realloc_fn)(void *ctx, void *ptr, size_t size);
typedef void (*aisle_free_fn)(void *ctx, void *ptr);

/* Replaces the allocator used by every later allocation.  Pass three NULL
 * functions to restore the C library's malloc/realloc/free.  The functions
 * must be thread-safe if aisle is used from several threads.  Call it before
 * creating any handle, or after freeing them all: memory must be released by
 * the allocator that provided it.  This is the only process-wide setting of
 * aisle and is not itself thread-safe.
 * Returns AISLE_OK, or AISLE_EINVAL if only some of the functions are NULL. */
AISLE_API int aisle_set_allocator(aisle_malloc_fn malloc_fn, aisle_realloc_fn realloc_fn,
                                  aisle_free_fn free_fn, void *ctx);

/* Frees memory that aisle allocated and handed to the caller (where a
 * function documents that the caller owns a result).  NULL is a no-op. */
AISLE_API void aisle_free(void *ptr);

/* ========================================================================
 * Configuration
 *
 * Options are set by name on an aisle_config handle and passed to training,
 * loading, saving and serving functions.  Every option is declared once, in
 * the library's option table, with its type, allowed range or values, default
 * and help text; aisle_option_info() enumerates the table (docs/OPTIONS.md
 * and `aisle help` are generated from it).  Unknown names, wrong types and
 * out-of-range values are rejected with AISLE_ENOTFOUND / AISLE_EINVAL /
 * AISLE_ERANGE and a message naming the option and what it allows.
 *
 * An option that is not set takes its default.  Options that do not apply to
 * the call at hand are ignored (a config may carry options for several model
 * kinds).
 * ======================================================================== */

typedef struct aisle_config aisle_config;

/* Option value types, as reported by aisle_option_info(). */
typedef enum aisle_option_type {
    AISLE_OPTION_INT = 1,    /* 64-bit integer */
    AISLE_OPTION_FLOAT = 2,  /* double */
    AISLE_OPTION_STRING = 3, /* text, possibly restricted to a list of choices */
    AISLE_OPTION_BOOL = 4    /* 0 or 1; text accepts true/false/yes/no/on/off/1/0 */
} aisle_option_type;

/* Progress callback for long work (training, evaluation).  Called after each
 * epoch (or comparable step) with the step number (1-based), the planned
 * number of steps, the training loss (NaN where none), the validation metric
 * (NaN where none) and the seconds elapsed.  Return 0 to continue, non-zero
 * to cancel: the call then fails with AISLE_ECANCELLED and returns nothing
 * half-built.  It runs in the thread that called the long function. */
typedef int (*aisle_progress_fn)(void *user, int step, int steps, double loss, double metric,
                                 double elapsed_seconds);

/* Creates an empty configuration (every option at its default).
 * Returns AISLE_OK, AISLE_EINVAL (out is NULL) or AISLE_ENOMEM. */
AISLE_API int aisle_config_new(aisle_config **out);

/* Creates a copy of cfg (options and progress callback).
 * Returns AISLE_OK, AISLE_EINVAL or AISLE_ENOMEM. */
AISLE_API int aisle_config_copy(const aisle_config *cfg, aisle_config **out);

/* Frees a configuration.  NULL is a no-op. */
AISLE_API void aisle_config_free(aisle_config *cfg);

/* Typed setters.  A float option also accepts aisle_config_set_int; a bool
 * accepts 0/1 through aisle_config_set_int.  Returns AISLE_OK, AISLE_EINVAL
 * (NULL argument, wrong type, NaN/Inf, value not among the choices),
 * AISLE_ENOTFOUND (no such option), AISLE_ERANGE (outside the allowed range)
 * or AISLE_ENOMEM.  On failure cfg is unchanged. */
AISLE_API int aisle_config_set_int(aisle_config *cfg, const char *key, int64_t value);
AISLE_API int aisle_config_set_float(aisle_config *cfg, const char *key, double value);
AISLE_API int aisle_config_set_string(aisle_config *cfg, const char *key, const char *value);

/* Sets an option of any type from its text form ("64", "0.05", "true",
 * "cosine"), as a command line or parameter file would give it. */
AISLE_API int aisle_config_set(aisle_config *cfg, const char *key, const char *value);

/* Parses "key=value" pairs separated by whitespace, commas or semicolons,
 * e.g. "model=als factors=64 epochs=15".  Values may be double-quoted to
 * hold separators.  All or nothing: if any pair is bad, cfg is unchanged and
 * the message names the pair's position and key. */
AISLE_API int aisle_config_parse(aisle_config *cfg, const char *text);

/* Removes an option so it takes its default again.  AISLE_ENOTFOUND if the
 * name is not an option. */
AISLE_API int aisle_config_unset(aisle_config *cfg, const char *key);

/* Typed getters: the value set, or the option's default when unset.
 * cfg may be NULL (defaults).  Returns AISLE_OK, AISLE_ENOTFOUND (no such
 * option) or AISLE_EINVAL (wrong type or NULL out).  For options whose
 * default depends on the model kind, the getters return the generic
 * default; the kind-specific one is listed by aisle_option_info(). */
AISLE_API int aisle_config_get_int(const aisle_config *cfg, const char *key, int64_t *out);
AISLE_API int aisle_config_get_float(const aisle_config *cfg, const char *key, double *out);
/* Copies the value's text form (any type) into buf, NUL-terminated.  Fails
 * with AISLE_ERANGE if it does not fit in len bytes (buf then holds "").  */
AISLE_API int aisle_config_get_string(const aisle_config *cfg, const char *key, char *buf,
                                      size_t len);

/* Whether the option was set explicitly (1) or takes its default (0).
 * Returns AISLE_OK or AISLE_ENOTFOUND. */
AISLE_API int aisle_config_is_set(const aisle_config *cfg, const char *key, int *out);

/* Writes every explicitly set option as "key=value" pairs separated by
 * spaces (the format aisle_config_parse reads) into buf.  *needed (may be
 * NULL) receives the length the text needs, excluding the NUL.  Returns
 * AISLE_ERANGE if it does not fit. */
AISLE_API int aisle_config_to_string(const aisle_config *cfg, char *buf, size_t len,
                                     size_t *needed);

/* Installs a progress callback (NULL removes it). */
AISLE_API int aisle_config_set_progress(aisle_config *cfg, aisle_progress_fn fn, void *user);

/* The number of entries in the option table. */
AISLE_API int aisle_option_count(void);

/* Describes option number index (0 <= index < aisle_option_count()).  Every
 * out-parameter may be NULL; strings are static.  `scope` names where the
 * option applies ("all", "data", "save", or a comma-separated list of model
 * kinds); `range` is e.g. "[1, 4096]" or "als|cg|cholesky" choices.
 * Returns AISLE_OK or AISLE_ERANGE. */
AISLE_API int aisle_option_info(int index, const char **name, int *type, const char **default_text,
                                const char **range, const char **scope, const char **help);

/* >>> section: dataset (behaviour events) */

/* A behaviour dataset: events (view, cart, purchase, rating or a custom
 * name) of users on items, keyed by the shop's own string ids.  Keys map to
 * dense indices 0..n-1 in order of first appearance.  Events of the same
 * (user, item) pair aggregate: implicit events add weight(event) * value
 * (default weights view 1, cart 3, purchase 5, custom 1), a rating sets the
 * pair's value (latest rating wins).  Each user's events are also kept in
 * time order for sequence models.  See docs/DATA.md. */
typedef struct aisle_dataset aisle_dataset;

/* Creates an empty dataset.  Returns AISLE_OK, AISLE_EINVAL or AISLE_ENOMEM. */
AISLE_API int aisle_dataset_new(aisle_dataset **out);

/* Frees a dataset.  NULL is a no-op. */
AISLE_API void aisle_dataset_free(aisle_dataset *ds);

/* Adds one event.  user_key and item_key are non-empty UTF-8 ids; event is
 * "view", "cart", "purchase", "rating" or a custom name (NULL or "" means
 * "view"); value is the quantity or rating (use 1 for a plain event);
 * timestamp is seconds since the Unix epoch (0 if unknown).
 * Returns AISLE_OK, AISLE_EINVAL (NULL/empty key, non-finite value),
 * AISLE_ERANGE (more than 2^32-2 distinct keys) or AISLE_ENOMEM; on failure
 * the dataset is exactly as before the call. */
AISLE_API int aisle_dataset_add_event(aisle_dataset *ds, const char *user_key, const char *item_key,
                                      const char *event, double value, int64_t timestamp);

/* Sets the weight of an event type (built-in or custom) used when
 * aggregating implicit events.  Returns AISLE_OK, AISLE_EINVAL or
 * AISLE_ENOMEM. */
AISLE_API int aisle_dataset_set_event_weight(aisle_dataset *ds, const char *event, double weight);

/* Numbers of distinct users, distinct items and raw events added. */
AISLE_API int aisle_dataset_user_count(const aisle_dataset *ds, size_t *out);
AISLE_API int aisle_dataset_item_count(const aisle_dataset *ds, size_t *out);
AISLE_API int aisle_dataset_event_count(const aisle_dataset *ds, size_t *out);

/* Key -> dense index.  Returns AISLE_OK, AISLE_EINVAL or AISLE_ENOTFOUND. */
AISLE_API int aisle_dataset_user_index(const aisle_dataset *ds, const char *key, size_t *out);
AISLE_API int aisle_dataset_item_index(const aisle_dataset *ds, const char *key, size_t *out);

/* Dense index -> key.  *out points into the dataset and stays valid until
 * the dataset is freed.  Returns AISLE_OK, AISLE_EINVAL or AISLE_ERANGE. */
AISLE_API int aisle_dataset_user_key(const aisle_dataset *ds, size_t index, const char **out);
AISLE_API int aisle_dataset_item_key(const aisle_dataset *ds, size_t index, const char **out);

/* Splits a dataset into a training and a test part for evaluation.  Every
 * event of ds goes to exactly one part (the parts are disjoint and their
 * union is ds).  Both parts share ds's user, item and event dictionaries,
 * so an index or key means the same in ds, *train and *test (a user may
 * have no events in one part).  Options (cfg may be NULL): `split`
 *   random  per user, round(test_fraction * n) of the user's n distinct
 *           items (at most n-1) go to test with all their events;
 *   time    one global cutoff: the events at or after the time of the
 *           (1 - test_fraction) quantile go to test, so every train event
 *           is earlier than every test event;
 *   last    each user's last `leave_last` events in time order go to test
 *           (users with no more events than that stay in train);
 *   kfold   per user, the distinct items are dealt into `folds` folds;
 *           fold number `fold` (0-based) is the test part;
 * and `seed`: the same seed gives the same split on every platform.
 * ds is not changed (its cached views may be built).  *train and *test are
 * new datasets owned by the caller, set only on success.
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument; split=time on data without
 * timestamps), AISLE_ERANGE (fold >= folds) or AISLE_ENOMEM. */
AISLE_API int aisle_dataset_split(const aisle_dataset *ds, const aisle_config *cfg, aisle_dataset **train,
                                  aisle_dataset **test);

/* The same split from a compact spec, as the CLI takes it: "random:0.2",
 * "time:0.1", "last:1", "kfold:5:0" (kind, then its parameters separated
 * by ':'; omitted parameters take the option defaults: random/time 0.2,
 * last 1, kfold 5 folds, fold 0).  Returns what aisle_dataset_split
 * returns, plus AISLE_EINVAL / AISLE_ERANGE for a malformed spec (the
 * message quotes it). */
AISLE_API int aisle_dataset_split_spec(const aisle_dataset *ds, const char *spec, uint64_t seed,
                                       aisle_dataset **train, aisle_dataset **test);

/* Loads events from a delimited text file (CSV, TSV, any one-byte or
 * doubled delimiter such as MovieLens' "::"), plain or gzip-compressed
 * (recognised by its magic bytes), and adds them to ds as
 * aisle_dataset_add_event would.  Options (cfg may be NULL; see
 * docs/DATA.md): `columns` maps roles user, item, value, time, event to
 * header names or 1-based positions; `header` (auto|yes|no); `delimiter`
 * (default by extension: .tsv .data .txt tab, .csv comma, else guessed);
 * `event` (event name when there is no event column); `time_format`
 * (epoch seconds or ISO 8601 by default); `negative`
 * (subtract|skip|keep); `encoding` (utf8|latin1); `quoting`;
 * `max_field`; `lenient`.  RFC 4180 quoting, CRLF and a UTF-8 BOM are
 * handled.
 *
 * Strict mode (default): the first bad row fails the call with
 * AISLE_EFORMAT and a message "file:line:column: expected X, found Y",
 * and ds is exactly as before the call.  Lenient mode (lenient=true) skips
 * bad rows; aisle_dataset_load_report tells how many and why.
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument, bad option text),
 * AISLE_ENOTFOUND (no such file), AISLE_EIO, AISLE_EFORMAT, AISLE_ERANGE
 * (key limit) or AISLE_ENOMEM; on failure ds is unchanged. */
AISLE_API int aisle_dataset_load(aisle_dataset *ds, const char *path, const aisle_config *cfg);

/* The same from a caller buffer of len bytes (plain or gzip; it need not
 * be NUL-terminated and is not kept).  name (may be NULL) stands for the
 * file name in messages and chooses the default delimiter by extension. */
AISLE_API int aisle_dataset_load_buffer(aisle_dataset *ds, const void *data, size_t len, const char *name,
                                        const aisle_config *cfg);

/* Counts of the last successful load into ds: data rows read (header and
 * blank lines excluded), rows loaded, bad rows skipped (lenient mode) and
 * rows filtered by negative=skip.  All 0 before any load.  Any
 * out-parameter may be NULL.  Returns AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_dataset_load_report(const aisle_dataset *ds, size_t *rows_read, size_t *rows_loaded,
                                        size_t *rows_skipped, size_t *rows_filtered);

/* Message number index (0-based) about a skipped row of the last load (at
 * most the first 10 are kept), "file:line:column: expected X, found Y".
 * *out stays valid until the next load into ds or its free.  Returns
 * AISLE_OK, AISLE_EINVAL or AISLE_ERANGE (no such message). */
AISLE_API int aisle_dataset_load_message(const aisle_dataset *ds, size_t index, const char **out);

/* Number of distinct (user, item) pairs with at least one event.  Builds
 * the dataset's aggregated view if needed (cached until the next change).
 * Returns AISLE_OK, AISLE_EINVAL or AISLE_ENOMEM. */
AISLE_API int aisle_dataset_pair_count(const aisle_dataset *ds, size_t *out);

/* pairs / (users * items): the share of the user-item matrix that is
 * filled; 0 for an empty dataset.  Returns as aisle_dataset_pair_count. */
AISLE_API int aisle_dataset_density(const aisle_dataset *ds, double *out);

/* Number of events of one type ("view", "purchase", a custom name).
 * Returns AISLE_OK, AISLE_EINVAL or AISLE_ENOTFOUND (a name the dataset
 * has never seen; built-in names always count, possibly 0). */
AISLE_API int aisle_dataset_event_type_count(const aisle_dataset *ds, const char *event, size_t *out);

/* Earliest and latest timestamp among events that have one (timestamp
 * 0 means unknown); both 0 when none has.  Either out-parameter may be
 * NULL.  Returns AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_dataset_time_range(const aisle_dataset *ds, int64_t *first, int64_t *last);

/* A human-readable summary, "key: value" lines: users, items, events,
 * pairs, density, whether ratings are present, time range (UTC) and, per
 * event type, its count and weight.  *needed (may be NULL) receives the
 * text's length without the NUL; returns AISLE_ERANGE if it does not fit
 * in len bytes (buf then holds ""), else AISLE_OK, AISLE_EINVAL or
 * AISLE_ENOMEM. */
AISLE_API int aisle_dataset_describe(const aisle_dataset *ds, char *buf, size_t len, size_t *needed);

/* <<< section: dataset */

/* >>> section: catalog */

/* A product catalog: items with key, title, description, category path,
 * brand, price and free key=value attributes (see the catalog functions
 * below).  Joined with datasets and models by item key. */
typedef struct aisle_catalog aisle_catalog;

/* Creates an empty catalog.  Returns AISLE_OK, AISLE_EINVAL or
 * AISLE_ENOMEM. */
AISLE_API int aisle_catalog_new(aisle_catalog **out);

/* Frees a catalog.  NULL is a no-op. */
AISLE_API void aisle_catalog_free(aisle_catalog *cat);

/* Adds a product, or updates the one with this key (its fields are
 * replaced; its attributes are kept).  key is a non-empty UTF-8 id, the
 * same as the item keys of datasets (a product need not appear in any
 * dataset and vice versa).  title, description, brand: UTF-8 text or NULL
 * for "".  category: a path such as "Home > Lighting" (stored as given).
 * price: NaN when unknown.  Returns AISLE_OK, AISLE_EINVAL (NULL catalog or
 * key, empty key, invalid UTF-8, infinite price), AISLE_ERANGE (key limit)
 * or AISLE_ENOMEM; on failure the catalog is unchanged. */
AISLE_API int aisle_catalog_add_item(aisle_catalog *cat, const char *key, const char *title,
                                     const char *description, const char *category, const char *brand,
                                     double price);

/* Sets attribute name (non-empty) of the product key to value, replacing
 * an earlier value of the same name.  Returns AISLE_OK, AISLE_EINVAL,
 * AISLE_ENOTFOUND (no such product) or AISLE_ENOMEM. */
AISLE_API int aisle_catalog_set_attribute(aisle_catalog *cat, const char *key, const char *name,
                                          const char *value);

/* Number of products. */
AISLE_API int aisle_catalog_count(const aisle_catalog *cat, size_t *out);

/* Product key -> dense index (0..count-1, in order of first addition) and
 * back.  Keys stay valid while the catalog lives.  Return AISLE_OK,
 * AISLE_EINVAL, AISLE_ENOTFOUND / AISLE_ERANGE. */
AISLE_API int aisle_catalog_index(const aisle_catalog *cat, const char *key, size_t *out);
AISLE_API int aisle_catalog_key(const aisle_catalog *cat, size_t index, const char **out);

/* A product's text: field is "title", "description", "category", "brand"
 * (always present, "" when unset) or an attribute name.  *out stays valid
 * until the catalog is changed or freed.  Returns AISLE_OK, AISLE_EINVAL or
 * AISLE_ENOTFOUND (no such product, or no such attribute on it). */
AISLE_API int aisle_catalog_item_text(const aisle_catalog *cat, const char *key, const char *field,
                                      const char **out);

/* A product's price; NaN when unknown.  AISLE_ENOTFOUND for an unknown
 * product. */
AISLE_API int aisle_catalog_item_price(const aisle_catalog *cat, const char *key, double *out);

/* A product's attributes in the order they were first set: their number,
 * and name and value of number index (either out-parameter may be NULL).
 * Return AISLE_OK, AISLE_EINVAL, AISLE_ENOTFOUND or AISLE_ERANGE. */
AISLE_API int aisle_catalog_item_attribute_count(const aisle_catalog *cat, const char *key, size_t *out);
AISLE_API int aisle_catalog_item_attribute(const aisle_catalog *cat, const char *key, size_t index,
                                           const char **name, const char **value);

/* Loads products from a delimited text file (plain or gzip), with the same
 * format options, strict/lenient rules and messages as aisle_dataset_load.
 * Option `catalog_columns` maps roles key (required), title, description,
 * category, brand, price to header names or 1-based positions (default:
 * known header names such as item_id, title, price; else key=1 title=2).
 * With a header row, every other named column becomes an attribute (empty
 * values are not set).  A key seen again updates the product (non-empty
 * fields win).  `encoding=latin1` converts e.g. MovieLens u.item.  All or
 * nothing in strict mode: on failure cat is unchanged.  Returns AISLE_OK,
 * AISLE_EINVAL, AISLE_ENOTFOUND, AISLE_EIO, AISLE_EFORMAT, AISLE_ERANGE or
 * AISLE_ENOMEM. */
AISLE_API int aisle_catalog_load(aisle_catalog *cat, const char *path, const aisle_config *cfg);

/* The same from a caller buffer; name (may be NULL) is used in messages
 * and for the default delimiter. */
AISLE_API int aisle_catalog_load_buffer(aisle_catalog *cat, const void *data, size_t len, const char *name,
                                        const aisle_config *cfg);

/* Counts of the last successful catalog load (rows read, loaded, skipped
 * in lenient mode) and its first messages about skipped rows, as for
 * datasets. */
AISLE_API int aisle_catalog_load_report(const aisle_catalog *cat, size_t *rows_read, size_t *rows_loaded,
                                        size_t *rows_skipped);
AISLE_API int aisle_catalog_load_message(const aisle_catalog *cat, size_t index, const char **out);

/* <<< section: catalog */

/* >>> section: features */

/* <<< section: features */

/* >>> section: model (handle, file format) */

/* A trained model of one kind (popular, itemknn, mf, als, bpr, sasrec, ...).
 * It carries its own user and item key dictionaries and each user's
 * training history, so it is usable without the dataset it came from.
 * Once trained or loaded it is immutable (except through the documented
 * update functions) and safe to share between threads. */
typedef struct aisle_model aisle_model;

/* Number of model kinds compiled in, and the name and one-line summary of
 * kind number index (static strings; either out-parameter may be NULL).
 * aisle_model_kind_info returns AISLE_OK or AISLE_ERANGE. */
AISLE_API int aisle_model_kind_count(void);
AISLE_API int aisle_model_kind_info(int index, const char **name, const char **summary);

/* Trains a model of the kind named by option `model` (default "als") on a
 * dataset, with the options in cfg (NULL: all defaults).  Progress is
 * reported through cfg's progress callback, which may cancel.
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument, empty dataset, bad option
 * for this kind), AISLE_ENOTFOUND (unknown kind), AISLE_ERANGE,
 * AISLE_ECANCELLED or AISLE_ENOMEM.  *out is set only on success. */
AISLE_API int aisle_model_train(const aisle_dataset *ds, const aisle_config *cfg, aisle_model **out);

/* The same, with a product catalog for kinds that use item side
 * information (titles, categories) -- e.g. to give items without history
 * sensible scores.  cat may be NULL; kinds that do not use it ignore it. */
AISLE_API int aisle_model_train_with_catalog(const aisle_dataset *ds, const aisle_catalog *cat,
                                            const aisle_config *cfg, aisle_model **out);

/* Frees a model.  NULL is a no-op. */
AISLE_API void aisle_model_free(aisle_model *model);

/* The model's kind name ("als"); static string. */
AISLE_API int aisle_model_kind(const aisle_model *model, const char **out);

/* A human-readable description, "key: value" lines: kind, writer's library
 * version, sizes, training options, stored metrics and kind-specific facts.
 * *needed (may be NULL) receives the text's length without the NUL; returns
 * AISLE_ERANGE if it does not fit in len bytes. */
AISLE_API int aisle_model_describe(const aisle_model *model, char *buf, size_t len, size_t *needed);

/* The model's key dictionaries (see the aisle_dataset equivalents).  Keys
 * returned stay valid while the model lives. */
AISLE_API int aisle_model_user_count(const aisle_model *model, size_t *out);
AISLE_API int aisle_model_item_count(const aisle_model *model, size_t *out);
AISLE_API int aisle_model_user_key(const aisle_model *model, size_t index, const char **out);
AISLE_API int aisle_model_item_key(const aisle_model *model, size_t index, const char **out);
AISLE_API int aisle_model_user_index(const aisle_model *model, const char *key, size_t *out);
AISLE_API int aisle_model_item_index(const aisle_model *model, const char *key, size_t *out);

/* Stored metrics (e.g. "ndcg@10" measured after training), saved with the
 * model and shown by describe.  Names are at most 31 bytes.  Setting is not
 * thread-safe; getting is.  get returns AISLE_ENOTFOUND if absent. */
AISLE_API int aisle_model_set_metric(aisle_model *model, const char *name, double value);
AISLE_API int aisle_model_get_metric(const aisle_model *model, const char *name, double *out);

/* <<< section: model */

/* >>> section: serving (recommend, similar, explain) */

/* <<< section: serving */

/* >>> section: evaluation */

/* <<< section: evaluation */

/* >>> section: demo store */

/* <<< section: demo store */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AISLE_H */
