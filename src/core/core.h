/*
 * core.h - internal foundation shared by every module: allocation, errors,
 * the option table and configurations, random numbers, threads, key
 * dictionaries and growable buffers.
 *
 * Every other module may include this header; it includes nothing of ours
 * except the public header.
 */
#ifndef AISLE_CORE_H
#define AISLE_CORE_H

#include "aisle.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#  define CORE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#  define CORE_UNUSED __attribute__((unused))
#  define CORE_LIKELY(x) __builtin_expect(!!(x), 1)
#  define CORE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define CORE_PRINTF(a, b)
#  define CORE_UNUSED
#  define CORE_LIKELY(x) (x)
#  define CORE_UNLIKELY(x) (x)
#endif

#define CORE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CORE_MAX(a, b) ((a) > (b) ? (a) : (b))
#define CORE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------
 * Allocation (alloc.c).  Everything goes through the host's allocator.
 * None of these set an error message; callers report AISLE_ENOMEM with
 * core_oom() where they detect it.
 * ------------------------------------------------------------------------ */
void *core_malloc(size_t size);
/* Zeroed array of n elements; NULL on overflow of n*size or failure. */
void *core_calloc(size_t n, size_t size);
void *core_realloc(void *ptr, size_t size);
/* realloc of an array with overflow check of n*size. */
void *core_reallocarray(void *ptr, size_t n, size_t size);
void core_free(void *ptr);
char *core_strdup(const char *s);
char *core_strndup(const char *s, size_t n);
/* Grows *ptr (an array of elem-byte elements with capacity *cap) to hold at
 * least need elements, doubling.  Returns AISLE_OK or AISLE_ENOMEM (with a
 * message); *ptr is unchanged on failure. */
int core_grow(void **ptr, size_t *cap, size_t need, size_t elem);

/* ------------------------------------------------------------------------
 * Errors (error.c).  Set the message where a failure is detected, once, and
 * return the code: `return core_error(AISLE_EINVAL, "k must be > 0");`.
 * ------------------------------------------------------------------------ */
int core_error(int code, const char *fmt, ...) CORE_PRINTF(2, 3);
int core_verror(int code, const char *fmt, va_list ap);
/* AISLE_ENOMEM with "out of memory (what)". */
int core_oom(const char *what);
/* AISLE_EIO with "<path>: <action>: <strerror(errno)>"; reads errno. */
int core_io_error(const char *path, const char *action);
/* Prefixes the current thread's message with "prefix: " (for context added
 * by callers, e.g. the section name in a model file) and returns code. */
int core_error_prefix(int code, const char *fmt, ...) CORE_PRINTF(2, 3);

/* ------------------------------------------------------------------------
 * Option table (options.c) and configurations (config.c).
 * ------------------------------------------------------------------------ */
typedef struct option_spec {
    const char *name;
    int type;            /* aisle_option_type */
    double min, max;     /* inclusive range for INT and FLOAT */
    const char *def;     /* default, in text form */
    const char *choices; /* "a|b|c" for STRING options restricted to choices, else NULL */
    const char *scope;   /* "all", "data", "save", "serve", "eval", or model kinds "als,bpr" */
    const char *help;
} option_spec;

/* Tables end with an entry whose name is NULL. */
#define OPTION_END {NULL, 0, 0, 0, NULL, NULL, NULL, NULL}

/* One table row per option type, so a row states only what varies: the
 * range of numbers, the choices of a restricted string (and never a range
 * for a string or choices for a number). */
#define OPTION_INT(name, min, max, def, scope, help) {name, AISLE_OPTION_INT, min, max, def, NULL, scope, help}
#define OPTION_FLOAT(name, min, max, def, scope, help) {name, AISLE_OPTION_FLOAT, min, max, def, NULL, scope, help}
#define OPTION_BOOL(name, def, scope, help) {name, AISLE_OPTION_BOOL, 0, 1, def, NULL, scope, help}
#define OPTION_STRING(name, def, scope, help) {name, AISLE_OPTION_STRING, 0, 0, def, NULL, scope, help}
#define OPTION_CHOICE(name, def, choices, scope, help) {name, AISLE_OPTION_STRING, 0, 0, def, choices, scope, help}

/* Every option table in lookup order: table t (0, 1, ...), NULL past the
 * end.  Each module declares its own table; only the top layer (src/api)
 * knows them all, and it passes its enumerator down to the calls below
 * that look a name up, so no layer names a table of a layer above it. */
typedef const option_spec *(*option_tables)(int t);

/* Finds name in the tables, first declaration first (it gives the type
 * for validation).  NULL when unknown. */
