/* options.c - options of the model file writer and reader. */
#include "io.h"

const option_spec io_options[] = {
    {"compression", AISLE_OPTION_INT, 0, 9, "6", NULL, "save",
     "zlib level for model file sections: 0 stores raw bytes, 9 compresses most."},
    {"quantize", AISLE_OPTION_STRING, 0, 0, "none", "none|fp16|int8", "save",
     "Encoding of large float tensors in saved models: none (fp32, exact), fp16, or int8 with a "
     "scale per row."},
    {"max_model_bytes", AISLE_OPTION_INT, 4096, 1099511627776.0, "2147483648", NULL, "load",
     "Largest model a load accepts, in decompressed bytes (default 2 GiB, so an untrusted file "
     "cannot take more memory than a shop server has; raise it for bigger models); bigger or "
     "corrupt size fields fail with AISLE_ERANGE before anything is allocated."},
    OPTION_END};
