/* fuzz_bert_config.c - libFuzzer target: config.json and
 * tokenizer_config.json (the input split at its first NUL byte) and the
 * bounded JSON parser under them.  Any input must parse or fail with a
 * message; an accepted config stays inside the documented limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bert/bert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const uint8_t *nul = memchr(data, 0, size);
    size_t a = nul ? (size_t)(nul - data) : size;
    bert_json j;
    if (bert_json_parse(&j, text, a, "fuzz") == AISLE_OK) {
        if (j.n == 0) abort();
        for (size_t i = 0; i < j.n; i++)
            if (j.nodes[i].type == BJ_STR && j.nodes[i].str + j.nodes[i].str_len >= j.slen + 1) abort();
        bert_json_free(&j);
    } else if (!aisle_last_error()[0]) {
        abort();
    }
    bert_config c;
    int rc = bert_config_parse(&c, text, a, "config.json", nul ? text + a + 1 : NULL, nul ? size - a - 1 : 0,
                               "tokenizer_config.json");
    if (rc) {
        if (!aisle_last_error()[0]) abort();
        return 0;
    }
    if (!c.hidden || c.hidden % c.heads || c.layers > 128 || c.vocab > 4000000 || !c.num_labels ||
        !(c.eps > 0 && c.eps < 1))
        abort();
    return 0;
}
