/* fuzz_bert_tokenizer.c - libFuzzer target: vocab.txt parsing and BERT's
 * tokenizer.  The input's first line picks the flags; up to the first NUL
 * byte it is also a vocabulary, the rest is text.  Tokenizing any text
 * must succeed with ids inside the vocabulary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bert/bert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\nb\n##a\n##b\nab\n##é\n中\n!\nthe\n##s\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t a = nul ? (size_t)(nul - data) : 0;
    bert_vocab v;
    /* the input's own vocabulary (if any) must parse or fail cleanly */
    if (nul) {
        if (bert_vocab_parse(&v, (const char *)data, a, "vocab.txt") == AISLE_OK) bert_vocab_free(&v);
        else if (!aisle_last_error()[0]) abort();
    }
    if (bert_vocab_parse(&v, base_vocab, sizeof base_vocab - 1, "base") != AISLE_OK) abort();
    size_t off = nul ? a + 1 : 0;
    char *text = malloc(size - off + 1);
    if (!text) return 0;
    memcpy(text, data + off, size - off);
    text[size - off] = '\0';
    bool lower = size & 1, strip = size & 2;
    bert_ids ids = {0};
    if (bert_tokenize(&v, lower, strip, text, size - off, &ids) != AISLE_OK) abort();
    for (size_t i = 0; i < ids.n; i++)
        if (ids.v[i] >= v.n) abort();
    uint32_t tid[16], tty[16];
    size_t n;
    if (bert_encode(&v, lower, strip, text, text, 16, tid, tty, &n) != AISLE_OK || n > 16 || n < 3) abort();
    bert_ids_free(&ids);
    free(text);
    bert_vocab_free(&v);
    return 0;
}
