/*
 * Test fixture for rolling restarts (SIGHUP): one worker class, "Versioned", built twice with
 * -DWORKER_VERSION=1 and -DWORKER_VERSION=2, so a deploy that renames the second build over
 * the first shows in the log which code ran each task:
 *     versioned worker v1 worked id-17
 * A task names itself with "id-N" anywhere in its bytes (e.g. kwargs {"id": "id-17"}); each
 * takes about 5 ms, so tasks are in flight while workers are replaced. `initialize` sleeps
 * VERSIONED_INITIALIZE_MS milliseconds (environment, default 0): a worker slow to get ready.
 * Queue "versioned", redis localhost:6379 (tests override it), INFO to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sergeant_plugin.h"

#ifndef WORKER_VERSION
#error "build with -DWORKER_VERSION=N"
#endif
#define STRINGIFY(x) #x
#define VERSION_TEXT(x) STRINGIFY(x)

static const sergeant_host_api *host;

uint32_t sergeant_plugin_abi_version(void) {
    return SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
}

static void say(const sergeant_output *out, const char *text) {
    if (out) out->write(out->context, (const uint8_t *)text, strlen(text));
}

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    say(config, "{\"name\": \"versioned\", \"connector\": {\"type\": \"redis\", \"params\": {\"nodes\": [{\"host\": \"localhost\", \"port\": 6379}]}},"
                " \"logging\": {\"level\": 20, \"log_to_stdout\": true}}");
    return SERGEANT_OK;
}

static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    (void)worker; (void)value; (void)error;
    char id[32] = "id-?";
    for (size_t i = 0; i + 3 < length; i++) {
        if (memcmp(task + i, "id-", 3) != 0) continue;
        size_t n = 0;
        while (i + 3 + n < length && n < 20 && task[i + 3 + n] >= '0' && task[i + 3 + n] <= '9') n++;
        snprintf(id, sizeof id, "id-%.*s", (int)n, (const char *)task + i + 3);
        break;
    }
    usleep(5000);
    char line[96];
    int written = snprintf(line, sizeof line, "versioned worker v" VERSION_TEXT(WORKER_VERSION) " worked %s", id);
    if (SERGEANT_HAS_FIELD(host, sergeant_host_api, log)) host->log(host->host, SERGEANT_LOG_INFO, line, (size_t)written);
    return SERGEANT_OK;
}

static sergeant_status initialize(void *worker, const sergeant_output *error) {
    (void)worker; (void)error;
    const char *delay = getenv("VERSIONED_INITIALIZE_MS");
    if (delay) usleep((useconds_t)atoi(delay) * 1000);
    return SERGEANT_OK;
}

static void destroy(void *worker) { (void)worker; }

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    if (strcmp(class_name, "Versioned") != 0) {
        say(error, "this module exports no worker class with that name; it exports: Versioned");
        return SERGEANT_CLASS_NOT_FOUND;
    }
    host = host_api;
    sergeant_worker_api mine = {0};
    mine.abi_version = SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
    mine.worker = (void *)1;
    mine.config = config;
    mine.work = work;
    mine.initialize = initialize;
    mine.destroy = destroy;
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
