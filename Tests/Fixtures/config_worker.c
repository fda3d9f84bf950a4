/*
 * Test fixture: a worker plugin in C whose generateConfig returns whatever JSON the
 * environment variable CONFIG_WORKER_JSON holds (a valid local-connector configuration when
 * it is unset), so tests can hand the host and the command line hostile configurations:
 * negative timeouts, zero tasks per transaction, a 10 GB max task size, a 100 KB queue name.
 * Class "ConfigWorker"; `work` succeeds.
 */
#include <stdlib.h>
#include <string.h>
#include "sergeant_plugin.h"

uint32_t sergeant_plugin_abi_version(void) {
    return SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
}

static void say(const sergeant_output *out, const char *text) {
    if (out) out->write(out->context, (const uint8_t *)text, strlen(text));
}

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    const char *json = getenv("CONFIG_WORKER_JSON");
    say(config, json ? json : "{\"name\": \"config_worker\"}");
    return SERGEANT_OK;
}

static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    (void)worker; (void)task; (void)length; (void)value; (void)error;
    return SERGEANT_OK;
}

static void destroy(void *worker) { free(worker); }

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    (void)host_api;
    if (strcmp(class_name, "ConfigWorker") != 0) {
        say(error, "this module exports no worker class with that name; it exports: ConfigWorker");
        return SERGEANT_CLASS_NOT_FOUND;
    }
    sergeant_worker_api mine = {0};
    mine.abi_version = SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
    mine.worker = malloc(1);
    mine.config = config;
    mine.work = work;
    mine.destroy = destroy;
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
