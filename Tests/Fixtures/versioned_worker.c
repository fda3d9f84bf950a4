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
#include <unistd.h>
#include "fixture_common.h"

#ifndef WORKER_VERSION
#error "build with -DWORKER_VERSION=N"
#endif
#define STRINGIFY(x) #x
#define VERSION_TEXT(x) STRINGIFY(x)

static const sergeant_host_api *host;

FIXTURE_EXPORT_ABI_VERSION()

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    fixture_say(config, "{\"name\": \"versioned\", " FIXTURE_REDIS_CONNECTOR ", " FIXTURE_LOGGING_INFO "}");
    return SERGEANT_OK;
}

static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    (void)worker; (void)value; (void)error;
    char id[32] = "id-?";
    fixture_task_id(task, length, id, sizeof id);
    usleep(5000);
    char line[96];
    snprintf(line, sizeof line, "versioned worker v" VERSION_TEXT(WORKER_VERSION) " worked %s", id);
    fixture_log(host, line);
    return SERGEANT_OK;
}

static sergeant_status initialize(void *worker, const sergeant_output *error) {
    (void)worker; (void)error;
    const char *delay = getenv("VERSIONED_INITIALIZE_MS");
    if (delay) usleep((useconds_t)atoi(delay) * 1000);
    return SERGEANT_OK;
}

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    if (strcmp(class_name, "Versioned") != 0) return fixture_class_not_found(error, "Versioned");
    host = host_api;
    sergeant_worker_api mine = fixture_worker_table((void *)1, config, work, fixture_keep_instance);
    mine.initialize = initialize;
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
