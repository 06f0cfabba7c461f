/* csv.c - delimited text records for the event and catalog loaders.
 *
 * Speed matters (the loader targets millions of rows per second), so the
 * input is read in large blocks and fields are found by a hand-rolled scan
 * over the block; a record that crosses the end of a block is rescanned
 * after the unread tail is moved to the front and the block refilled.
 * Quoting follows RFC 4180: a field that starts with '"' runs to the next
 * lone '"', may hold delimiters and line breaks, and "" stands for one
 * quote.  Unquoted fields are taken literally (a '"' inside one is data). */
#include "data.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum {
    READ_BLOCK = 1 << 22,  /* 4 MiB */
    ZIN_BLOCK = 1 << 18,   /* compressed input read per call */
    SNIFF_BYTES = 1 << 16  /* the first line's bytes the delimiter is guessed from */
};

/* ---- sources ------------------------------------------------------------ */

/* Reads until len bytes arrived or the source ended (pipes return short
 * reads); *got receives the count. */
static int read_full(data_reader *r, void *dst, size_t len, size_t *got) {
    size_t n = 0;
    while (n < len) {
        ssize_t k = read(r->fd, (char *)dst + n, CORE_MIN(len - n, (size_t)1 << 30));
        if (k > 0) n += (size_t)k;
        else if (k == 0) break;
        else if (errno != EINTR) return core_io_error(r->name, "read");
    }
    *got = n;
    return AISLE_OK;
}

/* Makes at least `want` compressed bytes available at zs->next_in (fewer
 * only at the end of the source), keeping the unread ones. */
static int gz_input(data_reader *r, size_t want) {
    z_stream *zs = r->zs;
    if (zs->avail_in >= want || r->src_eof) return AISLE_OK;
    if (r->mem) { /* a buffer: the next window of it (zlib counts in uInt) */
        size_t off = (size_t)((const unsigned char *)zs->next_in - r->mem);
        zs->avail_in = (uInt)CORE_MIN(r->mem_len - off, (size_t)1 << 30);
        r->src_eof = off + zs->avail_in == r->mem_len;
        return AISLE_OK;
    }
    memmove(r->zin, zs->next_in, zs->avail_in);
    size_t got;
    int rc = read_full(r, r->zin + zs->avail_in, r->zin_cap - zs->avail_in, &got);
    if (rc) return rc;
    if (got < r->zin_cap - zs->avail_in) r->src_eof = true;
    zs->next_in = r->zin;
    zs->avail_in += (uInt)got;
    return AISLE_OK;
}

/* Inflates into out[0..want): stops when it is full or the data ended
 * (r->eof).  Concatenated members are read as gzip(1) reads them; bytes
 * after the last member that do not start another are ignored, as gzip(1)
 * and zlib's gzread do.  A stream that stops inside a member is truncated,
 * for files and buffers alike. */
static int gz_fill(data_reader *r, char *out, size_t want, size_t *got) {
    z_stream *zs = r->zs;
    zs->next_out = (Bytef *)out;
    zs->avail_out = (uInt)CORE_MIN(want, (size_t)1 << 30);
    int rc = AISLE_OK;
    while (zs->avail_out && !rc) {
        if (r->gz_member_end) {
            if ((rc = gz_input(r, 2))) break;
            if (zs->avail_in < 2 || zs->next_in[0] != 0x1f || zs->next_in[1] != 0x8b) {
                r->eof = true;
                break;
            }
            inflateReset(zs);
            r->gz_member_end = false;
        }
        if (!zs->avail_in && (rc = gz_input(r, 1))) break;
        int zrc = inflate(zs, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END) r->gz_member_end = true;
        else if (zrc == Z_MEM_ERROR) rc = core_oom("gzip stream");
        else if (zrc == Z_BUF_ERROR && !zs->avail_in && r->src_eof) /* no progress and no more input */
            rc = core_error(AISLE_EFORMAT,
                            "%s: truncated gzip data: expected more compressed bytes, found the end of the input "
                            "after %lu bytes of text",
                            r->name, zs->total_out);
        else if (zrc != Z_OK && !(zrc == Z_BUF_ERROR && !zs->avail_in))
            rc = core_error(AISLE_EFORMAT, "%s: corrupt gzip data: %s", r->name, zs->msg ? zs->msg : "inflate failed");
    }
    *got = (size_t)((char *)zs->next_out - out);
    return rc;
}

