/* sergeant_plugin.c -- freezes the layout of the plugin ABI.
 *
 * The ABI is a header only; this file defines no symbol, so nothing here can interpose
 * between host and plugin. What it does is fail the build when an edit to the header moves
 * a published field: the growth rule (see TABLES in sergeant_plugin.h) holds only while
 * every 1.0 field keeps its offset and new fields are appended at the end. The numbers are
 * those of the LP64 ABIs the project ships for (x86_64 and aarch64 Linux). */
#include <stddef.h>
#include "sergeant_plugin.h"

#if defined(__LP64__) && (defined(__x86_64__) || defined(__aarch64__))

#define FROZEN(type, field, offset) \
    _Static_assert(offsetof(type, field) == (offset), \
                   #type "." #field " moved: published fields never move (ABI 1.0 layout)")

/* sergeant_output, 1.0 */
FROZEN(sergeant_output, write, 0);
FROZEN(sergeant_output, context, 8);
_Static_assert(sizeof(sergeant_output) == 16, "sergeant_output changed size");

/* sergeant_host_api, 1.0 */
FROZEN(sergeant_host_api, size, 0);
FROZEN(sergeant_host_api, abi_version, 8);
FROZEN(sergeant_host_api, host, 16);
FROZEN(sergeant_host_api, log, 24);
FROZEN(sergeant_host_api, push_tasks, 32);
FROZEN(sergeant_host_api, get_next_tasks, 40);
FROZEN(sergeant_host_api, purge_tasks, 48);
FROZEN(sergeant_host_api, number_of_enqueued_tasks, 56);
FROZEN(sergeant_host_api, retry, 64);
FROZEN(sergeant_host_api, requeue, 72);
FROZEN(sergeant_host_api, lock_acquire, 80);
FROZEN(sergeant_host_api, lock_release, 88);
FROZEN(sergeant_host_api, lock_is_locked, 96);
FROZEN(sergeant_host_api, lock_set_ttl, 104);
FROZEN(sergeant_host_api, lock_get_ttl, 112);
FROZEN(sergeant_host_api, key_set, 120);
FROZEN(sergeant_host_api, key_get, 128);
FROZEN(sergeant_host_api, key_delete, 136);
FROZEN(sergeant_host_api, is_timed_out, 144);
FROZEN(sergeant_host_api, should_stop, 152);
_Static_assert(SERGEANT_HOST_API_SIZE_1_0 == 160, "the 1.0 host table is 160 bytes");
/* sergeant_host_api, 1.1 */
FROZEN(sergeant_host_api, log_with_metadata, 160);
_Static_assert(sizeof(sergeant_host_api) == 168, "the 1.1 host table is 168 bytes (1.2 appends nothing)");

/* sergeant_worker_api, 1.0 (1.1 appends nothing; 1.2 appends work_async and cancel) */
FROZEN(sergeant_worker_api, size, 0);
FROZEN(sergeant_worker_api, abi_version, 8);
FROZEN(sergeant_worker_api, worker, 16);
FROZEN(sergeant_worker_api, config, 24);
FROZEN(sergeant_worker_api, initialize, 32);
FROZEN(sergeant_worker_api, finalize, 40);
FROZEN(sergeant_worker_api, pre_work, 48);
FROZEN(sergeant_worker_api, work, 56);
FROZEN(sergeant_worker_api, post_work, 64);
FROZEN(sergeant_worker_api, on_success, 72);
FROZEN(sergeant_worker_api, on_failure, 80);
FROZEN(sergeant_worker_api, on_timeout, 88);
FROZEN(sergeant_worker_api, on_retry, 96);
FROZEN(sergeant_worker_api, on_max_retries, 104);
FROZEN(sergeant_worker_api, on_requeue, 112);
FROZEN(sergeant_worker_api, on_starvation, 120);
FROZEN(sergeant_worker_api, on_stop, 128);
FROZEN(sergeant_worker_api, destroy, 136);
_Static_assert(SERGEANT_WORKER_API_SIZE_1_0 == 144, "the 1.0 worker table is 144 bytes");
/* sergeant_worker_api, 1.2 */
FROZEN(sergeant_worker_api, work_async, 144);
FROZEN(sergeant_worker_api, cancel, 152);
_Static_assert(SERGEANT_WORKER_API_SIZE_1_2 == 160, "the 1.2 worker table is 160 bytes");
_Static_assert(sizeof(sergeant_worker_api) == 160, "the 1.2 worker table is 160 bytes");
_Static_assert(sizeof(sergeant_async_handle) == 8, "an async handle is 64 bits");

#endif
