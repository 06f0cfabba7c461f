/* fuzz_dataset_load.c - libFuzzer target: the behaviour-event loader.  The
 * fuzzer chooses the options too: the first FUZZ_OPT_BYTES bytes pick the
 * delimiter, header, lenient, quoting, encoding, negative handling,
 * columns, event name, time format (from a list, or a format string of the
 * fuzzer's own, so formats like "%Y%" are tried) and small limits
 * (max_field, max_fields, max_record), and whether the data is gzipped
 * (and cut short) before loading and also loaded from a file descriptor
 * (memfd) to compare with the buffer load.  Any input must load or fail
 * with a status and a message; a strict failure must leave the dataset
 * exactly as before (checked by its counts); a file and the same bytes in a
 * buffer must load alike (status, counts and message).
 *
 * Layout: b0 delimiter, b1 header/lenient/quoting/encoding/negative, b2
 * columns, b3 time format (the last choice reads a format of up to 32
 * bytes ending at a NUL from the data), b4 limits and source, b5 event,
 * then the text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FUZZ_OPT_BYTES = 6 };

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const char *const delimiters[] = {"", "comma", "tab", "::", "semicolon", "pipe", "space", "x"};
static const char *const headers[] = {"auto", "yes", "no", "auto"};
static const char *const negatives[] = {"subtract", "skip", "keep", "subtract"};
static const char *const columns[] = {
    "", "user=1,item=2,value=3,time=4", "user=user_id,item=item_id,event=event,value=quantity,time=timestamp",
    "user=CustomerID,item=StockCode,value=Quantity,time=InvoiceDate", "user=1,item=2", "user=2,item=1,event=3",
    "user=1,item=2,time=3", "item=1;user=3;value=2"};
static const char *const time_formats[] = {"",         "%m/%d/%y %H:%M", "%Y-%m-%d %H:%M:%S", "%s",
                                           "%d.%m.%Y %T", "%b %e %Y %I:%M %p", "%j/%Y %z",        "%F %T%z",
                                           "%D",       NULL /* the fuzzer's own */};
static const char *const events[] = {"", "purchase", "rating", "custom-ev"};

/* Quoted for aisle_config_parse ("" escapes a quote inside). */
static void put_quoted(char *out, size_t cap, const char *key, const char *value) {
    size_t o = strlen(out);
    o += (size_t)snprintf(out + o, cap - o, " %s=\"", key);
    for (const char *v = value; *v && o + 3 < cap; v++) {
        if (*v == '"') out[o++] = '"';
        out[o++] = *v;
    }
    if (o + 2 < cap) out[o++] = '"';
    out[o] = '\0';
}

/* Gzip of text (free with free), or NULL. */
static unsigned char *gzip_of(const uint8_t *text, size_t len, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    if (out) {
        z.next_in = (Bytef *)(uintptr_t)text;
        z.avail_in = (uInt)len;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
            free(out);
            out = NULL;
        }
        *out_len = z.total_out;
    }
    deflateEnd(&z);
    return out;
}

typedef struct outcome {
    int rc;
    size_t users, items, events;
    char msg[512];
} outcome;

static void counts(const aisle_dataset *ds, outcome *o) {
    aisle_dataset_user_count(ds, &o->users);
    aisle_dataset_item_count(ds, &o->items);
    aisle_dataset_event_count(ds, &o->events);
}