/* Reads more input into buf[len..cap); sets eof when the source is done. */
static int reader_fill(data_reader *r) {
    if (r->eof) return AISLE_OK;
    if (r->len == r->cap) {
        size_t cap = r->cap;
        int rc = core_grow((void **)&r->buf, &cap, r->cap * 2, 1);
        if (rc) return rc;
        r->cap = cap;
        r->data = r->buf;
    }
    size_t want = r->cap - r->len, got = 0;
    int rc = AISLE_OK;
    if (r->zs) {
        rc = gz_fill(r, r->buf + r->len, want, &got);
    } else if (r->fd >= 0) {
        rc = read_full(r, r->buf + r->len, want, &got);
        if (!rc && got < want) r->eof = true;
    } else {
        r->eof = true;
    }
    r->len += got;
    return rc;
}

/* A gzip stream over r->zin or r->mem. */
static int gz_start(data_reader *r, const unsigned char *in, size_t in_len) {
    z_stream *zs = core_calloc(1, sizeof *zs);
    if (!zs) return core_oom("gzip stream");
    r->zs = zs;
    zs->next_in = (Bytef *)(uintptr_t)in;
    zs->avail_in = (uInt)CORE_MIN(in_len, (size_t)1 << 30);
    if (r->mem) r->src_eof = zs->avail_in == in_len;
    if (inflateInit2(zs, 16 + MAX_WBITS) != Z_OK) {
        core_free(zs);
        r->zs = NULL;
        return core_oom("gzip stream");
    }
    return AISLE_OK;
}

static int set_delimiter(data_reader *r, const char *opt) {
    if (!opt || !opt[0]) return 1; /* decide later */
    static const struct {
        const char *name, *bytes;
    } named[] = {{"tab", "\t"}, {"\\t", "\t"}, {"comma", ","}, {"semicolon", ";"}, {"pipe", "|"}, {"space", " "}};
    for (size_t i = 0; i < CORE_ARRAY_LEN(named); i++)
        if (strcmp(opt, named[i].name) == 0) opt = named[i].bytes;
    size_t n = strlen(opt);
    if (n == 1 && opt[0] != '"' && opt[0] != '\n' && opt[0] != '\r') {
        r->d0 = opt[0];
        r->d1 = 0;
        return 0;
    }
    if (n == 2 && opt[0] == opt[1] && opt[0] != '"' && opt[0] != '\n' && opt[0] != '\r') {
        r->d0 = r->d1 = opt[0];
        return 0;
    }
    return core_error(AISLE_EINVAL,
                      "option delimiter: expected one byte, a doubled byte like '::', or tab|comma|semicolon|pipe|space, "
                      "found '%s'",
                      opt);
}

/* Delimiter from the file name's extension (".gz" ignored); 0 if unknown. */
static int delimiter_by_name(data_reader *r) {
    const char *name = r->name;
    size_t n = strlen(name);
    if (n > 3 && strcasecmp(name + n - 3, ".gz") == 0) n -= 3;
    const char *dot = NULL;
    for (size_t i = n; i > 0; i--)
        if (name[i - 1] == '.') {
            dot = name + i - 1;
            break;
        } else if (name[i - 1] == '/') break;
    if (!dot) return 0;
    size_t el = (size_t)(name + n - dot);
    if ((el == 4 && (strncasecmp(dot, ".tsv", 4) == 0 || strncasecmp(dot, ".txt", 4) == 0)) ||
        (el == 5 && strncasecmp(dot, ".data", 5) == 0)) {
        r->d0 = '\t';
        return 1;
    }
    if (el == 4 && strncasecmp(dot, ".csv", 4) == 0) {
        r->d0 = ',';
        return 1;
    }
    return 0;
}

