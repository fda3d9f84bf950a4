/* Test fixture: a plugin built for a future ABI major version. The host must refuse it
 * before calling anything else, naming both versions. */
#include <stdint.h>

uint32_t sergeant_plugin_abi_version(void) { return (uint32_t)(2u << 16); }
