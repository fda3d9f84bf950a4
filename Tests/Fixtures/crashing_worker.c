/*
 * Test fixture: workers that crash the way plugin code can crash.
 *   "CrashInWork"        aborts (SIGABRT) in `work` when the task's bytes contain "crash",
 *                        logs and succeeds otherwise ("crashing worker finished a task", then
 *                        " id-N" when the task's bytes hold "id-N").
 *   "CrashInInitialize"  aborts in `initialize`, before any task.
 * Queue "crashing", redis localhost:6379, INFO to stdout.
 */
#include "fixture_common.h"

static const sergeant_host_api *host;

FIXTURE_EXPORT_ABI_VERSION()

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    fixture_say(config, "{\"name\": \"crashing\", " FIXTURE_REDIS_CONNECTOR ", " FIXTURE_LOGGING_INFO "}");
    return SERGEANT_OK;
}

static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    (void)worker; (void)value; (void)error;
    if (fixture_contains(task, length, "crash")) abort();
    char id[32], line[80] = "crashing worker finished a task";
    if (fixture_task_id(task, length, id, sizeof id)) snprintf(line, sizeof line, "crashing worker finished a task %s", id);
    fixture_log(host, line);
    return SERGEANT_OK;
}

static sergeant_status crash_initialize(void *worker, const sergeant_output *error) {
    (void)worker; (void)error;
    abort();
}

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    int crash_in_initialize = strcmp(class_name, "CrashInInitialize") == 0;
    if (!crash_in_initialize && strcmp(class_name, "CrashInWork") != 0) return fixture_class_not_found(error, "CrashInWork, CrashInInitialize");
    host = host_api;
    sergeant_worker_api mine = fixture_worker_table((void *)1, config, work, fixture_keep_instance);
    if (crash_in_initialize) mine.initialize = crash_initialize;
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