/* Sniffs the first line (at most its first SNIFF_BYTES, so a file and the
 * same bytes in a buffer guess alike): "::" if present, else the most
 * frequent of tab, comma, pipe and semicolon (tab when none occurs). */
static void delimiter_sniff(data_reader *r) {
    const char *p = r->data + r->pos, *end = r->data + CORE_MIN(r->len, r->pos + SNIFF_BYTES);
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl) end = nl;
    size_t n = (size_t)(end - p);
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == ':' && p[i + 1] == ':') {
            r->d0 = r->d1 = ':';
            return;
        }
    static const char cand[] = {'\t', ',', '|', ';'};
    size_t best = 0;
    r->d0 = '\t';
    for (size_t c = 0; c < sizeof cand; c++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++) count += p[i] == cand[c];
        if (count > best) {
            best = count;
            r->d0 = cand[c];
        }
    }
}

void data_reader_options(const aisle_config *cfg, data_reader_opts *o) {
    o->delimiter = config_string(cfg, data_options, "delimiter");
    o->quoting = config_bool(cfg, data_options, "quoting");
    o->max_field = (size_t)config_int(cfg, data_options, "max_field");
    o->max_fields = (size_t)config_int(cfg, data_options, "max_fields");
    o->max_record = (size_t)config_int(cfg, data_options, "max_record");
    o->fifo_timeout = config_float(cfg, data_options, "fifo_timeout");
}

static void reader_init(data_reader *r, const char *name, const data_reader_opts *o) {
    memset(r, 0, sizeof *r);
    r->name = name;
    r->fd = -1;
    r->quoting = o->quoting;
    r->max_field = o->max_field;
    r->max_fields = o->max_fields;
    r->max_record = o->max_record;
    r->line = 1;
    buf_init(&r->scratch);
}

/* After the first block is in: BOM, delimiter.  The first line is read up
 * to SNIFF_BYTES first, whatever the source's block size. */
static int reader_start(data_reader *r, const char *delimiter) {
    int rc = set_delimiter(r, delimiter);
    if (rc < 0) return rc;
    while (!r->eof && (r->len - r->pos < 3 || (r->len - r->pos < SNIFF_BYTES &&
                                                !memchr(r->data + r->pos, '\n', r->len - r->pos)))) {
        int frc = reader_fill(r);
        if (frc) return frc;
    }
    if (r->len - r->pos >= 3 && memcmp(r->data + r->pos, "\xEF\xBB\xBF", 3) == 0) r->pos += 3;
    r->line_start = r->pos;
    if (rc == 1 && !delimiter_by_name(r)) delimiter_sniff(r);
    return AISLE_OK;
}

/* A FIFO opened without blocking: waits up to `timeout` seconds for its
 * first data (or a writer that came and went), so a FIFO nobody writes to
 * fails with a message instead of blocking forever; a writer that is
 * connected but slow is waited for.  Our own standard input (/dev/stdin)
 * is read as it is: its writer, if any, came with it.  A byte read while
 * deciding is returned in *first (else -1). */
