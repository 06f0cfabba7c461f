/* text.c - growing buffers, HTML/URL/JSON escaping and {{slot}} templates.
 * Every byte that came from a request or a data file reaches a page through
 * sf_html, sf_url or sf_json. */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sf_buf_free(sf_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int sf_reserve(sf_buf *b, size_t extra) {
    if (b->oom) return 0;
    if (b->len + extra + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra + 1) cap *= 2;
    /* plain realloc: libmicrohttpd frees the page with free() */
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void sf_putn(sf_buf *b, const char *s, size_t n) {
    if (!sf_reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sf_put(sf_buf *b, const char *s) { sf_putn(b, s, strlen(s)); }

void sf_printf(sf_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sf_html(sf_buf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': sf_put(b, "&amp;"); break;
        case '<': sf_put(b, "&lt;"); break;
        case '>': sf_put(b, "&gt;"); break;
        case '"': sf_put(b, "&quot;"); break;
        case '\'': sf_put(b, "&#39;"); break;
        default: sf_putn(b, s, 1);
        }
    }
}

void sf_url(sf_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.~", c)) {
            sf_putn(b, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sf_putn(b, e, 3);
        }
    }
}

void sf_json(sf_buf *b, const char *s) {
    sf_put(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sf_putn(b, e, 2);
        } else if (c < 0x20) {
            sf_printf(b, "\\u%04x", c);
        } else if (c == '<') {
            sf_put(b, "\\u003c"); /* safe to embed in a <script> too */
        } else {
            sf_putn(b, s, 1);
        }
    }
    sf_put(b, "\"");
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
int sf_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || (size_t)(end - p) < len) return 0;
        unsigned cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += len;
    }
    return 1;
}

void sf_render(sf_buf *b, const char *tpl, const char *const *vars) {
    const char *p = tpl;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open) break;
        const char *close = strstr(open + 2, "}}");
        if (!close) break;
        sf_putn(b, p, (size_t)(open - p));
        size_t nlen = (size_t)(close - open - 2);
        for (const char *const *v = vars; v[0]; v += 2) {
            if (strlen(v[0]) == nlen && !memcmp(v[0], open + 2, nlen)) {
                sf_put(b, v[1] ? v[1] : "");
                break;
            }
        }
        p = close + 2;
    }
    sf_put(b, p);
}

char *sf_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    sf_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sf_putn(&b, chunk, n);
    int bad = ferror(f) || b.oom || !b.data;
    fclose(f);
    if (bad) {
        sf_buf_free(&b);
        return NULL;
    }
    return b.data;
}
