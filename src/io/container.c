/* container.c - the model file container (docs/FORMAT.md): header, section
 * table with CRCs, zlib-compressed payloads; the writer (buffer or atomic
 * file) and the verifying reader.
 *
 * zlib allocates through core_malloc (zalloc hooks), so the host's
 * allocator sees, and may fail, every allocation of a save or load. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const uint8_t io_magic[8] = {0x89, 'A', 'I', 'S', '\r', '\n', 0x1a, '\n'};

/* How much a compressed section may expand: deflate can reach ~1032:1
 * (RFC 1951: a 258-byte match per ~2 bits), so a 2 MB file could ask for
 * 2 GB of zeros.  Model data compresses far less (keys and histories 3-6:1,
 * float tensors ~1.1:1), so the writer stores any section that would
 * compress better than IO_MAX_RATIO raw, and the reader refuses a section
 * declaring more than IO_MAX_RATIO times its stored bytes (plus a little
 * for tiny sections): a file can only ask for ~64 times its own size. */
#define IO_MAX_RATIO 64u
#define IO_RATIO_SLACK 4096u

typedef struct io_section {
    uint32_t type, flags;
    uint64_t raw_len, stored_len;
    uint32_t raw_crc, stored_crc;
    core_buf stored;       /* writer: the bytes as stored */
    size_t align_off;      /* writer: payload byte to align (aligned sections) */
    bool aligned;          /* writer: pad before it when stored raw */
    bool crc_ok;           /* reader: stored CRC verified */
    size_t offset;         /* reader: where the stored bytes start */
    uint8_t *raw;          /* reader: decompressed payload (owned), NULL until asked for */
    bool used;             /* reader: asked for by io_reader_section */
} io_section;

struct io_writer {
    char kind[32];
    int level, quant;
    bool store_int8, store_mappable;
    io_section *sec;
    size_t n, cap;
};

struct io_reader {
    const uint8_t *data;
    size_t len;
    unsigned major, minor;
    char kind[32], writer[32];
    io_section *sec;
    size_t n;
    unsigned flags;        /* IO_OPEN_* */
};