static int wait_for_writer(data_reader *r, const struct stat *st, double timeout, int *first) {
    *first = -1;
    struct stat in;
    if (fstat(0, &in) == 0 && in.st_dev == st->st_dev && in.st_ino == st->st_ino) return AISLE_OK;
    double left = timeout;
    for (;;) {
        struct pollfd pfd = {r->fd, POLLIN, 0};
        int ms = left > 2e6 ? 2000000000 : (int)(left * 1000.0 + 0.5);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int n = poll(&pfd, 1, ms);
        if (n > 0) return AISLE_OK; /* data, or a writer that closed (an empty file) */
        if (n < 0 && errno != EINTR) return core_io_error(r->name, "poll");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        left -= (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (n == 0 || left <= 0) break;
    }
    /* a connected writer makes a non-blocking read say "try again", none
     * makes it say "end of file" */
    unsigned char b;
    ssize_t got;
    do got = read(r->fd, &b, 1);
    while (got < 0 && errno == EINTR);
    if (got == 1) *first = b;
    if (got == 1 || (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) return AISLE_OK;
    if (got < 0) return core_io_error(r->name, "read");
    return core_error(AISLE_EIO,
                      "%s: a FIFO with no writer: nothing was written to it within %g s (option fifo_timeout)",
                      r->name, timeout);
}

int data_reader_open_file(data_reader *r, const char *path, const data_reader_opts *o) {
    reader_init(r, path, o);
    /* without O_NONBLOCK, opening a FIFO blocks until a writer opens it */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? core_error(AISLE_ENOTFOUND, "%s: no such file", path) : core_io_error(path, "open");
    r->fd = fd;
    struct stat st;
    int rc = AISLE_OK;
    if (fstat(fd, &st) != 0) rc = core_io_error(path, "stat");
    else if (S_ISDIR(st.st_mode)) rc = core_error(AISLE_EIO, "%s: is a directory, not a data file", path);
    int first = -1;
    if (!rc && S_ISFIFO(st.st_mode)) rc = wait_for_writer(r, &st, o->fifo_timeout, &first);
    if (!rc) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) rc = core_io_error(path, "fcntl");
    }
    /* the first bytes decide plain or gzip; nothing is read twice (no seek: pipes work) */
    size_t got = 0;
    /* blocks sized for a small regular file (a few KB need no 4 MiB) */
    size_t small = !rc && S_ISREG(st.st_mode) && st.st_size >= 0 && (uint64_t)st.st_size < READ_BLOCK
                       ? (size_t)st.st_size + 1
                       : READ_BLOCK;
    if (!rc) {
        r->zin_cap = CORE_MAX((size_t)64, CORE_MIN((size_t)ZIN_BLOCK, small));
        r->zin = core_malloc(r->zin_cap);
        if (!r->zin) rc = core_oom("reading a data file");
    }
    if (!rc && first >= 0) r->zin[0] = (unsigned char)first;
    if (!rc) rc = read_full(r, r->zin + (first >= 0), r->zin_cap - (first >= 0), &got);
    got += first >= 0;
    bool gzip = got >= 2 && r->zin[0] == 0x1f && r->zin[1] == 0x8b;
    if (!rc) {
        r->cap = CORE_MAX((size_t)4096, CORE_MIN((size_t)READ_BLOCK, gzip ? small * 4 : small));
        r->buf = core_malloc(r->cap);
        if (!r->buf) rc = core_oom("reading a data file");
        r->data = r->buf;
    }
    if (!rc) {
        r->src_eof = got < r->zin_cap;
        if (gzip) {
            rc = gz_start(r, r->zin, got);
        } else {
            memcpy(r->buf, r->zin, got);
            r->len = got;
            r->eof = r->src_eof;
            core_free(r->zin);
            r->zin = NULL;
        }
    }
    if (!rc) rc = reader_fill(r);
    if (!rc) rc = reader_start(r, o->delimiter);
    if (rc) data_reader_close(r);
    return rc;
}

