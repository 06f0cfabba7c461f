/*
 * bert.h - internal interface of the bert module: pretrained BERT
 * checkpoints (config.json, vocab.txt, model.safetensors) imported into an
 * aisle model file, BERT's tokenizer, and the encoder's forward pass with
 * its heads (docs/BERT.md).
 *
 * Everything read from a checkpoint directory is untrusted: JSON is parsed
 * with size, depth and node limits; every tensor's dtype, shape and byte
 * range is checked against the config and the file size before anything
 * is allocated for it.
 */
#ifndef AISLE_BERT_H
#define AISLE_BERT_H

#include "core/core.h"
#include "io/io.h"
#include "nn/nn.h"

#include <stdbool.h>

extern const option_spec bert_options[];

/* ---- bounded JSON (json.c) ---- */
#define BERT_JSON_MAX_BYTES (100u << 20) /* the safetensors spec's own header limit */
#define BERT_JSON_MAX_DEPTH 64
#define BERT_JSON_MAX_NODES (1u << 20) /* ~48 MiB of nodes at most; a BERT-large header needs ~4000 */
#define BERT_JSON_NONE UINT32_MAX

enum { BJ_NULL, BJ_FALSE, BJ_TRUE, BJ_NUM, BJ_STR, BJ_ARR, BJ_OBJ };

typedef struct bert_jnode {
    uint8_t type;
    bool has_key;
    uint32_t count;       /* children of an array or object */
    uint32_t child, next; /* first child, next sibling (BERT_JSON_NONE ends) */
    uint32_t key, key_len; /* member name in the string arena */
    uint32_t str, str_len; /* string value in the arena (NUL-terminated) */
    double num;
} bert_jnode;

typedef struct bert_json {
    bert_jnode *nodes; /* nodes[0] is the root */
    size_t n, cap;
    char *strs;
    size_t slen;
} bert_json;

/* what: the file name for messages ("DIR/config.json"). */
int bert_json_parse(bert_json *j, const char *text, size_t len, const char *what);
void bert_json_free(bert_json *j);
/* Member of object node obj, or BERT_JSON_NONE. */
uint32_t bert_json_get(const bert_json *j, uint32_t obj, const char *key);

/* ---- safetensors header (safetensors.c) ---- */
enum { BERT_DT_F32 = 0, BERT_DT_F16 = 1, BERT_DT_BF16 = 2 };
#define BERT_ST_MAX_DIMS 4
#define BERT_ST_MAX_TENSORS 16384

typedef struct bert_st_tensor {
    char *name;
    int dtype;
    int ndim;
    uint64_t shape[BERT_ST_MAX_DIMS];
    uint64_t begin, end; /* absolute byte offsets in the file */
} bert_st_tensor;

typedef struct bert_safetensors {
    bert_st_tensor *t;
    size_t n;
    uint64_t data_start, file_size;
} bert_safetensors;

/* The header length from a file's first 8 bytes (little-endian u64),
 * checked against the file size and BERT_JSON_MAX_BYTES. */
int bert_st_header_len(const uint8_t first8[8], uint64_t file_size, const char *what, uint64_t *hlen);
/* Parses the JSON header (hlen bytes following the first 8) of a file of
 * file_size bytes: every entry's dtype (F32, F16, BF16), shape and
 * data_offsets (inside the data area, matching the shape's byte count,
 * no overflow) is checked; messages name `what` and the tensor. */
int bert_st_parse(bert_safetensors *st, const char *json, size_t hlen, uint64_t file_size, const char *what);
void bert_st_free(bert_safetensors *st);
const bert_st_tensor *bert_st_find(const bert_safetensors *st, const char *name);

/* ---- config.json (config.c) ---- */
typedef struct bert_config {
    uint32_t vocab, hidden, layers, heads, inter, max_pos, type_vocab, num_labels;
    float eps;
    bool lower, strip_accents, regression;
    bool has_pooler, has_classifier;
} bert_config;

