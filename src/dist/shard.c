/* shard.c - a rank's shard of the events and the merged key dictionaries.
 *
 * One process loading the whole input numbers keys by first appearance.
 * Shards are contiguous runs of the input in rank order and a shard's own
 * dictionary numbers keys by first appearance inside it, so the key
 * (rank, local index) of a key's first occurrence sorts exactly like its
 * global first appearance.  Merging: every key goes to the rank its hash
 * names (an all-to-all), which keeps one copy with its smallest position;
 * the unique keys are then all-gathered and every rank sorts them by
 * position into the same global dictionary.  No rank sees another rank's
 * events, only distinct keys. */
#include "dist.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading the shard ---- */

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int load_parts(aisle_dist_data *d, const char *dir, const aisle_config *cfg) {
    DIR *dh = opendir(dir);
    if (!dh) return core_error(AISLE_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = AISLE_OK;
    struct dirent *e;
    while (!rc && (e = readdir(dh))) {
        if (strncmp(e->d_name, "part-", 5) != 0) continue;
        if ((rc = core_grow((void **)&names, &cap, n + 1, sizeof *names))) break;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = core_malloc(len))) {
            rc = core_oom("part file name");
            break;
        }
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(dh);
    if (!rc && n == 0) rc = core_error(AISLE_ENOTFOUND, "%s: no part-* files in the directory", dir);
    if (!rc) qsort(names, n, sizeof *names, name_cmp);
    /* contiguous runs of files in name order, so ranks in order read the
     * input in the order one process would */
    size_t lo = n * (size_t)d->comm.rank / (size_t)d->comm.size;
    size_t hi = n * ((size_t)d->comm.rank + 1) / (size_t)d->comm.size;
    for (size_t k = lo; !rc && k < hi; k++) rc = aisle_dataset_load(d->local, names[k], cfg);
    for (size_t k = 0; k < n; k++) core_free(names[k]);
    core_free(names);
    return rc;
}

