/* parse.c - numbers and timestamps in data files.
 *
 * Numbers: a fast path for plain decimals (at most 15 significant digits,
 * no exponent) computes mantissa / 10^k, which is correctly rounded since
 * both are exact doubles; anything else goes through strtod after a
 * character check that keeps out "nan", "inf" and hex floats.
 *
 * Times are UTC.  Calendar dates become days since 1970-01-01 with the
 * days_from_civil algorithm (H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms"), valid for the proleptic Gregorian calendar. */
#include "data.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static void trim(const char **p, size_t *len) {
    while (*len && ((*p)[0] == ' ' || (*p)[0] == '\t')) (*p)++, (*len)--;
    while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t')) (*len)--;
}

int data_parse_number(const char *p, size_t len, double *out) {
    if (len && len <= 15) { /* plain digits: exact, the most common value */
        uint64_t mant = 0;
        size_t i = 0;
        for (; i < len && (unsigned)(p[i] - '0') <= 9; i++) mant = mant * 10 + (uint64_t)(p[i] - '0');
        if (i == len) {
            *out = (double)mant;
            return 0;
        }
    }
    trim(&p, &len);
    if (!len) return -1;
    size_t i = 0;
    bool neg = false;
    if (p[0] == '-' || p[0] == '+') neg = p[i++] == '-';
    uint64_t mant = 0;
    int digits = 0, frac = 0;
    bool any = false, fast = true;
    while (i < len && p[i] >= '0' && p[i] <= '9') {
        if (mant || p[i] != '0') digits++;
        mant = mant * 10 + (uint64_t)(p[i] - '0');
        if (digits > 15) fast = false;
        any = true;
        i++;
    }
    if (i < len && p[i] == '.') {
        i++;
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            if (mant || p[i] != '0') digits++;
            mant = mant * 10 + (uint64_t)(p[i] - '0');
            frac++;
            if (digits > 15 || frac > 22) fast = false;
            any = true;
            i++;
        }
    }
    if (!any) return -1;
    if (i == len && fast) {
        double v = (double)mant / pow10_tab[frac];
        *out = neg ? -v : v;
        return 0;
    }
    /* exponent or many digits: strtod on a checked copy */
    if (len > 64) return -1;
    char tmp[72];
    for (size_t k = 0; k < len; k++) {
        char c = p[k];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) return -1;
        tmp[k] = c;
    }
    tmp[len] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (*end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* ---- time ------------------------------------------------------------------ */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int days_in_month(int64_t y, int m) {
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

typedef struct tm_parts {
    int64_t year;
    int mon, day, hour, min, sec, yday; /* yday 1-based, 0 = unset */
    int pm;                             /* -1 unset, 0 am, 1 pm */
    int64_t offset;                     /* seconds east of UTC */
    bool has_epoch;
    int64_t epoch;
} tm_parts;

/* Reads between min and max digits. */
static int read_int(const char **s, const char *end, int min, int max, int64_t *out) {
    int n = 0;
    int64_t v = 0;
    while (*s < end && n < max && **s >= '0' && **s <= '9') {
        v = v * 10 + (**s - '0');
        (*s)++;
        n++;
    }
    if (n < min) return -1;
    *out = v;
    return 0;
}

static int read_offset(const char **s, const char *end, int64_t *out) {
    if (*s < end && (**s == 'Z' || **s == 'z')) {
        (*s)++;
        *out = 0;
        return 0;
    }
    if (*s >= end || (**s != '+' && **s != '-')) return -1;
    int sign = **s == '-' ? -1 : 1;
    (*s)++;
    int64_t hh, mm = 0;
    if (read_int(s, end, 2, 2, &hh)) return -1;
    if (*s < end && **s == ':') (*s)++;
    if (*s < end && **s >= '0' && **s <= '9' && read_int(s, end, 2, 2, &mm)) return -1;
    if (hh > 23 || mm > 59) return -1;
    *out = sign * (hh * 3600 + mm * 60);
    return 0;
}

static const char *const month_names[] = {"january", "february", "march",     "april",   "may",      "june",
                                          "july",    "august",   "september", "october", "november", "december"};

static int read_month_name(const char **s, const char *end, int *mon) {
    for (int m = 0; m < 12; m++) {
        size_t full = strlen(month_names[m]);
        if ((size_t)(end - *s) >= full && strncasecmp(*s, month_names[m], full) == 0) {
            *s += full;
            *mon = m + 1;
            return 0;
        }
    }
    for (int m = 0; m < 12; m++)
        if (end - *s >= 3 && strncasecmp(*s, month_names[m], 3) == 0) {
            *s += 3;
            *mon = m + 1;
            return 0;
        }
    return -1;
}

static int finish(const tm_parts *t, int64_t *out) {
    if (t->has_epoch) {
        *out = t->epoch;
        return 0;
    }
    int hour = t->hour;
    if (t->pm >= 0) {
        if (hour < 1 || hour > 12) return -1;
        hour = hour % 12 + (t->pm ? 12 : 0);
    }
    int mon = t->mon, day = t->day;
    if (t->yday) {
        if (t->yday > 365 + (days_in_month(t->year, 2) == 29)) return -1;
        int64_t days = days_from_civil(t->year, 1, 1) + t->yday - 1;
        *out = days * 86400 + hour * 3600 + t->min * 60 + t->sec - t->offset;
        return 0;
    }
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(t->year, mon)) return -1;
    if (hour > 23 || t->min > 59 || t->sec > 60) return -1;
    int64_t days = days_from_civil(t->year, (unsigned)mon, (unsigned)day);
    *out = days * 86400 + hour * 3600 + t->min * 60 + t->sec - t->offset;
    return 0;
}

/* ISO 8601: YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|+HH[:MM]]. */
static int parse_iso(const char *s, const char *end, int64_t *out) {
    tm_parts t = {0};
    t.pm = -1;
    int64_t v;
    if (read_int(&s, end, 4, 4, &t.year) || s >= end || *s != '-') return -1;
    s++;
    if (read_int(&s, end, 2, 2, &v)) return -1;
    t.mon = (int)v;
    if (s >= end || *s != '-') return -1;
    s++;
    if (read_int(&s, end, 2, 2, &v)) return -1;
    t.day = (int)v;
    if (s < end && (*s == 'T' || *s == ' ')) {
        s++;
        if (read_int(&s, end, 2, 2, &v)) return -1;
        t.hour = (int)v;
        if (s >= end || *s != ':') return -1;
        s++;
        if (read_int(&s, end, 2, 2, &v)) return -1;
        t.min = (int)v;
        if (s < end && *s == ':') {
            s++;
            if (read_int(&s, end, 2, 2, &v)) return -1;
            t.sec = (int)v;
            if (s < end && (*s == '.' || *s == ',')) {
                s++;
                if (read_int(&s, end, 1, 9, &v)) return -1; /* fraction dropped */
            }
        }
        if (s < end && read_offset(&s, end, &t.offset)) return -1;
    }
    if (s != end) return -1;
    return finish(&t, out);
}

static int parse_format(const char *s, const char *end, const char *fmt, int64_t *out) {
    tm_parts t = {0};
    t.pm = -1;
    t.year = 1970;
    t.mon = 1;
    t.day = 1;
    int64_t v;
    for (const char *f = fmt; *f; f++) {
        if (isspace((unsigned char)*f)) {
            while (s < end && isspace((unsigned char)*s)) s++;
            continue;
        }
        if (*f != '%') {
            if (s >= end || *s != *f) return -1;
            s++;
            continue;
        }
        f++;
        switch (*f) {
        case 'Y': {
            bool neg = s < end && *s == '-';
            if (neg) s++;
            if (read_int(&s, end, 1, 4, &v)) return -1;
            t.year = neg ? -v : v;
            break;
        }
        case 'y':
            if (read_int(&s, end, 1, 2, &v)) return -1;
            t.year = v < 69 ? 2000 + v : 1900 + v; /* POSIX strptime's pivot */
            break;
        case 'm': if (read_int(&s, end, 1, 2, &v)) return -1; t.mon = (int)v; break;
        case 'd':
        case 'e':
            while (s < end && *s == ' ') s++;
            if (read_int(&s, end, 1, 2, &v)) return -1;
            t.day = (int)v;
            break;
        case 'H':
        case 'I': if (read_int(&s, end, 1, 2, &v)) return -1; t.hour = (int)v; break;
        case 'M': if (read_int(&s, end, 1, 2, &v)) return -1; t.min = (int)v; break;
        case 'S': if (read_int(&s, end, 1, 2, &v)) return -1; t.sec = (int)v; break;
        case 'j':
            if (read_int(&s, end, 1, 3, &v) || v < 1) return -1;
            t.yday = (int)v;
            break;
        case 'p':
            if (end - s >= 2 && strncasecmp(s, "am", 2) == 0) t.pm = 0;
            else if (end - s >= 2 && strncasecmp(s, "pm", 2) == 0) t.pm = 1;
            else return -1;
            s += 2;
            break;
        case 'b':
        case 'B':
        case 'h':
            if (read_month_name(&s, end, &t.mon)) return -1;
            break;
        case 's': {
            bool neg = s < end && *s == '-';
            if (neg) s++;
            if (read_int(&s, end, 1, 18, &v)) return -1;
            t.has_epoch = true;
            t.epoch = neg ? -v : v;
            break;
        }
        case 'z': if (read_offset(&s, end, &t.offset)) return -1; break;
        case 'T': {
                int64_t h, mi, se;
                if (read_int(&s, end, 1, 2, &h) || s >= end || *s++ != ':' || read_int(&s, end, 1, 2, &mi) ||
                    s >= end || *s++ != ':' || read_int(&s, end, 1, 2, &se))
                    return -1;
                t.hour = (int)h, t.min = (int)mi, t.sec = (int)se;
            break;
        }
        case 'F': {
            int64_t mo, d;
            if (read_int(&s, end, 1, 4, &t.year) || s >= end || *s++ != '-' || read_int(&s, end, 1, 2, &mo) ||
                s >= end || *s++ != '-' || read_int(&s, end, 1, 2, &d))
                return -1;
            t.mon = (int)mo, t.day = (int)d;
            break;
        }
        case 'D': {
            int64_t mo, d, y;
            if (read_int(&s, end, 1, 2, &mo) || s >= end || *s++ != '/' || read_int(&s, end, 1, 2, &d) ||
                s >= end || *s++ != '/' || read_int(&s, end, 1, 2, &y))
                return -1;
            t.mon = (int)mo, t.day = (int)d, t.year = y < 69 ? 2000 + y : 1900 + y;
            break;
        }
        case '%':
            if (s >= end || *s != '%') return -1;
            s++;
            break;
        default: return -1; /* unknown conversions are rejected when the option is read */
        }
    }
    if (s != end) return -1;
    return finish(&t, out);
}

/* Eight ASCII digits at once (SWAR, little-endian only): the digit test
 * checks every byte is 0x30..0x39, then pairs, quads and octets are
 * combined by multiply-shift (as in simdjson's parse_eight_digits). */
static inline bool digits8(const char *p, int64_t *out) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w;
    memcpy(&w, p, 8);
    if ((w & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull ||
        ((w + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull)
        return false;
    w -= 0x3030303030303030ull;
    w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFull;
    w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFull;
    w = (w * 10000 + (w >> 32)) & 0xFFFFFFFFull;
    *out = (int64_t)w;
    return true;
#else
    (void)p, (void)out;
    return false;
#endif
}

int data_parse_time(const char *p, size_t len, const char *fmt, int64_t *out) {
    if (len && len <= 18 && !(fmt && fmt[0])) { /* plain digits: epoch seconds, the most common time */
        int64_t v = 0;
        size_t i = 0;
        if (len >= 8 && digits8(p, &v)) i = 8;
        for (; i < len && (unsigned)(p[i] - '0') <= 9; i++) v = v * 10 + (p[i] - '0');
        if (i == len) {
            *out = v;
            return 0;
        }
    }
    trim(&p, &len);
    if (!len) return -1;
    const char *end = p + len;
    if (fmt && fmt[0]) return parse_format(p, end, fmt, out);
    /* epoch seconds (a fraction is dropped toward minus infinity) */
    size_t i = p[0] == '-' || p[0] == '+' ? 1 : 0;
    size_t digits = 0;
    while (i + digits < len && p[i + digits] >= '0' && p[i + digits] <= '9') digits++;
    if (digits && (i + digits == len || p[i + digits] == '.') && !(digits == 4 && i + digits < len && p[4] == '-')) {
        if (digits > 18) return -1;
        int64_t v = 0;
        for (size_t k = 0; k < digits; k++) v = v * 10 + (p[i + k] - '0');
        size_t j = i + digits;
        bool frac_nonzero = false;
        if (j < len) {
            j++;
            if (j == len) return -1;
            for (; j < len; j++) {
                if (p[j] < '0' || p[j] > '9') return -1;
                frac_nonzero |= p[j] != '0';
            }
        }
        if (p[0] == '-') v = -v - (frac_nonzero ? 1 : 0);
        *out = v;
        return 0;
    }
    return parse_iso(p, end, out);
}