int data_reader_open_buffer(data_reader *r, const void *data, size_t len, const char *name,
                            const data_reader_opts *o) {
    reader_init(r, name, o);
    const unsigned char *u = data;
    int rc = AISLE_OK;
    if (len >= 2 && u[0] == 0x1f && u[1] == 0x8b) {
        r->mem = u;
        r->mem_len = len;
        rc = gz_start(r, u, len);
        if (rc) return rc;
        r->cap = CORE_MIN((size_t)READ_BLOCK, CORE_MAX(len * 4, (size_t)4096));
        r->buf = core_malloc(r->cap);
        if (!r->buf) {
            data_reader_close(r);
            return core_oom("reading a data buffer");
        }
        r->data = r->buf;
        rc = reader_fill(r);
    } else {
        r->data = data ? data : "";
        r->len = len;
        r->eof = true;
    }
    if (!rc) rc = reader_start(r, o->delimiter);
    if (rc) data_reader_close(r);
    return rc;
}

void data_reader_close(data_reader *r) {
    if (r->fd >= 0) close(r->fd);
    if (r->zs) {
        inflateEnd(r->zs);
        core_free(r->zs);
    }
    core_free(r->zin);
    core_free(r->buf);
    core_free(r->fields);
    buf_free(&r->scratch);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

/* Moves the unread tail to the front and reads more.  Returns AISLE_OK
 * (with r->eof possibly set) or an error. */
static int reader_more(data_reader *r) {
    if (r->eof) return AISLE_OK;
    if (r->pos) {
        size_t keep = r->len - r->pos;
        memmove(r->buf, r->buf + r->pos, keep);
        r->line_start -= CORE_MIN(r->line_start, r->pos);
        r->len = keep;
        r->pos = 0;
    }
    int rc = reader_fill(r);
    if (rc) r->fatal = rc; /* the stream itself is broken: no later record can be read */
    return rc;
}

/* ---- records ------------------------------------------------------------- */

void data_quote(const char *p, size_t len, char *out, size_t outlen) {
    size_t o = 0, i = 0;
    if (outlen < 8) {
        if (outlen) out[0] = '\0';
        return;
    }
    out[o++] = '\'';
    for (; i < len && o + 6 < outlen && i < 40; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c != 0x7f && c != '\'' && c != '\\') out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
    }
    if (i < len && o + 5 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '\'';
    out[o] = '\0';
}

/* A format error in the current record: the reader resumes at the next
 * line. */
static int record_error(data_reader *r, size_t line, size_t col, const char *expected, const char *found) {
    r->skip_line = true;
    return core_error(AISLE_EFORMAT, "%s:%zu:%zu: expected %s, found %s", r->name, line, col, expected, found);
}

static int push_field(data_reader *r, const char *p, size_t len, size_t soff, size_t line, size_t col) {
    if (r->nf >= r->max_fields) {
        char exp[96];
        snprintf(exp, sizeof exp, "a record of at most %zu fields (option max_fields)", r->max_fields);
        return record_error(r, r->rec_line, 1, exp, "more");
    }
    if (r->nf == r->fcap) {
        int rc = core_grow((void **)&r->fields, &r->fcap, r->nf + 1, sizeof *r->fields);
        if (rc) return rc;
    }
    data_field *f = &r->fields[r->nf++];
    f->p = p;
    f->len = len;
    f->soff = soff;
    f->line = line;
    f->col = col;
    return AISLE_OK;
}

/* A record longer than max_record bytes (so a line of a billion empty
 * fields, or a file with no line break, cannot take all memory).  It ends
 * even a lenient load: without a line break in sight (/dev/zero) there is
 * no next record to resume at. */
static int record_too_long(data_reader *r) {
    char exp[96];
    snprintf(exp, sizeof exp, "a record of at most %zu bytes (option max_record)", r->max_record);
    r->fatal = record_error(r, r->rec_line, 1, exp, "a longer one");
    return r->fatal;
}

enum { SCAN_DONE = 1, SCAN_MORE = 2 };

/* Scans one record starting at r->pos.  SCAN_DONE: fields set, pos moved
 * past the record; SCAN_MORE: needs more input; else an error. */
static int scan_record(data_reader *r) {
    const char *base = r->data, *p = base + r->pos, *end = base + r->len;
    size_t line = r->line, line_start = r->line_start;
    const char d0 = r->d0, d1 = r->d1;
    r->nf = 0;
    r->scratch.len = 0;
    r->rec_line = line;
    for (;;) {
        const char *fstart = p;
        size_t col = (size_t)(fstart - base) - line_start + 1, fline = line;
        if (r->quoting && p < end && *p == '"') {
            p++;
            const char *seg = p;
            bool copied = false;
            size_t soff = r->scratch.len;
            for (;;) {
                while (p < end && *p != '"') {
                    if (*p == '\n') {
                        line++;
                        line_start = (size_t)(p + 1 - base);
                    }
                    p++;
                }
                if ((size_t)(p - fstart) > 2 * r->max_field + 2) goto too_long; /* unescaped >= (raw-2)/2 */
                if (p == end || (p + 1 == end && !r->eof)) {
                    if (!r->eof) return (size_t)(end - base) - r->pos > r->max_record ? record_too_long(r) : SCAN_MORE;
                    return record_error(r, fline, col, "a closing quote for the quoted field", "the end of the input");
                }
                /* p at a quote */
                if (p + 1 < end && p[1] == '"') {
                    int rc = buf_append(&r->scratch, seg, (size_t)(p + 1 - seg));
                    if (rc) return rc;
                    copied = true;
                    p += 2;
                    seg = p;
                    continue;
                }
                break;
            }
            size_t len;
            if (copied) {
                int rc = buf_append(&r->scratch, seg, (size_t)(p - seg));
                if (rc) return rc;
                len = r->scratch.len - soff;
            } else {
                len = (size_t)(p - seg);
            }
            p++; /* closing quote */
            if (len > r->max_field) {
                char found[48];
                snprintf(found, sizeof found, "%zu bytes", len);
                char exp[96];
                snprintf(exp, sizeof exp, "a field of at most %zu bytes (option max_field)", r->max_field);
                return record_error(r, fline, col, exp, found);
            }
            int rc = push_field(r, copied ? NULL : seg, len, soff, fline, col);
            if (rc) return rc;
            if (p < end && *p == '\r' && p + 1 < end && p[1] == '\n') p++;
            if (p == end || (p < end && *p == '\r' && p + 1 == end)) {
                if (!r->eof) return (size_t)(end - base) - r->pos > r->max_record ? record_too_long(r) : SCAN_MORE;
                r->rec_end_col = (size_t)(p - base) - line_start + 1;
                p = end;
                break;
            }
            if (*p == '\n') {
                r->rec_end_col = (size_t)(p - base) - line_start + 1;
                p++;
                line++;
                line_start = (size_t)(p - base);
                break;
            }
            if (*p == d0 && (!d1 || (p + 1 < end && p[1] == d1))) {
                p += d1 ? 2 : 1;
                continue;
            }
            if (d1 && *p == d0 && p + 1 == end && !r->eof)
                return (size_t)(end - base) - r->pos > r->max_record ? record_too_long(r) : SCAN_MORE;
            char found[64];
            data_quote(p, 1, found, sizeof found);
            return record_error(r, line, (size_t)(p - base) - line_start + 1,
                                "a delimiter or end of line after the closing quote", found);
        }
        /* unquoted field: hand-rolled scan for delimiter or line end */
        if (!d1) {
            while (p < end && *p != d0 && *p != '\n') p++;
        } else {
            while (p < end && *p != '\n' && !(*p == d0 && p + 1 < end && p[1] == d1)) p++;
        }
        if (p == end && !r->eof) {
            if ((size_t)(p - fstart) > r->max_field + 1) goto too_long;
            return (size_t)(end - base) - r->pos > r->max_record ? record_too_long(r) : SCAN_MORE;
        }
        size_t len = (size_t)(p - fstart);
        if (len && fstart[len - 1] == '\r' && (p == end || *p == '\n')) len--;
        if (len > r->max_field) goto too_long;
        int rc = push_field(r, fstart, len, 0, fline, col);
        if (rc) return rc;
        if (p == end) {
            r->rec_end_col = col + len;
            break;
        }
        if (*p == '\n') {
            r->rec_end_col = col + len;
            p++;
            line++;
            line_start = (size_t)(p - base);
            break;
        }
        p += d1 ? 2 : 1;
        continue;
    too_long: {
        char exp[96];
        snprintf(exp, sizeof exp, "a field of at most %zu bytes (option max_field)", r->max_field);
        return record_error(r, fline, col, exp, "a longer one");
    }
    }
    if ((size_t)(p - base) - r->pos > r->max_record + 2) return record_too_long(r); /* + CRLF */
    r->pos = (size_t)(p - base);
    r->line = line;
    r->line_start = line_start;
    /* resolve unescaped fields now that scratch no longer moves */
    for (size_t i = 0; i < r->nf; i++)
        if (!r->fields[i].p) r->fields[i].p = r->scratch.data + r->fields[i].soff;
    return SCAN_DONE;
}

/* Fast path for the common record: single-byte delimiter, no field that
 * starts with a quote, the whole record (up to its '\n') inside the block.
 * A bit mask marks the delimiters and line feeds of a 32-byte window
 * (SSE2 on x86-64, a byte loop elsewhere; a record is typically shorter),
 * and fields are cut at its set bits, so no byte is looked at twice.  Returns SCAN_DONE, or 0 (nothing
 * changed) for scan_record to handle the record with every check and
 * message of the full RFC 4180 path. */
#if defined(__SSE2__)
#  include <emmintrin.h>
#endif
static inline uint64_t stop_mask(const char *w, char d0) {
#if defined(__SSE2__)
    const __m128i vd = _mm_set1_epi8(d0), vn = _mm_set1_epi8('\n');
    uint64_t m = 0;
    for (int k = 0; k < 2; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(w + 16 * k));
        __m128i e = _mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vn));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(e) << (16 * k);
    }
    return m;