static voidpf z_alloc(voidpf opaque, uInt items, uInt size) {
    (void)opaque;
    if (size && items > SIZE_MAX / size) return Z_NULL;
    return core_malloc((size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p) {
    (void)opaque;
    core_free(p);
}

static const char *section_name(uint32_t type) {
    if (type >= IO_SECTION_PAD) return "padding";
    switch (type) {
    case IO_SECTION_META: return "meta";
    case IO_SECTION_USERS: return "users";
    case IO_SECTION_ITEMS: return "items";
    case IO_SECTION_HISTORY: return "history";
    case IO_SECTION_POPULARITY: return "popularity";
    case IO_SECTION_USERS_TABLE: return "users table";
    case IO_SECTION_ITEMS_TABLE: return "items table";
    case IO_SECTION_HISTORY_ARRAYS: return "history arrays";
    default: return type >= IO_SECTION_KIND ? "model kind" : "unknown";
    }
}

static void le16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* ======================================================================
 * Writer
 * ====================================================================== */

int io_writer_new(io_writer **out, const char *kind, const aisle_config *cfg) {
    if (strlen(kind) >= sizeof((io_writer *)0)->kind)
        return core_error(AISLE_EINTERNAL, "model kind name '%s' is longer than 31 bytes", kind);
    io_writer *w = core_calloc(1, sizeof *w);
    if (!w) return core_oom("model file writer");
    snprintf(w->kind, sizeof w->kind, "%s", kind);
    w->level = (int)config_int(cfg, io_options, "compression");
    const char *q = config_string(cfg, io_options, "quantize");
    w->store_int8 = config_bool(cfg, io_options, "store_int8");
    w->store_mappable = config_bool(cfg, io_options, "store_mappable");
    w->quant = strcmp(q, "fp16") == 0 ? IO_QUANT_FP16 : strcmp(q, "int8") == 0 ? IO_QUANT_INT8 : IO_QUANT_NONE;
    *out = w;
    return AISLE_OK;
}

void io_writer_free(io_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) buf_free(&w->sec[i].stored);
    core_free(w->sec);
    core_free(w);
}

int io_writer_quant(const io_writer *w) { return w->quant; }
bool io_writer_store_int8(const io_writer *w) { return w->store_int8; }
bool io_writer_store_mappable(const io_writer *w) { return w->store_mappable; }
int io_writer_level(const io_writer *w) { return w->level; }

/* Deflates src into dst; returns AISLE_OK, or ENOMEM. */
static int deflate_buf(const uint8_t *src, size_t len, int level, core_buf *dst) {
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    if (deflateInit(&z, level) != Z_OK) return core_oom("zlib compressor");
    /* deflateBound takes a uLong: fine on LP64; chunk the input anyway */
    size_t bound = len + len / 1000 + 64;
    int rc = buf_reserve(dst, bound);
    size_t in_left = len;
    int zr = Z_OK;
    while (!rc && zr != Z_STREAM_END) {
        if (z.avail_in == 0 && in_left) {
            uInt n = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            z.next_in = (Bytef *)(uintptr_t)(src + (len - in_left));
            z.avail_in = n;
            in_left -= n;
        }
        if (dst->cap - 1 - dst->len < 4096) rc = buf_reserve(dst, dst->cap);
        if (rc) break;
        size_t room = dst->cap - 1 - dst->len;
        z.next_out = (Bytef *)dst->data + dst->len;
        z.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
        uInt before = z.avail_out;
        zr = deflate(&z, in_left || z.avail_in ? Z_NO_FLUSH : Z_FINISH);
        dst->len += before - z.avail_out;
        if (zr == Z_MEM_ERROR) rc = core_oom("zlib compressor");
        else if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
            rc = core_error(AISLE_EINTERNAL, "zlib deflate failed (%d)", zr);
    }
    deflateEnd(&z);
    return rc;
}

int io_writer_add_section_aligned(io_writer *w, uint32_t type, uint32_t flags, const core_buf *payload,
                                  size_t data_off) {
    int rc = io_writer_add_section(w, type, flags, payload);
    if (!rc) {
        w->sec[w->n - 1].aligned = true;
        w->sec[w->n - 1].align_off = data_off;
    }
    return rc;
}

int io_writer_add_section(io_writer *w, uint32_t type, uint32_t flags, const core_buf *payload) {
    if (type >= IO_SECTION_PAD)
        return core_error(AISLE_EINTERNAL, "io_writer_add_section: types from 0x%x are padding", IO_SECTION_PAD);
    if (flags & ~(uint32_t)IO_FLAG_REQUIRED)
        return core_error(AISLE_EINTERNAL, "io_writer_add_section: only IO_FLAG_REQUIRED may be given");
    if (type == 0) return core_error(AISLE_EINTERNAL, "io_writer_add_section: section type 0 is reserved");
    for (size_t i = 0; i < w->n; i++)
        if (w->sec[i].type == type) return core_error(AISLE_EINTERNAL, "section %u written twice", type);
    if (w->n >= IO_MAX_SECTIONS) return core_error(AISLE_ERANGE, "more than %d sections", IO_MAX_SECTIONS);
    int rc = core_grow((void **)&w->sec, &w->cap, w->n + 1, sizeof *w->sec);
    if (rc) return rc;
    io_section *s = &w->sec[w->n];
    memset(s, 0, sizeof *s);
    buf_init(&s->stored);
    const uint8_t *raw = (const uint8_t *)payload->data;
    size_t len = payload->len;
    s->type = type;
    s->raw_len = len;
    s->raw_crc = io_crc32(raw ? raw : (const uint8_t *)"", len);
    if (w->level > 0 && len > 0) {
        rc = deflate_buf(raw, len, w->level, &s->stored);
        if (rc) {
            buf_free(&s->stored);
            return rc;
        }
    }
    if (s->stored.len && s->stored.len < len && len / IO_MAX_RATIO <= s->stored.len) {
        flags |= IO_FLAG_COMPRESSED;
    } else { /* incompressible, empty or level 0: store the bytes as they are */
        s->stored.len = 0;
        if (len) rc = buf_append(&s->stored, raw, len);
        if (rc) {
            buf_free(&s->stored);
            return rc;
        }
    }
    s->flags = flags;
    s->stored_len = s->stored.len;
    s->stored_crc = io_crc32(s->stored.data ? s->stored.data : "", s->stored.len);
    w->n++;
    return AISLE_OK;
}

/* Alignment (format 1.1): a raw section the writer was asked to align gets
 * a padding section before it, always (so the entry count, and with it the
 * header length, is known before any offset), of the bytes that move its
 * payload byte align_off to a multiple of IO_ALIGN.  A 1.0 reader skips
 * the padding as an unknown optional section. */
static bool padded(const io_section *s) { return s->aligned && !(s->flags & IO_FLAG_COMPRESSED); }

static size_t pad_at(const io_section *s, size_t off) {
    return padded(s) ? (IO_ALIGN - (off + s->align_off) % IO_ALIGN) % IO_ALIGN : 0;
}

static const uint8_t io_zeros[IO_ALIGN];

static size_t header_len(const io_writer *w) {
    size_t entries = w->n;
    for (size_t i = 0; i < w->n; i++) entries += padded(&w->sec[i]);
    return IO_HEADER_FIXED + entries * IO_ENTRY_SIZE + 4;
}

static void put_entry(uint8_t *e, uint32_t type, uint32_t flags, uint64_t raw_len, uint64_t stored_len,
                      uint32_t raw_crc, uint32_t stored_crc) {
    le32(e, type);
    le32(e + 4, flags);
    le64(e + 8, raw_len);
    le64(e + 16, stored_len);
    le32(e + 24, raw_crc);
    le32(e + 28, stored_crc);
}

/* Header + section table + header CRC. */
static int build_header(const io_writer *w, core_buf *h) {
    size_t hl = header_len(w);
    if (hl > IO_HEADER_FIXED + (size_t)IO_MAX_SECTIONS * IO_ENTRY_SIZE + 4)
        return core_error(AISLE_ERANGE, "more than %d sections with their padding", IO_MAX_SECTIONS);
    int rc = buf_reserve(h, hl);
    if (rc) return rc;
    uint8_t *p = (uint8_t *)h->data;
    memset(p, 0, hl);
    memcpy(p, io_magic, 8);
    le16(p + 8, IO_FORMAT_MAJOR);
    le16(p + 10, IO_FORMAT_MINOR);
    le32(p + 12, IO_HEADER_FIXED);
    le32(p + 16, (uint32_t)((hl - 4 - IO_HEADER_FIXED) / IO_ENTRY_SIZE));
    le32(p + 20, IO_ENTRY_SIZE);
    memcpy(p + 24, w->kind, strlen(w->kind));
    memcpy(p + 56, AISLE_VERSION_STRING, strlen(AISLE_VERSION_STRING));
    uint8_t *e = p + IO_HEADER_FIXED;
    size_t off = hl;
    for (size_t i = 0; i < w->n; i++) {
        const io_section *s = &w->sec[i];
        if (padded(s)) {
            size_t pad = pad_at(s, off);
            uint32_t crc = io_crc32(io_zeros, pad);
            put_entry(e, IO_SECTION_PAD + (uint32_t)i, 0, pad, pad, crc, crc);
            e += IO_ENTRY_SIZE;
            off += pad;
        }
        put_entry(e, s->type, s->flags, s->raw_len, s->stored_len, s->raw_crc, s->stored_crc);
        e += IO_ENTRY_SIZE;
        off += (size_t)s->stored_len;
    }
    le32(p + hl - 4, io_crc32(p, hl - 4));
    h->len = hl;
    return AISLE_OK;
}

int io_writer_to_buffer(const io_writer *w, void **out, size_t *len) {
    core_buf b;
    buf_init(&b);
    int rc = build_header(w, &b);
    size_t total = b.len;
    for (size_t i = 0; !rc && i < w->n; i++) total += w->sec[i].stored.len + (padded(&w->sec[i]) ? IO_ALIGN : 0);
    if (!rc) rc = buf_reserve(&b, total - b.len);
    for (size_t i = 0; !rc && i < w->n; i++) {
        rc = buf_append(&b, io_zeros, pad_at(&w->sec[i], b.len));
        if (!rc) rc = buf_append(&b, w->sec[i].stored.data, w->sec[i].stored.len);
    }
    if (rc) {
        buf_free(&b);
        return rc;
    }
    *out = b.data;
    *len = b.len;
    return AISLE_OK;
}

/* Writes len bytes, failing on purpose once *budget bytes are used up
 * (the test hook for a write error mid-file). */
static int write_all(FILE *f, const void *data, size_t len, uint64_t *budget, const char *tmp) {
    if (*budget < len) {
        if (*budget) fwrite(data, 1, (size_t)*budget, f);
        *budget = 0;
        errno = EIO;
        return core_io_error(tmp, "write (simulated failure)");
    }
    if (*budget != UINT64_MAX) *budget -= len;
    if (len && fwrite(data, 1, len, f) != len) return core_io_error(tmp, "write");
    return AISLE_OK;
}

/* The directory holding path ("." for a bare name), for its fsync. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? core_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : core_strdup(".");
}

/* fsync of the directory, so the rename itself is durable. */
static int sync_dir(const char *dir) {
    int rc = AISLE_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        rc = core_io_error(dir, "open directory for fsync");
    } else {
        /* some file systems cannot fsync directories (EINVAL): nothing to do there */
        if (fsync(fd) != 0 && errno != EINVAL) rc = core_io_error(dir, "fsync directory");
        close(fd);
    }
    return rc;
}

