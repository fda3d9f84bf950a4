/* Test fixture: speaks ABI 1 but exports no sergeant_worker_create. */
#include "sergeant_plugin.h"

uint32_t sergeant_plugin_abi_version(void) {
    return SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
}
