/*
 * What the C test fixtures (c_worker, crashing_worker, versioned_worker, config_worker,
 * async_c_worker, future_worker) share: the ABI version export, writing a C string to a
 * sergeant_output, a byte search, logging through the host table, the configuration fragments
 * and the worker table they all start from. Header-only and static: each fixture is one
 * translation unit, and nothing here is exported from the plugin.
 *
 * Not for legacy_worker.c: it is built against the frozen ABI 1.0 header (Tests/Fixtures/abi-1.0)
 * on purpose, and this header follows today's.
 */
#ifndef SERGEANT_FIXTURE_COMMON_H
#define SERGEANT_FIXTURE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sergeant_plugin.h"

/* Defines the exported `sergeant_plugin_abi_version` as the ABI of the header built against. */
#define FIXTURE_EXPORT_ABI_VERSION()                                                          \
    uint32_t sergeant_plugin_abi_version(void) {                                              \
        return SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);  \
    }

/* Configuration fragments: Redis on localhost:6379 (the tests point the worker at their own
 * redis-server with SERGEANT_REDIS), and INFO logging to stdout. */
#define FIXTURE_REDIS_CONNECTOR \
    "\"connector\": {\"type\": \"redis\", \"params\": {\"nodes\": [{\"host\": \"localhost\", \"port\": 6379}]}}"
#define FIXTURE_LOGGING_INFO "\"logging\": {\"level\": 20, \"log_to_stdout\": true}"

/* Writes `text` (without its NUL) to `out`, when there is one. */
static inline void fixture_say(const sergeant_output *out, const char *text) {
    if (out) out->write(out->context, (const uint8_t *)text, strlen(text));
}

/* 1 when `needle` occurs anywhere in the `length` bytes at `bytes`. */
static inline int fixture_contains(const uint8_t *bytes, size_t length, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= length; i++) if (memcmp(bytes + i, needle, n) == 0) return 1;
    return 0;
}

/* Logs `line` at INFO through the host table, when the host provides `log`. */
static inline void fixture_log(const sergeant_host_api *host, const char *line) {
    if (SERGEANT_HAS_FIELD(host, sergeant_host_api, log)) host->log(host->host, SERGEANT_LOG_INFO, line, strlen(line));
}

/* Writes the first "id-N" in the task's bytes (N: up to 20 digits) into `id` as "id-N".
 * Returns 1 when there was one; `id` is left as it was otherwise. */
static inline int fixture_task_id(const uint8_t *task, size_t length, char *id, size_t size) {
    for (size_t i = 0; i + 3 < length; i++) {
        if (memcmp(task + i, "id-", 3) != 0) continue;
        size_t n = 0;
        while (i + 3 + n < length && n < 20 && task[i + 3 + n] >= '0' && task[i + 3 + n] <= '9') n++;
        snprintf(id, size, "id-%.*s", (int)n, (const char *)task + i + 3);
        return 1;
    }
    return 0;
}

/* The answer to a `sergeant_worker_create` for a class this module does not export: the error
 * lists the ones it does (`exported`, e.g. "CrashInWork, CrashInInitialize"). */
static inline sergeant_status fixture_class_not_found(const sergeant_output *error, const char *exported) {
    char message[256];
    snprintf(message, sizeof message, "this module exports no worker class with that name; it exports: %s", exported);
    fixture_say(error, message);
    return SERGEANT_CLASS_NOT_FOUND;
}

/* The worker table every fixture starts from: today's ABI version, the instance and the three
 * entries every worker has; the fixture sets any others, then hands it over with
 * `sergeant_write_worker_api` (the growth rule: the host takes what fits its room). */
static inline sergeant_worker_api fixture_worker_table(
    void *worker,
    sergeant_status (*config)(void *, const sergeant_output *, const sergeant_output *),
    sergeant_status (*work)(void *, const uint8_t *, size_t, const sergeant_output *, const sergeant_output *),
    void (*destroy)(void *)) {
    sergeant_worker_api table;
    memset(&table, 0, sizeof table);
    table.abi_version = SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
    table.worker = worker;
    table.config = config;
    table.work = work;
    table.destroy = destroy;
    return table;
}

/* A `destroy` for fixtures whose instance is a malloc'd block, and one for a placeholder. */
static inline void fixture_free_instance(void *worker) { free(worker); }
static inline void fixture_keep_instance(void *worker) { (void)worker; }

#endif
