/* options.c - options of the bert calls. */
#include "bert.h"

const option_spec bert_options[] = {
    {"max_length", AISLE_OPTION_INT, 0, 16384, "0", NULL, "bert",
     "Longest token sequence a bert model reads, [CLS] and [SEP] included; longer texts are truncated "
     "longest-first. 0 uses the model's max_position_embeddings; more than that is an error."},
    {"head_epochs", AISLE_OPTION_INT, 1, 10000, "20", NULL, "bert",
     "Passes over the labelled texts when fine-tuning a bert model's classification or regression head."},
    {"head_learning_rate", AISLE_OPTION_FLOAT, 0, 10, "0.01", NULL, "bert",
     "AdamW learning rate when fine-tuning a bert model's head."},
    {"finetune_layers", AISLE_OPTION_INT, 0, 128, "0", NULL, "bert",
     "Encoder layers (counted from the top) that fine-tuning a bert model's head also trains, with the pooler; "
     "0 trains the head alone on the frozen encoder. Needs an fp32 model."},
    {"finetune_learning_rate", AISLE_OPTION_FLOAT, 0, 1, "3e-05", NULL, "bert",
     "AdamW peak learning rate of the encoder layers and the pooler when finetune_layers > 0 (linear warm-up "
     "over the first 10% of steps, then linear decay, as BERT's fine-tuning recipe)."},
    OPTION_END};