/* The file a save replaces: path itself, or the file a symbolic link at
 * path points to (saving writes through links, as shell redirection does,
 * so a link such as model.bin -> models/v7.bin stays a link).  Anything
 * but a regular file (a device such as /dev/null, a FIFO, a directory, a
 * socket) is refused: the atomic rename would replace the node itself. */
static int save_target(const char *path, char **out) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) return core_io_error(path, "stat");
        *out = core_strdup(path); /* a new file */
        return *out ? AISLE_OK : core_oom("model file path");
    }
    const char *target = path;
    char *resolved = NULL;
    if (S_ISLNK(st.st_mode)) {
        resolved = realpath(path, NULL);
        if (!resolved) {
            if (errno == ENOENT || errno == ENOTDIR)
                return core_error(AISLE_EIO, "%s: a symbolic link whose target does not exist; not saved", path);
            return core_io_error(path, "resolve symbolic link");
        }
        target = resolved;
        if (stat(target, &st) != 0) {
            int rc = core_io_error(target, "stat");
            free(resolved);
            return rc;
        }
    }
    int rc = AISLE_OK;
    if (!S_ISREG(st.st_mode))
        rc = core_error(AISLE_EIO, "%s%s%s: not a regular file (%s); a model is saved only as or over a regular file",
                        path, resolved ? " -> " : "", resolved ? resolved : "",
                        S_ISDIR(st.st_mode) ? "a directory" : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                        : S_ISFIFO(st.st_mode) ? "a FIFO" : "a socket or other special file");
    if (!rc) {
        *out = core_strdup(target);
        if (!*out) rc = core_oom("model file path");
    }
    free(resolved);
    return rc;
}

