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
    {"store_int8", AISLE_OPTION_BOOL, 0, 1, "false", NULL, "save",
     "Latent-factor models (als, bpr, mf, hybrid): also store the int8 copy of the item factors "
     "that the exact int8 top-k scan reads (scan=auto|int8), so a loaded or mapped model serves "
     "it as stored instead of building it; needs quantize=none or fp16 (then built from the fp16 "
     "values)."},
    {"store_mappable", AISLE_OPTION_BOOL, 0, 1, "false", NULL, "save",
     "Also store the key dictionaries (keys, offsets, hash table) and the training history (CSR "
     "arrays) 64-byte aligned, so that a mapped open (mmap=true) serves them in place instead of "
     "decoding them: opening takes milliseconds at any size. Needs compression=0; the file grows "
     "by about the size of those sections; older readers skip the copies."},
    {"mmap", AISLE_OPTION_BOOL, 0, 1, "false", NULL, "load",
     "aisle_model_load maps the file read-only and serves the factor tensors (and a stored int8 "
     "copy) in place instead of copying them: opening is fast and processes share the pages. "
     "Latent-factor kinds only, files saved with compression=0 and quantize=none or fp16 (fp16 "
     "rows are served as stored, widened as read; else AISLE_EUNSUPPORTED); docs/FORMAT.md."},
    {"mmap_verify", AISLE_OPTION_STRING, 0, 0, "open", "open|none", "load",
     "With mmap=true: open checks the CRC of every mapped section while opening (reads the whole "
     "file once); none skips it for the mapped tensors (opening touches almost nothing; a "
     "corrupt tensor then gives wrong scores, never a crash: every size is still checked)."},
    OPTION_END};
