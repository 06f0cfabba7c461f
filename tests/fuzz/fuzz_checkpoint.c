/* fuzz_checkpoint.c - libFuzzer target: the training checkpoint reader
 * (src/models/checkpoint.c) that distributed training resumes from, for
 * every kind.  The input is a checkpoint image read against the kind,
 * fields and state arrays of the seed (tests/fuzz/make_corpus.c,
 * checkpoint_seed): it must be accepted with every array fully written,
 * or refused with a status and a message, leaving every array as it was,
 * never read past its buffers.  The epoch counter alone (model_ckpt_peek,
 * which the text encoder's resume reads first to pick its stage's arrays)
 * is read from the same input: refused with a message or a count, which
 * a full read that accepts the input must agree with. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    float weights[6 * 4];
    uint32_t order[5];
    uint64_t counters[3];
    memset(weights, 0xAB, sizeof weights);
    memset(order, 0xAB, sizeof order);
    memset(counters, 0xAB, sizeof counters);
    const model_ckpt_field fields[] = {{"ranks", 2}, {"seed", 0x5eed5eed5eed5eedull}, {"factors", 4}};
    const model_ckpt_part parts[] = {{"weights", weights, 6 * 4, 4}, {"user_order", order, 5, 4},
                                     {"counters", counters, 3, 8}};
    const model_ckpt ck = {"fuzzkind", fields, 3, parts, 3};
    uint64_t epoch = 99, peeked = 99;
    int prc = model_ckpt_peek(data, size, "fuzz.ckpt", model_ckpt_max_bytes(&ck), &peeked);
    if (prc && (aisle_last_error()[0] == '\0' || peeked != 0)) abort();
    int rc = model_ckpt_read(data, size, "fuzz.ckpt", &ck, &epoch);
    if (!rc && (prc || peeked != epoch)) abort();
    /* the fill pattern is bytes the seed never holds */
    static const unsigned char fill[8] = {0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB};
    size_t filled = 0;
    for (size_t k = 0; k < 6 * 4; k++) filled += memcmp(&weights[k], fill, 4) == 0;
    for (size_t k = 0; k < 5; k++) filled += memcmp(&order[k], fill, 4) == 0;
    for (size_t k = 0; k < 3; k++) filled += memcmp(&counters[k], fill, 8) == 0;
    if (rc) {
        /* refused: a message, no epoch, nothing written */
        if (aisle_last_error()[0] == '\0' || epoch != 0 || filled != 6 * 4 + 5 + 3) abort();
        return 0;
    }
    (void)filled; /* accepted: any stored values (they may equal the fill) */
    return 0;
}