const option_spec *option_find(option_tables tables, const char *name);
/* Number of options in all tables, and entry i (for docs / help). */
int option_total(option_tables tables);
const option_spec *option_at(option_tables tables, int i);
/* Finds name in one NULL-terminated table. */
const option_spec *option_find_in(const option_spec *table, const char *name);

/* The generic options (threads, seed, blas_threads, model), which every
 * lookup with a module's or kind's table falls back to. */
extern const option_spec core_options[];

typedef struct config_entry {
    const option_spec *spec;
    int64_t i;  /* INT, BOOL */
    double f;   /* FLOAT */
    char *s;    /* STRING (owned) */
} config_entry;

struct aisle_config {
    config_entry *entries; /* explicitly set options, in insertion order */
    size_t n, cap;
    aisle_progress_fn progress;
    void *progress_user;
};

/* Getters used by modules.  `table` is the option table that defines the
 * default for this use (a model kind's table, or a module table); the value
 * comes from cfg when set there, else from table's default, else from the
 * generic table (core_options).  The key must exist in table or the generic
 * table (a programming error otherwise: returns 0 / "" and never crashes).
 * cfg may be NULL. */
int64_t config_int(const aisle_config *cfg, const option_spec *table, const char *key);
double config_float(const aisle_config *cfg, const option_spec *table, const char *key);
bool config_bool(const aisle_config *cfg, const option_spec *table, const char *key);
/* Returned string is owned by cfg or static; valid while cfg lives. */
const char *config_string(const aisle_config *cfg, const option_spec *table, const char *key);
/* Checks every set option that `table` also defines against table's own
 * range and choices (a kind may be stricter than the generic entry).
 * `what` names the user in messages ("model 'als'"). */
int config_check(const aisle_config *cfg, const option_spec *table, const char *what);
/* Finds the set entry for key, or NULL. */
const config_entry *config_lookup(const aisle_config *cfg, const char *key);
/* Parses a value's text for a spec (used by config and the CLI). */
int config_parse_value(const option_spec *spec, const char *text, config_entry *out);
/* Sets spec's option from its text form (aisle_config_set for a spec the
 * caller already found, e.g. in its own module's table). */
int config_set_text(aisle_config *cfg, const option_spec *spec, const char *value);

/* The public aisle_config_* calls that look an option up by name, with
 * the table list to look in (src/api passes every table; the public
 * functions are thin wrappers there).  Same arguments, codes and messages
 * as the public functions. */
int config_set_int(aisle_config *cfg, option_tables tables, const char *key, int64_t value);
int config_set_float(aisle_config *cfg, option_tables tables, const char *key, double value);
int config_set_string(aisle_config *cfg, option_tables tables, const char *key, const char *value);
int config_set(aisle_config *cfg, option_tables tables, const char *key, const char *value);
int config_unset(aisle_config *cfg, option_tables tables, const char *key);
int config_parse(aisle_config *cfg, option_tables tables, const char *text);
int config_get_int(const aisle_config *cfg, option_tables tables, const char *key, int64_t *out);
int config_get_float(const aisle_config *cfg, option_tables tables, const char *key, double *out);
int config_get_string(const aisle_config *cfg, option_tables tables, const char *key, char *buf, size_t len);
int config_is_set(const aisle_config *cfg, option_tables tables, const char *key, int *out);

/* ------------------------------------------------------------------------
 * Progress reporting and time (progress.c).
 * ------------------------------------------------------------------------ */
double core_now(void); /* monotonic seconds */

typedef struct core_progress {
    aisle_progress_fn fn;
    void *user;
    double start;
} core_progress;

void core_progress_init(core_progress *p, const aisle_config *cfg);
/* Calls the callback; returns AISLE_OK or AISLE_ECANCELLED (with message). */
int core_progress_report(core_progress *p, int step, int steps, double loss, double metric);

/* ------------------------------------------------------------------------
 * Random numbers (rng.c): xoshiro256** seeded through splitmix64, so a
 * seed gives the same stream on every platform.  Each thread owns its
 * generator (no shared state).
 * ------------------------------------------------------------------------ */
typedef struct core_rng {
    uint64_t s[4];
} core_rng;

void rng_seed(core_rng *r, uint64_t seed);
/* An independent stream for (seed, stream): used to give each thread or
 * block its own generator deterministically. */
