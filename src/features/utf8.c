/* utf8.c - strict UTF-8 decoding, simple lower-casing of Latin, Greek,
 * Cyrillic and Armenian, and the character classes the tokenizer uses.
 *
 * Case rules are Unicode's simple (1:1) lower-case mappings written as
 * compact range rules (UnicodeData.txt) rather than a full table: most
 * blocks covered alternate upper/lower case in fixed patterns.  Checked
 * code point by code point against Python 3.11's str.lower() for U+0000..
 * U+058F and U+1E00..U+1EFF (docs/FEATURES.md). */
#include "features.h"

size_t feat_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    if (n > len) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

size_t feat_utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Rule: code points in [lo, hi] whose parity is `par` (0 even, 1 odd) are
 * upper case and map to cp + delta; par -1 means every code point. */
typedef struct case_rule {
    uint32_t lo, hi;
    int par;
    int32_t delta;
} case_rule;

static const case_rule lower_rules[] = {
    {0x0041, 0x005A, -1, 32},    /* A-Z */
    {0x00C0, 0x00D6, -1, 32},    /* Latin-1 À..Ö */
    {0x00D8, 0x00DE, -1, 32},    /* Ø..Þ (× U+00D7 is not a letter; ß stays) */
    {0x0100, 0x012F, 0, 1},      /* Latin Extended-A pairs Ā ā ... */
    {0x0130, 0x0130, -1, -199},  /* İ -> i (simple mapping) */
    {0x0132, 0x0137, 0, 1},
    {0x0139, 0x0148, 1, 1},
    {0x014A, 0x0177, 0, 1},
    {0x0178, 0x0178, -1, -121},  /* Ÿ -> ÿ */
    {0x0179, 0x017E, 1, 1},
    /* Latin Extended-B: irregular (African, pinyin caron, Romanian comma below
     * Ș Ț, digraphs DŽ Lj Nj); delta = lower - upper */
    {0x0181, 0x0181, -1, 210}, {0x0182, 0x0184, 0, 1}, {0x0186, 0x0186, -1, 206},
    {0x0187, 0x0187, -1, 1}, {0x0189, 0x018A, -1, 205}, {0x018B, 0x018B, -1, 1},
    {0x018E, 0x018E, -1, 79}, {0x018F, 0x018F, -1, 202}, {0x0190, 0x0190, -1, 203},
    {0x0191, 0x0191, -1, 1}, {0x0193, 0x0193, -1, 205}, {0x0194, 0x0194, -1, 207},
    {0x0196, 0x0196, -1, 211}, {0x0197, 0x0197, -1, 209}, {0x0198, 0x0198, -1, 1},
    {0x019C, 0x019C, -1, 211}, {0x019D, 0x019D, -1, 213}, {0x019F, 0x019F, -1, 214},
    {0x01A0, 0x01A4, 0, 1}, {0x01A6, 0x01A6, -1, 218}, {0x01A7, 0x01A7, -1, 1},
    {0x01A9, 0x01A9, -1, 218}, {0x01AC, 0x01AC, -1, 1}, {0x01AE, 0x01AE, -1, 218},
    {0x01AF, 0x01AF, -1, 1}, {0x01B1, 0x01B2, -1, 217}, {0x01B3, 0x01B5, 1, 1},
    {0x01B7, 0x01B7, -1, 219}, {0x01B8, 0x01B8, -1, 1}, {0x01BC, 0x01BC, -1, 1},
    {0x01C4, 0x01C4, -1, 2}, {0x01C5, 0x01C5, -1, 1}, {0x01C7, 0x01C7, -1, 2},
    {0x01C8, 0x01C8, -1, 1}, {0x01CA, 0x01CA, -1, 2}, {0x01CB, 0x01DB, 1, 1},
    {0x01DE, 0x01EE, 0, 1}, {0x01F1, 0x01F1, -1, 2}, {0x01F2, 0x01F4, 0, 1},
    {0x01F6, 0x01F6, -1, -97}, {0x01F7, 0x01F7, -1, -56}, {0x01F8, 0x021E, 0, 1},
    {0x0220, 0x0220, -1, -130}, {0x0222, 0x0232, 0, 1}, {0x023A, 0x023A, -1, 10795},
    {0x023B, 0x023B, -1, 1}, {0x023D, 0x023D, -1, -163}, {0x023E, 0x023E, -1, 10792},
    {0x0241, 0x0241, -1, 1}, {0x0243, 0x0243, -1, -195}, {0x0244, 0x0244, -1, 69},
    {0x0245, 0x0245, -1, 71}, {0x0246, 0x024E, 0, 1},
    {0x0370, 0x0373, 0, 1},      /* Greek Heta, Sampi */
    {0x0376, 0x0376, -1, 1},
    {0x037F, 0x037F, -1, 116},   /* Yot */
    {0x0386, 0x0386, -1, 38},    /* Ά -> ά */
    {0x0388, 0x038A, -1, 37},    /* Έ Ή Ί */
    {0x038C, 0x038C, -1, 64},    /* Ό */
    {0x038E, 0x038F, -1, 63},    /* Ύ Ώ */
    {0x0391, 0x03A1, -1, 32},    /* Α..Ρ */
    {0x03A3, 0x03AB, -1, 32},    /* Σ..Ϋ (final ς U+03C2 stays) */
    {0x03CF, 0x03CF, -1, 8},     /* ϏΚαι symbol */
    {0x03D8, 0x03EF, 0, 1},      /* archaic letters and Coptic pairs */
    {0x03F4, 0x03F4, -1, -60},   /* ϴ -> θ */
    {0x03F7, 0x03F7, -1, 1},
    {0x03F9, 0x03F9, -1, -7},    /* Ϲ -> ϲ */
    {0x03FA, 0x03FA, -1, 1},
    {0x03FD, 0x03FF, -1, -130},  /* Ͻ..Ͽ -> ͻ..ͽ */
    {0x0400, 0x040F, -1, 80},    /* Ѐ..Џ -> ѐ..џ (incl. Ё -> ё) */
    {0x0410, 0x042F, -1, 32},    /* А..Я */
    {0x0460, 0x0481, 0, 1},      /* historic Cyrillic pairs */
    {0x048A, 0x04BF, 0, 1},
    {0x04C0, 0x04C0, -1, 15},    /* Ӏ -> ӏ */
    {0x04C1, 0x04CE, 1, 1},
    {0x04D0, 0x052F, 0, 1},
    {0x0531, 0x0556, -1, 48},    /* Armenian */
    {0x1E00, 0x1E95, 0, 1},      /* Latin Extended Additional (Vietnamese etc.) */
    {0x1E9E, 0x1E9E, -1, -7615}, /* ẞ -> ß */
    {0x1EA0, 0x1EFF, 0, 1},
};