int io_writer_to_file(const io_writer *w, const char *path_arg, uint64_t fail_after) {
    char *path = NULL;
    int rc = save_target(path_arg, &path);
    if (rc) return rc;
    core_buf head;
    buf_init(&head);
    rc = build_header(w, &head);
    if (rc) {
        core_free(path);
        return rc;
    }
    size_t pl = strlen(path);
    /* everything that can fail for memory is allocated before the rename */
    char *tmp = core_malloc(pl + 16), *dir = dir_of(path);
    if (!tmp || !dir) {
        buf_free(&head);
        core_free(tmp);
        core_free(dir);
        core_free(path);
        return core_oom("model file path");
    }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = core_io_error(tmp, "create temporary file");
        buf_free(&head);
        core_free(tmp);
        core_free(dir);
        core_free(path);
        return rc;
    }
    /* mkstemp creates 0600; a model file is ordinary data */
    if (fchmod(fd, 0644) != 0) rc = core_io_error(tmp, "chmod");
    FILE *f = rc ? NULL : fdopen(fd, "wb");
    if (!rc && !f) rc = core_io_error(tmp, "fdopen");
    if (!f) close(fd);
    uint64_t budget = fail_after;
    if (!rc) rc = write_all(f, head.data, head.len, &budget, tmp);
    size_t off = head.len;
    for (size_t i = 0; !rc && i < w->n; i++) {
        size_t pad = pad_at(&w->sec[i], off);
        rc = write_all(f, io_zeros, pad, &budget, tmp);
        if (!rc) rc = write_all(f, w->sec[i].stored.data, w->sec[i].stored.len, &budget, tmp);
        off += pad + w->sec[i].stored.len;
    }
    if (!rc && fflush(f) != 0) rc = core_io_error(tmp, "flush");
    if (!rc && fsync(fileno(f)) != 0) rc = core_io_error(tmp, "fsync");
    if (f && fclose(f) != 0 && !rc) rc = core_io_error(tmp, "close");
    if (!rc && rename(tmp, path) != 0) rc = core_io_error(path, "rename temporary file over it");
    if (rc) {
        unlink(tmp); /* the old file, if any, is untouched */
    } else {
        rc = sync_dir(dir);
    }
    buf_free(&head);
    core_free(tmp);
    core_free(dir);
    core_free(path);
    return rc;
}

