/* keys.c - string id <-> dense index dictionaries (open addressing). */
#include "core.h"

#include <string.h>

uint64_t core_hash_bytes(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t core_hash_words(uint64_t h, const void *data, size_t len) {
    const uint8_t *p = data;
    h ^= len * 0x9e3779b97f4a7c15ULL;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    if (i < len) memcpy(&tail, p + i, len - i);
    h = (h ^ tail) * 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

/* FNV-1a's low bits spread short, similar ids ("17850", "17851") poorly;
 * a 64-bit finalizer (MurmurHash3's fmix64) mixes every bit into the slot
 * index. */
static inline size_t slot_hash(const void *key, size_t len) {
    uint64_t h = core_hash_bytes(key, len);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (size_t)h;
}

size_t keys_slot_of(const char *key, size_t len, size_t nslots) { return slot_hash(key, len) & (nslots - 1); }

void keys_init(core_keys *k) { memset(k, 0, sizeof *k); }

/* The owned arrays are always the dictionary's own; a base is only viewed. */
void keys_clear(core_keys *k) {
    core_free(k->arena);
    core_free(k->offsets);
    core_free(k->slots);
    keys_init(k);
}

void keys_borrow(core_keys *k, const char *arena, size_t arena_len, const uint64_t *offsets, size_t n,
                 const uint32_t *slots, size_t nslots) {
    keys_clear(k);
    k->base_arena = arena;
    k->base_arena_len = arena_len;
    k->base_offsets = offsets;
    k->base_n = k->n = n;
    k->base_slots = slots;
    k->base_nslots = nslots;
    k->borrowed = true;
}

/* One hash table and the keys it indexes: the borrowed base (indices from
 * 0) or the owned part (indices from base_n). */
typedef struct keys_view {
    const char *arena;
    size_t arena_len;
    const uint64_t *offsets; /* offsets[index - first] */
    size_t first, n;
    const uint32_t *slots;
    size_t nslots;
} keys_view;

/* Bounded in every way, because a borrowed table (a mapped file opened
 * without verification) may hold anything: at most nslots probes (a full
 * table has no empty slot to stop at), entries outside the view skipped,
 * the key compared only where it fits inside the arena. */
static int64_t view_find(const keys_view *v, const char *key, size_t len, size_t hash) {
    if (!v->nslots) return -1;
    size_t mask = v->nslots - 1, h = hash & mask;
    for (size_t probe = 0; probe < v->nslots && v->slots[h]; probe++, h = (h + 1) & mask) {
        uint32_t idx = v->slots[h] - 1;
        if (idx < v->first || idx - v->first >= v->n) continue;
        uint64_t off = v->offsets[idx - v->first];
        if (off < v->arena_len && len < v->arena_len - off && memcmp(v->arena + off, key, len) == 0 &&
            v->arena[off + len] == '\0')
            return idx;
    }
    return -1;
}

int64_t keys_find(const core_keys *k, const char *key, size_t len) {
    size_t hash = slot_hash(key, len);
    keys_view base = {k->base_arena, k->base_arena_len, k->base_offsets, 0, k->base_n, k->base_slots,
                      k->base_nslots};
    int64_t found = view_find(&base, key, len, hash);
    if (found >= 0) return found;
    keys_view own = {k->arena, k->arena_len, k->offsets, k->base_n, k->n - k->base_n, k->slots, k->nslots};
    return view_find(&own, key, len, hash);
}

/* Fills a zeroed table of nslots with the owned keys. */
static void fill_slots(const core_keys *k, uint32_t *slots, size_t nslots) {
    for (size_t i = 0; i < k->n - k->base_n; i++) {
        const char *s = k->arena + k->offsets[i];
        size_t h = slot_hash(s, strlen(s)) & (nslots - 1);
        while (slots[h]) h = (h + 1) & (nslots - 1);
        slots[h] = (uint32_t)(k->base_n + i + 1);
    }
}

static int keys_rehash(core_keys *k, size_t nslots) {
    uint32_t *slots = core_calloc(nslots, sizeof *slots);
    if (!slots) return core_oom("key dictionary");
    fill_slots(k, slots, nslots);
    core_free(k->slots);
    k->slots = slots;
    k->nslots = nslots;
    return AISLE_OK;
}

/* An owned copy of a dictionary with a borrowed base, base and added keys
 * merged, with a table built here: keys_at of each index, so even a
 * corrupt borrowed arena copies safely.  An empty or repeated key (a
 * corrupt file mapped without verification) is refused: an owned
 * dictionary never holds one. */
static int keys_own(core_keys *dst, const core_keys *k) {
    core_keys t;
    keys_init(&t);
    size_t bytes = 0; /* a corrupt base's clamped offsets may make keys overlap: measure each */
    for (size_t i = 0; i < k->n; i++) bytes += strlen(keys_at(k, (uint32_t)i)) + 1;
    size_t nslots = 64;
    while (nslots < 2 * (k->n + 1)) nslots *= 2;
    t.arena = core_malloc(bytes ? bytes : 1);
    t.offsets = core_malloc((k->n ? k->n : 1) * sizeof *t.offsets);
    int rc = t.arena && t.offsets ? AISLE_OK : core_oom("key dictionary");
    for (size_t i = 0; !rc && i < k->n; i++) {
        const char *s = keys_at(k, (uint32_t)i);
        size_t len = strlen(s) + 1;
        memcpy(t.arena + t.arena_len, s, len);
        t.offsets[i] = t.arena_len;
        t.arena_len += len;
    }
    t.arena_cap = bytes ? bytes : 1;
    t.n = k->n;
    t.offsets_cap = k->n ? k->n : 1;
    if (!rc) rc = keys_rehash(&t, nslots);
    for (size_t i = 0; !rc && i < t.n; i++) {
        const char *s = t.arena + t.offsets[i];
        if (!s[0] || keys_find(&t, s, strlen(s)) != (int64_t)i)
            rc = core_error(AISLE_EFORMAT, "key %zu of a key table mapped from a model file is empty or repeats "
                                           "another (the file is corrupt and was opened with mmap_verify=none)", i);
    }
    if (rc) {
        keys_clear(&t);
        return rc;
    }
    *dst = t;
    return AISLE_OK;
}

int keys_intern(core_keys *k, const char *key, size_t len, uint32_t *index, bool *added) {
    int64_t found = keys_find(k, key, len);
    if (found >= 0) {
        *index = (uint32_t)found;
        if (added) *added = false;
        return AISLE_OK;
    }
    if (k->n >= UINT32_MAX - 1) return core_error(AISLE_ERANGE, "too many distinct keys (limit 2^32-2)");
    if (memchr(key, '\0', len)) return core_error(AISLE_EINVAL, "key contains a NUL byte");
    size_t own = k->n - k->base_n; /* a borrowed base stays where it is: the key joins the owned part */
    /* keep the load factor under 1/2 */
    if ((own + 1) * 2 > k->nslots) {
        int rc = keys_rehash(k, k->nslots ? k->nslots * 2 : 64);
        if (rc) return rc;
    }
    int rc = core_grow((void **)&k->arena, &k->arena_cap, k->arena_len + len + 1, 1);
    if (rc) return rc;
    rc = core_grow((void **)&k->offsets, &k->offsets_cap, own + 1, sizeof *k->offsets);
    if (rc) return rc;
    memcpy(k->arena + k->arena_len, key, len);
    k->arena[k->arena_len + len] = '\0';
    k->offsets[own] = k->arena_len;
    k->arena_len += len + 1;
    size_t h = slot_hash(key, len) & (k->nslots - 1);
    while (k->slots[h]) h = (h + 1) & (k->nslots - 1);
    k->slots[h] = (uint32_t)(k->n + 1);
    *index = (uint32_t)k->n;
    k->n++;
    if (added) *added = true;
    return AISLE_OK;
}

void keys_truncate(core_keys *k, size_t n) {
    if (n >= k->n) return;
    size_t had = k->n - k->base_n; /* owned keys before */
    if (n < k->base_n) k->base_n = n; /* read-only: keys_find skips base entries >= base_n */
    size_t own = n - k->base_n;
    /* Remove the slots of dropped keys by rebuilding the table in place:
     * clearing slots breaks probe chains, so reinsert the survivors. */
    k->arena_len = own < had ? k->offsets[own] : k->arena_len;
    k->n = n;
    if (k->nslots) {
        memset(k->slots, 0, k->nslots * sizeof *k->slots);
        fill_slots(k, k->slots, k->nslots);
    }
}

int keys_copy(core_keys *dst, const core_keys *src) {
    if (src->borrowed) return keys_own(dst, src);
    core_keys t;
    keys_init(&t);
    if (src->n) {
        t.arena = core_malloc(src->arena_len);
        t.offsets = core_malloc(src->n * sizeof *t.offsets);
        t.slots = core_malloc(src->nslots * sizeof *t.slots);
        if (!t.arena || !t.offsets || !t.slots) {
            keys_clear(&t);
            return core_oom("copying a key dictionary");
        }
        memcpy(t.arena, src->arena, src->arena_len);
        memcpy(t.offsets, src->offsets, src->n * sizeof *t.offsets);
        memcpy(t.slots, src->slots, src->nslots * sizeof *t.slots);
        t.arena_len = t.arena_cap = src->arena_len;
        t.n = t.offsets_cap = src->n;
        t.nslots = src->nslots;
    }
    *dst = t;
    return AISLE_OK;
}
