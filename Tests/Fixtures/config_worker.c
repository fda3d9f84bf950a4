/*
 * Test fixture: a worker plugin in C whose generateConfig returns whatever JSON the
 * environment variable CONFIG_WORKER_JSON holds (a valid local-connector configuration when
 * it is unset), so tests can hand the host and the command line hostile configurations:
 * negative timeouts, zero tasks per transaction, a 10 GB max task size, a 100 KB queue name.
 * Class "ConfigWorker"; `work` succeeds.
 */
#include "fixture_common.h"

FIXTURE_EXPORT_ABI_VERSION()

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    const char *json = getenv("CONFIG_WORKER_JSON");
    fixture_say(config, json ? json : "{\"name\": \"config_worker\"}");
    return SERGEANT_OK;
}

static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    (void)worker; (void)task; (void)length; (void)value; (void)error;
    return SERGEANT_OK;
}

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    (void)host_api;
    if (strcmp(class_name, "ConfigWorker") != 0) return fixture_class_not_found(error, "ConfigWorker");
    sergeant_worker_api mine = fixture_worker_table(malloc(1), config, work, fixture_free_instance);
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