/* ======================================================================
 * Reader
 * ====================================================================== */

static int bad(const char *what, const char *fmt, ...) CORE_PRINTF(2, 3);
static int bad(const char *what, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return core_error(AISLE_EFORMAT, "%s: %s", what, msg);
}

/* A NUL-terminated, zero-padded name field of 32 bytes. */
static int name_field(const uint8_t *p, char *out, const char *what) {
    const uint8_t *nul = memchr(p, 0, 32);
    if (!nul || nul == p) return bad("header", "%s field is empty or not NUL-terminated", what);
    for (const uint8_t *q = nul; q < p + 32; q++)
        if (*q) return bad("header", "%s field has bytes after its NUL terminator", what);
    memcpy(out, p, 32);
    return AISLE_OK;
}

static int check_stored(io_reader *r, io_section *s, const char *what) {
    uint32_t c = io_crc32(r->data + s->offset, (size_t)s->stored_len);
    if (c != s->stored_crc)
        return bad(what, "CRC mismatch of the stored bytes at offset %zu (stored %08x, computed %08x)", s->offset,
                   s->stored_crc, c);
    s->crc_ok = true;
    return AISLE_OK;
}

int io_reader_open(io_reader **out, const void *data, size_t len, uint64_t max_bytes) {
    return io_reader_open_flags(out, data, len, max_bytes, 0);
}

bool io_reader_mapped(const io_reader *r) { return (r->flags & IO_OPEN_MAPPED) != 0; }

