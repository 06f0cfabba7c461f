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
#include <string.h>
#include <strings.h>
#include <zlib.h>

enum { READ_BLOCK = 1 << 22 }; /* 4 MiB */

/* ---- sources ------------------------------------------------------------ */

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
    if (r->file) {
        got = fread(r->buf + r->len, 1, want, r->file);
        if (got < want) {
            if (ferror(r->file)) return core_io_error(r->name, "read");
            r->eof = true;
        }
    } else if (r->gz) {
        int n = gzread((gzFile)r->gz, r->buf + r->len, (unsigned)CORE_MIN(want, (size_t)1 << 30));
        if (n < 0) {
            int err;
            const char *msg = gzerror((gzFile)r->gz, &err);
            if (err == Z_ERRNO) return core_io_error(r->name, "read");
            return core_error(AISLE_EFORMAT, "%s: corrupt gzip data: %s", r->name, msg);
        }
        got = (size_t)n;
        if (got == 0) r->eof = true;
    } else if (r->zs) {
        z_stream *zs = r->zs;
        zs->next_out = (Bytef *)r->buf + r->len;
        zs->avail_out = (uInt)CORE_MIN(want, (size_t)1 << 30);
        int zrc = inflate(zs, Z_NO_FLUSH);
        got = (size_t)((char *)zs->next_out - (r->buf + r->len));
        if (zrc == Z_STREAM_END) {
            /* concatenated gzip members, as gzip(1) reads them */
            if (zs->avail_in > 2 && zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b) inflateReset(zs);
            else r->eof = true;
        } else if (zrc != Z_OK && !(zrc == Z_BUF_ERROR && got)) {
            if (zrc == Z_BUF_ERROR)
                return core_error(AISLE_EFORMAT, "%s: expected more gzip data, found the end of the buffer", r->name);
            return core_error(AISLE_EFORMAT, "%s: corrupt gzip data: %s", r->name, zs->msg ? zs->msg : "inflate failed");
        }
    } else {
        r->eof = true;
    }
    r->len += got;
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

/* Sniffs the first line: "::" if present, else the most frequent of tab,
 * comma, pipe and semicolon (tab when none occurs). */
static void delimiter_sniff(data_reader *r) {
    const char *p = r->data + r->pos, *end = r->data + r->len;
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

static void reader_init(data_reader *r, const char *name, bool quoting, size_t max_field) {
    memset(r, 0, sizeof *r);
    r->name = name;
    r->quoting = quoting;
    r->max_field = max_field;
    r->line = 1;
    buf_init(&r->scratch);
}

/* After the first block is in: BOM, delimiter. */
static int reader_start(data_reader *r, const char *delimiter) {
    int rc = set_delimiter(r, delimiter);
    if (rc < 0) return rc;
    if (r->len - r->pos >= 3 && memcmp(r->data + r->pos, "\xEF\xBB\xBF", 3) == 0) r->pos += 3;
    r->line_start = r->pos;
    if (rc == 1 && !delimiter_by_name(r)) delimiter_sniff(r);
    return AISLE_OK;
}

int data_reader_open_file(data_reader *r, const char *path, const char *delimiter, bool quoting, size_t max_field) {
    reader_init(r, path, quoting, max_field);
    unsigned char magic[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? core_error(AISLE_ENOTFOUND, "%s: no such file", path) : core_io_error(path, "open");
    size_t m = fread(magic, 1, 2, f);
    if (m == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f);
        gzFile gz = gzopen(path, "rb");
        if (!gz) return core_io_error(path, "open");
        gzbuffer(gz, 1 << 18);
        r->gz = gz;
    } else {
        if (ferror(f) || fseek(f, 0, SEEK_SET) != 0) {
            int rc = core_io_error(path, "read");
            fclose(f);
            return rc;
        }
        r->file = f;
    }
    r->cap = READ_BLOCK;
    r->buf = core_malloc(r->cap);
    if (!r->buf) {
        data_reader_close(r);
        return core_oom("reading a data file");
    }
    r->data = r->buf;
    int rc = reader_fill(r);
    if (!rc) rc = reader_start(r, delimiter);
    if (rc) data_reader_close(r);
    return rc;
}

int data_reader_open_buffer(data_reader *r, const void *data, size_t len, const char *name, const char *delimiter,
                            bool quoting, size_t max_field) {
    reader_init(r, name, quoting, max_field);
    const unsigned char *u = data;
    int rc = AISLE_OK;
    if (len >= 2 && u[0] == 0x1f && u[1] == 0x8b) {
        z_stream *zs = core_calloc(1, sizeof *zs);
        if (!zs) return core_oom("gzip stream");
        r->zs = zs;
        r->mem = u;
        r->mem_len = len;
        zs->next_in = (Bytef *)u;
        zs->avail_in = (uInt)CORE_MIN(len, (size_t)UINT32_MAX);
        if (inflateInit2(zs, 16 + MAX_WBITS) != Z_OK) {
            core_free(zs);
            r->zs = NULL;
            return core_oom("gzip stream");
        }
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
    if (!rc) rc = reader_start(r, delimiter);
    if (rc) data_reader_close(r);
    return rc;
}

void data_reader_close(data_reader *r) {
    if (r->file) fclose(r->file);
    if (r->gz) gzclose((gzFile)r->gz);
    if (r->zs) {
        inflateEnd(r->zs);
        core_free(r->zs);
    }
    core_free(r->buf);
    core_free(r->fields);
    buf_free(&r->scratch);
    memset(r, 0, sizeof *r);
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

static int push_field(data_reader *r, const char *p, size_t len, size_t soff, size_t line, size_t col) {
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

/* A format error in the current record: the reader resumes at the next
 * line. */
static int record_error(data_reader *r, size_t line, size_t col, const char *expected, const char *found) {
    r->skip_line = true;
    return core_error(AISLE_EFORMAT, "%s:%zu:%zu: expected %s, found %s", r->name, line, col, expected, found);
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
                    if (!r->eof) return SCAN_MORE;
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
                if (!r->eof) return SCAN_MORE;
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
            if (d1 && *p == d0 && p + 1 == end && !r->eof) return SCAN_MORE;
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
            return SCAN_MORE;
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
    r->pos = (size_t)(p - base);
    r->line = line;
    r->line_start = line_start;
    /* resolve unescaped fields now that scratch no longer moves */
    for (size_t i = 0; i < r->nf; i++)
        if (!r->fields[i].p) r->fields[i].p = r->scratch.data + r->fields[i].soff;
    return SCAN_DONE;
}

/* Drops the rest of the current line (after a bad record). */
static int skip_rest_of_line(data_reader *r) {
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
        r->pos = r->len;
        if (r->eof) {
            r->skip_line = false;
            return AISLE_OK;
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
        int rc = scan_record(r);
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
