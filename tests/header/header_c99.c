/* Compiled with -std=c99 -pedantic -Werror: the public header must stay C99. */
#include <aisle.h>

int header_c99_uses(void);
int header_c99_uses(void) {
    aisle_config *cfg = 0;
    if (aisle_config_new(&cfg) != AISLE_OK) return 1;
    aisle_config_free(cfg);
    return AISLE_VERSION_NUMBER > 0 ? 0 : 1;
}