int io_reader_open_flags(io_reader **out, const void *data, size_t len, uint64_t max_bytes, unsigned flags) {
    const uint8_t *p = data;
    if (len >= 8 && memcmp(p, io_magic, 8) != 0) return bad("header", "not an aisle model file (bad magic bytes)");
    if (len < 24) return bad("header", "truncated: %zu bytes are too few for a model file header", len);
    unsigned major = rd16(p + 8), minor = rd16(p + 10);
    /* The version comes before the CRC: a newer major may lay out the rest
     * of the header differently, so only the version can be trusted. */
    if (major > IO_FORMAT_MAJOR)
        return core_error(AISLE_EVERSION, "model file format %u.%u is newer than this library's %d.x (aisle %s)",
                          major, minor, IO_FORMAT_MAJOR, AISLE_VERSION_STRING);
    if (major < 1) return bad("header", "format version %u.%u does not exist", major, minor);
    uint32_t table_off = rd32(p + 12), count = rd32(p + 16), entry = rd32(p + 20);
    if (table_off < IO_HEADER_FIXED || table_off > 4096)
        return bad("header", "section table offset %u outside [%d, 4096]", table_off, IO_HEADER_FIXED);
    if (entry < IO_ENTRY_SIZE || entry > 256)
        return bad("header", "section table entry size %u outside [%d, 256]", entry, IO_ENTRY_SIZE);
    if (count == 0 || count > IO_MAX_SECTIONS)
        return bad("header", "section count %u outside [1, %d]", count, IO_MAX_SECTIONS);
    size_t hl = (size_t)table_off + (size_t)count * entry + 4;
    if (hl > len) return bad("header", "truncated: header and section table need %zu bytes, file has %zu", hl, len);
    uint32_t crc = rd32(p + hl - 4), actual = io_crc32(p, hl - 4);
    if (crc != actual)
        return bad("header", "CRC mismatch (stored %08x, computed %08x): header or section table is corrupt", crc,
                   actual);
    io_reader *r = core_calloc(1, sizeof *r);
    if (!r) return core_oom("model file reader");
    r->data = p;
    r->len = len;
    r->major = major;
    r->minor = minor;
    r->flags = flags;
    int rc = name_field(p + 24, r->kind, "model kind");
    if (!rc) rc = name_field(p + 56, r->writer, "writer version");
    if (!rc) {
        r->sec = core_calloc(count, sizeof *r->sec);
        if (!r->sec) rc = core_oom("model file sections");
    }
    size_t off = hl;
    uint64_t total_raw = 0;
    for (uint32_t i = 0; !rc && i < count; i++) {
        const uint8_t *e = p + table_off + (size_t)i * entry;
        io_section *s = &r->sec[i];
        s->type = rd32(e);
        s->flags = rd32(e + 4);
        s->raw_len = rd64(e + 8);
        s->stored_len = rd64(e + 16);
        s->raw_crc = rd32(e + 24);
        s->stored_crc = rd32(e + 28);
        r->n = i + 1;
        char what[48];
        snprintf(what, sizeof what, "section %u (%s)", s->type, section_name(s->type));
        if (s->type == 0) { rc = bad(what, "type 0 is reserved"); break; }
        for (uint32_t j = 0; j < i && !rc; j++)
            if (r->sec[j].type == s->type) rc = bad(what, "appears twice in the section table");
        if (rc) break;
        if (s->flags & ~(uint32_t)(IO_FLAG_REQUIRED | IO_FLAG_COMPRESSED)) {
            rc = core_error(AISLE_EVERSION, "%s: flags 0x%x unknown to aisle %s (written by aisle %s)", what,
                            s->flags, AISLE_VERSION_STRING, r->writer);
            break;
        }
        if (s->stored_len > len - off) {
            rc = bad(what, "truncated: %llu stored bytes declared at offset %zu, file has %zu bytes",
                     (unsigned long long)s->stored_len, off, len);
            break;
        }
        if (!(s->flags & IO_FLAG_COMPRESSED) && s->raw_len != s->stored_len) {
            rc = bad(what, "uncompressed section declares %llu bytes but stores %llu",
                     (unsigned long long)s->raw_len, (unsigned long long)s->stored_len);
            break;
        }
        if ((s->flags & IO_FLAG_COMPRESSED) && s->raw_len > s->stored_len * IO_MAX_RATIO + IO_RATIO_SLACK) {
            rc = bad(what,
                     "declares %llu bytes from %llu compressed bytes, more than the %u:1 expansion a model file "
                     "allows (a decompression bomb?)",
                     (unsigned long long)s->raw_len, (unsigned long long)s->stored_len, IO_MAX_RATIO);
            break;
        }
        total_raw += s->raw_len; /* cannot overflow: each raw_len <= 64 * len + 4096 */
        if (total_raw > max_bytes) {
            rc = core_error(AISLE_ERANGE, "%s: sections need %llu bytes, more than max_model_bytes=%llu", what,
                            (unsigned long long)total_raw, (unsigned long long)max_bytes);
            break;
        }
        s->offset = off;
        off += (size_t)s->stored_len;
        if (!(flags & IO_OPEN_LAZY_CRC)) rc = check_stored(r, s, what);
    }
    if (!rc && off != len) rc = bad("file", "%zu unexpected bytes after the last section (offset %zu)", len - off, off);
    if (rc) {
        io_reader_free(r);
        return rc;
    }
    *out = r;
    return AISLE_OK;
}

