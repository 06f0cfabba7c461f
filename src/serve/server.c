/* server.c - a serving handle: readers lease the current model while a new
 * one is swapped in and while users are updated (docs/SERVING.md).
 *
 * Each model is a `version` with a reference count (one for being current,
 * one per lease) and a reader-writer lock.  A lease takes the version's read
 * lock, so aisle_server_update_user (its write lock) never changes a user row
 * that a reader is scoring; the lock prefers writers, so 8 busy readers do
 * not starve the writer.  Swapping only moves the `current` pointer under a
 * short mutex: readers of the old model finish on it, and the last release
 * frees it.
 *
 * New users and items (aisle_server_add_user, aisle_server_add_item, and
 * from a catalog aisle_server_add_items / _add_users: hybrid) grow
 * the current model in place under the same write lock (grow.c): a reader
 * sees the model before or after, never a half-added row.
 *
 * No lost update: updates and swaps are serialized by `write_mu`; every
 * update, new user and new item is kept in a journal with its time, and a
 * swap replays onto the incoming model, before it becomes current and in
 * the order they were made, the entries made at or after the time the
 * caller says the model's training data ends; older entries leave the
 * journal (the model holds them). */
#include "serve.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct version {
    aisle_model *m;
    size_t refs;          /* under aisle_server.mu */
    pthread_rwlock_t rw;  /* read: leases; write: update_user */
    struct version *next; /* live versions (current first) */
} version;

enum { ENTRY_UPDATE, ENTRY_ADD_USER, ENTRY_ADD_ITEM, ENTRY_ADD_CATALOG_ITEMS, ENTRY_ADD_CATALOG_USERS };

typedef struct journal_entry {
    int what;       /* ENTRY_* */
    char *key;      /* the user (update, add user) or the item (add item) */
    char **items;   /* update, add user: n item keys */
    float *weights; /* NULL: all 1; add item: the vector (n floats, or NULL) */
    size_t n;
    int64_t time;   /* when it was applied (s since the epoch) */
    aisle_catalog *cat; /* add from a catalog: the server's copy of it */
} journal_entry;

struct aisle_server {
    pthread_mutex_t mu;       /* current, refs, the version list */
    pthread_mutex_t write_mu; /* update_user and swap, one at a time */
    version *live;            /* live->m is the current model */
    journal_entry *journal;
    size_t n_journal, cap_journal;
};

static int version_new(aisle_model *m, version **out) {
    version *v = core_calloc(1, sizeof *v);
    if (!v) return core_oom("server model version");
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
#if defined(__GLIBC__)
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    int e = pthread_rwlock_init(&v->rw, &a);
    pthread_rwlockattr_destroy(&a);
    if (e) {
        core_free(v);
        return core_error(AISLE_ENOMEM, "server: cannot create a reader-writer lock");
    }
    v->m = m;
    v->refs = 1;
    *out = v;
    return AISLE_OK;
}

static void version_free(version *v) {
    pthread_rwlock_destroy(&v->rw);
    aisle_model_free(v->m);
    core_free(v);
}

static void entry_free(journal_entry *e) {
    for (size_t k = 0; e->items && k < e->n; k++) core_free(e->items[k]);
    core_free(e->items);
    core_free(e->weights);
    core_free(e->key);
    if (e->cat) data_catalog_release(e->cat);
    core_free(e->cat);
}

static void journal_clear(aisle_server *s) {
    for (size_t i = 0; i < s->n_journal; i++) entry_free(&s->journal[i]);
    s->n_journal = 0;
}

/* A journal entry, made (and the journal grown) BEFORE the change is
 * applied: a change the journal could not hold would be lost silently on
 * the next swap.  items is NULL for an added item (w its vector). */
static int entry_make(aisle_server *s, journal_entry *e, int what, const char *key, const char *const *items,
                      const float *w, size_t n) {
    if (s->n_journal == s->cap_journal) {
        size_t cap = s->cap_journal ? s->cap_journal * 2 : 64;
        journal_entry *j = core_realloc(s->journal, cap * sizeof *j);
        if (!j) return core_oom("server update journal");
        s->journal = j, s->cap_journal = cap;
    }
    memset(e, 0, sizeof *e);
    e->what = what;
    e->n = n;
    e->time = (int64_t)time(NULL);
    e->key = core_strdup(key);
    e->items = items ? core_calloc(n ? n : 1, sizeof *e->items) : NULL;
    bool ok = e->key && (e->items || !items);
    if (ok && w) {
        e->weights = core_malloc((n ? n : 1) * sizeof *e->weights);
        ok = e->weights != NULL;
        if (ok) memcpy(e->weights, w, n * sizeof *w);
    }
    /* a NULL key is skipped by update_user; "" is unknown to every model */
    for (size_t k = 0; ok && items && k < n; k++) ok = (e->items[k] = core_strdup(items[k] ? items[k] : "")) != NULL;
    if (!ok) {
        entry_free(e);
        return core_oom("server update journal");
    }
    return AISLE_OK;
}

