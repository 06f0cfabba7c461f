/* codec.c - little-endian payload encoding and bounds-checked decoding,
 * float tensors (fp32, fp16, int8 with a scale per row), CRC-32 and the
 * IEEE-754 binary16 conversion.
 *
 * Values are written byte by byte, so files are the same on every host.
 * Every reader checks the bytes left before it reads, and checks a declared
 * count against the bytes left before it allocates, so a crafted count can
 * never make the loader allocate more than the file can fill. */
#include "io.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

/* ---- CRC-32 (IEEE 802.3, the one zlib and PNG use) ---- */

uint32_t io_crc32(const void *data, size_t len) {
    /* zlib's crc32 takes a uInt length: feed large buffers in pieces. */
    uLong c = crc32(0L, Z_NULL, 0);
    const Bytef *p = data;
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

/* ---- binary16 ----
 * Round to nearest, ties to even; overflow gives +-inf, values below the
 * smallest subnormal (2^-24) round to +-0, NaN stays NaN (quiet). */

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t io_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
    if (exp == 0xff) /* inf or NaN (keep NaN quiet and non-zero) */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0));
    int32_t e = (int32_t)exp - 127 + 15; /* rebias */
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        /* subnormal half (or zero): value = m * 2^-24 with m < 1024 */
        if (e < -10) return sign; /* below half the smallest subnormal */
        uint32_t m = man | 0x800000u; /* implicit 1 */
        uint32_t shift = (uint32_t)(14 - e); /* 24-bit mantissa -> 10-bit at 2^-24 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q); /* q may carry into the exponent: still correct */
    }
    uint32_t q = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1))) q++; /* carry may reach inf: correct */
    return (uint16_t)(sign | q);
}

float io_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (!man) return bits_f32(sign);
        /* subnormal: man * 2^-24, exact in float */
        float v = (float)man * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp - 15 + 127) << 23) | (man << 13));
}

/* ---- writing ---- */

int io_put_bytes(core_buf *b, const void *data, size_t len) { return buf_append(b, data, len); }

int io_put_u8(core_buf *b, uint8_t v) { return buf_append(b, &v, 1); }

int io_put_u32(core_buf *b, uint32_t v) {
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return buf_append(b, t, 4);
}

int io_put_u64(core_buf *b, uint64_t v) {
    uint8_t t[8];
    for (int i = 0; i < 8; i++) t[i] = (uint8_t)(v >> (8 * i));
    return buf_append(b, t, 8);
}

int io_put_i64(core_buf *b, int64_t v) { return io_put_u64(b, (uint64_t)v); }
int io_put_f32(core_buf *b, float v) { return io_put_u32(b, f32_bits(v)); }

int io_put_f64(core_buf *b, double v) {
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return io_put_u64(b, u);
}

int io_put_str(core_buf *b, const char *s) {
    size_t n = strlen(s);
    if (n > UINT32_MAX) return core_error(AISLE_ERANGE, "string of %zu bytes is too long for a model file", n);
    int rc = io_put_u32(b, (uint32_t)n);
    return rc ? rc : buf_append(b, s, n);
}

/* Reserves n*elem bytes up front so array writers grow the buffer once. */
static int reserve_array(core_buf *b, uint64_t n, size_t elem) {
    if (n > (SIZE_MAX - 16) / elem) return core_oom("model file array");
    return buf_reserve(b, 8 + (size_t)n * elem);
}

int io_put_u32_array(core_buf *b, const uint32_t *v, uint64_t n) {
    int rc = reserve_array(b, n, 4);
    if (!rc) rc = io_put_u64(b, n);
    for (uint64_t i = 0; !rc && i < n; i++) rc = io_put_u32(b, v[i]);
    return rc;
}

int io_put_u64_array(core_buf *b, const uint64_t *v, uint64_t n) {
    int rc = reserve_array(b, n, 8);
    if (!rc) rc = io_put_u64(b, n);
    for (uint64_t i = 0; !rc && i < n; i++) rc = io_put_u64(b, v[i]);
    return rc;
}

int io_put_f32_array(core_buf *b, const float *v, uint64_t n) {
    int rc = reserve_array(b, n, 4);
    if (!rc) rc = io_put_u64(b, n);
    for (uint64_t i = 0; !rc && i < n; i++) rc = io_put_f32(b, v[i]);
    return rc;
}

/* Per-row scale of the int8 encoding: max|x| / 127 (symmetric). */
static float int8_scale(const float *row, uint64_t cols) {
    float mx = 0.0f;
    for (uint64_t j = 0; j < cols; j++) mx = fmaxf(mx, fabsf(row[j]));
    return mx / 127.0f;
}