void io_reader_free(io_reader *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) core_free(r->sec[i].raw);
    core_free(r->sec);
    core_free(r);
}

const char *io_reader_kind(const io_reader *r) { return r->kind; }
const char *io_reader_writer_version(const io_reader *r) { return r->writer; }

static io_section *find(const io_reader *r, uint32_t type) {
    for (size_t i = 0; i < r->n; i++)
        if (r->sec[i].type == type) return &r->sec[i];
    return NULL;
}

int io_reader_has_section(const io_reader *r, uint32_t type) { return find(r, type) != NULL; }

uint64_t io_reader_section_bytes(const io_reader *r, uint32_t type) {
    const io_section *s = find(r, type);
    return s ? s->raw_len : 0;
}

/* Inflates exactly raw_len bytes into a buffer of that size: a stream that
 * wants to produce more, or less, is corrupt (no decompression bombs). */
static int inflate_section(const io_reader *r, io_section *s, const char *what) {
    uint8_t *out = core_malloc((size_t)s->raw_len);
    if (!out) return core_oom("model file section");
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    if (inflateInit(&z) != Z_OK) {
        core_free(out);
        return core_oom("zlib decompressor");
    }
    const uint8_t *in = r->data + s->offset;
    size_t in_left = (size_t)s->stored_len, out_left = (size_t)s->raw_len;
    int rc = AISLE_OK, zr = Z_OK;
    while (zr != Z_STREAM_END) {
        if (z.avail_in == 0 && in_left) {
            uInt n = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            z.next_in = (Bytef *)(uintptr_t)in;
            z.avail_in = n;
            in += n;
            in_left -= n;
        }
        if (z.avail_out == 0 && out_left) {
            uInt n = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
            z.next_out = out + ((size_t)s->raw_len - out_left);
            z.avail_out = n;
            out_left -= n;
        }
        uInt ai = z.avail_in, ao = z.avail_out;
        zr = inflate(&z, Z_NO_FLUSH);
        if (zr == Z_MEM_ERROR) { rc = core_oom("zlib decompressor"); break; }
        if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR || zr == Z_STREAM_ERROR) {
            rc = bad(what, "compressed data is corrupt (zlib: %s)", z.msg ? z.msg : "error");
            break;
        }
        if (zr != Z_STREAM_END && ai == z.avail_in && ao == z.avail_out) {
            /* no progress: either the input ended or the output is full */
            rc = bad(what, "decompresses to %s than the declared %llu bytes",
                     z.avail_out == 0 && !out_left ? "more" : "fewer", (unsigned long long)s->raw_len);
            break;
        }
    }
    if (!rc && (z.total_out != s->raw_len || in_left || z.avail_in))
        rc = bad(what, "decompresses to %lu bytes from %lu of %llu stored bytes, expected %llu from all", z.total_out,
                 z.total_in, (unsigned long long)s->stored_len, (unsigned long long)s->raw_len);
    inflateEnd(&z);
    if (rc) {
        core_free(out);
        return rc;
    }
    s->raw = out;
    return AISLE_OK;
}