uint32_t feat_lower(uint32_t cp) {
    if (cp < 0x41 || cp > 0x1EFF) return cp;
    /* binary search for the last rule starting at or below cp (sorted,
     * disjoint ranges) */
    size_t lo = 0, hi = CORE_ARRAY_LEN(lower_rules);
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (lower_rules[mid].lo <= cp) lo = mid;
        else hi = mid;
    }
    const case_rule *r = &lower_rules[lo];
    if (cp < r->lo || cp > r->hi) return cp;
    if (r->par >= 0 && (int)(cp & 1) != r->par) return cp;
    return (uint32_t)((int32_t)cp + r->delta);
}

int feat_is_cjk(uint32_t cp) {
    return (cp >= 0x1100 && cp <= 0x11FF) ||   /* Hangul Jamo */
           (cp >= 0x3040 && cp <= 0x30FF) ||   /* Hiragana, Katakana */
           (cp >= 0x3130 && cp <= 0x318F) ||   /* Hangul compatibility Jamo */
           (cp >= 0x31F0 && cp <= 0x31FF) ||   /* Katakana phonetic extensions */
           (cp >= 0x3400 && cp <= 0x4DBF) ||   /* CJK Extension A */
           (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK Unified Ideographs */
           (cp >= 0xAC00 && cp <= 0xD7AF) ||   /* Hangul syllables */
           (cp >= 0xF900 && cp <= 0xFAFF) ||   /* CJK compatibility ideographs */
           (cp >= 0xFF66 && cp <= 0xFF9F) ||   /* half-width Katakana */
           (cp >= 0x20000 && cp <= 0x323AF);   /* CJK Extensions B..H */
}

int feat_is_word(uint32_t cp) {
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || ((cp | 32) >= 'a' && (cp | 32) <= 'z');
    if (cp < 0xC0) return cp == 0xAA || cp == 0xB5 || cp == 0xBA; /* controls, symbols; ª µ º */
    if (cp == 0xD7 || cp == 0xF7) return 0;                        /* × ÷ */
    if (cp == 0x037E || cp == 0x0387) return 0;                    /* Greek ; and · */
    if (cp >= 0x0589 && cp <= 0x058A) return 0;                    /* Armenian punctuation */
    if (cp == 0x1680) return 0;                                    /* Ogham space */
    if (cp >= 0x2000 && cp <= 0x2BFF) return 0; /* punctuation, spaces, currency, symbols, arrows */
    if (cp >= 0x2E00 && cp <= 0x2E7F) return 0; /* supplemental punctuation */
    if (cp >= 0x3000 && cp <= 0x303F) return 0; /* CJK symbols and punctuation */
    if (cp >= 0xD800 && cp <= 0xF8FF) return 0; /* surrogates, private use */
    if (cp >= 0xFE00 && cp <= 0xFE1F) return 0; /* variation selectors, vertical forms */
    if (cp >= 0xFE30 && cp <= 0xFE6F) return 0; /* CJK compatibility and small forms */
    if (cp >= 0xFEFF && cp <= 0xFF0F) return 0; /* BOM, full-width punctuation */
    if (cp >= 0xFF1A && cp <= 0xFF20) return 0;
    if (cp >= 0xFF3B && cp <= 0xFF40) return 0;
    if (cp >= 0xFF5B && cp <= 0xFF65) return 0;
    if (cp >= 0xFFF0) return cp > 0xFFFF && !(cp >= 0x1F000 && cp <= 0x1FAFF) && cp < 0xE0000;
    return 1; /* letters, digits and marks of every other script */
}

uint32_t feat_fold_width(uint32_t cp) {
    /* Full-width ASCII variants (U+FF01..U+FF5E) -> ASCII, so "ｉＰｈｏｎｅ１５"
     * tokenizes like "iPhone15"; ideographic space handled as a separator. */
    if (cp >= 0xFF01 && cp <= 0xFF5E) return cp - 0xFEE0;
    return cp;
}