int io_put_tensor(core_buf *b, const float *data, uint64_t rows, uint64_t cols, int quant) {
    if (quant != IO_QUANT_NONE && quant != IO_QUANT_FP16 && quant != IO_QUANT_INT8)
        return core_error(AISLE_EINTERNAL, "io_put_tensor: unknown encoding %d", quant);
    if (cols && rows > UINT64_MAX / cols) return core_error(AISLE_ERANGE, "tensor %llu x %llu is too large",
                                                            (unsigned long long)rows, (unsigned long long)cols);
    uint64_t n = rows * cols;
    size_t elem = quant == IO_QUANT_NONE ? 4 : quant == IO_QUANT_FP16 ? 2 : 1;
    if (quant == IO_QUANT_INT8) {
        for (uint64_t i = 0; i < n; i++)
            if (!isfinite(data[i]))
                return core_error(AISLE_EINVAL, "tensor %llu x %llu: value [%llu][%llu] is not finite; "
                                  "int8 needs finite values (use quantize=none or fp16)",
                                  (unsigned long long)rows, (unsigned long long)cols,
                                  (unsigned long long)(i / cols), (unsigned long long)(i % cols));
    }
    if (n > (SIZE_MAX - 64) / (elem + 4)) return core_oom("model file tensor");
    int rc = buf_reserve(b, 17 + (size_t)n * elem + (quant == IO_QUANT_INT8 ? (size_t)rows * 4 : 0));
    if (!rc) rc = io_put_u8(b, (uint8_t)quant);
    if (!rc) rc = io_put_u64(b, rows);
    if (!rc) rc = io_put_u64(b, cols);
    for (uint64_t r = 0; !rc && r < rows; r++) {
        const float *row = data + r * cols;
        if (quant == IO_QUANT_NONE) {
            for (uint64_t j = 0; !rc && j < cols; j++) rc = io_put_f32(b, row[j]);
        } else if (quant == IO_QUANT_FP16) {
            for (uint64_t j = 0; !rc && j < cols; j++) {
                uint16_t h = io_f32_to_f16(row[j]);
                uint8_t t[2] = {(uint8_t)h, (uint8_t)(h >> 8)};
                rc = buf_append(b, t, 2);
            }
        } else {
            float scale = int8_scale(row, cols);
            rc = io_put_f32(b, scale);
            for (uint64_t j = 0; !rc && j < cols; j++) {
                /* |row[j]| <= 127 * scale, so q is in [-127, 127] */
                int q = scale > 0 ? (int)lrintf(row[j] / scale) : 0;
                q = q > 127 ? 127 : q < -127 ? -127 : q;
                rc = io_put_u8(b, (uint8_t)(q < 0 ? q + 256 : q)); /* two's complement */
            }
        }
    }
    return rc;
}

/* ---- reading ---- */

static int short_read(const io_cursor *c, size_t want, const char *what) {
    return core_error(AISLE_EFORMAT, "%s: %s of %zu bytes at offset %zu runs past the end (%zu bytes left)",
                      c->section, what, want, c->pos, c->len - c->pos);
}