static int read_at(int fd, const char *path, char *buf, size_t len, off_t off) {
    while (len) {
        ssize_t got = pread(fd, buf, len, off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return core_error(AISLE_EIO, "%s: read failed at byte %lld: %s", path, (long long)off,
                                        got < 0 ? strerror(errno) : "file shrank while reading");
        buf += got, len -= (size_t)got, off += got;
    }
    return AISLE_OK;
}

/* The first line start at or after off (the file's size if none). */
static int line_start(int fd, const char *path, off_t size, off_t off, off_t *out) {
    if (off <= 0) {
        *out = 0;
        return AISLE_OK;
    }
    char buf[4096];
    off_t p = off - 1; /* a line starts at off when the byte before it ends one */
    while (p < size) {
        size_t len = (size_t)CORE_MIN((off_t)sizeof buf, size - p);
        int rc = read_at(fd, path, buf, len, p);
        if (rc) return rc;
        char *nl = memchr(buf, '\n', len);
        if (nl) {
            *out = p + (nl - buf) + 1;
            return AISLE_OK;
        }
        p += (off_t)len;
    }
    *out = size;
    return AISLE_OK;
}

/* Rewrites "path:LINE:" at the start of the thread's error message with
 * LINE + shift (the shard's line numbers to the file's). */
static int shift_line(int rc, const char *path, long long shift) {
    const char *msg = aisle_last_error();
    size_t pl = strlen(path);
    if (strncmp(msg, path, pl) != 0 || msg[pl] != ':') return rc;
    char *end;
    long long line = strtoll(msg + pl + 1, &end, 10);
    if (end == msg + pl + 1 || *end != ':') return rc;
    char *copy = core_malloc(strlen(end) + 1);
    if (!copy) return rc;
    strcpy(copy, end);
    core_error(rc, "%s:%lld%s", path, line + shift, copy);
    core_free(copy);
    return rc;
}

static int load_range(aisle_dist_data *d, const char *path, const aisle_config *cfg) {
    dist_comm *c = &d->comm;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return core_error(errno == ENOENT ? AISLE_ENOTFOUND : AISLE_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) ? core_error(AISLE_EIO, "%s: %s", path, strerror(errno)) : AISLE_OK;
    off_t size = rc ? 0 : st.st_size;
    unsigned char magic[2] = {0, 0};
    if (!rc && size >= 2) rc = read_at(fd, path, (char *)magic, 2, 0);
    if (!rc && magic[0] == 0x1f && magic[1] == 0x8b)
        rc = core_error(AISLE_EINVAL, "%s: a gzip file cannot be split by byte ranges: give a directory of part-* files",
                        path);
    off_t lo = 0, hi = 0, hdr_end = 0;
    if (!rc) rc = line_start(fd, path, size, (off_t)((double)size * c->rank / c->size), &lo);
    if (!rc) rc = line_start(fd, path, size, c->rank + 1 == c->size ? size : (off_t)((double)size * (c->rank + 1) / c->size), &hi);
    if (!rc) rc = line_start(fd, path, size, 1, &hdr_end);
    if (!rc && hi < lo) hi = lo;
    char *buf = NULL;
    size_t hdr_len = (size_t)hdr_end, shard_len = (size_t)(hi - lo);
    if (!rc && !(buf = core_malloc(hdr_len + shard_len + 1))) rc = core_oom("shard");
    if (!rc) rc = read_at(fd, path, buf, hdr_len, 0);
    if (!rc) rc = read_at(fd, path, buf + hdr_len, shard_len, lo);
    close(fd);
    /* lines before the shard, for messages that name the file's line */
    long long my_lines = 0, before = 0;
    for (size_t k = 0; !rc && k < shard_len; k++) my_lines += buf[hdr_len + k] == '\n';
    int m = MPI_Exscan(&my_lines, &before, 1, MPI_LONG_LONG, MPI_SUM, c->comm);
    if (c->rank == 0) before = 0;
    if (!rc && m != MPI_SUCCESS) rc = dist_mpi_error(m, "counting lines");
    /* Is the first line a header?  What the loader decides for that line
     * alone (header=auto looks at it; yes/no say so). */
    bool header = false;
    if (!rc && c->rank > 0 && hdr_len) {
        aisle_dataset *probe;
        if ((rc = aisle_dataset_new(&probe))) goto out;
        int prc = aisle_dataset_load_buffer(probe, buf, hdr_len, path, cfg);
        if (prc == AISLE_OK) header = probe->report.read == 0;
        else if (prc == AISLE_ENOMEM) rc = prc; /* a bad first row is not a header; rank 0 reports it */
        aisle_dataset_free(probe);
    }
    if (!rc && shard_len) {
        /* rank 0's shard starts with the header itself; the others get it
         * in front of theirs */
        const char *from = buf + hdr_len;
        size_t len = shard_len;
        if (c->rank > 0 && header) from = buf, len += hdr_len;
        rc = aisle_dataset_load_buffer(d->local, from, len, path, cfg);
        if (rc) rc = shift_line(rc, path, before - (header ? 1 : 0));
    }
out:
    core_free(buf);
    return rc;
}

/* ---- merging dictionaries ---- */

typedef struct key_ref {
    uint64_t pos;
    const char *key;
    uint32_t len;
} key_ref;

static int ref_cmp(const void *pa, const void *pb) {
    const key_ref *a = pa, *b = pb;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Records are (u64 position, u32 length, bytes). */
static size_t rec_size(size_t len) { return 12 + len; }

static char *put_rec(char *p, uint64_t pos, const char *key, uint32_t len) {
    memcpy(p, &pos, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, key, len);
    return p + 12 + len;
}

static int parse_recs(const char *p, size_t n, key_ref **out, size_t *count) {
    size_t k = 0, cap = 0;
    key_ref *r = NULL;
    for (size_t off = 0; off < n;) {
        if (n - off < 12) {
            core_free(r);
            return core_error(AISLE_EINTERNAL, "key exchange: truncated record");
        }
        int rc = core_grow((void **)&r, &cap, k + 1, sizeof *r);
        if (rc) {
            core_free(r);
            return rc;
        }
        memcpy(&r[k].pos, p + off, 8);
        memcpy(&r[k].len, p + off + 8, 4);
        r[k].key = p + off + 12;
        off += rec_size(r[k].len);
        k++;
    }
    *out = r;
    *count = k;
    return AISLE_OK;
}

/* Merges one side's local dictionary into global, filling map. */
static int merge_keys(dist_comm *c, const core_keys *local, core_keys *global, uint32_t **map) {
    int p = c->size, rc = AISLE_OK;
    size_t *cnt = core_calloc(2 * (size_t)p + 1, sizeof *cnt), *off = cnt ? cnt + p : NULL;
    char *send = NULL, *recv = NULL, *uniq = NULL, *all = NULL;
    key_ref *refs = NULL;
    core_keys owned;
    keys_init(&owned);
    uint64_t *owned_pos = NULL;
    int *gcount = NULL;
    *map = core_malloc((local->n ? local->n : 1) * sizeof **map);
    if (!cnt || !*map) rc = core_oom("key merge");
    /* 1. each key to the rank its hash names */
    for (size_t j = 0; !rc && j < local->n; j++) {
        const char *k = keys_at(local, (uint32_t)j);
        size_t len = strlen(k);
        cnt[core_hash_bytes(k, len) % (uint64_t)p] += rec_size(len);
    }
    size_t total = 0;
    for (int r = 0; !rc && r < p; r++) off[r] = total, total += cnt[r];
    if (!rc && !(send = core_malloc(total ? total : 1))) rc = core_oom("key merge");
    for (size_t j = 0; !rc && j < local->n; j++) {
        const char *k = keys_at(local, (uint32_t)j);
        size_t len = strlen(k);
        int r = (int)(core_hash_bytes(k, len) % (uint64_t)p);
        uint64_t pos = (uint64_t)c->rank << 32 | j;
        put_rec(send + off[r], pos, k, (uint32_t)len);
        off[r] += rec_size(len);
    }
    rc = dist_agree(c, rc);
    size_t *rcounts = NULL;
    if (!rc && !(rcounts = core_malloc((size_t)p * sizeof *rcounts))) rc = core_oom("key merge");
    rc = dist_agree(c, rc);
    if (!rc) rc = dist_agree(c, dist_alltoallv(c, send, cnt, (void **)&recv, rcounts));
    core_free(send);
    send = NULL;
    /* 2. keep each key once, at its first position: records arrive in
     * rank order and, per rank, in local order, so the first seen is the
     * smallest */
    size_t nrecv = 0, uniq_bytes = 0;
    for (int r = 0; !rc && r < p; r++) nrecv += rcounts[r];
    size_t nref = 0;
    if (!rc) rc = parse_recs(recv, nrecv, &refs, &nref);
    size_t pos_cap = 0;
    for (size_t k = 0; !rc && k < nref; k++) {
        uint32_t idx;
        bool added;
        if ((rc = keys_intern(&owned, refs[k].key, refs[k].len, &idx, &added))) break;
        if (added) {
            if ((rc = core_grow((void **)&owned_pos, &pos_cap, owned.n, sizeof *owned_pos))) break;
            owned_pos[idx] = refs[k].pos;
            uniq_bytes += rec_size(refs[k].len);
        }
    }
    core_free(refs);
    refs = NULL;
    if (!rc && !(uniq = core_malloc(uniq_bytes ? uniq_bytes : 1))) rc = core_oom("key merge");
    char *w = uniq;
    for (size_t k = 0; !rc && k < owned.n; k++) {
        const char *s = keys_at(&owned, (uint32_t)k);
        w = put_rec(w, owned_pos[k], s, (uint32_t)strlen(s));
    }
    rc = dist_agree(c, rc);
    /* 3. every rank gets every distinct key once and sorts by position */
    if (!rc && uniq_bytes > INT_MAX) rc = core_error(AISLE_ERANGE, "key merge: %zu bytes of keys on one rank", uniq_bytes);
    if (!rc && !(gcount = core_malloc(2 * (size_t)p * sizeof *gcount))) rc = core_oom("key merge");
    rc = dist_agree(c, rc);
    size_t all_bytes = 0;
    if (!rc) {
        int mine = (int)uniq_bytes;
        int m = MPI_Allgather(&mine, 1, MPI_INT, gcount, 1, MPI_INT, c->comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "sharing key counts");
        for (int r = 0; !rc && r < p; r++) {
            if (all_bytes > INT_MAX) rc = core_error(AISLE_ERANGE, "key merge: more than 2 GiB of distinct keys");
            gcount[p + r] = (int)all_bytes;
            all_bytes += (size_t)gcount[r];
        }
        if (!rc && !(all = core_malloc(all_bytes ? all_bytes : 1))) rc = core_oom("key merge");
    }
    rc = dist_agree(c, rc);
    if (!rc) {
        int m = MPI_Allgatherv(uniq, (int)uniq_bytes, MPI_BYTE, all, gcount, gcount + p, MPI_BYTE, c->comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "sharing keys");
        c->bytes_sent += (double)uniq_bytes * (p - 1);
    }
    if (!rc) rc = parse_recs(all, all_bytes, &refs, &nref);
    if (!rc) qsort(refs, nref, sizeof *refs, ref_cmp);
    for (size_t k = 0; !rc && k < nref; k++) {
        uint32_t idx;
        rc = keys_intern(global, refs[k].key, refs[k].len, &idx, NULL);
    }
    for (size_t j = 0; !rc && j < local->n; j++) {
        const char *k = keys_at(local, (uint32_t)j);
        int64_t g = keys_find(global, k, strlen(k));
        if (g < 0) rc = core_error(AISLE_EINTERNAL, "key merge lost key '%s'", k);
        else (*map)[j] = (uint32_t)g;
    }
    rc = dist_agree(c, rc);
    core_free(cnt);
    core_free(send);
    core_free(recv);
    core_free(rcounts);
    core_free(uniq);
    core_free(all);
    core_free(refs);
    core_free(owned_pos);
    core_free(gcount);
    keys_clear(&owned);
    return rc;
}

AISLE_API void aisle_dist_data_free(aisle_dist_data *d) {
    if (!d) return;
    aisle_dataset_free(d->local);
    core_free(d->user_map);
    core_free(d->item_map);
    keys_clear(&d->users);
    keys_clear(&d->items);
    core_free(d);
}

AISLE_API int aisle_dist_load(aisle_dist_data **out, const char *path, const aisle_config *cfg) {
    if (!out || !path) return core_error(AISLE_EINVAL, "aisle_dist_load: NULL argument");
    *out = NULL;
    dist_comm c;
    int rc = dist_comm_world(&c);
    if (rc) return rc;
    aisle_dist_data *d = core_calloc(1, sizeof *d);
    if (!d) rc = core_oom("distributed data");
    if (!rc) {
        d->comm = c;
        keys_init(&d->users);
        keys_init(&d->items);
        rc = aisle_dataset_new(&d->local);
    }
    rc = dist_agree(&c, rc);
    struct stat st;
    bool dir = false;
    if (!rc) {
        if (stat(path, &st) != 0)
            rc = core_error(errno == ENOENT ? AISLE_ENOTFOUND : AISLE_EIO, "%s: %s", path, strerror(errno));
        else dir = S_ISDIR(st.st_mode);
        rc = dist_agree(&c, rc);
    }
    /* dir and file alike: the load itself is local, its status agreed */
    if (!rc && dir) rc = dist_agree(&c, load_parts(d, path, cfg));
    else if (!rc) rc = dist_agree(&d->comm, load_range(d, path, cfg));
    if (!rc) {
        unsigned long long mine = d->local->n_events, before = 0, total = 0;
        int m = MPI_Exscan(&mine, &before, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, c.comm);
        if (m == MPI_SUCCESS) m = MPI_Allreduce(&mine, &total, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, c.comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "counting events");
        d->events_before = c.rank ? before : 0;
        d->events_total = total;
        rc = dist_agree(&c, rc);
    }
    if (!rc) rc = merge_keys(&d->comm, &d->local->users, &d->users, &d->user_map);
    if (!rc) rc = merge_keys(&d->comm, &d->local->items, &d->items, &d->item_map);
    if (rc) {
        aisle_dist_data_free(d);
        return rc;
    }
    *out = d;
    return AISLE_OK;
}

AISLE_API int aisle_dist_data_counts(const aisle_dist_data *d, size_t *users, size_t *items, size_t *events) {
    if (!d) return core_error(AISLE_EINVAL, "aisle_dist_data_counts: NULL data");
    if (users) *users = d->users.n;
    if (items) *items = d->items.n;
    if (events) *events = (size_t)d->events_total;
    return AISLE_OK;
}
