/* fuzz_bert_safetensors.c - libFuzzer target: a safetensors file image
 * (header length, JSON header).  Any input must parse or fail with a
 * message; every accepted tensor lies inside the file with a byte count
 * that matches its dtype and shape. */
#include <stdint.h>
#include <stdlib.h>

#include "bert/bert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t hlen;
    if (size < 8) {
        uint8_t pad[8] = {0};
        if (bert_st_header_len(pad, size, "fuzz", &hlen) == AISLE_OK) abort();
        return 0;
    }
    if (bert_st_header_len(data, size, "fuzz", &hlen) != AISLE_OK) {
        if (!aisle_last_error()[0]) abort();
        return 0;
    }
    bert_safetensors st;
    int rc = bert_st_parse(&st, (const char *)data + 8, (size_t)hlen, size, "fuzz");
    if (rc) {
        if (!aisle_last_error()[0]) abort();
        return 0;
    }
    for (size_t i = 0; i < st.n; i++) {
        const bert_st_tensor *t = &st.t[i];
        uint64_t n = t->dtype == BERT_DT_F32 ? 4 : 2;
        for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
        if (t->begin > t->end || t->end > size || t->begin < 8 + hlen || t->end - t->begin != n) abort();
        if (bert_st_find(&st, t->name) == NULL) abort();
    }
    bert_st_free(&st);
    return 0;
}