#else
    uint64_t m = 0;
    for (int k = 0; k < 32; k++) m |= (uint64_t)(w[k] == d0 || w[k] == '\n') << k;
    return m;
#endif
}

static inline unsigned lowest_bit(uint64_t m) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(m);
#else
    unsigned k = 0;
    while (!(m & 1)) m >>= 1, k++;
    return k;
#endif
}

static int scan_fast(data_reader *r) {
    const char *base = r->data, *end = base + r->len, *w = base + r->pos, *fstart = w;
    const size_t line = r->line, max_field = r->max_field;
    const char *colbase = base + r->line_start - 1; /* col = fstart - colbase */
    const char d0 = r->d0;
    const bool quoting = r->quoting;
    if (r->d1 || (size_t)(end - w) < 32) return 0;
    if (r->fcap < 16 && core_grow((void **)&r->fields, &r->fcap, 16, sizeof *r->fields)) return 0;
    data_field *fields = r->fields; /* locals: the stores below could alias r's members */
    const size_t fcap = CORE_MIN(r->fcap, r->max_fields);
    uint64_t m = stop_mask(w, d0);
    size_t nf = 0;
    for (;;) {
        if (quoting && *fstart == '"') return 0;
        while (!m) {
            w += 32;
            if ((size_t)(end - w) < 32) return 0;
            m = stop_mask(w, d0);
        }
        const char *q = w + lowest_bit(m);
        m &= m - 1;
        size_t len = (size_t)(q - fstart);
        const bool nl = *q == '\n';
        if (nl && len && fstart[len - 1] == '\r') len--;
        if (len > max_field || nf == fcap) return 0;
        data_field *f = &fields[nf++];
        f->p = fstart; /* soff is only read for unescaped fields, whose p is NULL */
        f->len = len;
        f->line = line;
        f->col = (size_t)(fstart - colbase);
        fstart = q + 1;
        if (nl) {
            r->rec_end_col = f->col + len;
            break;
        }
        if (fstart == end) return 0;
    }
    if ((size_t)(fstart - (base + r->pos)) > r->max_record + 2) return 0; /* scan_record reports it */
    r->nf = nf;
    r->scratch.len = 0;
    r->rec_line = line;
    r->pos = (size_t)(fstart - base);
    r->line = line + 1;
    r->line_start = r->pos;
    return SCAN_DONE;
}

