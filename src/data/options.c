/* options.c - options of the data module (loaders, splits). */
#include "data.h"

const option_spec data_options[] = {
    OPTION_END};
