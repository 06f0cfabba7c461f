/*
 * aisle.h - the one public header of aisle, an embeddable machine-learning
 * personalization library for online shops.
 *
 * Copyright (c) 2026 The aisle authors. MIT licence (see LICENSE).
 *
 * This header is the reference manual: every function is documented where it
 * is declared.  Conventions that hold for the whole API:
 *
 *  - Handles are opaque (`typedef struct aisle_thing aisle_thing;`).  They are
 *    created by `aisle_thing_new(&out, ...)` or `aisle_thing_load(&out, ...)` and
 *    released by `aisle_thing_free(h)`; every `_free` accepts NULL.
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

/* >>> section: version */

/* The release version follows semantic versioning.  The shared library's
 * ABI version (its soname, libaisle.so.1) changes only when a published
 * function or type changes incompatibly, which aisle avoids: new behaviour
 * comes as new functions or new option names. */

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

/* The same as AISLE_VERSION_NUMBER, for the library loaded at run time.
 * Returns the number itself (not a status); never fails. */
AISLE_API int aisle_version_number(void);

/* <<< section: version */

/* >>> section: errors */

/* Every status code is one of these values; new codes may be added in later
 * releases, so treat any unknown negative value as a failure. */

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

/* <<< section: errors */

/* >>> section: memory (allocator) */

/* Every allocation aisle makes goes through one allocator, which the host
 * may replace to account memory or inject failures.  (OpenBLAS and zlib
 * internals keep their own allocators.) */

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

/* <<< section: memory */

/* >>> section: configuration (options) */

/* Options are set by name on an aisle_config handle and passed to training,
 * loading, saving and serving functions.  Every option is declared once, in
 * the library's option table, with its type, allowed range or values, default
 * and help text; aisle_option_info() enumerates the table (docs/OPTIONS.md
 * and `aisle help` are generated from it).  Unknown names, wrong types and
 * out-of-range values are rejected with AISLE_ENOTFOUND / AISLE_EINVAL /
 * AISLE_ERANGE and a message naming the option and what it allows.
 *
 * An option that is not set takes its default.  Options that do not apply to
 * the call at hand are ignored (a config may carry options for several model
 * kinds). */

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
 * "cosine"), as a command line or parameter file would give it.  Returns
 * AISLE_OK, AISLE_EINVAL (NULL argument, text that is not of the option's
 * type, value not among the choices), AISLE_ENOTFOUND (no such option),
 * AISLE_ERANGE (outside the allowed range) or AISLE_ENOMEM.  On failure cfg
 * is unchanged. */
AISLE_API int aisle_config_set(aisle_config *cfg, const char *key, const char *value);

/* Parses "key=value" pairs separated by whitespace, commas or semicolons,
 * e.g. "model=als factors=64 epochs=15".  Values may be double-quoted to
 * hold separators.  All or nothing: if any pair is bad, cfg is unchanged and
 * the message names the pair's position and key.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL argument, or a value as for aisle_config_set),
 * AISLE_EFORMAT (not key=value, unterminated quote), AISLE_ENOTFOUND (no
 * such option), AISLE_ERANGE or AISLE_ENOMEM. */
AISLE_API int aisle_config_parse(aisle_config *cfg, const char *text);

/* Removes an option so it takes its default again (not set: nothing to
 * do).  Returns AISLE_OK, AISLE_EINVAL (NULL cfg or key) or AISLE_ENOTFOUND
 * (the name is not an option). */
AISLE_API int aisle_config_unset(aisle_config *cfg, const char *key);

/* Typed getters: the value set, or the option's default when unset.
 * cfg may be NULL (defaults).  Returns AISLE_OK, AISLE_ENOTFOUND (no such
 * option) or AISLE_EINVAL (wrong type or NULL out).  For options whose
 * default depends on the model kind, the getters return the generic
 * default; the kind-specific one is listed by aisle_option_info(). */
AISLE_API int aisle_config_get_int(const aisle_config *cfg, const char *key, int64_t *out);
AISLE_API int aisle_config_get_float(const aisle_config *cfg, const char *key, double *out);
/* Copies the value's text form (any type) into buf, NUL-terminated.
 * Returns AISLE_OK, AISLE_EINVAL (NULL buf or key), AISLE_ENOTFOUND (no
 * such option), AISLE_ERANGE (does not fit in len bytes; buf then holds "")
 * or AISLE_ENOMEM. */
AISLE_API int aisle_config_get_string(const aisle_config *cfg, const char *key, char *buf,
                                      size_t len);

/* Whether the option was set explicitly (1) or takes its default (0).
 * cfg may be NULL (nothing set).  Returns AISLE_OK, AISLE_EINVAL (NULL out
 * or key) or AISLE_ENOTFOUND. */
AISLE_API int aisle_config_is_set(const aisle_config *cfg, const char *key, int *out);

/* Writes every explicitly set option as "key=value" pairs separated by
 * spaces (the format aisle_config_parse reads) into buf.  *needed (may be
 * NULL) receives the length the text needs, excluding the NUL.  Returns
 * AISLE_OK, AISLE_EINVAL (NULL cfg), AISLE_ERANGE (does not fit) or
 * AISLE_ENOMEM. */
AISLE_API int aisle_config_to_string(const aisle_config *cfg, char *buf, size_t len,
                                     size_t *needed);

/* Installs a progress callback (NULL removes it); user is passed to every
 * call.  Returns AISLE_OK or AISLE_EINVAL (NULL cfg). */
AISLE_API int aisle_config_set_progress(aisle_config *cfg, aisle_progress_fn fn, void *user);

/* The number of entries in the option table (every module's and every
 * model kind's options; a name may appear once per table).  Returns the
 * count itself; never fails. */
AISLE_API int aisle_option_count(void);

/* Describes option number index (0 <= index < aisle_option_count()).  Every
 * out-parameter may be NULL; strings are static.  `scope` names where the
 * option applies ("all", "data", "save", or a comma-separated list of model
 * kinds); `range` is e.g. "[1, 4096]" or "als|cg|cholesky" choices.
 * Returns AISLE_OK or AISLE_ERANGE. */
AISLE_API int aisle_option_info(int index, const char **name, int *type, const char **default_text,
                                const char **range, const char **scope, const char **help);

/* <<< section: configuration */

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

