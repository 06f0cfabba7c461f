/* version.c - run-time version of the loaded library. */
#include "core.h"

AISLE_API const char *aisle_version(void) { return AISLE_VERSION_STRING; }

AISLE_API int aisle_version_number(void) { return AISLE_VERSION_NUMBER; }