/* Fills c from config.json text; tokenizer_config.json (may be NULL) can
 * set do_lower_case and strip_accents.  Limits keep every later
 * allocation bounded (docs/BERT.md). */
int bert_config_parse(bert_config *c, const char *json, size_t len, const char *what, const char *tok_json,
                      size_t tok_len, const char *tok_what);

/* The classifier's label names from config.json's id2label ({"0": "neg",
 * ...}) into out (empty when the field is absent): keys must be the
 * decimal ids 0 .. num_labels - 1, each once, values unique non-empty
 * UTF-8 strings of at most 256 bytes (AISLE_EFORMAT naming the field). */
int bert_config_labels(const char *json, size_t len, const char *what, uint32_t num_labels, core_keys *out);

/* ---- vocabulary (vocab.c) ---- */
#define BERT_VOCAB_MAX_BYTES (64u << 20)
#define BERT_MAX_TOKEN_BYTES 1024

typedef struct bert_vocab {
    char *arena;          /* tokens, each NUL-terminated */
    uint32_t *off, *len;  /* per id */
    uint32_t n;
    uint32_t *slots;      /* open addressing: id + 1, 0 empty */
    uint32_t nslots;      /* power of two */
    uint32_t unk, cls, sep, pad;
} bert_vocab;

/* One token per line (the line number is the id); "\r\n" accepted. */
int bert_vocab_parse(bert_vocab *v, const char *text, size_t len, const char *what);
void bert_vocab_free(bert_vocab *v);
/* Id of the token, or -1. */
int64_t bert_vocab_find(const bert_vocab *v, const char *s, size_t len);

/* ---- tokenizer (tokenizer.c) ---- */
#define BERT_MAX_WORD_CHARS 100

typedef struct bert_ids {
    uint32_t *v;
    size_t n, cap;
} bert_ids;

void bert_ids_free(bert_ids *ids);
/* Appends the WordPiece ids of text (basic tokenizer + WordPiece). */
int bert_tokenize(const bert_vocab *v, bool lower, bool strip_accents, const char *text, size_t len, bert_ids *out);
/* [CLS] a [SEP] (b [SEP]) with token types, truncated longest-first to
 * max_len (>= 3 with b, >= 2 without).  ids/types: max_len entries. */
int bert_encode(const bert_vocab *v, bool lower, bool strip_accents, const char *a, const char *b,
                size_t max_len, uint32_t *ids, uint32_t *types, size_t *n);

/* ---- model (model.c, forward.c) ---- */
/* A weight matrix [rows x cols] (PyTorch Linear layout: out x in) stored
 * fp32, fp16 or int8 with one scale per row.  int8 is packed for the
 * int8 kernels (int8.c: panels of BERT_PANEL rows, K in 4-byte groups,
 * padding zero); bert_mat_row and bert_int8_at read it. */
typedef struct bert_mat {
    uint32_t rows, cols;
    int enc; /* IO_QUANT_* */
    float *f;
    uint16_t *h;
    int8_t *q; /* packed: bert_int8_packed_bytes(rows, cols) */
    float *scale;
    int32_t *qsum; /* int8: sum of each row's q, for the activations' zero point */
} bert_mat;

typedef struct bert_layer {
    bert_mat qkv; /* [3H x H]: query, key, value rows stacked */
    float *qkv_b;
    bert_mat ao;
    float *ao_b, *ln1_g, *ln1_b;
    bert_mat in;
    float *in_b;
    bert_mat out;
    float *out_b, *ln2_g, *ln2_b;
} bert_layer;

struct aisle_bert {
    bert_config cfg;
    bert_vocab vocab;
    int enc; /* encoding of the big matrices */
    bert_mat word;
    float *pos, *type, *emb_g, *emb_b;
    bert_layer *layer;
    bert_mat pool;
    float *pool_b;
    bert_mat cls;
    float *cls_b;
    int int8_kernel; /* BERT_KERNEL_*: the best the CPU has; tests force the scalar one */
    /* the classifier's label names (config.json id2label), index = class
     * id; empty (n 0) when unknown.  Only with a classifier, then exactly
     * num_labels unique non-empty names. */
    core_keys label_names;
    bool f16c;       /* the CPU widens fp16 in hardware (bert_f16_widen) */
};