AISLE_API int aisle_server_new(aisle_server **out, aisle_model *model) {
    if (!out || !model) return core_error(AISLE_EINVAL, "aisle_server_new: NULL out or model");
    aisle_server *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("server");
    int rc = version_new(model, &s->live);
    if (rc) {
        core_free(s);
        return rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->write_mu, NULL);
    *out = s;
    return AISLE_OK;
}

AISLE_API void aisle_server_free(aisle_server *s) {
    if (!s) return;
    /* no leases may be outstanding (documented): every version goes */
    while (s->live) {
        version *v = s->live;
        s->live = v->next;
        version_free(v);
    }
    journal_clear(s);
    core_free(s->journal);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->write_mu);
    core_free(s);
}

/* The current version with one more reference. */
static version *grab_current(aisle_server *s) {
    pthread_mutex_lock(&s->mu);
    version *v = s->live;
    v->refs++;
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* Drops a reference; frees a version that is no longer current and has
 * no reader left. */
static void drop(aisle_server *s, version *v) {
    pthread_mutex_lock(&s->mu);
    bool last = --v->refs == 0;
    if (last)
        for (version **p = &s->live; *p; p = &(*p)->next)
            if (*p == v) {
                *p = v->next;
                break;
            }
    pthread_mutex_unlock(&s->mu);
    if (last) version_free(v);
}

AISLE_API int aisle_server_acquire(aisle_server *s, const aisle_model **model_out) {
    if (!s || !model_out) return core_error(AISLE_EINVAL, "aisle_server_acquire: NULL server or model_out");
    version *v = grab_current(s);
    pthread_rwlock_rdlock(&v->rw);
    *model_out = v->m;
    return AISLE_OK;
}

AISLE_API int aisle_server_release(aisle_server *s, const aisle_model *model) {
    if (!s || !model) return core_error(AISLE_EINVAL, "aisle_server_release: NULL server or model");
    pthread_mutex_lock(&s->mu);
    version *v = s->live;
    while (v && v->m != model) v = v->next;
    /* the current model holds one reference of its own: a release without
     * a lease would unlock a lock nobody holds */
    if (v && v->refs <= (v == s->live ? 1u : 0u)) v = NULL;
    pthread_mutex_unlock(&s->mu);
    if (!v) return core_error(AISLE_EINVAL, "aisle_server_release: the model is not leased from this server");
    pthread_rwlock_unlock(&v->rw);
    drop(s, v);
    return AISLE_OK;
}

/* Applies a journal entry to m (the current model under its write lock,
 * or an incoming one no reader sees yet). */
static int entry_apply(aisle_model *m, const journal_entry *e, size_t *added) {
    const char *const *items = (const char *const *)e->items;
    switch (e->what) {
    case ENTRY_UPDATE: return aisle_update_user(m, e->key, items, e->weights, e->n);
    case ENTRY_ADD_USER: return serve_add_user(m, e->key, items, e->weights, e->n);
    case ENTRY_ADD_ITEM: return serve_add_item(m, e->key, e->weights, e->n);
    default: return serve_add_catalog(m, e->cat, e->what == ENTRY_ADD_CATALOG_USERS, added);
    }
}

/* Journals a change, then applies it to the current model while no lease
 * is out; the journal keeps it only if it was applied. */
static int server_write(aisle_server *s, int what, const char *key, const char *const *items,
                                const float *w, size_t n, const aisle_catalog *cat, size_t *added) {
    pthread_mutex_lock(&s->write_mu);
    journal_entry e;
    int rc = entry_make(s, &e, what, key, items, w, n);
    if (!rc && cat) {
        e.cat = core_malloc(sizeof *e.cat);
        rc = e.cat ? data_catalog_copy(e.cat, cat) : core_oom("server update journal");
        if (rc) core_free(e.cat), e.cat = NULL, entry_free(&e);
    }
    if (!rc) {
        version *v = grab_current(s);
        pthread_rwlock_wrlock(&v->rw);
        rc = entry_apply(v->m, &e, added);
        pthread_rwlock_unlock(&v->rw);
        drop(s, v);
        if (rc) entry_free(&e);
        else s->journal[s->n_journal++] = e;
    }
    pthread_mutex_unlock(&s->write_mu);
    return rc;
}

AISLE_API int aisle_server_update_user(aisle_server *s, const char *user_key, const char *const *item_keys,
                                       const float *weights, size_t n) {
    if (!s || !user_key || (n && !item_keys))
        return core_error(AISLE_EINVAL, "aisle_server_update_user: NULL server, user_key or item_keys");
    return server_write(s, ENTRY_UPDATE, user_key, item_keys, weights, n, NULL, NULL);
}

AISLE_API int aisle_server_add_user(aisle_server *s, const char *user_key, const char *const *item_keys,
                                    const float *weights, size_t n) {
    if (!s || !user_key || (n && !item_keys))
        return core_error(AISLE_EINVAL, "aisle_server_add_user: NULL server, user_key or item_keys");
    static const char *const none[1] = {NULL};
    return server_write(s, ENTRY_ADD_USER, user_key, n ? item_keys : none, weights, n, NULL, NULL);
}

AISLE_API int aisle_server_add_item(aisle_server *s, const char *item_key, const float *vector, size_t dim) {
    if (!s || !item_key || (dim && !vector))
        return core_error(AISLE_EINVAL, "aisle_server_add_item: NULL server, item_key or vector");
    return server_write(s, ENTRY_ADD_ITEM, item_key, NULL, dim ? vector : NULL, dim, NULL, NULL);
}

static int server_add_catalog(aisle_server *s, const aisle_catalog *cat, int side, size_t *added_out) {
    if (added_out) *added_out = 0;
    if (!s || !cat)
        return core_error(AISLE_EINVAL, "aisle_server_add_%s: NULL server or catalog", side ? "users" : "items");
    size_t added = 0;
    int rc = server_write(s, side ? ENTRY_ADD_CATALOG_USERS : ENTRY_ADD_CATALOG_ITEMS, "", NULL, NULL, 0,
                                  cat, &added);
    if (!rc && added_out) *added_out = added;
    return rc;
}

AISLE_API int aisle_server_add_items(aisle_server *s, const aisle_catalog *items, size_t *added_out) {
    return server_add_catalog(s, items, 0, added_out);
}

AISLE_API int aisle_server_add_users(aisle_server *s, const aisle_catalog *users, size_t *added_out) {
    return server_add_catalog(s, users, 1, added_out);
}

AISLE_API int aisle_server_swap(aisle_server *s, aisle_model *model, int64_t replay_since, size_t *replayed_out) {
    if (!s || !model) return core_error(AISLE_EINVAL, "aisle_server_swap: NULL server or model");
    pthread_mutex_lock(&s->write_mu);
    /* replay onto the incoming model while no reader can see it; users it
     * does not know (or kinds without updates) cannot take the update */
    size_t replayed = 0;
    int rc = AISLE_OK;
    for (size_t i = 0; !rc && i < s->n_journal; i++) {
        const journal_entry *e = &s->journal[i];
        if (e->time < replay_since) continue;
        /* an item the incoming model was trained with stays as trained */
        if (e->what == ENTRY_ADD_ITEM && keys_find(&model->items, e->key, strlen(e->key)) >= 0) continue;
        size_t added;
        int r = entry_apply(model, e, &added);
        if (r == AISLE_OK) replayed++;
        else if (r == AISLE_ENOMEM) rc = r;
    }
    version *nv = NULL;
    if (!rc) rc = version_new(model, &nv);
    if (!rc) {
        pthread_mutex_lock(&s->mu);
        version *old = s->live;
        nv->next = old;
        s->live = nv;
        pthread_mutex_unlock(&s->mu);
        drop(s, old); /* its "current" reference */
        size_t kept = 0; /* entries before replay_since: the model holds them */
        for (size_t i = 0; i < s->n_journal; i++) {
            if (s->journal[i].time < replay_since) entry_free(&s->journal[i]);
            else s->journal[kept++] = s->journal[i];
        }
        s->n_journal = kept;
        if (replayed_out) *replayed_out = replayed;
    }
    pthread_mutex_unlock(&s->write_mu);
    return rc;
}
