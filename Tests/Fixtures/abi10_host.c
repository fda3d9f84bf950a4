/*
 * Test fixture: a minimal host of ABI 1.0, built against the frozen 1.0 header
 * (Tests/Fixtures/abi-1.0/sergeant_plugin.h), to run plugins built for newer minors the way
 * a 1.0 sergeant-host would: its host table is exactly the 1.0 struct, on the heap, and
 * its worker room is the 1.0 struct, zeroed, with no size preset (1.0 hosts preset nothing).
 * Under valgrind any byte a plugin reads or writes past either table is reported.
 *
 * It provides `log` and `push_tasks` only (every other function is NULL), so a plugin's
 * lock calls must fail with a message naming the function.
 *
 *   abi10-host MODULE CLASS TASK_HEX   creates CLASS, prints its config, runs `work` once
 *                                      on the task (msgpack bytes in hex) and destroys it.
 * Prints "host log <level>: <message>", "host push_tasks: <queue> count=<n>",
 * "config: <json>", "work: status=<n> error=<message> value=<hex>"; exits 0 when the worker
 * was created and run, 2 on a usage or loading problem.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sergeant_plugin.h"

#if SERGEANT_ABI_VERSION_MINOR != 0
#error "abi10_host.c must be built against Tests/Fixtures/abi-1.0/sergeant_plugin.h"
#endif

typedef struct text {
    char bytes[8192];
    size_t length;
} text;

static void append(void *context, const uint8_t *bytes, size_t length) {
    text *into = context;
    if (length > sizeof into->bytes - 1 - into->length) length = sizeof into->bytes - 1 - into->length;
    memcpy(into->bytes + into->length, bytes, length);
    into->length += length;
    into->bytes[into->length] = 0;
}

static void host_log(void *host, sergeant_log_level level, const char *message, size_t length) {
    (void)host;
    printf("host log %d: %.*s\n", (int)level, (int)length, message);
}

static sergeant_status host_push_tasks(void *host, const char *task_name, const uint8_t *const *kwargs,
                                       const size_t *kwargs_lengths, size_t count, sergeant_priority priority,
                                       double consumable_from, const char *trace_id, const sergeant_output *error) {
    (void)host; (void)kwargs; (void)kwargs_lengths; (void)priority; (void)consumable_from; (void)trace_id; (void)error;
    printf("host push_tasks: %s count=%zu\n", task_name ? task_name : "(own queue)", count);
    return SERGEANT_OK;
}

static int unhex(const char *hex, uint8_t **bytes, size_t *length) {
    size_t n = strlen(hex);
    if (n % 2) return -1;
    *bytes = malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return -1;
        (*bytes)[i] = (uint8_t)byte;
    }
    *length = n / 2;
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 4) {
        fprintf(stderr, "usage: abi10-host MODULE CLASS TASK_HEX\n");
        return 2;
    }
    uint8_t *task;
    size_t task_length;
    if (unhex(argv[3], &task, &task_length) != 0) {
        fprintf(stderr, "TASK_HEX is not hex\n");
        return 2;
    }
    void *module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!module) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    sergeant_plugin_abi_version_fn version = (sergeant_plugin_abi_version_fn)dlsym(module, SERGEANT_PLUGIN_ABI_SYMBOL);
    sergeant_worker_create_fn create = (sergeant_worker_create_fn)dlsym(module, SERGEANT_PLUGIN_CREATE_SYMBOL);
    if (!version || !create) {
        fprintf(stderr, "%s is not a sergeant plugin\n", argv[1]);
        return 2;
    }
    printf("plugin ABI %u.%u\n", version() >> 16, version() & 0xffff);

    /* Exactly the 1.0 tables, on the heap, so that memcheck sees every byte past them. */
    sergeant_host_api *host = calloc(1, sizeof *host);
    host->size = sizeof *host;
    host->abi_version = SERGEANT_ABI_VERSION(1, 0);
    host->host = host;
    host->log = host_log;
    host->push_tasks = host_push_tasks;
    sergeant_worker_api *room = calloc(1, sizeof *room);

    text error = {.length = 0};
    sergeant_output error_output = {append, &error};
    sergeant_status status = create(argv[2], host, room, &error_output);
    printf("create: status=%d size=%zu error=%s\n", (int)status, room->size, error.bytes);
    if (status != SERGEANT_OK) return 2;
    sergeant_worker_api worker = *room;
    free(room);

    text config = {.length = 0};
    sergeant_output config_output = {append, &config};
    if (worker.config) worker.config(worker.worker, &config_output, NULL);
    printf("config: %s\n", config.bytes);

    text value = {.length = 0}, failure = {.length = 0};
    sergeant_output value_output = {append, &value}, failure_output = {append, &failure};
    status = worker.work ? worker.work(worker.worker, task, task_length, &value_output, &failure_output) : SERGEANT_OK;
    printf("work: status=%d error=%s value=", (int)status, failure.bytes);
    for (size_t i = 0; i < value.length; i++) printf("%02x", (uint8_t)value.bytes[i]);
    printf("\n");

    if (worker.destroy) worker.destroy(worker.worker);
    free(host);
    free(task);
    return 0;
}