/* Drops the rest of the current line (after a bad record).  A line longer
 * than max_record cannot be skipped either (no line break in sight, as in
 * /dev/zero): that ends even a lenient load. */
static int skip_rest_of_line(data_reader *r) {
    size_t skipped = 0;
    for (;;) {
        const char *p = r->data + r->pos, *end = r->data + r->len;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl) {
            r->pos = (size_t)(nl + 1 - r->data);
            r->line++;
            r->line_start = r->pos;
            r->skip_line = false;
            return AISLE_OK;
        }
        skipped += r->len - r->pos;
        r->pos = r->len;
        if (r->eof) {
            r->skip_line = false;
            return AISLE_OK;
        }
        if (skipped > r->max_record) {
            r->fatal = core_error(AISLE_EFORMAT,
                                  "%s:%zu: a line longer than %zu bytes (option max_record) without a line break: "
                                  "not a delimited text file?",
                                  r->name, r->line, r->max_record);
            return r->fatal;
        }
        int rc = reader_more(r);
        if (rc) return rc;
    }
}

int data_reader_next(data_reader *r) {
    if (r->fatal) return r->fatal;
    for (;;) {
        if (r->skip_line) {
            int rc = skip_rest_of_line(r);
            if (rc) return rc;
        }
        /* blank lines */
        while (r->pos < r->len) {
            const char *p = r->data + r->pos;
            size_t skip = *p == '\n' ? 1 : (*p == '\r' && r->pos + 1 < r->len && p[1] == '\n') ? 2 : 0;
            if (!skip) break;
            r->pos += skip;
            r->line++;
            r->line_start = r->pos;
        }
        if (r->pos + 1 >= r->len && !r->eof) {
            int rc = reader_more(r);
            if (rc) return rc;
            if (r->pos + 1 >= r->len && !r->eof) continue;
        }
        if (r->pos >= r->len) {
            if (r->eof) return 0;
            continue;
        }
        if (r->len - r->pos == 1 && r->data[r->pos] == '\r' && r->eof) {
            r->pos = r->len;
            return 0;
        }
        int rc = scan_fast(r);
        if (rc == SCAN_DONE) return 1;
        rc = scan_record(r);
        if (rc == SCAN_DONE) return 1;
        if (rc != SCAN_MORE) return rc;
        rc = reader_more(r);
        if (rc) return rc;
    }
}

/* ---- text ------------------------------------------------------------------ */

size_t data_utf8_check(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned min;
        if (c >= 0xC2 && c <= 0xDF) n = 1, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) n = 2, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) n = 3, min = 0x10000;
        else return i;
        unsigned cp = c & (0x3F >> n);
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (p[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n + 1;
    }
    return len;
}

size_t data_bom_find(const char *p, size_t len) {
    for (const char *q = p, *end = p + len; (q = memchr(q, 0xEF, (size_t)(end - q))); q++)
        if (end - q >= 3 && (unsigned char)q[1] == 0xBB && (unsigned char)q[2] == 0xBF) return (size_t)(q - p);
    return len;
}

int data_latin1_to_utf8(core_buf *out, const char *p, size_t len) {
    int rc = buf_reserve(out, len * 2 + 1);
    if (rc) return rc;
    char *o = out->data + out->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x80) *o++ = (char)c;
        else {
            *o++ = (char)(0xC0 | (c >> 6));
            *o++ = (char)(0x80 | (c & 0x3F));
        }
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return AISLE_OK;
}
