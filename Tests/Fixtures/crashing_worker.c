/*
 * Test fixture: workers that crash the way plugin code can crash.
 *   "CrashInWork"        aborts (SIGABRT) in `work` when the task's bytes contain "crash",
 *                        logs and succeeds otherwise ("crashing worker finished a task", then
 *                        " id-N" when the task's bytes hold "id-N").
 *   "CrashInInitialize"  aborts in `initialize`, before any task.
 * Queue "crashing", redis localhost:6379, INFO to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sergeant_plugin.h"

static const sergeant_host_api *host;

uint32_t sergeant_plugin_abi_version(void) {
    return SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
}

static void say(const sergeant_output *out, const char *text) {
    if (out) out->write(out->context, (const uint8_t *)text, strlen(text));
}

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    say(config, "{\"name\": \"crashing\", \"connector\": {\"type\": \"redis\", \"params\": {\"nodes\": [{\"host\": \"localhost\", \"port\": 6379}]}},"
                " \"logging\": {\"level\": 20, \"log_to_stdout\": true}}");
    return SERGEANT_OK;
}

static int contains(const uint8_t *bytes, size_t length, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= length; i++) if (memcmp(bytes + i, needle, n) == 0) return 1;
    return 0;
}

static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    (void)worker; (void)value; (void)error;
    if (contains(task, length, "crash")) abort();
    char line[80] = "crashing worker finished a task";
    for (size_t i = 0; i + 3 < length; i++) {
        if (memcmp(task + i, "id-", 3) != 0) continue;
        size_t n = 0;
        while (i + 3 + n < length && n < 20 && task[i + 3 + n] >= '0' && task[i + 3 + n] <= '9') n++;
        snprintf(line, sizeof line, "crashing worker finished a task id-%.*s", (int)n, (const char *)task + i + 3);
        break;
    }
    if (SERGEANT_HAS_FIELD(host, sergeant_host_api, log)) host->log(host->host, SERGEANT_LOG_INFO, line, strlen(line));
    return SERGEANT_OK;
}

static sergeant_status crash_initialize(void *worker, const sergeant_output *error) {
    (void)worker; (void)error;
    abort();
}

static void destroy(void *worker) { (void)worker; }

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    int crash_in_initialize = strcmp(class_name, "CrashInInitialize") == 0;
    if (!crash_in_initialize && strcmp(class_name, "CrashInWork") != 0) {
        say(error, "this module exports no worker class with that name; it exports: CrashInWork, CrashInInitialize");
        return SERGEANT_CLASS_NOT_FOUND;
    }
    host = host_api;
    /* The growth rule: build the whole table here, copy only what fits the host's room. */
    sergeant_worker_api mine = {0};
    mine.abi_version = SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
    mine.worker = (void *)1;
    mine.config = config;
    mine.work = work;
    if (crash_in_initialize) mine.initialize = crash_initialize;
    mine.destroy = destroy;
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