int bert_mat_alloc(bert_mat *m, uint32_t rows, uint32_t cols);
void bert_mat_free(bert_mat *m);
/* Re-encodes an fp32 matrix in place (IO_QUANT_FP16 / INT8). */
int bert_mat_encode(bert_mat *m, int enc);
/* Row r as fp32 into out[cols]. */
void bert_mat_row(const bert_mat *m, uint32_t r, float *out);
size_t bert_mat_bytes(const bert_mat *m);

/* All tensors allocated fp32 for cfg (zeroed); pooler/classifier per cfg. */
int bert_model_alloc(aisle_bert *m);
void bert_model_release(aisle_bert *m);
size_t bert_model_bytes(const aisle_bert *m);

/* Imports DIR (config.json, vocab.txt, model.safetensors). */
int bert_import_dir(aisle_bert **out, const char *dir);
/* Model file (kind "bert"): save with cfg's quantize; load. */
int bert_save(const aisle_bert *m, const char *path, const aisle_config *cfg);
int bert_save_buffer(const aisle_bert *m, const aisle_config *cfg, void **out, size_t *len);
int bert_load_buffer(aisle_bert **out, const void *data, size_t len, const aisle_config *cfg, const char *what);
/* The three sections of a bert model (config, vocabulary, weights) as
 * section types base, base + 1, base + 2 of any container: kind "bert"
 * uses IO_SECTION_KIND, an intent model of architecture bert
 * TEXT_SECTION_BERT.  Big matrices in the writer's encoding; reading
 * checks every size against the section before allocating (AISLE_EFORMAT,
 * AISLE_EVERSION naming `what`). */
int bert_write_sections(const aisle_bert *m, io_writer *w, uint32_t base);
int bert_read_sections(io_reader *r, uint32_t base, const char *what, aisle_bert **out);
/* bert_write_sections with the big matrices in encoding quant (IO_QUANT_*)
 * rather than the writer's: a model embedding an int8 or fp16 encoder
 * keeps that encoding when saved without a quantize option. */
int bert_write_sections_enc(const aisle_bert *m, io_writer *w, uint32_t base, int quant);
/* The bert model file at path (an encoder named by an option of a model
 * that embeds one: intent's and pair's `encoder`), read within
 * max_model_bytes; every error's message starts "option OPTION: " and
 * names the file. */
int bert_load_file(const char *path, const aisle_config *cfg, const char *option, aisle_bert **out);

/* ---- int8 products (int8.c) ---- */
enum { BERT_KERNEL_SCALAR = 0, BERT_KERNEL_AVX2 = 1, BERT_KERNEL_VNNI = 2, BERT_KERNEL_AVX512 = 3 };
#define BERT_PANEL 16 /* rows of a packed int8 panel */
/* The fastest kernel this CPU runs (checked at run time); every kernel up
 * to it runs here too. */
int bert_int8_kernel_best(void);
/* Bytes of a packed row group of K: K rounded up to 4. */
size_t bert_int8_stride(size_t k);
/* Bytes of a packed int8 matrix (rows rounded up to BERT_PANEL). */
size_t bert_int8_packed_bytes(size_t rows, size_t cols);
/* Address of element (r, k) of a packed int8 matrix of `cols` columns. */
int8_t *bert_int8_at(int8_t *packed, size_t cols, size_t r, size_t k);
/* Per-token dynamic quantisation of x[k] to 7 bits: x ~ (q - zero) * scale. */
void bert_quantize_row(const float *x, size_t k, uint8_t *q, float *scale, int32_t *zero);
/* Y[n x W->rows] = X W^T for an int8 matrix W and rows of X quantised by
 * bert_quantize_row, row t at xq + t * bert_int8_stride(W->cols) (bytes
 * past W->cols in a row meet zero weights: any value gives the same
 * result); the same floats from every kernel and thread count. */