static int need(const io_cursor *c, size_t want, const char *what) {
    return want > c->len - c->pos ? short_read(c, want, what) : AISLE_OK;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

int io_get_bytes(io_cursor *c, void *out, size_t len) {
    int rc = need(c, len, "field");
    if (rc) return rc;
    if (len) memcpy(out, c->p + c->pos, len);
    c->pos += len;
    return AISLE_OK;
}

int io_get_u8(io_cursor *c, uint8_t *v) { return io_get_bytes(c, v, 1); }

int io_get_u32(io_cursor *c, uint32_t *v) {
    int rc = need(c, 4, "u32");
    if (rc) return rc;
    *v = rd32(c->p + c->pos);
    c->pos += 4;
    return AISLE_OK;
}

int io_get_u64(io_cursor *c, uint64_t *v) {
    int rc = need(c, 8, "u64");
    if (rc) return rc;
    *v = rd64(c->p + c->pos);
    c->pos += 8;
    return AISLE_OK;
}

int io_get_i64(io_cursor *c, int64_t *v) {
    uint64_t u;
    int rc = io_get_u64(c, &u);
    if (!rc) *v = (int64_t)u;
    return rc;
}

int io_get_f32(io_cursor *c, float *v) {
    uint32_t u;
    int rc = io_get_u32(c, &u);
    if (!rc) *v = bits_f32(u);
    return rc;
}

int io_get_f64(io_cursor *c, double *v) {
    uint64_t u;
    int rc = io_get_u64(c, &u);
    if (!rc) memcpy(v, &u, sizeof *v);
    return rc;
}

int io_get_str(io_cursor *c, char **out) {
    uint32_t n;
    size_t at = c->pos;
    int rc = io_get_u32(c, &n);
    if (rc) return rc;
    if (n > c->len - c->pos) {
        c->pos = at;
        return core_error(AISLE_EFORMAT, "%s: string at offset %zu declares %u bytes, only %zu left", c->section,
                          at, n, c->len - c->pos - 4);
    }
    if (memchr(c->p + c->pos, '\0', n))
        return core_error(AISLE_EFORMAT, "%s: string at offset %zu contains a NUL byte", c->section, at);
    char *s = core_strndup((const char *)c->p + c->pos, n);
    if (!s) return core_oom("model file string");
    c->pos += n;
    *out = s;
    return AISLE_OK;
}

/* Reads an array count and checks it against max_n and the bytes left
 * (elem bytes per value) before anything is allocated. */
static int get_count(io_cursor *c, uint64_t *n, uint64_t max_n, size_t elem, const char *what) {
    size_t at = c->pos;
    int rc = io_get_u64(c, n);
    if (rc) return rc;
    if (*n > max_n)
        return core_error(AISLE_EFORMAT, "%s: %s at offset %zu declares %llu values, at most %llu allowed",
                          c->section, what, at, (unsigned long long)*n, (unsigned long long)max_n);
    if (*n > (c->len - c->pos) / elem)
        return core_error(AISLE_EFORMAT, "%s: %s at offset %zu declares %llu values of %zu bytes, only %zu bytes left",
                          c->section, what, at, (unsigned long long)*n, elem, c->len - c->pos);
    return AISLE_OK;
}

int io_get_u32_array(io_cursor *c, uint32_t **out, uint64_t *n, uint64_t max_n) {
    int rc = get_count(c, n, max_n, 4, "u32 array");
    if (rc) return rc;
    uint32_t *v = core_malloc((size_t)*n * 4);
    if (!v) return core_oom("model file array");
    for (uint64_t i = 0; i < *n; i++, c->pos += 4) v[i] = rd32(c->p + c->pos);
    *out = v;
    return AISLE_OK;
}

int io_get_u64_array(io_cursor *c, uint64_t **out, uint64_t *n, uint64_t max_n) {
    int rc = get_count(c, n, max_n, 8, "u64 array");
    if (rc) return rc;
    uint64_t *v = core_malloc((size_t)*n * 8);
    if (!v) return core_oom("model file array");
    for (uint64_t i = 0; i < *n; i++, c->pos += 8) v[i] = rd64(c->p + c->pos);
    *out = v;
    return AISLE_OK;
}

int io_get_f32_array(io_cursor *c, float **out, uint64_t *n, uint64_t max_n) {
    int rc = get_count(c, n, max_n, 4, "f32 array");
    if (rc) return rc;
    float *v = core_malloc((size_t)*n * 4);
    if (!v) return core_oom("model file array");
    for (uint64_t i = 0; i < *n; i++, c->pos += 4) v[i] = bits_f32(rd32(c->p + c->pos));
    *out = v;
    return AISLE_OK;
}

/* A tensor's header (encoding, shape) checked against the expected shape
 * and the bytes left, without overflow; *at: where the tensor starts. */
static int tensor_head(io_cursor *c, uint8_t *enc_out, uint64_t *rows, uint64_t *cols, uint64_t expect_rows,
                       uint64_t expect_cols, size_t *at_out) {
    size_t at = c->pos;
    uint8_t enc;
    uint64_t r, k;
    int rc = io_get_u8(c, &enc);
    if (!rc) rc = io_get_u64(c, &r);
    if (!rc) rc = io_get_u64(c, &k);
    if (rc) return rc;
    if (enc > IO_QUANT_INT8)
        return core_error(AISLE_EFORMAT, "%s: tensor at offset %zu has unknown encoding %u (0 fp32, 1 fp16, 2 int8)",
                          c->section, at, enc);
    if ((expect_rows && r != expect_rows) || (expect_cols && k != expect_cols))
        return core_error(AISLE_EFORMAT, "%s: tensor at offset %zu is %llu x %llu, expected %llu x %llu", c->section,
                          at, (unsigned long long)r, (unsigned long long)k, (unsigned long long)expect_rows,
                          (unsigned long long)expect_cols);
    /* bytes the declared shape needs, without overflow */
    size_t left = c->len - c->pos, elem = enc == IO_QUANT_NONE ? 4 : enc == IO_QUANT_FP16 ? 2 : 1;
    size_t row_bytes;
    bool fits = k <= (SIZE_MAX - 4) / elem;
    if (fits) {
        row_bytes = (size_t)k * elem + (enc == IO_QUANT_INT8 ? 4 : 0);
        fits = row_bytes == 0 || r <= left / row_bytes; /* k == 0 (fp32/fp16): nothing to read or allocate */
    }
    if (!fits)
        return core_error(AISLE_EFORMAT, "%s: tensor at offset %zu declares %llu x %llu values, more than the %zu bytes left",
                          c->section, at, (unsigned long long)r, (unsigned long long)k, left);
    *enc_out = enc, *rows = r, *cols = k, *at_out = at;
    return AISLE_OK;
}

int io_get_tensor(io_cursor *c, float **out, uint64_t *rows, uint64_t *cols, uint64_t expect_rows,
                  uint64_t expect_cols) {
    size_t at;
    uint8_t enc;
    uint64_t r, k;
    int rc = tensor_head(c, &enc, &r, &k, expect_rows, expect_cols, &at);
    if (rc) return rc;
    size_t n = (size_t)(r * k);
    float *v = core_malloc(n * sizeof *v);
    if (!v) return core_oom("model file tensor");
    const uint8_t *p = c->p + c->pos;
    for (size_t i = 0; (k || enc == IO_QUANT_INT8) && i < (size_t)r; i++) {
        float *row = v + i * (size_t)k;
        if (enc == IO_QUANT_NONE) {
            for (size_t j = 0; j < (size_t)k; j++, p += 4) row[j] = bits_f32(rd32(p));
        } else if (enc == IO_QUANT_FP16) {
            for (size_t j = 0; j < (size_t)k; j++, p += 2) row[j] = io_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
        } else {
            float scale = bits_f32(rd32(p));
            p += 4;
            if (!isfinite(scale) || scale < 0) {
                core_free(v);
                return core_error(AISLE_EFORMAT, "%s: tensor at offset %zu: row %zu has invalid int8 scale %g",
                                  c->section, at, i, (double)scale);
            }
            for (size_t j = 0; j < (size_t)k; j++, p++) row[j] = (float)((int)*p - (*p > 127 ? 256 : 0)) * scale;
        }
    }
    c->pos = (size_t)(p - c->p);
    *out = v;
    *rows = r;
    *cols = k;
    return AISLE_OK;
}

/* Mapped files serve floats in place: only on a little-endian host (the
 * file's byte order) and only from 4-byte aligned addresses. */
static int view_ok(const io_cursor *c, size_t at, size_t align, const char *what) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if ((uintptr_t)(c->p + c->pos) % align == 0) return AISLE_OK;
    return core_error(AISLE_EUNSUPPORTED,
                      "%s: %s at offset %zu is not %zu-byte aligned in the file, so it cannot be served from a "
                      "mapping (written before format 1.1, or compressed); save it again with compression=0",
                      c->section, what, at, align);
#else
    (void)c, (void)align;
    return core_error(AISLE_EUNSUPPORTED, "%s: %s at offset %zu: mapping needs a little-endian host", c->section, what,
                      at);
#endif
}

