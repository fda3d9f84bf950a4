/*
 * Test fixture: a complete worker plugin written in C, proving that the ABI needs no Swift.
 * Class "CWorker": queue "c_worker", redis localhost:6379, INFO to stdout, one task per
 * run (so the supervisor respawns it after every task). `work` logs the task's size
 * through the host and fails tasks whose msgpack bytes contain the string "fail". A task
 * whose bytes contain "push" pushes a task {"from": "c"} to queue "c_side" through the host
 * table, counts that queue through it and stores the count in key "c_count" (msgpack).
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
    say(config, "{\"name\": \"c_worker\", \"max_tasks_per_run\": 1,"
                " \"connector\": {\"type\": \"redis\", \"params\": {\"nodes\": [{\"host\": \"localhost\", \"port\": 6379, \"password\": null, \"database\": 0}]}},"
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
    (void)worker; (void)value;
    char line[96];
    int n = snprintf(line, sizeof line, "C worker got a task of %zu bytes", length);
    if (SERGEANT_HAS_FIELD(host, sergeant_host_api, log)) host->log(host->host, SERGEANT_LOG_INFO, line, (size_t)n);
    if (contains(task, length, "push")) {
        if (!SERGEANT_HAS_FIELD(host, sergeant_host_api, push_tasks) || !SERGEANT_HAS_FIELD(host, sergeant_host_api, key_set)
            || !SERGEANT_HAS_FIELD(host, sergeant_host_api, number_of_enqueued_tasks)) {
            say(error, "this host lacks push_tasks, number_of_enqueued_tasks or key_set");
            return SERGEANT_FAILURE;
        }
        static const uint8_t kwargs[] = {0x81, 0xa4, 'f', 'r', 'o', 'm', 0xa1, 'c'};
        const uint8_t *list[] = {kwargs};
        size_t lengths[] = {sizeof kwargs};
        int64_t count = 0;
        sergeant_status status = host->push_tasks(host->host, "c_side", list, lengths, 1, SERGEANT_PRIORITY_NORMAL,
                                                  SERGEANT_NOT_DELAYED, NULL, error);
        if (status == SERGEANT_OK) status = host->number_of_enqueued_tasks(host->host, "c_side", 0, &count, error);
        if (status != SERGEANT_OK) return status;
        uint8_t value = (uint8_t)(count & 0x7f);  /* a positive fixint */
        int32_t was_new = 0;
        return host->key_set(host->host, "c_count", &value, 1, &was_new, error);
    }
    if (contains(task, length, "fail")) {
        say(error, "the C worker was asked to fail");
        return SERGEANT_FAILURE;
    }
    return SERGEANT_OK;
}

static void destroy(void *worker) { free(worker); }

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    if (strcmp(class_name, "CWorker") != 0) {
        say(error, "this module exports no worker class with that name; it exports: CWorker");
        return SERGEANT_CLASS_NOT_FOUND;
    }
    host = host_api;
    /* The growth rule: build the whole table here, copy only what fits the host's room. */
    sergeant_worker_api mine = {0};
    mine.abi_version = SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
    mine.worker = malloc(1);
    mine.config = config;
    mine.work = work;
    mine.destroy = destroy;
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