int bert_gemm_int8(const bert_mat *W, const uint8_t *xq, const float *xs, const int32_t *xz, size_t n, float *Y,
                   int threads, int kernel);

/* Whether the CPU (and OS) has F16C, checked at run time. */
bool bert_cpu_f16c(void);
/* out[j] = h[j] as fp32 for j < n: F16C (vcvtph2ps) when f16c, else
 * io_f16_to_f32; the same values either way (NaNs aside). */
void bert_f16_widen(const uint16_t *h, size_t n, float *out, bool f16c);

/* ---- forward (forward.c) ---- */
/* Sequences packed back to back without padding: sequence s is tokens
 * start[s] .. start[s+1]-1. */
typedef struct bert_seqs {
    size_t nseq;
    const size_t *start; /* nseq + 1 offsets */
    const uint32_t *ids, *types;
} bert_seqs;

/* Forward of packed sequences: hidden [ntok x H] (final layer), pooled
 * [nseq x H] when the model has a pooler (NULL to skip).  Each layer's
 * products are one call over all tokens (sgemm from this thread, or the
 * int8 kernel over `threads`); attention, GELU and LayerNorm run over
 * `threads`.  Only allocation can fail. */
int bert_forward(const aisle_bert *m, const bert_seqs *s, int threads, float *hidden, float *pooled);
/* The same through the embeddings and the first `layers` encoder layers
 * only (pooled only when layers is all of them): the frozen part below
 * the layers being fine-tuned. */
int bert_forward_layers(const aisle_bert *m, const bert_seqs *s, int threads, uint32_t layers, float *hidden,
                        float *pooled);
/* Embeddings of n texts into out[n x hidden] with pooling AISLE_BERT_POOL_*
 * (cls, mean, pooler): what aisle_bert_embed does, for the modules above
 * bert (search's semantic embeddings, intent's encoder).  Options read
 * from cfg: max_length, threads, blas_threads.  Returns AISLE_OK,
 * AISLE_EINVAL (NULL text, unknown pooling), AISLE_EUNSUPPORTED (pooler
 * asked of a model without one), AISLE_ERANGE (max_length), AISLE_ENOMEM.
 * Safe to call from several threads on the same model. */
int bert_embed_texts(const aisle_bert *model, const char *const *texts, size_t n, int pooling,
                     const aisle_config *cfg, float *out);
/* bert_embed_texts (texts or pairs b, may be NULL) with max_length and
 * threads given rather than read from a config (blas_threads untouched):
 * for callers that keep their settings in their own state.  max_len in
 * [2 or 3 with pairs, max positions] (AISLE_ERANGE). */
int bert_embed_with(const aisle_bert *m, const char *const *a, const char *const *b, size_t n, int pooling,
                    size_t max_len, int threads, float *out);
/* Embeddings (AISLE_BERT_POOL_*, pooler only with a pooler) of packed,
 * already encoded sequences into out[nseq x H]: one forward. */
int bert_embed_seqs(const aisle_bert *m, const bert_seqs *s, int pooling, int threads, float *out);
/* Pooled outputs (pooler) of n texts or pairs into out[n x H] (api.c). */
int bert_pooled_batch(const aisle_bert *m, const char *const *a, const char *const *b, size_t n,
                      const aisle_config *cfg, float *out);
/* Trains the head on the frozen encoder's pooled outputs (finetune.c);
 * num_labels 0 keeps the existing head, 1 makes a regression head. */
int bert_finetune_head(aisle_bert *m, const char *const *a, const char *const *b, const float *labels, size_t n,
                       size_t num_labels, const aisle_config *cfg, double *final_loss);
/* r[j] = GELU(r[j] + bias[j]) with erf, j < n: AVX-512 (erf within ~2e-7,
 * forward.c) where the CPU has it, else libm's erff. */
