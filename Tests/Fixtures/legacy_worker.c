/*
 * Test fixture: a worker plugin built against the frozen ABI 1.0 header
 * (Tests/Fixtures/abi-1.0/sergeant_plugin.h), as plugins were before the growth rule: it
 * memsets its own sizeof of the worker table and sets `size` to it, and it knows nothing of
 * host functions appended since. It must load and work in every newer host.
 *
 * Class "LegacyWorker": queue "legacy_worker", redis localhost:6379, INFO to stdout. `work`
 * logs "legacy worker got a task of N bytes" with `log` and pushes a task {"from": "legacy"}
 * to queue "legacy_child" through `push_tasks`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sergeant_plugin.h"

#if SERGEANT_ABI_VERSION_MINOR != 0
#error "legacy_worker.c must be built against Tests/Fixtures/abi-1.0/sergeant_plugin.h"
#endif

static const sergeant_host_api *host;

uint32_t sergeant_plugin_abi_version(void) {
    return SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
}

static void say(const sergeant_output *out, const char *text) {
    if (out) out->write(out->context, (const uint8_t *)text, strlen(text));
}

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    say(config, "{\"name\": \"legacy_worker\","
                " \"connector\": {\"type\": \"redis\", \"params\": {\"nodes\": [{\"host\": \"localhost\", \"port\": 6379}]}},"
                " \"logging\": {\"level\": 20, \"log_to_stdout\": true}}");
    return SERGEANT_OK;
}

static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    (void)worker; (void)task; (void)value;
    char line[96];
    int n = snprintf(line, sizeof line, "legacy worker got a task of %zu bytes", length);
    host->log(host->host, SERGEANT_LOG_INFO, line, (size_t)n);
    static const uint8_t kwargs[] = {0x81, 0xa4, 'f', 'r', 'o', 'm', 0xa6, 'l', 'e', 'g', 'a', 'c', 'y'};
    const uint8_t *list[] = {kwargs};
    size_t lengths[] = {sizeof kwargs};
    return host->push_tasks(host->host, "legacy_child", list, lengths, 1, SERGEANT_PRIORITY_NORMAL,
                            SERGEANT_NOT_DELAYED, NULL, error);
}

static void destroy(void *worker) { free(worker); }

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    if (strcmp(class_name, "LegacyWorker") != 0) {
        say(error, "this module exports no worker class with that name; it exports: LegacyWorker");
        return SERGEANT_CLASS_NOT_FOUND;
    }
    host = host_api;
    /* What the 1.0 header allowed: the plugin's own sizeof, which no newer host undercuts. */
    memset(api, 0, sizeof *api);
    api->size = sizeof *api;
    api->abi_version = SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
    api->worker = malloc(1);
    api->config = config;
    api->work = work;
    api->destroy = destroy;
    return SERGEANT_OK;
}