/* Loads into a fresh dataset holding one seed event; checks the rules. */
static void load_once(const void *text, size_t len, const char *path, const char *name, const aisle_config *cfg,
                      outcome *o) {
    aisle_dataset *ds = NULL;
    if (aisle_dataset_new(&ds)) abort();
    /* a first event, so "unchanged after failure" is a real check */
    if (aisle_dataset_add_event(ds, "seed-user", "seed-item", "view", 1, 0)) abort();
    outcome before;
    counts(ds, &before);
    o->rc = path ? aisle_dataset_load(ds, path, cfg) : aisle_dataset_load_buffer(ds, text, len, name, cfg);
    snprintf(o->msg, sizeof o->msg, "%s", o->rc ? aisle_last_error() : "");
    counts(ds, o);
    if (o->rc != AISLE_OK) {
        if (o->msg[0] == '\0') abort();
        if (o->users != before.users || o->items != before.items || o->events != before.events)
            abort(); /* partial load */
    } else if (o->events < before.events) {
        abort();
    }
    aisle_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < FUZZ_OPT_BYTES) return 0;
    const uint8_t *b = data;
    data += FUZZ_OPT_BYTES;
    size -= FUZZ_OPT_BYTES;
    char opts[512] = "";
    put_quoted(opts, sizeof opts, "delimiter", delimiters[b[0] % N(delimiters)]);
    put_quoted(opts, sizeof opts, "header", headers[b[1] & 3]);
    put_quoted(opts, sizeof opts, "lenient", b[1] & 4 ? "true" : "false");
    put_quoted(opts, sizeof opts, "quoting", b[1] & 8 ? "false" : "true");
    put_quoted(opts, sizeof opts, "encoding", b[1] & 16 ? "latin1" : "utf8");
    put_quoted(opts, sizeof opts, "negative", negatives[(b[1] >> 5) & 3]);
    put_quoted(opts, sizeof opts, "columns", columns[b[2] % N(columns)]);
    const char *tf = time_formats[b[3] % N(time_formats)];
    char own[33];
    if (!tf) { /* the fuzzer's own format: up to 32 bytes before a NUL */
        const uint8_t *nul = memchr(data, 0, size < 33 ? size : 33);
        if (!nul || memchr(data, '"', (size_t)(nul - data))) return 0;
        memcpy(own, data, (size_t)(nul - data));
        own[nul - data] = '\0';
        tf = own;
        size -= (size_t)(nul - data) + 1;
        data = nul + 1;
    }
    put_quoted(opts, sizeof opts, "time_format", tf);
    if (b[4] & 1) put_quoted(opts, sizeof opts, "max_field", "16");
    if (b[4] & 2) put_quoted(opts, sizeof opts, "max_fields", "4");
    if (b[4] & 4) put_quoted(opts, sizeof opts, "max_record", "1024");
    put_quoted(opts, sizeof opts, "event", events[b[5] % N(events)]);
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg)) abort();
    if (aisle_config_parse(cfg, opts) != AISLE_OK) { /* every listed choice is valid; an own format may not be */
        if (tf != own) abort();
        aisle_config_free(cfg);
        return 0;
    }

    const void *text = data;
    size_t len = size;
    unsigned char *gz = NULL;
    if (b[4] & 8) { /* gzip the text; with bit 16, cut the stream at a byte the input chooses */
        size_t gl = 0;
        gz = gzip_of(data, size, &gl);
        if (gz) {
            if ((b[4] & 16) && gl) gl = (size_t)b[5] * 7919u % gl;
            text = gz;
            len = gl;
        }
    }
    char name[64] = "fuzz.csv";
    int fd = -1;
    if (b[4] & 32) { /* also from a file: the same bytes must load alike */
        fd = memfd_create("fuzz-events", 0);
        if (fd >= 0 && (size_t)write(fd, text, len) == len && lseek(fd, 0, SEEK_SET) == 0)
            snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
        else if (fd >= 0) close(fd), fd = -1;
    }
    outcome from_buffer;
    load_once(text, len, NULL, name, cfg, &from_buffer);
    if (fd >= 0) {
        outcome from_file;
        load_once(NULL, 0, name, name, cfg, &from_file);
        if (from_file.rc != from_buffer.rc || from_file.users != from_buffer.users ||
            from_file.items != from_buffer.items || from_file.events != from_buffer.events ||
            strcmp(from_file.msg, from_buffer.msg) != 0) {
            fprintf(stderr, "file and buffer loads differ:\n  file:   %d %s\n  buffer: %d %s\n", from_file.rc,
                    from_file.msg, from_buffer.rc, from_buffer.msg);
            abort();
        }
        close(fd);
    }
    free(gz);
    aisle_config_free(cfg);
    return 0;
}
