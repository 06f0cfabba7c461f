/*
 * data.h - internal interface of the data module: behaviour datasets (key
 * dictionaries, the event log, aggregated sparse views, per-user
 * sequences), catalogs, loaders and splits.
 *
 * Models read datasets only through the functions below; the struct layout
 * is private to src/data.
 */
#ifndef AISLE_DATA_H
#define AISLE_DATA_H

#include "core/core.h"

#include <pthread.h>

/* Built-in event types; custom event names get ids from DATA_EVENT_CUSTOM
 * on.  A dataset keeps one weight per event type. */
enum {
    DATA_EVENT_VIEW = 0,
    DATA_EVENT_CART = 1,
    DATA_EVENT_PURCHASE = 2,
    DATA_EVENT_RATING = 3,
    DATA_EVENT_CUSTOM = 4
};

/* One raw event as added (indices into the dataset's dictionaries). */
typedef struct data_event {
    uint32_t user, item;
    uint32_t type;   /* DATA_EVENT_* or custom id */
    float value;     /* the value given (quantity, rating, ...) */
    int64_t time;    /* seconds since the epoch; 0 when unknown */
} data_event;

/* Compressed sparse rows of the aggregated (user, item) interactions.  In
 * the by-user view rows are users and indices are items; in the by-item
 * view the reverse.  Indices within a row are sorted ascending. */
typedef struct data_csr {
    uint32_t rows, cols;
    size_t nnz;
    size_t *indptr;      /* rows + 1 */
    uint32_t *indices;   /* nnz */
    float *values;       /* nnz: aggregated weight (or the rating for rating data) */
    int64_t *last_time;  /* nnz: latest timestamp of the pair */
    uint32_t *count;     /* nnz: number of events aggregated into the pair */
} data_csr;

/* Each user's events in time order (ties keep insertion order): items and
 * times of user u are at [indptr[u], indptr[u+1]). */
typedef struct data_seq {
    uint32_t users;
    size_t n;
    size_t *indptr;   /* users + 1 */
    uint32_t *items;  /* n */
    int64_t *times;   /* n */
    uint32_t *types;  /* n: event type of each step */
} data_seq;

struct aisle_dataset {
    core_keys users, items, event_names; /* event_names: id -> name */
    float *event_weights;                /* per event type id */
    size_t event_weights_cap;
    data_event *events;
    size_t n_events, events_cap;
    bool has_explicit;                   /* any rating events */

    /* Derived views, built once on demand and reused until the next change.
     * The lock makes lazy building safe when a finished dataset is shared
     * by threads (e.g. parallel training). */
    pthread_mutex_t lock;
    bool views_valid;
    data_csr by_user, by_item;
    data_seq seq;
};

/* Accessors for models and eval (all thread-safe on a dataset that is not
 * being changed). */
static inline uint32_t data_n_users(const aisle_dataset *ds) { return (uint32_t)ds->users.n; }
static inline uint32_t data_n_items(const aisle_dataset *ds) { return (uint32_t)ds->items.n; }
int data_by_user(const aisle_dataset *ds, const data_csr **out);
int data_by_item(const aisle_dataset *ds, const data_csr **out);
int data_sequences(const aisle_dataset *ds, const data_seq **out);
/* Whether the data carries explicit ratings (any 'rating' event). */
static inline bool data_is_explicit(const aisle_dataset *ds) { return ds->has_explicit; }

/* Event type id for a name (interning custom names).  */
int data_event_type(aisle_dataset *ds, const char *name, uint32_t *type);
/* Appends one event by indices (keys already interned); used by loaders
 * and splits. */
int data_append_event(aisle_dataset *ds, const data_event *ev);
/* Drops views after a change. */
void data_invalidate(aisle_dataset *ds);
/* Creates an empty dataset sharing the key dictionaries, event names and
 * weights of src (copies), so indices mean the same in both: used by splits
 * to produce train/test parts. */
int data_new_like(const aisle_dataset *src, aisle_dataset **out);

/* ---- catalog access for models and the CLI (implemented in catalog.c) ---- */
enum { DATA_FIELD_TITLE = 0, DATA_FIELD_DESCRIPTION = 1, DATA_FIELD_CATEGORY = 2, DATA_FIELD_BRAND = 3 };
/* Number of products in the catalog. */
size_t data_catalog_size(const aisle_catalog *c);
/* Index of the product with this key, or -1. */
int64_t data_catalog_find(const aisle_catalog *c, const char *key, size_t len);
/* Key and text fields of product idx ("" when absent; never NULL). */
const char *data_catalog_key(const aisle_catalog *c, size_t idx);
const char *data_catalog_field(const aisle_catalog *c, size_t idx, int field);
/* Price of product idx, NaN when unknown. */
double data_catalog_price(const aisle_catalog *c, size_t idx);

void data_csr_free(data_csr *m);
void data_seq_free(data_seq *s);

#endif /* AISLE_DATA_H */