void bert_gelu(float *r, const float *bias, size_t n);
/* Head on a pooled vector: probabilities (softmax) or the regression value. */
void bert_head(const aisle_bert *m, const float *pooled, float *out);
/* Token budget of one sequence from the option max_length (0: the model's
 * positions); AISLE_ERANGE above the model's positions (api.c). */
int bert_max_length(const aisle_bert *m, const aisle_config *cfg, size_t *out);

/* ---- fine-tuning the last encoder layers (tune.c) ----
 * A trainable fp32 copy of the top n encoder layers, the pooler and the
 * head in nn stores (the nn core's layout: a linear layer's W is in x out,
 * the model's transposed), trained on packed batches: the frozen layers
 * below run through bert_forward_layers, the trained ones through the nn
 * core's layers (linear, ragged attention, layer norm, exact GELU), whose
 * forward is BERT's post-LN block:
 *   h1 = LN1(x + Attn(x) Wo + bo);  y = LN2(h1 + GELU(h1 Wi + bi) Wf + bf)
 * then pooled = tanh([CLS] Wp + bp), logits = pooled Wc + bc. */
typedef struct bert_tune_layer {
    nn_linear qkv, ao, in, out;
    nn_layernorm ln1, ln2;
    /* the current batch's activations, kept for the backward */
    float *x, *qkv_y, *P, *ctx, *r1, *mean1, *rstd1, *h1, *inter, *act, *r2, *mean2, *rstd2;
} bert_tune_layer;

typedef struct bert_tuner {
    const aisle_bert *m;
    uint32_t first, n; /* trains layers first .. first + n - 1 (n 0: pooler and head only) */
    uint32_t labels;
    bool regression;
    int threads;
    nn_store enc;  /* the layers and the pooler */
    nn_store head; /* the classifier (its own learning rate) */
    bert_tune_layer *tl;
    nn_linear pool, cls;
    size_t max_rows, max_seqs, *lens;
    nn_batch bt;
    float *top, *cls_x, *pooled, *logits;
    float *d_h, *d_r, *d_h1, *d_qkv, *d_ctx, *d_inter, *d_cls, *d_pooled, *d_logits, *scratch;
} bert_tuner;

/* Copies m's top n layers, pooler and head (keep_head) or a new head of
 * `labels` outputs drawn from N(0, 0.02^2) (regression: one output), and
 * sizes the workspace for batches of up to max_seqs sequences, max_rows
 * tokens, max_len tokens each.  m must be fp32 and must outlive t. */
int bert_tuner_init(bert_tuner *t, const aisle_bert *m, uint32_t n, uint32_t labels, bool regression, bool keep_head,
                    size_t max_rows, size_t max_seqs, size_t max_len, int threads, core_rng *rng);
void bert_tuner_free(bert_tuner *t);
/* Mean loss over the batch's sequences (softmax cross-entropy on class
 * indices, or half the squared error) into *loss; with backward, adds the
 * gradient of that mean to both stores' gradients.  t->logits then holds
 * the raw outputs. */
int bert_tuner_batch(bert_tuner *t, const bert_seqs *s, const float *labels, bool backward, double *loss);
/* Writes the trained layers, pooler and head back into m (the head
 * allocation first: on failure m is unchanged). */
int bert_tuner_install(const bert_tuner *t, aisle_bert *m);
/* bert_finetune_head with the option finetune_layers > 0: trains the top
 * layers, the pooler and the head (labels checked by the caller). */
int bert_finetune_layers(aisle_bert *m, const char *const *a, const char *const *b, const float *labels, size_t n,
                         uint32_t num_labels, bool regression, bool keep_head, const aisle_config *cfg,
                         double *final_loss);

/* ---- architecture `bert` of the intent kind (intent.c) ----
 * A text_arch_ops (src/text/text.h) reading raw texts; the intent kind
 * adds it to the text layer's architectures. */
struct text_arch_ops;
extern const struct text_arch_ops bert_intent_ops;

#endif /* AISLE_BERT_H */