/* Numbers of distinct users, distinct items and raw events added.
 * Return AISLE_OK or AISLE_EINVAL (NULL argument). */
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
 * Thread-safe on a dataset that no thread is changing (views are built under
 * the dataset's lock).
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
 * `max_field`, `max_fields`, `max_record` (bounds on a field, the fields of
 * a record and a record's bytes); `lenient`; `fifo_timeout`.  RFC 4180
 * quoting, CRLF and a UTF-8 BOM at the start are handled; a BOM inside a
 * key is a bad row.  The file is read sequentially, so pipes, FIFOs and
 * /dev/stdin work; a FIFO nobody writes to fails with AISLE_EIO after
 * `fifo_timeout` seconds.
 *
 * Strict mode (default): the first bad row fails the call with
 * AISLE_EFORMAT and a message "file:line:column: expected X, found Y",
 * and ds is exactly as before the call.  Lenient mode (lenient=true) skips
 * bad rows; aisle_dataset_load_report tells how many and why.  Broken
 * input ends even a lenient load with AISLE_EFORMAT: corrupt or truncated
 * gzip data, a record longer than `max_record`.
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument, bad option text),
 * AISLE_ENOTFOUND (no such file), AISLE_EIO, AISLE_EFORMAT, AISLE_ERANGE
 * (key limit) or AISLE_ENOMEM; on failure ds is unchanged.  It changes ds:
 * one thread at a time per dataset; different datasets load in parallel. */
AISLE_API int aisle_dataset_load(aisle_dataset *ds, const char *path, const aisle_config *cfg);

/* The same from a caller buffer of len bytes (plain or gzip; it need not
 * be NUL-terminated and is not kept).  name (may be NULL) stands for the
 * file name in messages and chooses the default delimiter by extension.
 * Same statuses as aisle_dataset_load. */
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

/* Number of products.  Returns AISLE_OK or AISLE_EINVAL. */
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

/* A product's price; NaN when unknown.  Returns AISLE_OK, AISLE_EINVAL
 * or AISLE_ENOTFOUND (unknown product). */
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
 * AISLE_ENOMEM.  One thread at a time per catalog; the read-only catalog
 * functions may be called from many threads on an unchanging catalog. */
AISLE_API int aisle_catalog_load(aisle_catalog *cat, const char *path, const aisle_config *cfg);

/* The same from a caller buffer; name (may be NULL) is used in messages
 * and for the default delimiter.  Same statuses as aisle_catalog_load. */
AISLE_API int aisle_catalog_load_buffer(aisle_catalog *cat, const void *data, size_t len, const char *name,
                                        const aisle_config *cfg);

/* Counts of the last successful catalog load (rows read, loaded, skipped
 * in lenient mode) and its first messages about skipped rows, as for
 * datasets.  aisle_catalog_load_report returns AISLE_OK or AISLE_EINVAL;
 * aisle_catalog_load_message AISLE_OK, AISLE_EINVAL or AISLE_ERANGE (no such
 * message). */
AISLE_API int aisle_catalog_load_report(const aisle_catalog *cat, size_t *rows_read, size_t *rows_loaded,
                                        size_t *rows_skipped);
AISLE_API int aisle_catalog_load_message(const aisle_catalog *cat, size_t index, const char **out);

/* <<< section: catalog */

/* >>> section: features */

/* Feature engineering for product text and attributes: a UTF-8 tokenizer,
 * word and character n-grams, stable feature hashing, sparse vectors,
 * TF-IDF/BM25 and categorical / numeric encoders.  docs/FEATURES.md gives
 * the exact tokenizer rules, the hash definition and the formulas.
 *
 * Texts are passed as (text, len): len bytes of UTF-8, or
 * AISLE_NUL_TERMINATED for a NUL-terminated string.  With an explicit
 * length, embedded NUL bytes are separators.  Invalid UTF-8 never fails:
 * each byte that does not start a valid sequence is skipped and separates
 * tokens.  Nothing is read past len bytes.
 *
 * Thread safety: a handle is configured and fitted by one thread; once
 * fitted it is only read by the transform / tokenize / get functions, which
 * may then be called from any number of threads at once. */

/* Length value meaning "text is NUL-terminated". */
#define AISLE_NUL_TERMINATED ((size_t)-1)

/* Token kinds reported by aisle_tokens_kind() and the token callback. */
#define AISLE_TOKEN_WORD 0       /* a word or number ("bluetooth", "2.4ghz") */
#define AISLE_TOKEN_CJK 1        /* one CJK character ("蓝") */
#define AISLE_TOKEN_CJK_BIGRAM 2 /* two adjacent CJK characters ("蓝牙") */
#define AISLE_TOKEN_WORD_NGRAM 3 /* word n-gram, words joined by one space ("blue tooth") */
#define AISLE_TOKEN_CHAR_NGRAM 4 /* character n-gram of "<word>" ("<bl") */

/* MurmurHash3 x86_32 of len bytes at data with the given seed, the hash
 * behind every hashed feature.  The same value on every platform (bytes are
 * read as little-endian words).  Returns AISLE_OK or AISLE_EINVAL (out NULL,
 * or data NULL with len > 0). */
AISLE_API int aisle_hash32(const void *data, size_t len, uint32_t seed, uint32_t *out);

/* A configured tokenizer. */
typedef struct aisle_tokenizer aisle_tokenizer;
/* A list of tokens or feature strings, owned by the caller. */
typedef struct aisle_tokens aisle_tokens;

/* Creates a tokenizer from the options in cfg (NULL: defaults):
 * `lowercase` (true), `cjk_bigrams` (true), `min_token_len` (1) and
 * `stop_words` ("": none; words separated by spaces or commas, "_english_"
 * for the built-in English list).  cfg is not referenced afterwards.
 * Returns AISLE_OK, AISLE_EINVAL (out NULL, bad stop word, an option out of
 * range), or AISLE_ENOMEM.  *out is set only on success. */
AISLE_API int aisle_tokenizer_new(aisle_tokenizer **out, const aisle_config *cfg);

/* Frees a tokenizer.  NULL is a no-op. */
AISLE_API void aisle_tokenizer_free(aisle_tokenizer *tok);

/* Adds n stop words (NUL-terminated UTF-8; lower-cased like tokens when the
 * tokenizer lower-cases).  Tokens equal to a stop word are dropped.  All or
 * nothing.  Not thread-safe: call before sharing the tokenizer.  Returns
 * AISLE_OK, AISLE_EINVAL (NULL, invalid UTF-8, longer than 255 bytes) or
 * AISLE_ENOMEM. */
AISLE_API int aisle_tokenizer_add_stop_words(aisle_tokenizer *tok, const char *const *words, size_t n);

/* Tokenizes text into a new token list *out (free with aisle_tokens_free).
 * Tokens come in text order; a run of CJK characters gives its characters,
 * then its bigrams.  Returns AISLE_OK, AISLE_EINVAL (NULL argument) or
 * AISLE_ENOMEM (nothing returned).  Thread-safe on a shared tokenizer. */
AISLE_API int aisle_tokenizer_tokenize(const aisle_tokenizer *tok, const char *text, size_t len,
                                       aisle_tokens **out);

/* Token callback: token is NUL-terminated (valid during the call), len its
 * length in bytes, kind an AISLE_TOKEN_* value.  Return 0 to continue,
 * non-zero to stop. */
typedef int (*aisle_token_fn)(void *user, const char *token, size_t len, int kind);

/* Calls fn for every token of text, without allocating.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL argument) or AISLE_ECANCELLED (fn returned non-zero).
 * Thread-safe on a shared tokenizer. */
AISLE_API int aisle_tokenizer_each(const aisle_tokenizer *tok, const char *text, size_t len,
                                   aisle_token_fn fn, void *user);

/* Frees a token list.  NULL is a no-op. */
AISLE_API void aisle_tokens_free(aisle_tokens *tokens);

/* Number of tokens in the list.  Returns AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_tokens_count(const aisle_tokens *tokens, size_t *out);

/* Token i: *text (NUL-terminated, valid while the list lives) and its
 * length in bytes in *len (len may be NULL).  Returns AISLE_OK,
 * AISLE_EINVAL or AISLE_ERANGE (i >= count). */
AISLE_API int aisle_tokens_get(const aisle_tokens *tokens, size_t i, const char **text, size_t *len);

/* Kind of token i (AISLE_TOKEN_*).  Returns AISLE_OK, AISLE_EINVAL or
 * AISLE_ERANGE. */
AISLE_API int aisle_tokens_kind(const aisle_tokens *tokens, size_t i, int *kind);

/* A sparse vector of dimension dim: strictly increasing uint32 indices
 * below dim with float values. */
typedef struct aisle_sparse aisle_sparse;

/* Creates a sparse vector from n (index, value) pairs in any order: pairs
 * with the same index are summed (in input order) and entries that sum to
 * exactly 0 are dropped.  The arrays are copied.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL argument, non-finite value), AISLE_ERANGE (an index
 * >= dim) or AISLE_ENOMEM. */
AISLE_API int aisle_sparse_new(aisle_sparse **out, uint32_t dim, const uint32_t *indices,
                               const float *values, size_t n);

/* Frees a sparse vector.  NULL is a no-op. */
AISLE_API void aisle_sparse_free(aisle_sparse *v);

/* The stored entries: *indices (strictly increasing) and *values, nnz
 * entries each; the pointers stay valid while v lives and is not changed
 * (aisle_sparse_normalize changes values in place, not pointers).  indices
 * and values may be NULL.  With nnz 0 the pointers may be NULL.  Returns
 * AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_sparse_data(const aisle_sparse *v, const uint32_t **indices, const float **values,
                                size_t *nnz);

/* The dimension.  Returns AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_sparse_dim(const aisle_sparse *v, uint32_t *out);

/* Euclidean (L2) norm, accumulated in double.  Returns AISLE_OK or
 * AISLE_EINVAL. */
AISLE_API int aisle_sparse_norm(const aisle_sparse *v, double *out);

/* Scales v to unit L2 norm in place (a zero vector stays zero).  Not
 * thread-safe on a shared vector.  Returns AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_sparse_normalize(aisle_sparse *v);

/* Dot product of a and b (a merge of the sorted indices, accumulated in
 * double).  Returns AISLE_OK or AISLE_EINVAL (NULL argument, dimensions
 * differ). */
AISLE_API int aisle_sparse_dot(const aisle_sparse *a, const aisle_sparse *b, double *out);

/* A hashing vectorizer: text -> tokens -> feature strings -> buckets. */
typedef struct aisle_hasher aisle_hasher;

/* Creates a hashing vectorizer from the options in cfg (NULL: defaults):
 * the tokenizer options (see aisle_tokenizer_new), `word_ngrams` (1),
 * `char_ngram_min` / `char_ngram_max` (0: none), `hash_buckets` (2^20),
 * `hash_seed` (0), `signed_hash` (false) and `l2_normalize` (true).
 * Feature strings are: every token, word n-grams 2..word_ngrams over words
 * and CJK characters (joined by one space, stop words already removed), and
 * the character n-grams of every word wrapped in '<' '>'.  Feature f goes
 * to bucket murmur3_32(f, seed) % hash_buckets (character n-grams use seed
 * + 1); with signed_hash its value is -1 when bit 31 of that hash is set.
 * Returns AISLE_OK, AISLE_EINVAL (out NULL, char_ngram_min >
 * char_ngram_max, bad stop word), AISLE_ERANGE or AISLE_ENOMEM. */
AISLE_API int aisle_hasher_new(aisle_hasher **out, const aisle_config *cfg);

/* Frees a hasher.  NULL is a no-op. */
AISLE_API void aisle_hasher_free(aisle_hasher *h);

/* Hashes text into a new sparse vector *out of dimension hash_buckets
 * (free with aisle_sparse_free): the signed counts of its features, scaled
 * to unit L2 norm when l2_normalize is set.  The same text gives the same
 * vector on every platform.  Returns AISLE_OK, AISLE_EINVAL or
 * AISLE_ENOMEM.  Thread-safe on a shared hasher. */
AISLE_API int aisle_hasher_transform(const aisle_hasher *h, const char *text, size_t len, aisle_sparse **out);

/* The feature strings of text, in the order they are hashed, as a new
 * token list (kinds AISLE_TOKEN_*).  For inspection and explanations.
 * Returns AISLE_OK, AISLE_EINVAL or AISLE_ENOMEM.  Thread-safe. */
AISLE_API int aisle_hasher_features(const aisle_hasher *h, const char *text, size_t len, aisle_tokens **out);

/* The bucket (*index) and sign (*sign, +1 or -1; may be NULL) of one
 * feature string of the given kind (AISLE_TOKEN_*).  Returns AISLE_OK or
 * AISLE_EINVAL.  Thread-safe. */
AISLE_API int aisle_hasher_feature_index(const aisle_hasher *h, const char *feature, size_t len, int kind,
                                         uint32_t *index, float *sign);

/* A TF-IDF / BM25 vectorizer with a vocabulary fitted on a corpus. */
typedef struct aisle_tfidf aisle_tfidf;

/* Creates an unfitted vectorizer from the options in cfg (NULL: defaults):
 * the tokenizer and n-gram options (see aisle_hasher_new; the terms are
 * the same feature strings), `min_df` (1), `max_features` (0: all),
 * `tfidf_weighting` ("tfidf" or "bm25"), `tfidf_bm25_k1` (1.2),
 * `tfidf_bm25_b` (0.75) and `l2_normalize` (true).  Returns AISLE_OK, AISLE_EINVAL, AISLE_ERANGE or
 * AISLE_ENOMEM. */
AISLE_API int aisle_tfidf_new(aisle_tfidf **out, const aisle_config *cfg);

/* Frees a vectorizer.  NULL is a no-op. */
AISLE_API void aisle_tfidf_free(aisle_tfidf *t);

/* Fits the vocabulary on n NUL-terminated texts: terms occurring in at
 * least min_df documents, of those the max_features with the highest
 * corpus counts (ties: byte order), indexed in byte order of the terms.
 * idf(t) = ln((1 + N) / (1 + df(t))) + 1 for tfidf and
 * ln(1 + (N - df + 0.5) / (df + 0.5)) for bm25 (docs/FEATURES.md).  A
 * later fit replaces an earlier one; on failure the vectorizer is
 * unchanged.  Not thread-safe.  Returns AISLE_OK, AISLE_EINVAL (NULL
 * argument or text, n = 0), AISLE_ERANGE or AISLE_ENOMEM. */
AISLE_API int aisle_tfidf_fit(aisle_tfidf *t, const char *const *texts, size_t n);

/* Transforms text into a new sparse vector *out with one dimension per
 * vocabulary term: tf * idf (tfidf) or the BM25 term weight (bm25), tf the
 * raw count, scaled to unit L2 norm when l2_normalize is set.  Terms not in
 * the vocabulary are ignored.  With bm25 and l2_normalize=false, the dot
 * product with a query's 0/1 term vector is the query's BM25 score.
 * Returns AISLE_OK, AISLE_EINVAL, AISLE_ESTATE (not fitted) or
 * AISLE_ENOMEM.  Thread-safe on a fitted vectorizer. */
AISLE_API int aisle_tfidf_transform(const aisle_tfidf *t, const char *text, size_t len, aisle_sparse **out);

/* The number of vocabulary terms.  Returns AISLE_OK, AISLE_EINVAL or
 * AISLE_ESTATE. */
AISLE_API int aisle_tfidf_vocab_size(const aisle_tfidf *t, size_t *out);

/* Term number index (*term valid while t lives and is not refitted) and
 * its idf (idf may be NULL).  Returns AISLE_OK, AISLE_EINVAL, AISLE_ESTATE
 * or AISLE_ERANGE. */
AISLE_API int aisle_tfidf_term(const aisle_tfidf *t, size_t index, const char **term, double *idf);

/* The index of a term (as the tokenizer produces it: lower-cased).
 * Returns AISLE_OK, AISLE_EINVAL, AISLE_ESTATE or AISLE_ENOTFOUND. */
AISLE_API int aisle_tfidf_lookup(const aisle_tfidf *t, const char *term, size_t *index);

/* A categorical encoder: string values -> dense indices, with index 0 the
 * out-of-vocabulary bucket (unseen or rare values). */
typedef struct aisle_category_encoder aisle_category_encoder;

/* Creates an unfitted encoder; reads option `category_min_count` (1) from
 * cfg (may be NULL).  Returns AISLE_OK, AISLE_EINVAL, AISLE_ERANGE or AISLE_ENOMEM. */
AISLE_API int aisle_category_encoder_new(aisle_category_encoder **out, const aisle_config *cfg);

/* Frees an encoder.  NULL is a no-op. */
AISLE_API void aisle_category_encoder_free(aisle_category_encoder *e);

/* Fits on n values (NUL-terminated, compared byte for byte): values seen
 * at least category_min_count times get indices 1, 2, ... in order of first
 * appearance.  A later fit replaces an earlier one; on failure the encoder
 * is unchanged.  Not thread-safe.  Returns AISLE_OK, AISLE_EINVAL (NULL
 * array or value), AISLE_ERANGE or AISLE_ENOMEM. */
AISLE_API int aisle_category_encoder_fit(aisle_category_encoder *e, const char *const *values, size_t n);

/* The index of value: 1..size-1 for a kept value, 0 otherwise.  Returns
 * AISLE_OK, AISLE_EINVAL or AISLE_ESTATE (not fitted).  Thread-safe. */
AISLE_API int aisle_category_encoder_transform(const aisle_category_encoder *e, const char *value,
                                               size_t *index);

/* The number of indices, including the out-of-vocabulary bucket 0.
 * Returns AISLE_OK, AISLE_EINVAL or AISLE_ESTATE. */
AISLE_API int aisle_category_encoder_size(const aisle_category_encoder *e, size_t *out);

/* The value with index (1..size-1), valid while e lives and is not refit.
 * Returns AISLE_OK, AISLE_EINVAL, AISLE_ESTATE or AISLE_ERANGE (including
 * index 0, the out-of-vocabulary bucket). */
AISLE_API int aisle_category_encoder_value(const aisle_category_encoder *e, size_t index, const char **value);

/* A numeric encoder, e.g. for prices. */
typedef struct aisle_numeric_encoder aisle_numeric_encoder;

/* Creates an unfitted encoder; reads options `numeric_transform`
 * ("standardize" (default), "minmax", "log1p" or "quantile") and
 * `quantile_bins` (10) from cfg (may be NULL).  Returns AISLE_OK,
 * AISLE_EINVAL, AISLE_ERANGE or AISLE_ENOMEM. */
AISLE_API int aisle_numeric_encoder_new(aisle_numeric_encoder **out, const aisle_config *cfg);

/* Frees an encoder.  NULL is a no-op. */
AISLE_API void aisle_numeric_encoder_free(aisle_numeric_encoder *e);

/* Fits on n > 0 finite values: mean and population standard deviation
 * (standardize), minimum and maximum (minmax), or quantile bin edges: with
 * B = quantile_bins and v the sorted values, the inner edges are
 * v[floor(i * n / B)] for i = 1..B-1, with duplicates and edges equal to
 * the minimum dropped, so ties may give fewer than B bins.  A later fit
 * replaces an earlier one.  Not thread-safe.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL, n = 0, a non-finite value), AISLE_ERANGE (log1p and
 * a value <= -1) or AISLE_ENOMEM. */
AISLE_API int aisle_numeric_encoder_fit(aisle_numeric_encoder *e, const double *values, size_t n);

/* Transforms x: (x - mean) / sd (0 when sd = 0), (x - min) / (max - min)
 * (0 when max = min; not clamped), log1p(x) (needs no fit), or the
 * quantile bin of x as a number.  Returns AISLE_OK, AISLE_EINVAL (x not
 * finite), AISLE_ERANGE (log1p of x <= -1) or AISLE_ESTATE (not fitted).
 * Thread-safe. */
AISLE_API int aisle_numeric_encoder_transform(const aisle_numeric_encoder *e, double x, double *out);

/* The quantile bin of x: the number of inner edges <= x, in [0, bins).
 * Returns AISLE_OK, AISLE_EINVAL (NaN), AISLE_EUNSUPPORTED (transform is
 * not quantile) or AISLE_ESTATE.  Thread-safe. */
AISLE_API int aisle_numeric_encoder_bin(const aisle_numeric_encoder *e, double x, size_t *bin);

/* The number of bins and (edges may be NULL) the bins-1 inner edges,
 * strictly increasing, valid while e lives and is not refit.  Returns
 * AISLE_OK, AISLE_EINVAL, AISLE_EUNSUPPORTED or AISLE_ESTATE. */
AISLE_API int aisle_numeric_encoder_edges(const aisle_numeric_encoder *e, const double **edges, size_t *bins);

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
 * aisle_model_kind_count returns the count itself and never fails;
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
 * sensible scores.  cat may be NULL; kinds that do not use it ignore it.
 * Same statuses as aisle_model_train. */
AISLE_API int aisle_model_train_with_catalog(const aisle_dataset *ds, const aisle_catalog *cat,
                                            const aisle_config *cfg, aisle_model **out);

/* Frees a model.  NULL is a no-op. */
AISLE_API void aisle_model_free(aisle_model *model);

/* The model's kind name ("als"); static string.  Returns AISLE_OK or
 * AISLE_EINVAL (NULL argument). */
AISLE_API int aisle_model_kind(const aisle_model *model, const char **out);

/* A human-readable description, "key: value" lines: kind, writer's library
 * version, sizes, training options, stored metrics and kind-specific facts.
 * *needed (may be NULL) receives the text's length without the NUL.
 * Returns AISLE_OK, AISLE_EINVAL (NULL model), AISLE_ERANGE (does not fit in
 * len bytes) or AISLE_ENOMEM. */
AISLE_API int aisle_model_describe(const aisle_model *model, char *buf, size_t len, size_t *needed);

/* The model's key dictionaries (see the aisle_dataset equivalents).  Keys
 * returned stay valid while the model lives.  The counts return AISLE_OK or
 * AISLE_EINVAL; index -> key also AISLE_ERANGE; key -> index also
 * AISLE_ENOTFOUND. */
AISLE_API int aisle_model_user_count(const aisle_model *model, size_t *out);
AISLE_API int aisle_model_item_count(const aisle_model *model, size_t *out);
AISLE_API int aisle_model_user_key(const aisle_model *model, size_t index, const char **out);
AISLE_API int aisle_model_item_key(const aisle_model *model, size_t index, const char **out);
AISLE_API int aisle_model_user_index(const aisle_model *model, const char *key, size_t *out);
AISLE_API int aisle_model_item_index(const aisle_model *model, const char *key, size_t *out);

/* A user's training history, as the model holds it: the items the user
 * interacted with and their aggregated weights (ratings for rating data),
 * most recent first.  Writes at most max entries to items_out and
 * weights_out (either may be NULL; keys point into the model) and the
 * user's full history length to *n_out, so a first call with max = 0 sizes
 * the arrays.  Returns AISLE_OK, AISLE_EINVAL, AISLE_ENOTFOUND (unknown
 * user) or AISLE_ENOMEM.  Thread-safe on a trained or loaded model. */
AISLE_API int aisle_model_user_history(const aisle_model *model, const char *user_key, size_t max,
                                       const char **items_out, float *weights_out, size_t *n_out);

/* Stored metrics (e.g. "ndcg@10" measured after training), saved with the
 * model and shown by describe.  Names are at most 31 bytes.  Setting is not
 * thread-safe; getting is.  set returns AISLE_OK, AISLE_EINVAL (NULL model,
 * empty or over-long name) or AISLE_ENOMEM; get returns AISLE_OK,
 * AISLE_EINVAL or AISLE_ENOTFOUND (absent). */
AISLE_API int aisle_model_set_metric(aisle_model *model, const char *name, double value);
AISLE_API int aisle_model_get_metric(const aisle_model *model, const char *name, double *out);

/* Saves a model to a file (format: docs/FORMAT.md), atomically: the bytes
 * go to a new temporary file in the same directory, which is flushed,
 * fsync'ed and renamed over path, and the directory is fsync'ed; on any
 * failure the temporary file is removed and an existing file at path is
 * left untouched.  A symbolic link at path is written through: the file it
 * points to is replaced (in that file's directory) and the link stays.  A
 * path naming anything but a regular file (a device such as /dev/null, a
 * FIFO, a directory) is refused with AISLE_EIO before anything is written.
 * Save options in cfg (NULL: defaults): `compression`
 * (zlib level 0..9, 0 stores raw), `quantize` (none|fp16|int8, the
 * encoding of the kind's large float tensors) and `store_int8` (factor
 * kinds: also store the int8 item copy of the int8 scan; needs
 * quantize=none, else AISLE_EINVAL).  Thread-safe on a shared
 * model.  Returns AISLE_OK, AISLE_EINVAL (NULL model or path),
 * AISLE_EUNSUPPORTED (the kind cannot be saved; the message names it),
 * AISLE_EIO (message with the path and errno text; not a regular file; a
 * symbolic link to a missing file) or AISLE_ENOMEM. */
AISLE_API int aisle_model_save(const aisle_model *model, const char *path, const aisle_config *cfg);

/* The same file image in memory: *out receives a new buffer of *len bytes
 * that the caller frees with aisle_free.  Returns AISLE_OK, AISLE_EINVAL,
 * AISLE_EUNSUPPORTED or AISLE_ENOMEM; out and len are set only on success. */
AISLE_API int aisle_model_save_buffer(const aisle_model *model, const aisle_config *cfg, void **out,
                                      size_t *len);

/* Loads a model saved by aisle_model_save (by this or another release with
 * the same format major version).  The loaded model describes itself with
 * the writer's library version and keeps the options it was trained with.
 * Every length, count and CRC is checked before use; option
 * `max_model_bytes` (cfg, NULL: default 16 GiB) bounds what is allocated.
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument), AISLE_EIO (cannot read),
 * AISLE_EFORMAT (not a model file, truncated or corrupt: the message names
 * the header field or section), AISLE_EVERSION (written by a newer format
 * major version, or needs a section this release does not know),
 * AISLE_ENOTFOUND (model kind not compiled in), AISLE_EUNSUPPORTED,
 * AISLE_ERANGE (larger than max_model_bytes) or AISLE_ENOMEM.  *out is set
 * only on success.  Option `mmap=true` maps the file and serves the factor
 * tensors in place (section mmap below; AISLE_EUNSUPPORTED for a file that
 * cannot be mapped). */
AISLE_API int aisle_model_load(aisle_model **out, const char *path, const aisle_config *cfg);

/* The same from a file image in memory (len bytes at data); data is not
 * kept after the call.  Same statuses as aisle_model_load except
 * AISLE_EIO. */
AISLE_API int aisle_model_load_buffer(aisle_model **out, const void *data, size_t len,
                                      const aisle_config *cfg);

/* <<< section: model */

/* >>> section: serving (recommend, similar, explain) */

/* Serving: the same calls for every model kind.  Every function here takes
 * an optional aisle_rec_options (NULL = defaults) and writes at most k
 * results, best first, into caller arrays; item keys written to items_out
 * point into the model and stay valid while it lives.  Rankings are exact
 * (every item is scored); ties are broken by the lower item index, so
 * results are deterministic.  All of them are read-only on the model and
 * safe to call from many threads at once, except aisle_update_user.
 * See docs/MODELS.md ("Serving"). */

/* Per-call serving options: named options (exclude_seen, unknown_user,
 * threads: see aisle_option_info, scope "serve"), an allow-list and a
 * deny-list of item keys, and a filter callback.  Build it once, then share
 * it between threads for reading; changing it while a call uses it is not
 * safe. */
typedef struct aisle_rec_options aisle_rec_options;

/* Filter callback: return non-zero to keep the item, 0 to drop it.  Called
 * during ranking, possibly from several threads at once (batch), and only
 * for items that would otherwise enter the result (so not necessarily for
 * every item).  item_index is the model's dense item index. */
typedef int (*aisle_item_filter_fn)(void *user, const char *item_key, size_t item_index);

/* Creates serving options at their defaults.  Returns AISLE_OK,
 * AISLE_EINVAL (out is NULL) or AISLE_ENOMEM. */
AISLE_API int aisle_rec_options_new(aisle_rec_options **out);

/* Frees serving options.  NULL is a no-op. */
AISLE_API void aisle_rec_options_free(aisle_rec_options *opts);

/* Sets a serving option from its text form, e.g. ("exclude_seen",
 * "false"), ("unknown_user", "error"), ("threads", "4").  Only the
 * serving options (scope "serve") are accepted.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL argument, bad value), AISLE_ENOTFOUND (not a serving
 * option), AISLE_ERANGE or AISLE_ENOMEM; on failure opts is unchanged. */
AISLE_API int aisle_rec_options_set(aisle_rec_options *opts, const char *key, const char *value);

/* Restricts results to these item keys (n = 0 removes the restriction).
 * Keys the model does not know are ignored at call time.  The keys are
 * copied.  Returns AISLE_OK, AISLE_EINVAL (NULL opts, or NULL keys with
 * n > 0, or a NULL key) or AISLE_ENOMEM; on failure opts is unchanged. */
AISLE_API int aisle_rec_options_allow(aisle_rec_options *opts, const char *const *item_keys, size_t n);

/* Never returns these item keys (n = 0 clears the deny-list).  Same rules
 * and statuses as aisle_rec_options_allow. */
AISLE_API int aisle_rec_options_deny(aisle_rec_options *opts, const char *const *item_keys, size_t n);

/* Installs a filter callback (fn NULL removes it).  Returns AISLE_OK or
 * AISLE_EINVAL. */
AISLE_API int aisle_rec_options_set_filter(aisle_rec_options *opts, aisle_item_filter_fn fn, void *user);

/* Top-k items for a known user: the kind's scores (predicted ratings for
 * mf), leaving out the user's training items unless exclude_seen=false,
 * then the allow-list, deny-list and filter.  An unknown user gets the
 * most popular items (unknown_user=popular, the default; scores are the
 * popularity counts) or AISLE_ENOTFOUND (unknown_user=error).  items_out
 * and scores_out (either may be NULL) have room for k entries; *n_out
 * receives the number written (< k when fewer items pass the filters).
 * Returns AISLE_OK, AISLE_EINVAL (NULL model, user_key or n_out),
 * AISLE_ENOTFOUND or AISLE_ENOMEM. */
AISLE_API int aisle_recommend(const aisle_model *model, const char *user_key, size_t k,
                              const aisle_rec_options *opts, const char **items_out, float *scores_out,
                              size_t *n_out);

/* Top-k items for an anonymous visitor who interacted with item_keys
 * (weights: per-item event weights, or ratings for mf; NULL = all 1, for
 * mf "liked", i.e. the highest rating).  Factor kinds (als, mf, bpr) solve
 * the visitor's vector in closed form (fold-in); itemknn sums neighbours;
 * popular ignores the items.  Unknown item keys are ignored; if none is
 * known the result is the popularity ranking.  exclude_seen leaves out the
 * given items.  Returns AISLE_OK, AISLE_EINVAL, AISLE_EUNSUPPORTED (kind
 * cannot fold in), AISLE_ENOMEM. */
AISLE_API int aisle_recommend_for_items(const aisle_model *model, const char *const *item_keys,
                                        const float *weights, size_t n, size_t k,
                                        const aisle_rec_options *opts, const char **items_out,
                                        float *scores_out, size_t *n_out);

/* Adds a known user's new events to the model in place: weights are added
 * to the user's history (a new item is inserted; for mf a weight is the
 * rating and replaces the old one), then the kind re-fits the user's
 * parameters (factor kinds: closed-form fold-in; itemknn: history only;
 * popular: history and popularity counts, the trained ranking stays).
 * Unknown item keys are skipped.  NOT thread-safe: no other call may use
 * the model (not even readers) while it runs.  Returns AISLE_OK,
 * AISLE_EINVAL, AISLE_ENOTFOUND (unknown user), AISLE_EUNSUPPORTED or
 * AISLE_ENOMEM (the model is then unchanged). */
AISLE_API int aisle_update_user(aisle_model *model, const char *user_key, const char *const *item_keys,
                                const float *weights, size_t n);

/* The k items most similar to item_key ("customers who bought this also
 * bought"): itemknn neighbours, cosine of item factors for factor kinds.
 * The item itself is left out; allow/deny/filter apply.  itemknn returns
 * only the item's kept neighbours, so possibly fewer than k.  Returns AISLE_OK,
 * AISLE_EINVAL, AISLE_ENOTFOUND (unknown item), AISLE_EUNSUPPORTED (kind
 * has no item similarity) or AISLE_ENOMEM. */
AISLE_API int aisle_similar_items(const aisle_model *model, const char *item_key, size_t k,
                                  const aisle_rec_options *opts, const char **items_out, float *scores_out,
                                  size_t *n_out);

/* The model's score of one (user, item) pair; for mf the predicted rating,
 * clipped to the training ratings' range.  Returns AISLE_OK, AISLE_EINVAL,
 * AISLE_ENOTFOUND (unknown user or item) or AISLE_ENOMEM. */
AISLE_API int aisle_score(const aisle_model *model, const char *user_key, const char *item_key,
                          float *score_out);

/* Why the model recommends item_key to user_key: the user's training items
 * contributing most (by absolute value) to that score, at most max of
 * them, with their shares (signed, sum of |share| over the whole history =
 * 1).  itemknn: weight * similarity; als/bpr: Hu-Koren-Volinsky
 * c_j * y_i^T W_u y_j; mf: the same algebra on the ridge fold-in of the
 * user's ratings (the bias terms are not attributed).  *n_out receives the
 * number written (0 when the user has no history or nothing contributes).
 * Returns AISLE_OK, AISLE_EINVAL, AISLE_ENOTFOUND, AISLE_EUNSUPPORTED
 * (kind has no explanations) or AISLE_ENOMEM. */
AISLE_API int aisle_explain(const aisle_model *model, const char *user_key, const char *item_key, size_t max,
                            const char **items_out, float *shares_out, size_t *n_out);

/* aisle_recommend for n_users users at once: user i's results go to
 * items_out[i*k ..] and scores_out[i*k ..] (either may be NULL) and its
 * count to n_out[i].  Factor kinds compute blocks of scores with one sgemm
 * (user factors x item factors^T) from the calling thread and select each
 * row's top-k on `threads` threads; other kinds score users in parallel.
 * Results equal aisle_recommend's up to float rounding.  Unknown users
 * follow unknown_user (with "error" the whole call fails and names the
 * user).  At most min(k, item count) results are written per row (k is
 * the row stride).  Returns AISLE_OK, AISLE_EINVAL, AISLE_ENOTFOUND,
 * AISLE_ERANGE (n_users > 1 rows of k entries cannot exist in memory) or
 * AISLE_ENOMEM. */
AISLE_API int aisle_recommend_batch(const aisle_model *model, const char *const *user_keys, size_t n_users,
                                    size_t k, const aisle_rec_options *opts, const char **items_out,
                                    float *scores_out, size_t *n_out);

/* <<< section: serving */

/* >>> section: evaluation */

/* The outcome of an evaluation: named metrics and counts (see
 * docs/EVALUATION.md for the definitions and the tie rule). */
typedef struct aisle_eval_result aisle_eval_result;

/* Evaluates a trained model on a held-out test dataset.  Test users and
 * items are matched to the model's by key; unknown ones are skipped and
 * counted ("skipped_users", "skipped_pairs").  Test pairs already in the
 * user's training history are not ranked ("seen_pairs").
 *
 * Options (cfg may be NULL: defaults): `protocol` "full" ranks each user's
 * test items against every item they have not interacted with in training;
 * "sampled" ranks each test item against `negatives` random such items
 * (SASRec/BERT4Rec style) and averages per user.  `k` is the cut-off of the
 * ranking metrics, `threads` the worker count, `seed` the sampling seed
 * (negative samples come from a per-user stream, so results do not depend
 * on the thread count).  Progress is reported through cfg's callback
 * (loss NaN), which may cancel.
 *
 * Metrics (K = k): "precision@K", "recall@K", "ndcg@K", "map@K", "hr@K",
 * "mrr@K", "auc", "coverage" (share of the catalogue in anybody's top K)
 * and "novelty" (mean self-information of the top K); "rmse" and "mae"
 * over every known test pair for kinds that predict ratings.  Each ranked
 * user weighs the same; users without a rankable test item are left out of
 * the averages.  Counts: "users" (ranked), "test_users", "skipped_users",
 * "skipped_pairs", "seen_pairs", "relevant_pairs" ("rating_pairs").
 *
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument, empty test set, nothing
 * evaluable: the message gives the counts), AISLE_ERANGE / AISLE_EINVAL (bad
 * option), AISLE_ECANCELLED or AISLE_ENOMEM.  *out is set only on success
 * and is freed with aisle_eval_result_free.  Thread-safe: the model and
 * dataset are only read (a dataset must not be changed meanwhile). */
AISLE_API int aisle_evaluate(const aisle_model *model, const aisle_dataset *test, const aisle_config *cfg,
                             aisle_eval_result **out);

/* Frees a result.  NULL is a no-op. */
AISLE_API void aisle_eval_result_free(aisle_eval_result *res);

/* The value of a metric or count by name ("ndcg@10").  Returns AISLE_OK,
 * AISLE_EINVAL or AISLE_ENOTFOUND (the message lists the names present). */
AISLE_API int aisle_eval_result_get(const aisle_eval_result *res, const char *name, double *out);

/* Number of entries (metrics first, then counts), and entry index: its
 * name (owned by res), value and whether it is a count (1) or a metric
 * (0).  Out-parameters of aisle_eval_result_at may be NULL.
 * aisle_eval_result_count returns AISLE_OK or AISLE_EINVAL;
 * aisle_eval_result_at AISLE_OK, AISLE_EINVAL or AISLE_ERANGE. */
AISLE_API int aisle_eval_result_count(const aisle_eval_result *res, size_t *out);
AISLE_API int aisle_eval_result_at(const aisle_eval_result *res, size_t index, const char **name, double *value,
                                   int *is_count);

/* The result as one JSON object:
 * {"protocol": "full", "k": 10, "metrics": {"ndcg@10": 0.1, ...},
 *  "counts": {"users": 940, ...}} ("negatives" too when sampled).  Same
 * buffer convention as aisle_model_describe: *needed (may be NULL) gets the
 * length without the NUL.  Returns AISLE_OK, AISLE_EINVAL (NULL result),
 * AISLE_ERANGE (does not fit) or AISLE_ENOMEM. */
AISLE_API int aisle_eval_result_to_json(const aisle_eval_result *res, char *buf, size_t len, size_t *needed);

/* <<< section: evaluation */

/* >>> section: demo store */

/* A built-in synthetic online shop for trying aisle without data
 * (docs/DEMO.md): products in a category tree with English and Chinese
 * titles, long-tailed prices; shoppers with latent tastes who visit in
 * sessions and view, cart and buy (with repeat orders of consumables);
 * customer-service messages labelled with intents.  Options: demo_users
 * (5000), demo_items (2000), demo_days (90), demo_messages (1000) and seed;
 * the same options give the same store on every platform.  User keys are
 * "C10000".., item keys "P00001".., timestamps start at 2026-01-01. */

/* Generates the store's behaviour events into a new dataset (events
 * view/cart/purchase, value = quantity).  Returns AISLE_OK, AISLE_EINVAL
 * (NULL out, bad option), AISLE_ERANGE (option out of range) or
 * AISLE_ENOMEM; *events is set only on success and owned by the caller.
 * Thread-safe. */
AISLE_API int aisle_demo_generate(const aisle_config *cfg, aisle_dataset **events);

/* The products of the store that the same options generate: a new catalog
 * with title, description, category path "Top > Leaf", brand and price of
 * every product (also those nobody interacted with).  Same statuses and
 * ownership as aisle_demo_generate. */
AISLE_API int aisle_demo_catalog(const aisle_config *cfg, aisle_catalog **catalog);

/* Writes the store as three CSV files with a header row into dir (created
 * if missing; existing files are replaced):
 *   events.csv   user_id,item_id,event,quantity,timestamp (time order)
 *   catalog.csv  item_id,title,description,category,brand,price
 *                (category "Top > Leaf"; RFC 4180 quoting)
 *   messages.csv message_id,user_id,timestamp,intent,text
 * Returns AISLE_OK, AISLE_EINVAL, AISLE_ERANGE, AISLE_EIO (the message names
 * the file) or AISLE_ENOMEM.  Thread-safe for distinct directories. */
AISLE_API int aisle_demo_write(const aisle_config *cfg, const char *dir);

/* <<< section: demo store */

/* >>> section: text */

/* Text understanding: labelled texts, intent classification (model kind
 * `intent`, also good for sentiment, category and spam), calibrated
 * probabilities with an `unknown` answer, explanations and evaluation.
 * docs/TEXT.md describes the design and the options.
 *
 * Texts are UTF-8 given as (text, len) with the AISLE_NUL_TERMINATED
 * convention of the features section.  Training texts must be valid UTF-8
 * without NUL bytes (aisle_texts_add checks); texts to classify may be any
 * bytes: invalid UTF-8 is skipped, NUL bytes separate words, an empty text
 * gets the model's prior answer, and texts longer than option max_tokens
 * tokens are truncated, never rejected.
 *
 * Thread safety: an aisle_texts handle is built by one thread and may then
 * be read by any number of threads.  A trained or loaded intent model may
 * be shared: aisle_text_classify, aisle_text_explain and
 * aisle_text_evaluate only read it and may run on many threads at once. */

/* A list of (text, label) pairs. */
typedef struct aisle_texts aisle_texts;

/* Creates an empty list in *out.  Returns AISLE_OK, AISLE_EINVAL (out
 * NULL) or AISLE_ENOMEM. */
AISLE_API int aisle_texts_new(aisle_texts **out);

/* Frees a list (NULL is a no-op). */
AISLE_API void aisle_texts_free(aisle_texts *t);

/* Appends a text with its label (copied).  Returns AISLE_OK, AISLE_EINVAL
 * (NULL argument, empty label, a NUL byte or invalid UTF-8 in the text or
 * the label; nothing is added), AISLE_ERANGE (text of 4 GiB or more) or
 * AISLE_ENOMEM. */
AISLE_API int aisle_texts_add(aisle_texts *t, const char *text, size_t len, const char *label);

/* Appends the rows of a delimited file (CSV, TSV, ...; plain or gzip): the
 * columns `text` and `label` are chosen by option `columns`
 * ("text=utterance,label=intent", header names or 1-based positions); when
 * it is empty, known header names (text, utterance, review, message, ...;
 * label, intent, class) or else text=1,label=2; with positions, a first
 * row whose text or label field is such a name is a header.  A columns
 * option naming only `text` reads unlabelled texts (label "", for
 * classifying; training and evaluation refuse them).  Also reads the data
 * options header, delimiter, quoting, encoding, max_field and lenient.  All
 * or nothing: on failure t is left as it was.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL argument, bad columns option), AISLE_EFORMAT (bad row;
 * the message names file:line:column), AISLE_EIO or AISLE_ENOMEM.  With
 * lenient=true bad rows are skipped and counted (aisle_texts_load_report). */
AISLE_API int aisle_texts_load(aisle_texts *t, const char *path, const aisle_config *cfg);

/* Same as aisle_texts_load from len bytes of memory (plain or gzip); name
 * is used in messages (NULL: "<buffer>"). */
AISLE_API int aisle_texts_load_buffer(aisle_texts *t, const void *data, size_t len, const char *name,
                                      const aisle_config *cfg);

/* Counts of the last successful load (any pointer may be NULL).  Returns
 * AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_texts_load_report(const aisle_texts *t, size_t *rows_read, size_t *rows_loaded,
                                      size_t *rows_skipped);

/* The index-th kept message about a skipped row of the last load (valid
 * until the next load or free).  Returns AISLE_OK, AISLE_EINVAL or
 * AISLE_ERANGE. */
AISLE_API int aisle_texts_load_message(const aisle_texts *t, size_t index, const char **out);

/* Number of texts, and of distinct labels.  Return AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_texts_count(const aisle_texts *t, size_t *out);
AISLE_API int aisle_texts_label_count(const aisle_texts *t, size_t *out);

/* Text and label of entry index (either out pointer may be NULL; strings
 * owned by t, valid until it changes).  Returns AISLE_OK, AISLE_EINVAL or
 * AISLE_ERANGE. */
AISLE_API int aisle_texts_at(const aisle_texts *t, size_t index, const char **text, const char **label);

/* Seeded stratified split: of each label's texts, round(test_fraction *
 * count) go to *test (at least one when the label has two or more texts,
 * none when it has one), the rest to *train; both keep t's order.  The
 * caller frees both.  Returns AISLE_OK, AISLE_EINVAL, AISLE_ERANGE
 * (test_fraction outside [0, 1)) or AISLE_ENOMEM. */
AISLE_API int aisle_texts_split(const aisle_texts *t, double test_fraction, uint64_t seed, aisle_texts **train,
                                aisle_texts **test);

/* Trains an intent model (kind "intent") on the texts: option
 * architecture (bag, ...), the feature, calibration, unknown_threshold and
 * distillation (teacher, distill_temperature, distill_alpha) options of
 * docs/OPTIONS.md, threads, seed and the progress callback.  A share
 * calibration_fraction of the texts (stratified) is held out to fit the
 * probability temperature; the held-out expected calibration error is kept
 * as model metrics ece_uncalibrated and ece.  The model is saved, loaded,
 * freed and described with the aisle_model_* functions.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL argument, fewer than 2 labels or no texts, a teacher
 * lacking a training label), AISLE_ERANGE / AISLE_ENOTFOUND (bad option),
 * AISLE_ECANCELLED, AISLE_EIO / AISLE_EFORMAT (teacher file) or
 * AISLE_ENOMEM.  Thread-safe for distinct outputs. */
AISLE_API int aisle_text_train(const aisle_texts *t, const aisle_config *cfg, aisle_model **out);

/* Number of labels of an intent model, and label index's name (owned by
 * the model).  Return AISLE_OK, AISLE_EINVAL, AISLE_EUNSUPPORTED (not an
 * intent model) or AISLE_ERANGE. */
AISLE_API int aisle_model_label_count(const aisle_model *m, size_t *out);
AISLE_API int aisle_model_label(const aisle_model *m, size_t index, const char **out);

/* Classifies a text: the k most probable labels, best first, into
 * labels[0..*n_out) (names owned by the model) and probs[0..*n_out)
 * (calibrated probabilities over all labels; *n_out = min(k, labels)).
 * *unknown (may be NULL) is 1 when the top probability is below the
 * model's unknown_threshold, else 0 (the labels are filled either way).
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument, k == 0),
 * AISLE_EUNSUPPORTED (not an intent model) or AISLE_ENOMEM.  Thread-safe
 * on a shared model. */
AISLE_API int aisle_text_classify(const aisle_model *m, const char *text, size_t len, size_t k, const char **labels,
                                  float *probs, size_t *n_out, int *unknown);

/* Why a text was classified so: one contribution per token of the text
 * (words, CJK characters), how much it moved the label's score above the
 * average label's score (positive: towards the label). */
typedef struct aisle_text_explanation aisle_text_explanation;

/* Explains the classification of a text towards label (NULL: the top
 * label).  Returns AISLE_OK, AISLE_EINVAL (NULL argument),
 * AISLE_ENOTFOUND (label not in the model), AISLE_EUNSUPPORTED or
 * AISLE_ENOMEM.  Thread-safe on a shared model. */
AISLE_API int aisle_text_explain(const aisle_model *m, const char *text, size_t len, const char *label,
                                 aisle_text_explanation **out);
/* The explained label (owned by the explanation). */
AISLE_API int aisle_text_explanation_label(const aisle_text_explanation *e, const char **label);
/* Number of tokens. */
AISLE_API int aisle_text_explanation_count(const aisle_text_explanation *e, size_t *out);
/* Token index in text order: its text (lower-cased as tokenized; owned by
 * e) and contribution.  Returns AISLE_OK, AISLE_EINVAL or AISLE_ERANGE. */
AISLE_API int aisle_text_explanation_at(const aisle_text_explanation *e, size_t index, const char **token,
                                        float *contribution);
AISLE_API void aisle_text_explanation_free(aisle_text_explanation *e);

/* Quality of an intent model on labelled texts. */
typedef struct aisle_text_eval aisle_text_eval;

/* Classifies every text of test (threads option of cfg; cfg may be NULL)
 * and compares with its label.  Labels the model does not know are a
 * defined result, not an error: such texts count as wrong and their labels
 * get rows of their own in the confusion matrix (after the model's labels;
 * metric unseen_labels counts them).  Returns AISLE_OK, AISLE_EINVAL (NULL
 * argument, empty test), AISLE_EUNSUPPORTED (not an intent model) or
 * AISLE_ENOMEM. */
AISLE_API int aisle_text_evaluate(const aisle_model *m, const aisle_texts *test, const aisle_config *cfg,
                                  aisle_text_eval **out);
/* A metric by name: accuracy, macro_f1, ece (expected calibration error,
 * 15 bins), unknown_rate (share answered unknown), texts, labels,
 * unseen_labels.  Returns AISLE_OK, AISLE_EINVAL or AISLE_ENOTFOUND. */
AISLE_API int aisle_text_eval_metric(const aisle_text_eval *e, const char *name, double *out);
/* Rows/columns of the confusion matrix, and the label of index i. */
AISLE_API int aisle_text_eval_label_count(const aisle_text_eval *e, size_t *out);
AISLE_API int aisle_text_eval_label(const aisle_text_eval *e, size_t index, const char **out);
/* Number of texts labelled truth that the model classified as predicted.
 * Returns AISLE_OK, AISLE_EINVAL or AISLE_ERANGE. */
AISLE_API int aisle_text_eval_confusion(const aisle_text_eval *e, size_t truth, size_t predicted, size_t *out);
/* The result as one JSON object {"texts", "accuracy", "macro_f1", "ece",
 * "unknown_rate", "unseen_labels", "labels": [...], "confusion": [[...]],
 * "per_label": [{"label","precision","recall","f1","support"}]} into
 * out/len (NUL-terminated; *needed, if not NULL, gets the length without
 * the NUL).  Returns AISLE_OK, AISLE_EINVAL, AISLE_ERANGE (truncated) or
 * AISLE_ENOMEM. */
AISLE_API int aisle_text_eval_to_json(const aisle_text_eval *e, char *out, size_t len, size_t *needed);
AISLE_API void aisle_text_eval_free(aisle_text_eval *e);

/* <<< section: text */

/* >>> section: search */

/* Product search (docs/SEARCH.md): an inverted index over a catalog's
 * title, description, category path, brand and attribute values, ranked by
 * per-field BM25F with a proximity boost for words found near each other,
 * typo tolerance (query words that match too few products expand to
 * indexed words within 1 edit from 5 characters, 2 edits from 9; options),
 * prefix completion of the last word, CJK through the tokenizer, filters
 * and facet counts inside retrieval, and optional re-ranking with a trained
 * model: behaviour-space retrieval fused with the text ranking, and
 * personalization for a user or a session.  Options are the search_* ones
 * (docs/OPTIONS.md), read from the cfg of each call (NULL: defaults).
 *
 * Threads: a search index may be searched (aisle_search, aisle_suggest,
 * aisle_search_index_count, aisle_search_index_save) from any number of
 * threads at once while nobody changes it.  aisle_search_index_build, _add,
 * _remove and _set_popularity change it: they need exclusive access (the
 * caller's lock, e.g. a read-write lock with searches as readers).  Building
 * a new index in one thread while others search an existing one is safe;
 * a shop typically swaps in the new handle.  A model passed to aisle_search
 * is only read.  Results handles belong to the caller: one thread at a
 * time per results handle (aisle_search_results_explain formats on first
 * use); free them from any thread. */

typedef struct aisle_search_index aisle_search_index;
typedef struct aisle_search_results aisle_search_results;

/* Creates an empty search index.  Returns AISLE_OK, AISLE_EINVAL (NULL out)
 * or AISLE_ENOMEM. */
AISLE_API int aisle_search_index_new(aisle_search_index **out);

/* Frees an index.  NULL is a no-op. */
AISLE_API void aisle_search_index_free(aisle_search_index *index);

/* Indexes every product of cat into an empty index (cfg: progress callback,
 * may be NULL).  All or nothing.  Returns AISLE_OK, AISLE_EINVAL (NULL
 * argument or bad option), AISLE_ESTATE (the index is not empty: use
 * aisle_search_index_add), AISLE_ERANGE (over 2^32-2 products or terms),
 * AISLE_ECANCELLED (the progress callback asked to stop) or AISLE_ENOMEM. */
AISLE_API int aisle_search_index_build(aisle_search_index *index, const aisle_catalog *cat,
                                       const aisle_config *cfg);

/* Adds catalog product `key` to the index, replacing the indexed product
 * with the same key (its popularity is kept).  No rebuild: the change is
 * visible to the next search.  An index with encoder vectors (section
 * search_encoder) also encodes the product with its attached encoder.  All
 * or nothing.  Returns AISLE_OK, AISLE_EINVAL (NULL argument),
 * AISLE_ENOTFOUND (key not in cat), AISLE_ESTATE (the index has encoder
 * vectors but no encoder attached), AISLE_ERANGE or AISLE_ENOMEM. */
AISLE_API int aisle_search_index_add(aisle_search_index *index, const aisle_catalog *cat, const char *key);

/* Removes a product from the index.  Returns AISLE_OK, AISLE_EINVAL (NULL
 * argument) or AISLE_ENOTFOUND (no such product indexed). */
AISLE_API int aisle_search_index_remove(aisle_search_index *index, const char *key);

/* Number of products indexed.  Returns AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_search_index_count(const aisle_search_index *index, size_t *out);

/* Stores each indexed product's popularity from a trained model (0 for
 * products the model does not know), used to rank aisle_suggest
 * completions and saved with the index.  Returns AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_search_index_set_popularity(aisle_search_index *index, const aisle_model *model);

/* Saves the index atomically in the model container format (kind
 * "search_index"; docs/FORMAT.md); removed products are dropped (the saved
 * index is compact).  cfg: save options (compression).  Returns AISLE_OK,
 * AISLE_EINVAL, AISLE_EIO (message names the path) or AISLE_ENOMEM; on
 * failure an existing file at path is unchanged. */
AISLE_API int aisle_search_index_save(const aisle_search_index *index, const char *path, const aisle_config *cfg);

/* Loads an index saved by aisle_search_index_save (every postings entry is
 * checked).  cfg: option search_max_bytes.  Returns AISLE_OK, AISLE_EINVAL,
 * AISLE_EIO, AISLE_EFORMAT (not a search index, corrupt: the message names
 * the section), AISLE_EVERSION (newer format), AISLE_ERANGE (file too
 * large) or AISLE_ENOMEM; *out is set only on success. */
AISLE_API int aisle_search_index_load(aisle_search_index **out, const char *path, const aisle_config *cfg);

/* The same from a file image in memory (not kept). */
AISLE_API int aisle_search_index_load_buffer(aisle_search_index **out, const void *data, size_t len,
                                             const aisle_config *cfg);

/* Searches: the k best products for query (len bytes, or
 * AISLE_NUL_TERMINATED; any bytes: invalid UTF-8 separates words; the first
 * 32 distinct words count).  filters (n_filters strings, all must hold):
 *   "category=PATH"  category path starts with PATH (ASCII case-insensitive)
 *   "brand=NAME"     brand equals NAME (ASCII case-insensitive)
 *   "price=LO..HI"   price in [LO, HI]; "LO..", "..HI" or one number
 *   "NAME=VALUE"     attribute NAME equals VALUE
 * model (may be NULL): a trained model for behaviour-space fusion (option
 * search_fusion) and, with user (a key the model knows) or items (a
 * session's item keys, oldest first), personalization.  An unknown user or
 * session gives the unpersonalised ranking (the explanation says so).  A
 * query without words, or filters that match nothing, give no hits.  k may
 * be 0 (only the total and facets).  *out gets the hits (best first), the
 * number of matching products and the facets named by option
 * search_facets.  Returns AISLE_OK, AISLE_EINVAL (NULL argument, a user or
 * session without a model, both a user and items, malformed filter or
 * option), AISLE_ERANGE (more than 16 attribute filters) or AISLE_ENOMEM. */
AISLE_API int aisle_search(const aisle_search_index *index, const char *query, size_t len, size_t k,
                           const char *const *filters, size_t n_filters, const aisle_model *model,
                           const char *user, const char *const *items, size_t n_items, const aisle_config *cfg,
                           aisle_search_results **out);

/* Query completions for what a shopper has typed so far (len bytes or
 * AISLE_NUL_TERMINATED): the earlier words followed by an indexed word that
 * starts with the last one, ranked by the products that have them all,
 * weighted by popularity when the index has it (see
 * aisle_search_index_set_popularity).  Hits' keys are the completions, their
 * matched term the completed word.  Text ending in a space or punctuation
 * gives none.  Returns AISLE_OK, AISLE_EINVAL or AISLE_ENOMEM. */
AISLE_API int aisle_suggest(const aisle_search_index *index, const char *prefix, size_t len, size_t k,
                            const aisle_config *cfg, aisle_search_results **out);

/* Number of hits, and number of products that matched the query and
 * filters (all of them, not only the k returned).  Return AISLE_OK or
 * AISLE_EINVAL. */
AISLE_API int aisle_search_results_count(const aisle_search_results *results, size_t *n);
AISLE_API int aisle_search_results_total(const aisle_search_results *results, size_t *n);

/* Hit i: product key and score (either may be NULL).  Strings live as long
 * as the results.  Returns AISLE_OK, AISLE_EINVAL or AISLE_ERANGE (i past
 * the last hit). */
AISLE_API int aisle_search_results_hit(const aisle_search_results *results, size_t i, const char **key,
                                       double *score);

/* The indexed words hit i matched, space-separated ("" when it was found by
 * behaviour similarity only).  Returns AISLE_OK, AISLE_EINVAL or
 * AISLE_ERANGE. */
AISLE_API int aisle_search_results_matched(const aisle_search_results *results, size_t i, const char **terms);

/* Why hit i ranks where it does, one line: its text score, each matched
 * word (typo corrections "hert->heart (1 edit)" and prefix completions
 * named), the proximity boost, its behaviour-space rank, and with
 * personalization the user's model score, popularity and the rank the
 * history moved it from.  Returns AISLE_OK, AISLE_EINVAL or AISLE_ERANGE. */
AISLE_API int aisle_search_results_explain(const aisle_search_results *results, size_t i, const char **text);

/* Facets (option search_facets): number of facet fields; field f's name and
 * number of values; value i and its count over every match, largest counts
 * first.  Return AISLE_OK, AISLE_EINVAL or AISLE_ERANGE. */
AISLE_API int aisle_search_results_facet_count(const aisle_search_results *results, size_t *n);
AISLE_API int aisle_search_results_facet(const aisle_search_results *results, size_t field, const char **name,
                                         size_t *n_values);
AISLE_API int aisle_search_results_facet_value(const aisle_search_results *results, size_t field, size_t i,
                                               const char **value, size_t *count);

/* Frees results.  NULL is a no-op. */
AISLE_API void aisle_search_results_free(aisle_search_results *results);

/* <<< section: search */

/* >>> section: bert */

/* Pretrained BERT checkpoints run in-process (docs/BERT.md).  A checkpoint
 * directory in the common layout (config.json, vocab.txt,
 * model.safetensors, optional tokenizer_config.json; BERT tensor names with
 * or without the "bert." prefix; pooler and classifier.weight/bias when
 * present) is imported once and saved as an aisle model file of kind
 * "bert" (weights fp32, fp16 or int8 per the save option `quantize`).
 *
 * Threads: a loaded or imported model is immutable except through
 * aisle_bert_finetune_head; any number of threads may call embed,
 * classify, tokenize and hidden on it at once.  Each call splits its texts
 * over the `threads` option's worker threads.  Options: max_length (tokens
 * per sequence, 0 = the model's max positions), head_epochs,
 * head_learning_rate, threads, blas_threads, seed, quantize and
 * max_model_bytes. */
typedef struct aisle_bert aisle_bert;

/* Pooling of aisle_bert_embed: the final hidden state of [CLS], the mean
 * of all final hidden states (special tokens included), or the pooler's
 * tanh output. */
enum { AISLE_BERT_POOL_CLS = 0, AISLE_BERT_POOL_MEAN = 1, AISLE_BERT_POOL_POOLER = 2 };

/* Imports the checkpoint directory dir.  Every JSON field, tensor dtype,
 * shape and byte range is checked before anything large is allocated.
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument), AISLE_ENOTFOUND (a
 * required file is missing), AISLE_EFORMAT (malformed JSON, safetensors,
 * vocabulary, or tensors not matching config.json; the message names the
 * file and field or tensor), AISLE_EUNSUPPORTED (an activation, position
 * embedding type or dtype aisle does not run), AISLE_ERANGE (a file over
 * its size limit), AISLE_EIO or AISLE_ENOMEM.  *out is set only on
 * success; free it with aisle_bert_free. */
AISLE_API int aisle_bert_import(aisle_bert **out, const char *dir, const aisle_config *cfg);

/* Saves atomically as a model file of kind "bert"; cfg's quantize chooses
 * fp32 (none), fp16 or int8 for the large matrices.  Returns AISLE_OK,
 * AISLE_EINVAL, AISLE_EIO or AISLE_ENOMEM. */
AISLE_API int aisle_bert_save(const aisle_bert *model, const char *path, const aisle_config *cfg);

/* Loads a file written by aisle_bert_save; int8 and fp16 weights stay
 * encoded in memory.  Returns AISLE_OK, AISLE_EINVAL, AISLE_EIO,
 * AISLE_EFORMAT (corrupt file), AISLE_EUNSUPPORTED (a model file of another
 * kind), AISLE_EVERSION, AISLE_ERANGE (over max_model_bytes) or
 * AISLE_ENOMEM. */
AISLE_API int aisle_bert_load(aisle_bert **out, const char *path, const aisle_config *cfg);

/* Frees the model; NULL is a no-op. */
AISLE_API void aisle_bert_free(aisle_bert *model);

/* The embedding width (hidden size), the classifier's label count (0
 * without a classifier head; 1 for regression), whether the head is a
 * regression, and the model's max positions.  Any out-pointer may be NULL.
 * Returns AISLE_OK or AISLE_EINVAL (NULL model). */
AISLE_API int aisle_bert_info(const aisle_bert *model, size_t *dim, size_t *num_labels, int *regression,
                              size_t *max_length);

/* Bytes the loaded model's parameters and vocabulary take in memory.
 * Returns AISLE_OK or AISLE_EINVAL. */
AISLE_API int aisle_bert_memory(const aisle_bert *model, size_t *bytes);

/* BERT's tokenization of text_a (and text_b for a pair, or NULL):
 * [CLS] a [SEP] (b [SEP]), truncated longest-first to max_length.  ids and
 * types (may be NULL) get *n token ids and token type ids when *n <= cap.
 * Returns AISLE_OK, AISLE_EINVAL, AISLE_ERANGE (more than cap tokens: *n
 * says how many; or max_length over the model's max positions) or
 * AISLE_ENOMEM. */
AISLE_API int aisle_bert_tokenize(const aisle_bert *model, const char *text_a, const char *text_b,
                                  const aisle_config *cfg, uint32_t *ids, uint32_t *types, size_t cap, size_t *n);

/* Embeds n texts into out[n x dim] (row i for texts[i]) with the given
 * AISLE_BERT_POOL_*.  Returns AISLE_OK, AISLE_EINVAL (NULL argument or
 * text, unknown pooling), AISLE_EUNSUPPORTED (pooler pooling without a
 * pooler), AISLE_ERANGE (max_length) or AISLE_ENOMEM. */
AISLE_API int aisle_bert_embed(const aisle_bert *model, const char *const *texts, size_t n, int pooling,
                               const aisle_config *cfg, float *out);

/* Runs the classification or regression head on n texts or pairs
 * (texts_b NULL for single texts): out[n x num_labels] gets softmax
 * probabilities, or for a regression head out[n] the value.  Returns
 * AISLE_OK, AISLE_EINVAL, AISLE_EUNSUPPORTED (no classifier head),
 * AISLE_ERANGE or AISLE_ENOMEM. */
AISLE_API int aisle_bert_classify(const aisle_bert *model, const char *const *texts_a, const char *const *texts_b,
                                  size_t n, const aisle_config *cfg, float *out);

/* The final layer's hidden states of one text or pair: *n_tokens gets the
 * token count and, when it is <= max_tokens and out is not NULL,
 * out[n_tokens x dim] the states.  Returns AISLE_OK, AISLE_EINVAL,
 * AISLE_ERANGE (more tokens than max_tokens) or AISLE_ENOMEM. */
AISLE_API int aisle_bert_hidden(const aisle_bert *model, const char *text_a, const char *text_b,
                                const aisle_config *cfg, float *out, size_t max_tokens, size_t *n_tokens);

/* Trains the classification or regression head on n labelled texts or
 * pairs (texts_b NULL for single texts) with the encoder frozen: AdamW on
 * the pooled outputs, options head_epochs, head_learning_rate, seed,
 * threads (for the forward pass).  With the option finetune_layers = N > 0
 * the top N encoder layers and the pooler train too (AdamW at
 * finetune_learning_rate with warm-up and linear decay; the model must
 * hold fp32 weights).  num_labels 0 keeps and continues the
 * existing head; otherwise a new head of num_labels outputs replaces it
 * (1 = regression).  labels[i] is a class index 0..num_labels-1, or the
 * regression target.  *loss (may be NULL) gets the last epoch's mean loss.
 * Changes the model: no other call may use it at the same time.  Returns
 * AISLE_OK, AISLE_EINVAL (NULL argument, no texts, non-finite label, no
 * head to keep), AISLE_ERANGE (a class index out of range, finetune_layers
 * above the model's layers, max_length), AISLE_EUNSUPPORTED (no pooler;
 * finetune_layers on a model with int8 or fp16 weights) or AISLE_ENOMEM;
 * on failure the model is unchanged. */
AISLE_API int aisle_bert_finetune_head(aisle_bert *model, const char *const *texts_a, const char *const *texts_b,
                                       const float *labels, size_t n, size_t num_labels, const aisle_config *cfg,
                                       double *loss);

/* <<< section: bert */

/* >>> section: forecast */
/* ========================================================================
 * Demand forecasting (docs/FORECAST.md)
 *
 * A forecast is trained from the purchase events of a dataset (events of
 * type purchase when the data has any, else every event; the event value is
 * the quantity, returns count as negative quantities as loaded with the
 * `negative` option).  Demand is summed per product and period (option
 * `period`: day, or week starting on Monday, UTC); a product's series runs
 * from its first sale to the last period of the data, periods without sales
 * are 0, and a period whose returns exceed its sales counts as 0.  With a
 * catalog, products are also summed per category and catalog prices are a
 * feature of the global model.
 *
 * Methods (option `method`): seasonal naive, ETS, Croston (SBA), TSB, a
 * global gradient-boosted quantile model over every product, or auto (the
 * global model for products with more than horizon + 1 periods of history;
 * TSB for shorter intermittent series, ETS for other short series and for
 * categories).  Every forecast
 * gives the 10%, 50% and 90% quantiles of each period's demand; the 80%
 * interval [p10, p90] is calibrated on the last `horizon` periods of the
 * training data.
 *
 * A trained or loaded forecast is immutable: any number of threads may call
 * the read-only functions (item, category, mean, method, history,
 * reorder, explain, describe, save) on it at once.
 * ======================================================================== */

typedef struct aisle_forecast aisle_forecast;

/* Trains a forecast from ds's events (and, if cat is not NULL, its
 * categories and prices) with the forecast options of cfg (NULL: defaults;
 * scope "forecast", plus threads and seed).  *out owns everything it needs:
 * ds and cat may be freed afterwards.
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument; no events; events without a
 * time; no product with min_sale_periods periods of sales; bad holidays or
 * end_date text; method=global with series too short to train it),
 * AISLE_ENOTFOUND / AISLE_ERANGE (a bad option), AISLE_ERANGE (events more
 * than 2^32 periods apart) or AISLE_ENOMEM.  Thread-safe for distinct
 * outputs (ds may be shared). */
AISLE_API int aisle_forecast_train(const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                                   aisle_forecast **out);

/* Frees a forecast.  NULL is a no-op. */
AISLE_API void aisle_forecast_free(aisle_forecast *fc);

/* Forecasts the `horizon` periods after the last period of the data for a
 * product: period_start[h] receives the start of period h+1 (seconds since
 * the epoch, 00:00 UTC; a Monday for weekly periods), p10/p50/p90 the
 * quantiles of its demand (>= 0, p10 <= p50 <= p90).  Each output array
 * holds horizon values and may be NULL when not wanted.
 * Returns AISLE_OK, AISLE_EINVAL (NULL fc or key), AISLE_ENOTFOUND (the
 * product had no sales, or fewer than min_sale_periods), AISLE_ERANGE
 * (horizon outside 1..100000) or AISLE_ENOMEM. */
AISLE_API int aisle_forecast_item(const aisle_forecast *fc, const char *item_key, size_t horizon,
                                  int64_t *period_start, double *p10, double *p50, double *p90);

/* The same for a catalog category (the sum of its products' demand).
 * Returns as aisle_forecast_item; AISLE_ENOTFOUND for an unknown category. */
AISLE_API int aisle_forecast_category(const aisle_forecast *fc, const char *category, size_t horizon,
                                      int64_t *period_start, double *p10, double *p50, double *p90);

/* Point forecasts (the model's mean; the median for the global model) of a
 * product for the next horizon periods into mean[horizon].  Returns as
 * aisle_forecast_item (AISLE_EINVAL also when mean is NULL). */
AISLE_API int aisle_forecast_mean(const aisle_forecast *fc, const char *item_key, size_t horizon, double *mean);

/* Number of products / categories, and their keys by index (0-based; the
 * strings belong to fc).  Return AISLE_OK, AISLE_EINVAL (NULL argument) or
 * AISLE_ERANGE (index out of range). */
AISLE_API int aisle_forecast_item_count(const aisle_forecast *fc, size_t *out);
AISLE_API int aisle_forecast_item_key(const aisle_forecast *fc, size_t index, const char **out);
AISLE_API int aisle_forecast_category_count(const aisle_forecast *fc, size_t *out);
AISLE_API int aisle_forecast_category_key(const aisle_forecast *fc, size_t index, const char **out);

/* The method used for a product ("snaive", "ets", "croston", "tsb",
 * "global", or "zero" for a series without demand); a static string.
 * Returns AISLE_OK, AISLE_EINVAL or AISLE_ENOTFOUND. */
AISLE_API int aisle_forecast_method(const aisle_forecast *fc, const char *item_key, const char **out);

/* A product's demand series: *n receives its length, values[0..min(n,
 * max)) the demand per period, *first_start (may be NULL) the start of its
 * first period (seconds since the epoch).  Returns AISLE_OK, AISLE_EINVAL,
 * AISLE_ENOTFOUND, or AISLE_ERANGE when max < *n (values then hold the
 * first max periods). */
AISLE_API int aisle_forecast_history(const aisle_forecast *fc, const char *item_key, double *values, size_t max,
                                     size_t *n, int64_t *first_start);

/* Inventory policy for a product from its forecast.  lead_time and
 * review_period are in periods (fractions allowed); service_level is the
 * wanted probability of not running out (cycle service level, 0.5..<1);
 * stock_on_hand is the inventory position (on hand + on order - backorders).
 * With mu(t) and sigma(t) the forecast demand over the next t periods (sum
 * of means, the last period pro rata; sigma_h = (p90 - p10) / 2.563 per
 * period, independent periods) and z the standard normal quantile of the
 * service level:
 *   reorder_point  = mu(L) + z sigma(L)                (order when the
 *                    position falls to it; continuous review)
 *   order_quantity = max(0, mu(L+R) + z sigma(L+R) - stock_on_hand)
 *                    (order-up-to level for periodic review every R)
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument, stock not finite),
 * AISLE_ENOTFOUND, AISLE_ERANGE (lead time outside (0, 1000], review period
 * outside [0, 1000], service level outside [0.5, 1)) or AISLE_ENOMEM. */
AISLE_API int aisle_forecast_reorder(const aisle_forecast *fc, const char *item_key, double lead_time,
                                     double review_period, double service_level, double stock_on_hand,
                                     double *reorder_point, double *order_quantity);

/* What drove a product's forecast for period `period` (1 = the first
 * period after the data): names[i] / values[i] receive the parts "base",
 * "trend", "season", "recent" (recent lags and rolling windows) and
 * "price", in demand units; they add up to the forecast before clipping at
 * 0 (the median for the global model, by path attribution over its trees;
 * the mean for the others: ETS level/trend/season, seasonal naive last
 * value/seasonal difference, Croston/TSB level).  *n receives the number
 * of parts (5).  Returns AISLE_OK, AISLE_EINVAL, AISLE_ENOTFOUND,
 * AISLE_ERANGE (period outside 1..100000, or max < *n: the first max parts
 * are filled). */
AISLE_API int aisle_forecast_explain(const aisle_forecast *fc, const char *item_key, size_t period,
                                     const char **names, double *values, size_t max, size_t *n);

/* A text summary (products, categories, period, methods used, events
 * ignored) into buf, with the usual *needed / AISLE_ERANGE convention. */
AISLE_API int aisle_forecast_describe(const aisle_forecast *fc, char *buf, size_t len, size_t *needed);

/* Saves a forecast in the model container (kind "forecast"; save options
 * compression; atomic: a temporary file renamed into place).  Returns
 * AISLE_OK, AISLE_EINVAL, AISLE_EIO or AISLE_ENOMEM. */
AISLE_API int aisle_forecast_save(const aisle_forecast *fc, const char *path, const aisle_config *cfg);
/* The same image in a new buffer the caller frees with aisle_free. */
AISLE_API int aisle_forecast_save_buffer(const aisle_forecast *fc, const aisle_config *cfg, void **out,
                                         size_t *len);

/* Loads a saved forecast.  Returns AISLE_OK, AISLE_EINVAL (NULL argument,
 * or the file holds another model kind), AISLE_EIO, AISLE_EFORMAT
 * (damaged or malformed file; the message names the section), AISLE_EVERSION,
 * AISLE_ERANGE (larger than max_model_bytes) or AISLE_ENOMEM. */
AISLE_API int aisle_forecast_load(aisle_forecast **out, const char *path, const aisle_config *cfg);
AISLE_API int aisle_forecast_load_buffer(aisle_forecast **out, const void *data, size_t len,
                                         const aisle_config *cfg);

/* Backtest figures: name -> value. */
typedef struct aisle_forecast_report aisle_forecast_report;

/* Rolling-origin backtest of the configured method: the last `holdout`
 * periods are hidden; at `backtest_origins` origins spaced holdout /
 * origins apart from the holdout's start, a forecast is trained on the data
 * before the origin and forecasts every period up to the end of the data.
 * Figures: mase and mase_mean (mean absolute error of the median / of the
 * point forecast over the mean absolute one-step naive change in the
 * training part, averaged over series and origins), smape and smape_mean
 * (symmetric MAPE in percent of the median / point forecast, 0/0 = 0),
 * pinball_p10/p50/p90 (pinball loss over the same naive scale),
 * coverage_80 (share of actual values within [p10, p90]), series, scored,
 * origins, points, seconds.
 * Returns AISLE_OK, the errors of aisle_forecast_train, AISLE_ERANGE
 * (holdout outside 1..1000) or AISLE_EINVAL (nothing to score). */
AISLE_API int aisle_forecast_backtest(const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                                      size_t holdout, aisle_forecast_report **out);
AISLE_API void aisle_forecast_report_free(aisle_forecast_report *rep);
/* A figure by name: AISLE_OK, AISLE_EINVAL, AISLE_ENOTFOUND. */
AISLE_API int aisle_forecast_report_get(const aisle_forecast_report *rep, const char *name, double *out);
AISLE_API int aisle_forecast_report_count(const aisle_forecast_report *rep, size_t *out);
/* The index-th figure: AISLE_OK, AISLE_EINVAL, AISLE_ERANGE. */
AISLE_API int aisle_forecast_report_at(const aisle_forecast_report *rep, size_t index, const char **name,
                                       double *value);

/* <<< section: forecast */

/* >>> section: first hour */
/* Additions for a shop's first hour with aisle (0.2.0, issue 14): index
 * arrays in and out (for NumPy / scipy.sparse callers), the factor
 * matrices, and recommendations that say when they are the popularity
 * fallback for an unknown user.  Thread rules as for the calls they
 * mirror: the read-only calls are safe on a shared trained or loaded
 * model. */

/* Adds n events given by dense indices: event e is user users[e] on item
 * items[e] with value values[e] (NULL: all 1) at timestamps[e] (NULL: all
 * 0), all of type `event` (NULL or "": "view").  Index i is the key "i"
 * (decimal); the keys "0".."n_users-1" and "0".."n_items-1" are added
 * first, in order, so on an EMPTY dataset user index i of the dataset and
 * of a model trained on it is i (also users or items with no event).
 * All or nothing.  Returns AISLE_OK, AISLE_EINVAL (NULL dataset, or NULL
 * users/items with n > 0; a value not finite), AISLE_ERANGE (an index >=
 * n_users / n_items, or more than 2^32-2 keys) or AISLE_ENOMEM.  Not
 * thread-safe on the same dataset. */
AISLE_API int aisle_dataset_add_indexed(aisle_dataset *ds, size_t n_users, size_t n_items, const uint32_t *users,
                                        const uint32_t *items, const float *values, const int64_t *timestamps,
                                        size_t n, const char *event);

/* Which factor matrix aisle_model_factors returns. */
#define AISLE_FACTORS_USERS 0
#define AISLE_FACTORS_ITEMS 1

/* The user or item factor matrix of a factor model (mf, als, bpr):
 * *data points at rows x dim floats, row-major, row i for user/item index
 * i, owned by the model: valid until the model is freed or grows (users
 * or items added by an aisle_server holding it; a lease keeps it valid),
 * read-only (user rows change in place under aisle_update_user).  Returns AISLE_OK,
 * AISLE_EINVAL (NULL argument, unknown side) or AISLE_EUNSUPPORTED (a kind
 * without factors: popular, itemknn, sasrec; or a side served as the fp16
 * rows of a file saved with quantize=fp16 and loaded with mmap=true, which
 * has no fp32 matrix: load it without mmap for one). */
AISLE_API int aisle_model_factors(const aisle_model *model, int side, const float **data, size_t *rows,
                                  size_t *dim);

/* Scores of n (user, item) pairs by model index into scores_out[0..n), as
 * aisle_score would give them.  Returns AISLE_OK, AISLE_EINVAL (NULL
 * argument), AISLE_ERANGE (an index out of range; nothing is written
 * after it) or AISLE_ENOMEM. */
AISLE_API int aisle_score_indexed(const aisle_model *model, const uint32_t *users, const uint32_t *items, size_t n,
                                  float *scores_out);

/* aisle_recommend_batch for users given by model index, results as item
 * indices: row r of items_out / scores_out (k columns each, row-major)
 * holds n_out[r] results.  scores_out may be NULL.  Returns AISLE_OK,
 * AISLE_EINVAL, AISLE_ERANGE (a user index out of range) or AISLE_ENOMEM. */
AISLE_API int aisle_recommend_indexed(const aisle_model *model, const uint32_t *users, size_t n_users, size_t k,
                                      const aisle_rec_options *opts, uint32_t *items_out, float *scores_out,
                                      size_t *n_out);

/* aisle_recommend, and *popular_fallback (may be NULL) set to 1 when the
 * user is unknown to the model and the list is the popularity fallback
 * (its scores are then popularity masses, not the model's scores), else
 * 0.  Returns what aisle_recommend returns. */
AISLE_API int aisle_recommend_v2(const aisle_model *model, const char *user_key, size_t k,
                                 const aisle_rec_options *opts, const char **items_out, float *scores_out,
                                 size_t *n_out, int *popular_fallback);

/* aisle_recommend_batch, and popular_fallback[r] (the array may be NULL)
 * set as aisle_recommend_v2 sets it, per user.  Returns what
 * aisle_recommend_batch returns. */
AISLE_API int aisle_recommend_batch_v2(const aisle_model *model, const char *const *user_keys, size_t n_users,
                                       size_t k, const aisle_rec_options *opts, const char **items_out,
                                       float *scores_out, size_t *n_out, int *popular_fallback);
/* <<< section: first hour */

/* >>> section: pair */
/* Kind `pair` (docs/PAIR.md): a cross-encoder that reads the text of a
 * shopper (profile fields, titles of recent items) and of a product and
 * predicts a rating (option objective=rating) or a purchase probability
 * (objective=purchase).  It trains through aisle_model_train_with_catalog
 * or, with shopper attributes, the call below, and serves through the same
 * calls as every kind; it also re-ranks another model's candidates.  With
 * shopper attributes it trains through aisle_model_train_with_features
 * (section content below): each user is described by the table's fields;
 * users absent from the table get no profile, rows for users absent from
 * the events are ignored. */

/* Re-scores n candidate items (e.g. another model's top n) for a user with
 * model (typically a `pair` model) and orders them by that score alone:
 * scores[i] receives the score of item_keys[i] (NaN for an item the model
 * does not know), order[0..n) the candidate indices by descending score,
 * ties and NaN kept in candidate order (NaN last).  order may be NULL.  A
 * user the model does not know is scored as a shopper with no history
 * (kinds that can score sessions: pair, and every kind with fold-in), else
 * AISLE_ENOTFOUND.  Returns AISLE_OK, AISLE_EINVAL (NULL argument),
 * AISLE_ENOTFOUND, AISLE_EUNSUPPORTED (a kind that cannot score pairs) or
 * AISLE_ENOMEM.  Safe to call from many threads on one model. */
AISLE_API int aisle_rerank(const aisle_model *model, const char *user_key, const char *const *item_keys, size_t n,
                           float *scores, size_t *order);
/* Explains a pair model's score of item_key for user_key in words: every
 * token the encoder reads (the shopper's side, "shopper: WORD", then the
 * product's, "product: WORD"), with its contribution: the prediction minus
 * the prediction with that token masked (positive: it raised the score).
 * The label (aisle_text_explanation_label) is the item key; read the
 * result with aisle_text_explanation_count / _at, free it with
 * aisle_text_explanation_free.  A user the model does not know is a
 * shopper with no history.  Returns AISLE_OK, AISLE_EINVAL (NULL
 * argument), AISLE_ENOTFOUND (unknown item), AISLE_EUNSUPPORTED (not a
 * pair model) or AISLE_ENOMEM.  Safe to call from many threads. */
AISLE_API int aisle_pair_explain(const aisle_model *model, const char *user_key, const char *item_key,
                                 aisle_text_explanation **out);
/* <<< section: pair */

/* >>> section: content (hybrid features, shopper attributes) */

/* Content-aware training and explanations (docs/HYBRID.md).  A shopper
 * attribute table is an aisle_catalog keyed by user id -- loaded with
 * aisle_catalog_load from a CSV such as `user_id,country,age_band` (every
 * column besides the key becomes an attribute; a user_id, customer_id or
 * id column is the key), with the catalog loader's strict/lenient rules
 * and file:line:column errors -- or built with aisle_catalog_add_item and
 * aisle_catalog_set_attribute. */

/* Trains like aisle_model_train_with_catalog, with shopper attributes as
 * well: for kind hybrid every attribute ("country: UK") becomes a user
 * feature beside the user's identity, and users of the table that the
 * events never mention join the model, scored from their attributes alone
 * (cold-start shoppers).  items may be NULL; users may be NULL (then the
 * call is aisle_model_train_with_catalog).  Attribute rows for users not
 * in the events are such cold users; events of users without a row train
 * their identity only.  Neither table is kept: the model copies what it
 * needs.  Kind pair reads the attributes as profile text instead (section
 * pair above).  Returns what aisle_model_train returns, and
 * AISLE_EUNSUPPORTED when users is given to a kind that does not use user
 * attributes (only hybrid and pair do). */
AISLE_API int aisle_model_train_with_features(const aisle_dataset *ds, const aisle_catalog *items,
                                             const aisle_catalog *users, const aisle_config *cfg,
                                             aisle_model **out);

/* What drove the score of (user_key, item_key), named by feature: the at
 * most max features with the largest absolute contributions, largest
 * first.  Names read "word: mug", "category: Kitchen > Mugs", "brand:
 * Acme", "price: 5.73-8.19", "<attribute>: <value>" (catalog and shopper
 * attributes: "country: UK"), and "the product's own history" / "the
 * shopper's own history" for the identity features.  Contributions are
 * signed and in score units: over all features they add up, with the
 * global mean for rating models, to the model's unclipped score (hybrid:
 * each user-feature x item-feature term is split evenly between the two
 * features, each bias goes to its feature).  Users folded in later by
 * aisle_update_user are explained from their trained features.  Names
 * stay valid while the model lives; features_out and contrib_out may be
 * NULL; *n_out receives the count written.  Any kind may implement this;
 * today hybrid does.  Returns AISLE_OK, AISLE_EINVAL (NULL model, key or
 * n_out), AISLE_ENOTFOUND (unknown user or item), AISLE_EUNSUPPORTED (the
 * kind does not explain by features, or a hybrid file saved without its
 * feature tables) or AISLE_ENOMEM.  Safe from many threads on one model
 * (read-only). */
AISLE_API int aisle_explain_features(const aisle_model *model, const char *user_key, const char *item_key,
                                     size_t max, const char **features_out, float *contrib_out, size_t *n_out);
/* <<< section: content */

/* >>> section: serving */
/* Production serving (docs/SERVING.md).  aisle_recommend and
 * aisle_recommend_for_items on als, bpr and hybrid models scan int8 item
 * factors (built on first use or by aisle_model_prepare, kept with the
 * model) and re-score every item that can still reach the top k in fp32,
 * so lists and scores are identical to the fp32 scan (serving option
 * scan=auto|int8|fp32). */

/* Builds now what serving a model builds on first use (the int8 item index
 * of als, bpr and hybrid models; nothing for other kinds), so the first
 * request is not slower than the rest.  Call it before sharing the model
 * between threads or at any time (concurrent first uses are safe too).
 * Returns AISLE_OK, AISLE_EINVAL (NULL model) or AISLE_ENOMEM. */
AISLE_API int aisle_model_prepare(const aisle_model *model);

/* What the calling thread's last aisle_recommend or
 * aisle_recommend_for_items on an als, bpr or hybrid model did:
 * *items_scanned (may be NULL) the items scored, *items_rescored (may be
 * NULL) how many of them were scored in fp32 (all of them for the fp32
 * scan; the re-score rate of the int8 scan is their ratio), *int8 (may be
 * NULL) 1 if the int8 scan ran.  Zeros before any such call.  Per thread;
 * always AISLE_OK. */
AISLE_API int aisle_recommend_scan_stats(size_t *items_scanned, size_t *items_rescored, int *int8);

/* A serving handle: many threads read the current model through leases
 * while one thread swaps in a newly trained model and another updates
 * users.  Thread rules: every aisle_server_* call may run concurrently
 * with every other on the same server, except aisle_server_free (no lease
 * outstanding, no call in flight).  A lease is released by the thread that
 * acquired it, and a thread holding a lease makes no other aisle_server_*
 * call on that server (a second acquire, an update or a swap) until it
 * releases it: that call can wait forever behind an update waiting for
 * the lease. */
typedef struct aisle_server aisle_server;

/* Makes a server whose current model is `model`; the server owns it from
 * now on (aisle_server_free frees it).  Returns AISLE_OK, AISLE_EINVAL
 * (NULL argument) or AISLE_ENOMEM (the caller keeps the model). */
AISLE_API int aisle_server_new(aisle_server **out, aisle_model *model);

/* Frees the server and its model(s).  NULL is a no-op. */
AISLE_API void aisle_server_free(aisle_server *server);

/* Leases the current model: *model_out may be used with every read-only
 * call (aisle_recommend, aisle_recommend_batch, aisle_similar_items,
 * aisle_score, ...; never aisle_update_user or aisle_model_free) and the
 * key strings those calls return stay valid until aisle_server_release.
 * A swap meanwhile does not affect the lease; an update waits for it.
 * Returns AISLE_OK or AISLE_EINVAL (NULL argument). */
AISLE_API int aisle_server_acquire(aisle_server *server, const aisle_model **model_out);

/* Ends a lease; a model that is no longer current is freed when its last
 * lease ends.  Returns AISLE_OK or AISLE_EINVAL (NULL argument, or a model
 * not leased from this server). */
AISLE_API int aisle_server_release(aisle_server *server, const aisle_model *model);

/* aisle_update_user on the current model, waiting for its leases to end
 * (new leases wait for the update: it takes a few milliseconds on large
 * models).  The update is also journaled with the time it was made, and
 * aisle_server_swap replays the updates the incoming model lacks, so no
 * update is lost by a swap (the journal holds every update made after the
 * latest replay_since; memory grows with them until a swap trims it).
 * Returns what aisle_update_user returns; on an error nothing changed. */
AISLE_API int aisle_server_update_user(aisle_server *server, const char *user_key, const char *const *item_keys,
                                       const float *weights, size_t n);

/* Makes `model` the current model (the server owns it from now on).
 * First the updates made through aisle_server_update_user (and the users
 * and items added through aisle_server_add_user and _add_item) at or after
 * `replay_since` (seconds since the epoch, the server's clock: the end of
 * the data the model was trained on; 0 replays every update kept,
 * INT64_MAX none) are applied to it (*replayed_out, may be NULL: how many
 * could be; a user the new model does not know cannot take its update),
 * and the journal forgets updates from before replay_since.  Then new
 * leases get it, while leases of the old model go on until released (the
 * last one frees it).  Returns AISLE_OK, AISLE_EINVAL (NULL argument) or
 * AISLE_ENOMEM (the caller keeps the model, which may hold part of the
 * replayed updates; the server is unchanged). */
AISLE_API int aisle_server_swap(aisle_server *server, aisle_model *model, int64_t replay_since,
                                size_t *replayed_out);

/* aisle_server_update_user that also takes a user the current model does
 * not know (a shopper who arrived after training): the user is added with
 * an empty history, then the events are applied as for a known user (als,
 * bpr, mf: the vector is folded in from them; itemknn: scored from them;
 * popular: the popularity ranking, less the seen items).  n may be 0.
 * Readers see the model with or without the whole change, never a part;
 * the change is journaled and replayed by aisle_server_swap like an
 * update (in the order made, so an item added before it is known).
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument, empty user key, bad
 * weight), AISLE_EUNSUPPORTED (the kind cannot add users: hybrid, sasrec,
 * pair, intent; the message names it) or AISLE_ENOMEM (nothing changed). */
AISLE_API int aisle_server_add_user(aisle_server *server, const char *user_key, const char *const *item_keys,
                                    const float *weights, size_t n);

/* Adds an item the current model does not know (a product listed after
 * training) so recommendations can include it.  als and bpr: `vector` is
 * its dim factors (the model's `factors`; e.g. the mean of similar items'
 * vectors), taking part in scoring, fold-in and similar items; itemknn
 * and popular: vector NULL and dim 0 (it has no neighbours and ranks last
 * until retraining, but users' events on it are recorded).  The int8 item
 * index (scan option) is rebuilt before readers see the item.  Visibility,
 * journal and replay as aisle_server_add_user; a swapped-in model that
 * already knows the item keeps its trained one.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL argument, empty key, an item the model knows, a
 * vector of the wrong size or with a non-finite value), AISLE_EUNSUPPORTED
 * (mf: an item needs a trained bias; hybrid, sasrec, pair, intent) or
 * AISLE_ENOMEM (nothing changed). */
AISLE_API int aisle_server_add_item(aisle_server *server, const char *item_key, const float *vector, size_t dim);
/* <<< section: serving */

/* >>> section: mmap */
/* Memory-mapped models (docs/FORMAT.md, "Mapped models").  A latent-factor
 * model (als, bpr, mf, hybrid) saved with compression=0 (and quantize=none;
 * store_int8=true adds the int8 copy the exact int8 scan reads) can be
 * opened with aisle_model_load and option mmap=true: the file is mapped
 * read-only and the factor tensors (and the stored int8 copy) are served
 * in place instead of copied, so opening costs the key dictionaries and
 * the history only, and processes serving the same file share its pages.
 * Option mmap_verify=open (default) checks every CRC while opening (one
 * pass over the file); none skips the CRC of the mapped tensors (a corrupt
 * tensor then gives wrong scores, never a read outside the file: every
 * size is still checked).  A compressed, quantized or pre-0.2.0 (format
 * 1.0, unaligned) file and a kind without factors fail with
 * AISLE_EUNSUPPORTED and a message saying how to save a mappable file;
 * load them without mmap.  aisle_update_user works on a mapped model: the
 * pages of the user rows it writes are copied for this process
 * (copy-on-write), the file never changes.  Replace a mapped file only by
 * saving over it (aisle_model_save renames a new file into place);
 * truncating it in place while it is mapped makes later reads fault. */

/* *bytes receives the size of the file `model` serves from a mapping
 * (option mmap=true), 0 for a model loaded or trained in memory.
 * Thread-safe.  Returns AISLE_OK or AISLE_EINVAL (NULL argument). */
AISLE_API int aisle_model_mapped_bytes(const aisle_model *model, size_t *bytes);
/* <<< section: mmap */

/* >>> section: search_encoder */

/* Semantic retrieval from a text encoder (docs/SEARCH.md, "Text
 * encoder").  An imported BERT model (aisle_bert) attached to a search
 * index encodes every product's text once (title, description, brand and
 * category) into a unit vector stored in the index (and in its saved file,
 * with the encoder's fingerprint); aisle_search then encodes the query,
 * scans the products' vectors exactly (cosine), and fuses the best
 * search_depth of them with the lexical candidates as option search_fusion
 * says (linear: + search_encoder_weight x cosine; rrf: + weight / (k +
 * rank)), with or without a model.  Products found by the encoder alone
 * join the hits ("found by the text encoder only" in the explanation).
 * aisle_search_index_add encodes new and replaced products with the
 * attached encoder; removal drops their vectors when the index is saved.
 *
 * Threads: the index borrows the encoder, which must outlive it (or until
 * detached); the encoder is read-only while searching, so any number of
 * threads may search at once.  set_encoder needs exclusive access to the
 * index, as _add does. */

/* Attaches `encoder` to the index:
 *   - with `cat`: computes the vectors of every indexed product (each must
 *     be in cat) with pooling search_encoder_pooling from cfg (also read:
 *     max_length, threads, blas_threads), replacing any the index had; on
 *     an empty index, a later aisle_search_index_build encodes the catalog
 *     it indexes;
 *   - without (NULL): the index must already hold vectors made by this
 *     encoder (a loaded index): its fingerprint (configuration, vocabulary,
 *     weights as stored, pooling) is checked, nothing is recomputed.
 * encoder NULL detaches the encoder and drops the vectors.  On failure the
 * index is unchanged.  Returns AISLE_OK, AISLE_EINVAL (NULL index, bad
 * option, or an encoder that is not the one the vectors were made with),
 * AISLE_ESTATE (no cat and no stored vectors), AISLE_ENOTFOUND (an indexed
 * product is not in cat), AISLE_EUNSUPPORTED (pooling=pooler on a model
 * without a pooler), AISLE_ERANGE (max_length) or AISLE_ENOMEM. */
AISLE_API int aisle_search_index_set_encoder(aisle_search_index *index, const aisle_bert *encoder,
                                             const aisle_catalog *cat, const aisle_config *cfg);

/* The index's encoder vectors: *dim their dimension (0: none), *attached
 * 1 when an encoder is attached, *fingerprint the encoder's (0: none); any
 * out-parameter may be NULL.  Thread-safe.  Returns AISLE_OK or
 * AISLE_EINVAL (NULL index). */
AISLE_API int aisle_search_index_encoder_info(const aisle_search_index *index, size_t *dim, int *attached,
                                              uint64_t *fingerprint);
/* <<< section: search_encoder */

/* >>> section: bert labels */

/* Names the classes of the model's classification head: names[i] for
 * class i, exactly num_labels unique non-empty UTF-8 names of at most 256
 * bytes (copied); n 0 removes the names.  A head that
 * aisle_bert_finetune_head creates anew has no names (its classes are the
 * caller's ids) until this call gives them; they are saved with the model
 * (as an imported config.json's id2label) and are the labels a student
 * distilled from it (the text option teacher) learns.  Changes the model:
 * no other call may use it at the same time.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL model, NULL names with n > 0, a NULL, empty, too long,
 * non-UTF-8 or repeated name), AISLE_EUNSUPPORTED (no classification head,
 * or a regression head), AISLE_ERANGE (n is not num_labels) or
 * AISLE_ENOMEM; on failure the names are unchanged. */
AISLE_API int aisle_bert_set_labels(aisle_bert *model, const char *const *names, size_t n);

/* <<< section: bert labels */
/* >>> section: search_learn */

/* Learning to rank from search logs (docs/SEARCH.md, "Learning to rank").
 * A search log is a delimited text file with a header naming the columns
 * query_id, query, user (optional), item and event: one row per product a
 * search showed or the shopper acted on, event one of shown, click, cart,
 * purchase.  Rows with the same query_id form one search (its query and
 * user must repeat on each).  aisle_search_index_learn runs each logged
 * search and fits the weights of the ranking signals (text, proximity,
 * matched, corrected, semantic, encoder, user, popularity) by L2-
 * regularised pairwise logistic regression on (better event, worse event)
 * pairs of products of the same search; the weights are kept in the index
 * (and its saved file) and used by aisle_search as option search_ranker
 * says (auto: whenever the index has them).
 *
 * Threads: a log is read-only after loading (any number of threads may
 * use it); aisle_search_index_learn needs exclusive access to the index,
 * as aisle_search_index_add does. */
typedef struct aisle_search_log aisle_search_log;

/* Loads a search log from `path` (plain or gzip; delimiter by extension
 * or sniffed, options delimiter, quoting, max_field...).  All or nothing.
 * Returns AISLE_OK, AISLE_EINVAL (NULL argument, bad option), AISLE_ENOTFOUND
 * (no such file), AISLE_EIO, AISLE_EFORMAT (a missing column, an unknown event, a row whose query or
 * user differs from its query_id's earlier rows, invalid UTF-8: the
 * message names file, line and column), AISLE_ERANGE or AISLE_ENOMEM. */
AISLE_API int aisle_search_log_load(aisle_search_log **out, const char *path, const aisle_config *cfg);

/* As aisle_search_log_load, from data[0..len); name is used in messages
 * (NULL: "buffer").  Returns the same codes. */
AISLE_API int aisle_search_log_load_buffer(aisle_search_log **out, const void *data, size_t len, const char *name,
                                           const aisle_config *cfg);

/* *searches: the distinct query_ids; *events: the (search, product) pairs
 * (repeated events of one product in one search count once).  Either may
 * be NULL.  Thread-safe.  Returns AISLE_OK or AISLE_EINVAL (NULL log). */
AISLE_API int aisle_search_log_count(const aisle_search_log *log, size_t *searches, size_t *events);

/* Frees a log; NULL is a no-op. */
AISLE_API void aisle_search_log_free(aisle_search_log *log);

/* Fits the index's ranking weights from `log` and keeps them in the index
 * (replacing earlier ones).  model (may be NULL): the trained model whose
 * behaviour-space retrieval, user scores and popularity are signals, as in
 * aisle_search; log rows' users are looked up in it.  cfg: the search_*
 * options the searches run with, and search_learn_l2,
 * search_learn_max_pairs, search_learn_iterations, search_learn_seed.
 * Results are identical for the same inputs and seed.  *pairs (may be
 * NULL) receives the preference pairs used.  On failure the index is
 * unchanged.  Returns AISLE_OK, AISLE_EINVAL (NULL index or log, bad
 * option, or a log giving no pairs: no search with two of its products
 * among the candidates and different events), AISLE_EINTERNAL or
 * AISLE_ENOMEM. */
AISLE_API int aisle_search_index_learn(aisle_search_index *index, const aisle_search_log *log,
                                       const aisle_model *model, const aisle_config *cfg, size_t *pairs);

/* Feature i of the learned ranker: *name (static text) and *weight.
 * Thread-safe.  Returns AISLE_OK, AISLE_EINVAL (NULL argument),
 * AISLE_ENOTFOUND (the index has no learned weights) or AISLE_ERANGE (i
 * past the last feature). */
AISLE_API int aisle_search_index_ranker(const aisle_search_index *index, size_t i, const char **name,
                                        double *weight);
/* <<< section: search_learn */

/* >>> section: grow (products and shoppers from a catalog) */
/* A model trained yesterday serves the products listed today without
 * retraining (docs/HYBRID.md, "New products after training").  Kind hybrid
 * scores a product from its catalog features: its vector and bias are the
 * sums of the model's embeddings of its words, category levels, brand,
 * price band and attributes, weighted as at training -- exactly the
 * vector the product would have had in the training catalog without
 * events.  A feature the model does not have (a word, brand or category
 * value it never saw, or one it pruned by min_feature_support) is left
 * out, as at training; a product none of whose features the model has
 * gets a zero vector (scores 0 for implicit losses; the global mean plus
 * the shopper's bias for loss=squared; similar to nothing).  Shoppers
 * likewise from an attribute table (a catalog keyed by user id) for a
 * hybrid trained with one; they join with an empty history
 * (aisle_update_user may fold events in later).  Added products and
 * shoppers then take part in every call as trained ones do:
 * aisle_recommend, aisle_similar_items, aisle_score, aisle_explain_features,
 * evaluation, aisle_model_save (a reloaded model gives the same lists).
 * Kind pair reads a new product's text (title, category, brand,
 * description) and a new shopper's profile (the attributes of its row) by
 * the rule training uses, so an added product scores to the bit as it
 * would have in the training catalog without events, and a new shopper as
 * a trained one with that profile and no recent items (docs/PAIR.md).
 *
 * Thread rules: adding is a write.  No other call may use the model while
 * aisle_model_add_items / _add_users run on it (as aisle_update_user); the
 * int8 serving index (aisle_model_prepare) is extended in the same call.
 * To add while other threads serve, use aisle_server_add_items /
 * _add_users, which wait for the leases and journal the change. */

/* Adds every product of `items` whose key the model does not know, scored
 * from its catalog features.  Products the model already has are left as
 * they are (their rows are ignored: a trained product keeps its learned
 * vector; retrain to change it), so the day's full catalog may be passed.
 * *added_out (may be NULL) receives how many were added.  All or nothing:
 * on failure the model is unchanged.  Returns AISLE_OK, AISLE_EINVAL (NULL
 * model or items), AISLE_EUNSUPPORTED (a kind other than hybrid or pair,
 * the message naming it; a hybrid trained without a catalog, or saved without
 * its feature tables by an earlier version), AISLE_ERANGE (more than 2^31
 * items) or AISLE_ENOMEM. */
AISLE_API int aisle_model_add_items(aisle_model *model, const aisle_catalog *items, size_t *added_out);

/* The same for shoppers: every row of the attribute table `users` whose
 * key the model does not know joins it, scored from its attributes.
 * AISLE_EUNSUPPORTED also for a hybrid trained without a shopper
 * attribute table.  Otherwise as aisle_model_add_items. */
AISLE_API int aisle_model_add_users(aisle_model *model, const aisle_catalog *users, size_t *added_out);

/* aisle_model_add_items / _add_users on a server's current model while
 * readers run: the call waits for the leases (as aisle_server_update_user),
 * readers see the model before or after the whole change, and the change
 * is journaled (with a copy of the catalog, kept until a swap trims it) and
 * replayed by aisle_server_swap onto the incoming model, which keeps the
 * products and shoppers it was trained with.  Same statuses as
 * aisle_model_add_items; AISLE_EINVAL for a NULL server. */
AISLE_API int aisle_server_add_items(aisle_server *server, const aisle_catalog *items, size_t *added_out);
AISLE_API int aisle_server_add_users(aisle_server *server, const aisle_catalog *users, size_t *added_out);
/* <<< section: grow */

/* >>> section: search_text_model */

/* An intent model as the text encoder of a search index (docs/SEARCH.md,
 * "Text encoder"): aisle_search_index_set_encoder's twin for a model of
 * kind intent trained by aisle_text_train (or loaded) with architecture
 * transformer or bag.  A text's vector is the one the model's classifier
 * head reads: for transformer the pooled final hidden states (mean of all
 * positions or the [CLS] state, as its option pooling said), for bag the
 * pooled feature embeddings; normalised to unit length (a text without a
 * word gets zeros and matches nothing).  Everything else is as with a
 * BERT: the index stores each product's vector (and saves it with the
 * model's fingerprint: feature settings, dimensions and every weight),
 * aisle_search encodes the query and fuses the exact cosine scan with the
 * lexical candidates (options search_fusion, search_encoder_weight), and
 * aisle_search_index_add encodes new products.  Option
 * search_encoder_pooling is not read (the model's own pooling is part of
 * its fingerprint).
 *
 * Threads: as aisle_search_index_set_encoder (the index borrows the model,
 * which must outlive it or be detached; searches only read it). */

/* Attaches `model` to the index: with `cat`, computes the vectors of every
 * indexed product (each must be in cat; option threads), replacing any
 * the index had; without (NULL), the index must hold vectors made by this
 * very model (a loaded index: the fingerprint is checked, nothing is
 * recomputed).  model NULL detaches the encoder (of either kind) and drops
 * the vectors.  On failure the index is unchanged.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL index, bad option, or vectors made by another
 * encoder), AISLE_ESTATE (no cat and no stored vectors), AISLE_ENOTFOUND
 * (an indexed product is not in cat), AISLE_EUNSUPPORTED (not an intent
 * model, or an architecture without vectors, e.g. bert) or AISLE_ENOMEM. */
AISLE_API int aisle_search_index_set_text_model(aisle_search_index *index, const aisle_model *model,
                                                const aisle_catalog *cat, const aisle_config *cfg);
/* <<< section: search_text_model */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AISLE_H */
