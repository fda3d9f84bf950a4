/*
 * Test fixture: a complete worker plugin written in C, proving that the ABI needs no Swift.
 * Class "CWorker": queue "c_worker", redis localhost:6379, INFO to stdout, one task per
 * run (so the supervisor respawns it after every task). `work` logs the task's size
 * through the host and fails tasks whose msgpack bytes contain the string "fail". A task
 * whose bytes contain "push" pushes a task {"from": "c"} to queue "c_side" through the host
 * table, counts that queue through it and stores the count in key "c_count" (msgpack).
 */
#include "fixture_common.h"

static const sergeant_host_api *host;

FIXTURE_EXPORT_ABI_VERSION()

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    fixture_say(config, "{\"name\": \"c_worker\", \"max_tasks_per_run\": 1,"
                        " " FIXTURE_REDIS_CONNECTOR ", " FIXTURE_LOGGING_INFO "}");
    return SERGEANT_OK;
}

static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    (void)worker; (void)value;
    char line[96];
    snprintf(line, sizeof line, "C worker got a task of %zu bytes", length);
    fixture_log(host, line);
    if (fixture_contains(task, length, "push")) {
        if (!SERGEANT_HAS_FIELD(host, sergeant_host_api, push_tasks) || !SERGEANT_HAS_FIELD(host, sergeant_host_api, key_set)
            || !SERGEANT_HAS_FIELD(host, sergeant_host_api, number_of_enqueued_tasks)) {
            fixture_say(error, "this host lacks push_tasks, number_of_enqueued_tasks or key_set");
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
    if (fixture_contains(task, length, "fail")) {
        fixture_say(error, "the C worker was asked to fail");
        return SERGEANT_FAILURE;
    }
    return SERGEANT_OK;
}

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    if (strcmp(class_name, "CWorker") != 0) return fixture_class_not_found(error, "CWorker");
    host = host_api;
    sergeant_worker_api mine = fixture_worker_table(malloc(1), config, work, fixture_free_instance);
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
