/*
 * Test fixture: a worker plugin "from the future", built against ABI 1.99. Its own copy of
 * the worker table has fields and functions this host has never heard of (future_worker_api:
 * the 1.x table followed by 512 more bytes), and it knows of a host function this host lacks
 * (future_host_api). It fills the host's room by the growth rule, so it loads and runs in
 * today's host; a plugin that wrote its own sizeof would write 528 bytes past the room.
 *
 * Class "FutureWorker": queue "future_worker", redis localhost:6379, INFO to stdout. `work`
 * logs "future worker ran a task" with metadata abi=1.99 and room=<the room the host
 * preset>, pushes a task {"from": "future"} to queue "future_child" when the task's bytes
 * contain "push", and returns the msgpack array [room preset by the host, bytes written].
 */
#include <stdio.h>
#include "fixture_common.h"

/** The worker table as ABI 1.99 would have it: today's table, then newer members. */
typedef struct future_worker_api {
    sergeant_worker_api base;
    sergeant_status (*on_future_event)(void *worker, const sergeant_output *error);
    sergeant_status (*on_other_future_event)(void *worker, double when, const sergeant_output *error);
    uint64_t future_flags;
    unsigned char future_reserved[512 - 2 * sizeof(void *) - sizeof(uint64_t)];
} future_worker_api;

/** The host table as ABI 1.99 would have it: a function appended after today's last. */
typedef struct future_host_api {
    sergeant_host_api base;
    sergeant_status (*time_travel)(void *host, double when, const sergeant_output *error);
} future_host_api;

typedef struct instance {
    size_t room;    /* api->size as the host preset it */
    size_t written; /* what sergeant_write_worker_api wrote */
} instance;

static const sergeant_host_api *host;

uint32_t sergeant_plugin_abi_version(void) { return SERGEANT_ABI_VERSION(1, 99); }

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    fixture_say(config, "{\"name\": \"future_worker\","
                        " \"connector\": {\"type\": \"redis\", \"params\": {\"nodes\": [{\"host\": \"localhost\", \"port\": 6379}]}},"
                        " \"logging\": {\"level\": 20, \"log_to_stdout\": true}}");
    return SERGEANT_OK;
}

static void log_line(sergeant_log_level level, const char *message, const char *const *keys,
                     const char *const *values, size_t count) {
    if (SERGEANT_HAS_FIELD(host, sergeant_host_api, log_with_metadata)) {
        host->log_with_metadata(host->host, level, message, strlen(message), keys, values, count);
        return;
    }
    if (!SERGEANT_HAS_FIELD(host, sergeant_host_api, log)) return;
    char line[256];
    int n = snprintf(line, sizeof line, "%s", message);
    for (size_t i = 0; i < count && n < (int)sizeof line; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %s=%s", keys[i], values[i]);
    host->log(host->host, level, line, strlen(line));
}

static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    instance *self = worker;
    char room[32];
    snprintf(room, sizeof room, "%zu", self->room);
    const char *keys[] = {"abi", "room"};
    const char *values[] = {"1.99", room};
    log_line(SERGEANT_LOG_INFO, "future worker ran a task", keys, values, 2);

    /* A host function from the future: used only when the host's table holds it. */
    const future_host_api *future = (const future_host_api *)host;
    if (host->size >= offsetof(future_host_api, time_travel) + sizeof future->time_travel && future->time_travel) {
        future->time_travel(host->host, 0, error);
    } else {
        log_line(SERGEANT_LOG_INFO, "future worker: this host has no time_travel; doing without", NULL, NULL, 0);
    }

    if (fixture_contains(task, length, "push")) {
        if (!SERGEANT_HAS_FIELD(host, sergeant_host_api, push_tasks)) {
            fixture_say(error, "this host has no push_tasks");
            return SERGEANT_FAILURE;
        }
        static const uint8_t kwargs[] = {0x81, 0xa4, 'f', 'r', 'o', 'm', 0xa6, 'f', 'u', 't', 'u', 'r', 'e'};
        const uint8_t *list[] = {kwargs};
        size_t lengths[] = {sizeof kwargs};
        sergeant_status status = host->push_tasks(host->host, "future_child", list, lengths, 1,
                                                  SERGEANT_PRIORITY_NORMAL, SERGEANT_NOT_DELAYED, NULL, error);
        if (status != SERGEANT_OK) return status;
    }
    /* msgpack [room, written], both as uint16 */
    uint8_t array[] = {0x92, 0xcd, (uint8_t)(self->room >> 8), (uint8_t)self->room,
                       0xcd, (uint8_t)(self->written >> 8), (uint8_t)self->written};
    if (value) value->write(value->context, array, sizeof array);
    return SERGEANT_OK;
}

static sergeant_status on_future_event(void *worker, const sergeant_output *error) {
    (void)worker; (void)error;
    return SERGEANT_OK;
}

static sergeant_status on_other_future_event(void *worker, double when, const sergeant_output *error) {
    (void)worker; (void)when; (void)error;
    return SERGEANT_OK;
}

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    if (strcmp(class_name, "FutureWorker") != 0) return fixture_class_not_found(error, "FutureWorker");
    host = host_api;
    instance *self = calloc(1, sizeof *self);
    if (!self) return SERGEANT_FAILURE;
    self->room = api->size;

    /* The whole 1.99 table, every member set: the host takes what fits its room. */
    future_worker_api mine;
    memset(&mine, 0, sizeof mine);
    mine.base.abi_version = SERGEANT_ABI_VERSION(1, 99);
    mine.base.worker = self;
    mine.base.config = config;
    mine.base.work = work;
    mine.base.destroy = fixture_free_instance;
    mine.on_future_event = on_future_event;
    mine.on_other_future_event = on_other_future_event;
    mine.future_flags = UINT64_MAX;
    memset(mine.future_reserved, 0xab, sizeof mine.future_reserved);
    self->written = sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
