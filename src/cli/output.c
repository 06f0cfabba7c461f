/* output.c - what the tool writes: error lines, the progress line, JSON
 * values and fixed-width terminal cells.  It calls nothing else of the tool,
 * so every other file may use it. */
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- text from data (keys, titles, metric names) ---- */

/* Length of a C1 control (U+0080..U+009F, UTF-8 C2 80..C2 9F: 0x9B is CSI
 * on some terminals) at p, or 0. */
static int c1_control(const unsigned char *p) { return p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F ? 2 : 0; }

static int needs_escape(const unsigned char *p) { return *p < 0x20 || *p == 0x7f || c1_control(p); }

void cli_write_text(FILE *f, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (!needs_escape(p)) {
            fputc(*p, f);
        } else if (c1_control(p)) {
            fprintf(f, "\\u%04x", p[1]);
            p++;
        } else {
            fprintf(f, "\\x%02x", *p);
        }
    }
}

const char *cli_text(const char *s, char *buf, size_t cap) {
    const unsigned char *p = (const unsigned char *)s;
    if (!s) return "";
    while (*p && !needs_escape(p)) p++;
    if (!*p) return s; /* the usual case: nothing to escape */
    size_t o = 0;
    for (p = (const unsigned char *)s; *p && o + 8 < cap; p++) {
        if (!needs_escape(p)) buf[o++] = (char)*p;
        else if (c1_control(p)) o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", p[1]), p++;
        else o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", *p);
    }
    if (*p && o + 4 <= cap) memcpy(buf + o, "...", 3), o += 3;
    buf[o < cap ? o : cap - 1] = '\0';
    return buf;
}

/* ---- errors ---- */

int cli_error(int code, const char *fmt, ...) {
    va_list ap;
    cli_progress_done();
    fflush(stdout); /* keep the order of what was printed so far */
    char msg[4096];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fputs("aisle: error: ", stderr);
    cli_write_text(stderr, msg); /* messages quote keys and file text */
    fputc('\n', stderr);
    return code;
}

int cli_fail(int rc, const char *what) {
    const char *msg = aisle_last_error();
    if (!msg[0]) msg = aisle_strerror(rc);
    return cli_error(CLI_RUNTIME, "%s: %s", what, msg);
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- progress ---- */

/* The tool is one process drawing one progress line at a time, so its
 * state is a single static. */
static struct {
    const char *what;
    int drawn;
    double last;
} progress;

static int progress_cb(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)user;
    double now = cli_now();
    if (step < steps && now - progress.last < 0.1) return 0;
    progress.last = now;
    char extra[96] = "";
    int n = 0;
    if (!isnan(loss)) n += snprintf(extra + n, sizeof extra - (size_t)n, "  loss %.4g", loss);
    if (!isnan(metric) && n < (int)sizeof extra)
        n += snprintf(extra + n, sizeof extra - (size_t)n, "  metric %.4f", metric);
    double rate = elapsed > 0 ? step / elapsed : 0;
    double eta = rate > 0 ? (steps - step) / rate : 0;
    fprintf(stderr, "\r%s %d/%d%s  %.2f/s  ETA %.0fs   ", progress.what, step, steps, extra, rate, eta);
    fflush(stderr);
    progress.drawn = 1;
    return 0;
}

void cli_progress_install(aisle_config *cfg, const cli_opts *o, const char *what) {
    cli_progress_done();
    if (o->quiet || !isatty(STDERR_FILENO)) return;
    progress.what = what;
    progress.last = 0;
    aisle_config_set_progress(cfg, progress_cb, NULL);
}

void cli_progress_done(void) {
    if (progress.drawn) fputc('\n', stderr);
    progress.drawn = 0;
}

/* ---- JSON ---- */

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void cli_json_number(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

/* Whether text is exactly one JSON number (RFC 8259 grammar). */
static int json_number_text(const char *p) {
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return 0;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    return *p == '\0';
}

void cli_json_scalar(FILE *f, const char *text) {
    if (json_number_text(text) && isfinite(strtod(text, NULL)))
        fputs(text, f);
    else if (!strcmp(text, "true") || !strcmp(text, "false"))
        fputs(text, f);
    else
        cli_json_string(f, text);
}

void cli_json_options(FILE *f, const char *text) {
    fputc('{', f);
    const char *p = text;
    int first = 1;
    char *val = malloc(strlen(text) + 1), *key = malloc(strlen(text) + 1);
    while (val && key && *p) {
        while (*p == ' ') p++;
        if (!*p) break;
        size_t k = 0, v = 0;
        while (*p && *p != '=' && *p != ' ') key[k++] = *p++;
        key[k] = '\0';
        if (*p == '=') p++;
        if (*p == '"') {
            /* a quoted value: \" and \\ are escapes */
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                val[v++] = *p;
            }
            if (*p == '"') p++;
            val[v] = '\0';
            fputs(first ? "" : ", ", f);
            cli_json_string(f, key);
            fputs(": ", f);
            cli_json_string(f, val);
        } else {
            while (*p && *p != ' ') val[v++] = *p++;
            val[v] = '\0';
            fputs(first ? "" : ", ", f);
            cli_json_string(f, key);
            fputs(": ", f);
            cli_json_scalar(f, val);
        }
        first = 0;
    }
    free(val);
    free(key);
    fputc('}', f);
}

/* ---- terminal cells ---- */

/* Display columns of a code point: 2 for East Asian wide ranges (CJK,
 * Hangul, full-width forms), else 1. */
static int cp_width(unsigned cp) {
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
                   (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
                   (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || cp >= 0x20000
               ? 2
               : 1;
}

void cli_print_cell(FILE *f, const char *s, int width) {
    int used = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 1;
        unsigned cp = len == 1 ? *p : (unsigned)(*p & (0x3F >> (len - 1)));
        int ok = 1;
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) ok = 0;
            else cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (!ok) len = 1, cp = '?';
        int w = cp_width(cp);
        if (used + w > width) break; /* never split a character */
        fwrite(p, 1, (size_t)len, f);
        used += w;
        p += len;
    }
    for (; used < width; used++) fputc(' ', f);
}
