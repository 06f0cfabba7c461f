/* fuzz_als_checkpoint.c - libFuzzer target: the ALS training checkpoint
 * reader (src/models/als_checkpoint.c) that distributed training resumes
 * from.  The input is a checkpoint image read against the sizes and
 * fingerprint of the seed (6 users, 5 items, 4 factors): it must be
 * accepted with every factor finite-or-not but fully written, or refused
 * with a status and a message, never read past its buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const model_als_checkpoint want = {0, 6, 5, 4, 0x5eed5eed5eed5eedull};
    float user[6 * 4], item[5 * 4];
    memset(user, 0xAB, sizeof user);
    memset(item, 0xAB, sizeof item);
    uint64_t epoch = 99;
    int rc = model_als_checkpoint_read(data, size, "fuzz.ckpt", &want, user, item, &epoch);
    if (rc) {
        if (aisle_last_error()[0] == '\0' || epoch != 0) abort();
        return 0;
    }
    /* accepted: both matrices overwritten (the fill pattern is a NaN that
     * the writer never produces from finite factors, so check bytes) */
    static const unsigned char fill[4] = {0xAB, 0xAB, 0xAB, 0xAB};
    for (size_t k = 0; k < 6 * 4; k++)
        if (memcmp(&user[k], fill, 4) == 0) abort();
    for (size_t k = 0; k < 5 * 4; k++)
        if (memcmp(&item[k], fill, 4) == 0) abort();
    return 0;
}
