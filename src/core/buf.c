/* buf.c - growable byte buffer with printf. */
#include "core.h"

#include <stdio.h>
#include <string.h>

void buf_init(core_buf *b) { b->data = NULL; b->len = b->cap = 0; }

void buf_free(core_buf *b) {
    core_free(b->data);
    buf_init(b);
}

int buf_reserve(core_buf *b, size_t extra) {
    if (extra > SIZE_MAX - b->len - 1) return core_oom("buffer");
    /* one spare byte keeps the contents NUL-terminated */
    return core_grow((void **)&b->data, &b->cap, b->len + extra + 1, 1);
}

int buf_append(core_buf *b, const void *data, size_t len) {
    int rc = buf_reserve(b, len);
    if (rc) return rc;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return AISLE_OK;
}

int buf_printf(core_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return core_error(AISLE_EINTERNAL, "buf_printf: bad format");
    int rc = buf_reserve(b, (size_t)n);
    if (rc) return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return AISLE_OK;
}

int core_copy_string(const char *text, char *out, size_t len, size_t *needed) {
    size_t n = strlen(text);
    if (needed) *needed = n;
    if (!out || len == 0) return n == 0 && !out ? AISLE_OK : core_error(AISLE_ERANGE, "output buffer too small: %zu bytes needed", n + 1);
    if (n + 1 > len) {
        out[0] = '\0';
        return core_error(AISLE_ERANGE, "output buffer too small: %zu bytes needed, %zu given", n + 1, len);
    }
    memcpy(out, text, n + 1);
    return AISLE_OK;
}

int buf_export(const core_buf *b, char *out, size_t len, size_t *needed) {
    return core_copy_string(b->data ? b->data : "", out, len, needed);
}