void rng_seed_stream(core_rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(core_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t rng_below(core_rng *r, uint64_t n);
/* Uniform float in [0, 1). */
float rng_float(core_rng *r);
double rng_double(core_rng *r);
/* Standard normal (Box-Muller). */
float rng_normal(core_rng *r);
/* Fisher-Yates shuffle of n uint32 values. */
void rng_shuffle_u32(core_rng *r, uint32_t *v, size_t n);

/* ------------------------------------------------------------------------
 * Threads (thread.c).  Work is split over at most `threads` threads that
 * the caller controls (option `threads`; 0 means the number of online
 * CPUs).  The calling thread does part of the work.
 * ------------------------------------------------------------------------ */
/* fn(ctx, begin, end, tid) is called on disjoint ranges covering [0, n);
 * ranges are handed out dynamically in chunks of `grain` items (>= 1).  A
 * non-zero return from any call stops handing out more work and is
 * returned (the first one).  Returns AISLE_ENOMEM only if no thread at all
 * could be used... in which case everything runs in the calling thread, so
 * in practice the result of fn. */
typedef int (*core_range_fn)(void *ctx, size_t begin, size_t end, int tid);
int core_parallel_for(int threads, size_t n, size_t grain, core_range_fn fn, void *ctx);
/* Resolves the `threads` option value: 0 -> online CPUs, clamped to
 * [1, 256]. */
int core_thread_count(int64_t requested);

/* A persistent pool for work split many times a second (a training step):
 * its threads - 1 workers are started once and sleep between calls, so a
 * call costs a wake-up rather than thread creations.  One caller thread
 * at a time per pool (the one that runs core_pool_for); the pool holds no
 * global state.  core_pool_new returns AISLE_OK or AISLE_ENOMEM; workers
 * that cannot be started are simply not used (threads 1 runs everything
 * in the caller).  core_pool_free(NULL) is a no-op. */
typedef struct core_pool core_pool;
int core_pool_new(core_pool **out, int threads);
void core_pool_free(core_pool *pool);
/* Threads a call uses: the workers started plus the caller (1 for NULL). */
int core_pool_threads(const core_pool *pool);
/* core_parallel_for on the pool's threads (pool NULL: the calling thread
 * alone), with the same chunking, tids and error rules.  Of the C chunks,
 * thread tid (0: the caller) first runs its home range
 * [tid C / P, (tid + 1) C / P) in order (P = core_pool_threads), then takes
 * chunks from the far ends of the other ranges: a loop that splits the
 * same data the same way on every call keeps each chunk on one core's
 * cache, and uneven chunks still balance. */
int core_pool_for(core_pool *pool, size_t n, size_t grain, core_range_fn fn, void *ctx);

/* ------------------------------------------------------------------------
 * Key dictionaries (keys.c): the shop's own string ids <-> dense indices.
 * Open addressing over FNV-1a hashes; strings are stored in one arena.
 * ------------------------------------------------------------------------ */
typedef struct core_keys {
    /* Owned keys: all of them, or with a borrowed base those with index >=
     * base_n (offsets[i - base_n]); slots hold index+1 of owned keys only. */
    char *arena;       /* each key NUL-terminated */
    size_t arena_len, arena_cap;
    uint64_t *offsets; /* owned index -> offset in arena */
    size_t n, offsets_cap; /* n: every key, the base's included */
    uint32_t *slots;   /* hash slots: index+1, 0 = empty */
    size_t nslots;     /* power of two */
    /* The borrowed base (keys_borrow): keys 0..base_n-1 viewed in memory
     * owned elsewhere (a mapped model file), never written or freed here,
     * and not trusted -- lookups stay inside them whatever they hold.  Keys
     * added later go to the owned part above, so the first added key costs
     * the same whatever the size of the base (nothing is copied). */
    const char *base_arena;
    size_t base_arena_len;
    const uint64_t *base_offsets;
    size_t base_n;
    const uint32_t *base_slots;
    size_t base_nslots;
    bool borrowed; /* a base is set (its keys were never checked) */
} core_keys;

void keys_init(core_keys *k);
void keys_clear(core_keys *k); /* frees everything, leaves an empty dictionary */
/* Looks up key; if absent, appends it.  *index receives its index; *added
 * (may be NULL) whether it was new.  Fails with AISLE_ENOMEM, or
 * AISLE_ERANGE past 2^32-2 keys.  With a borrowed base the new key goes to
 * the owned part (index base_n and up): the base is not copied, so a
 * corrupt base is not checked here (saving checks it: keys_copy). */
int keys_intern(core_keys *k, const char *key, size_t len, uint32_t *index, bool *added);
/* Index of key or -1. */
int64_t keys_find(const core_keys *k, const char *key, size_t len);
/* Key at index (index < k->n).  An offset outside the arena (only a
 * borrowed, unverified dictionary can hold one) gives the arena's final
 * NUL, an empty string, instead of a read outside it. */
static inline const char *keys_at(const core_keys *k, uint32_t index) {
    if (index >= k->base_n) return k->arena + k->offsets[index - k->base_n];
    uint64_t off = k->base_offsets[index];
    return k->base_arena + (off < k->base_arena_len ? off : k->base_arena_len - 1);
}
/* Bytes of all keys' arenas (each key and its NUL): a size hint. */
static inline size_t keys_arena_bytes(const core_keys *k) { return k->base_arena_len + k->arena_len; }
/* A dictionary viewing n keys stored elsewhere in the layout keys_intern
 * builds (arena of NUL-terminated keys, offsets, a power-of-two table of
 * nslots slots filled with keys_slot_of): nothing is copied or checked
 * but arena_len > 0 with a final NUL when n > 0 (the caller's job).
 * keys_clear forgets it without freeing. */
void keys_borrow(core_keys *k, const char *arena, size_t arena_len, const uint64_t *offsets, size_t n,
                 const uint32_t *slots, size_t nslots);
/* The first slot key probes in a table of nslots (a power of two) slots:
 * fmix64(FNV-1a 64(key)) & (nslots - 1), then linear probing (part of the
 * model file format: docs/FORMAT.md, sections 6 and 7). */
size_t keys_slot_of(const char *key, size_t len, size_t nslots);
/* Removes keys with index >= n (used to roll back a failed bulk insert). */
void keys_truncate(core_keys *k, size_t n);
/* Deep copy, owned (a borrowed base included: AISLE_EFORMAT if the merged
 * keys hold an empty or repeated one, a corrupt unverified file). */
int keys_copy(core_keys *dst, const core_keys *src);
uint64_t core_hash_bytes(const void *data, size_t len); /* FNV-1a 64 */
/* Mixes len bytes at data into a running 64-bit hash h, eight bytes at a
 * time (FNV-1a is serial per byte: about 8x slower on a large model).  For
 * fingerprints of model weights (src/search, src/text): it tells models
 * apart, it does not resist forgery.  Its values are saved in search
 * index files (section 261): never change them. */
uint64_t core_hash_words(uint64_t h, const void *data, size_t len);

/* ------------------------------------------------------------------------
 * Top-k selection (topk.c), the one used by serving (what aisle_recommend
 * shows) and by evaluation (the list coverage and novelty count), so the
 * two cannot disagree.  Order: higher score first, equal scores by lower
 * item index.  NaN scores are never selected: a NaN means the model has no
 * score for the item, and serving has never shown one.
 *
 * A min-heap of the k best hits offered so far (root = the worst of them):
 * O(n + m log k) for n offers of which m enter.  Callers ask topk_admits()
 * before doing per-candidate work (serving's filter callback) and only
 * push what it admits.
 * ------------------------------------------------------------------------ */
typedef struct core_hit {
    float score;
    uint32_t item;
} core_hit;

typedef struct core_topk {
    core_hit *hits; /* room for k */
    size_t k, n;
} core_topk;

/* (as, ai) ranks before (bs, bi); neither score is NaN. */
static inline bool topk_before(float as, uint32_t ai, float bs, uint32_t bi) {
    return as > bs || (as == bs && ai < bi);
}

static inline void topk_init(core_topk *t, core_hit *hits, size_t k) {
    t->hits = hits;
    t->k = k;
    t->n = 0;
}

/* Whether (score, item) would enter the top k: never for NaN; else when
 * the heap has room or it ranks before the worst hit kept. */
static inline bool topk_admits(const core_topk *t, float score, uint32_t item) {
    if (score != score) return false;
    if (t->n < t->k) return true;
    return t->k > 0 && topk_before(score, item, t->hits[0].score, t->hits[0].item);
}

/* Adds a hit that topk_admits() accepted (each item at most once). */
void topk_push(core_topk *t, float score, uint32_t item);
/* Sorts the kept hits best first in t->hits and returns how many (<= k);
 * the heap takes no more pushes afterwards. */
size_t topk_finish(core_topk *t);

/* ------------------------------------------------------------------------
 * Growable byte buffer (buf.c) with printf, used for messages, JSON and
 * serialisation.
 * ------------------------------------------------------------------------ */
typedef struct core_buf {
    char *data;
    size_t len, cap;
} core_buf;

void buf_init(core_buf *b);
void buf_free(core_buf *b);
int buf_reserve(core_buf *b, size_t extra);
int buf_append(core_buf *b, const void *data, size_t len);
int buf_printf(core_buf *b, const char *fmt, ...) CORE_PRINTF(2, 3);
/* Copies b's text (NUL-terminated) into out/len with the public API's
 * convention: *needed gets the full length; AISLE_ERANGE if truncated. */
int buf_export(const core_buf *b, char *out, size_t len, size_t *needed);

/* Copies text into a caller buffer with the same convention as buf_export. */
int core_copy_string(const char *text, char *out, size_t len, size_t *needed);

#endif /* AISLE_CORE_H */