int io_reader_section(io_reader *r, uint32_t type, io_cursor *out) {
    io_section *s = find(r, type);
    char what[32];
    snprintf(what, sizeof what, "section %u (%s)", type, section_name(type));
    if (!s) return bad(what, "missing from the file");
    bool compressed = (s->flags & IO_FLAG_COMPRESSED) != 0;
    if (compressed && !s->raw) {
        int rc = s->crc_ok ? AISLE_OK : check_stored(r, s, what);
        if (!rc) rc = inflate_section(r, s, what);
        if (rc) return rc;
    }
    const uint8_t *raw = compressed ? s->raw : r->data + s->offset;
    /* a raw section whose stored bytes were verified needs no second pass
     * when both CRCs are the same number (they cover the same bytes) */
    if (compressed || !s->crc_ok || s->raw_crc != s->stored_crc) {
        uint32_t c = io_crc32(raw, (size_t)s->raw_len);
        if (c != s->raw_crc)
            return bad(what, "CRC mismatch of the payload (stored %08x, computed %08x)", s->raw_crc, c);
    }
    s->used = true;
    memset(out, 0, sizeof *out);
    out->p = raw;
    out->len = (size_t)s->raw_len;
    snprintf(out->section, sizeof out->section, "%s", what);
    return AISLE_OK;
}

int io_reader_section_view(io_reader *r, uint32_t type, io_cursor *out) {
    io_section *s = find(r, type);
    if (s && (s->flags & IO_FLAG_COMPRESSED))
        return core_error(AISLE_EUNSUPPORTED,
                          "section %u (%s) is compressed, so it cannot be served from a mapping; save the model "
                          "with compression=0", type, section_name(type));
    if (s && !s->crc_ok && (r->flags & IO_OPEN_NO_VIEW_CRC)) {
        s->used = true; /* mmap_verify=none: bounds are checked, the bytes are trusted */
        memset(out, 0, sizeof *out);
        out->p = r->data + s->offset;
        out->len = (size_t)s->raw_len;
        snprintf(out->section, sizeof out->section, "section %u (%s)", type, section_name(type));
        return AISLE_OK;
    }
    return io_reader_section(r, type, out);
}

bool io_reader_verifies_views(const io_reader *r) { return !(r->flags & IO_OPEN_NO_VIEW_CRC); }

void io_reader_skip(io_reader *r, uint32_t type) {
    io_section *s = find(r, type);
    if (s) s->used = true;
}

int io_reader_check_required(const io_reader *r) {
    for (size_t i = 0; i < r->n; i++)
        if ((r->sec[i].flags & IO_FLAG_REQUIRED) && !r->sec[i].used)
            return core_error(AISLE_EVERSION,
                              "section %u is marked required but is unknown to aisle %s for model kind '%s' "
                              "(file written by aisle %s, format %u.%u): a newer aisle is needed",
                              r->sec[i].type, AISLE_VERSION_STRING, r->kind, r->writer, r->major, r->minor);
    return AISLE_OK;
}

int io_read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return core_io_error(path, "open");
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int rc = core_io_error(path, "stat");
        fclose(f);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return core_error(AISLE_EIO, "%s: not a regular file", path);
    }
    /* the container adds at most a header and a table to the payload */
    uint64_t limit = max_bytes + IO_HEADER_FIXED + (uint64_t)IO_MAX_SECTIONS * 256 + 4;
    if ((uint64_t)st.st_size > limit || (uint64_t)st.st_size > SIZE_MAX - 1) {
        fclose(f);
        return core_error(AISLE_ERANGE, "%s: file of %lld bytes is larger than max_model_bytes=%llu", path,
                          (long long)st.st_size, (unsigned long long)max_bytes);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = core_malloc(n);
    if (!buf) {
        fclose(f);
        return core_oom("reading model file");
    }
    size_t got = n ? fread(buf, 1, n, f) : 0;
    int rc = AISLE_OK;
    if (got != n) rc = ferror(f) ? core_io_error(path, "read") : core_error(AISLE_EIO, "%s: file shrank while reading", path);
    fclose(f);
    if (rc) {
        core_free(buf);
        return rc;
    }
    *data = buf;
    *len = n;
    return AISLE_OK;
}