int io_get_tensor_view_enc(io_cursor *c, const void **out, uint8_t *enc_out, uint64_t *rows, uint64_t *cols,
                           uint64_t expect_rows, uint64_t expect_cols) {
    size_t at;
    uint8_t enc;
    uint64_t r, k;
    int rc = tensor_head(c, &enc, &r, &k, expect_rows, expect_cols, &at);
    if (rc) return rc;
    if (enc == IO_QUANT_INT8)
        return core_error(AISLE_EUNSUPPORTED,
                          "%s: tensor at offset %zu is stored as int8 (save option quantize), so it cannot be served "
                          "from a mapping; save with quantize=none or fp16 (and store_int8=true for the int8 scan)",
                          c->section, at);
    rc = view_ok(c, at, IO_ALIGN, "tensor");
    if (rc) return rc;
    *out = c->p + c->pos; /* tensor_head checked that r * k values fit */
    c->pos += (size_t)(r * k) * (enc == IO_QUANT_FP16 ? 2 : 4);
    *enc_out = enc;
    *rows = r;
    *cols = k;
    return AISLE_OK;
}

int io_get_f32_array_view(io_cursor *c, const float **out, uint64_t *n, uint64_t max_n) {
    size_t at = c->pos;
    int rc = get_count(c, n, max_n, 4, "f32 array");
    if (!rc) rc = view_ok(c, at, 4, "f32 array");
    if (rc) return rc;
    *out = (const float *)(const void *)(c->p + c->pos);
    c->pos += (size_t)*n * 4;
    return AISLE_OK;
}

int io_get_view(io_cursor *c, const void **out, size_t len, size_t align) {
    size_t at = c->pos;
    int rc = need(c, len, "array");
    if (!rc) rc = view_ok(c, at, align, "array");
    if (rc) return rc;
    *out = c->p + c->pos;
    c->pos += len;
    return AISLE_OK;
}

int io_cursor_done(const io_cursor *c) {
    if (c->pos == c->len) return AISLE_OK;
    return core_error(AISLE_EFORMAT, "%s: %zu unexpected bytes after the last field (offset %zu of %zu)", c->section,
                      c->len - c->pos, c->pos, c->len);
}
