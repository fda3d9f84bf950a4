/*
** sergeant_plugin.h -- the plugin ABI of sergeant for Swift, version 1.2.
**
** This header is the whole contract between `sergeant-host` (the host) and a worker
** plugin (a shared library such as `libconsumer.so`). Nothing else crosses the boundary:
** no Swift types, no exceptions, no allocator. A plugin may be written in any language
** that can export C symbols.
**
** ---------------------------------------------------------------------------------------
** LOADING
**
**   1. The host dlopen()s the module with RTLD_NOW | RTLD_LOCAL.
**   2. It resolves SERGEANT_PLUGIN_ABI_SYMBOL ("sergeant_plugin_abi_version") and calls it.
**      The major version must equal SERGEANT_ABI_VERSION_MAJOR, otherwise the module is
**      refused with a message naming both versions. Any minor version is accepted, older or
**      newer: the growth rule below makes both safe.
**   3. It resolves SERGEANT_PLUGIN_CREATE_SYMBOL ("sergeant_worker_create") and calls it with
**      the --worker-class name, the host's function table and the room for the worker's
**      table. The plugin fills that room and returns SERGEANT_OK, or returns
**      SERGEANT_CLASS_NOT_FOUND and writes a message that lists the classes it does export.
**
** TABLES: THE GROWTH RULE
**
**   Both tables begin with `size` and only ever grow at their end; a field, once
**   published, never moves or changes type (sergeant_plugin.c freezes the 1.0 offsets).
**   A minor version appends fields; a table never shrinks. The side that allocates a
**   table says how big it is, and nobody touches a byte past that:
**
**   - sergeant_host_api: the host allocates and fills it; `size` is sizeof its struct. A
**     plugin built against a newer header reads a field only when SERGEANT_HAS_FIELD says
**     the host's `size` covers it and it is not NULL; a field the host lacks is simply not
**     provided (say so and name the function). Never copy the whole struct by value.
**   - sergeant_worker_api: the host allocates it, zeroes it and presets `size` to the
**     room it allocated (sizeof its struct). The plugin writes only
**     min(its own sizeof, room) bytes -- no memset, no assignment past the room -- and
**     leaves `size` at the number of bytes it wrote. Fields past the room are not provided.
**     A room of 0 comes from a 1.0 host, which preset nothing: its room is
**     SERGEANT_WORKER_API_SIZE_1_0 (SERGEANT_WORKER_API_ROOM does both). The host then reads
**     only min(size, its own sizeof) bytes and checks every function for NULL before a call.
**   A 1.0 plugin (memset and `size` of its own sizeof) stays safe in every newer host: its
**   table is never larger than a newer host's room.
**
**   A plugin's create function, doing it right (`my_api` may have more fields than this
**   host knows; sergeant_write_worker_api is the bounded copy):
**
**       sergeant_status sergeant_worker_create(const char *class_name,
**                                              const sergeant_host_api *host_api,
**                                              sergeant_worker_api *api,
**                                              const sergeant_output *error) {
**           struct my_worker_api mine = {0};     // starts with a sergeant_worker_api
**           mine.base.abi_version = SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR,
**                                                        SERGEANT_ABI_VERSION_MINOR);
**           mine.base.worker = my_new_instance(class_name);
**           mine.base.work = my_work;
**           mine.base.destroy = my_destroy;
**           mine.my_newer_field = ...;           // lands only when the host has room
**           sergeant_write_worker_api(api, &mine, sizeof mine);
**           if (SERGEANT_HAS_FIELD(host_api, sergeant_host_api, log_with_metadata)) ...
**           return SERGEANT_OK;
**       }
**
** LIFETIMES
**
**   - `host_api`, its `host` pointer and its functions are valid from sergeant_worker_create
**     until `destroy` returns; keep the pointer, not a copy of the struct.
**   - `*worker_api` is host memory valid only during sergeant_worker_create: the host copies
**     the table when create returns. The `worker` instance lives until `destroy`.
**   - Every other pointer passed into a function (strings, task bytes, kwargs, metadata
**     arrays, sergeant_output) is borrowed for the duration of that call only.
**
** MEMORY
**
**   Data flows out of a call only through a sergeant_output, which the receiver owns: the
**   producer of the data calls output->write(output->context, bytes, length) once per item
**   and the receiver copies what it needs before returning. Nobody frees memory that the
**   other side allocated. An output pointer may be NULL when the caller does not want the
**   data.
**
** ERRORS
**
**   Every fallible function returns a sergeant_status. On a status other than SERGEANT_OK
**   the callee may write a UTF-8 message to the `error` output it was given.
**   Control-flow statuses (RETRY, REQUEUE, STOP, RESPAWN, ...) are not errors: they are how a
**   Swift `throw` in plugin code reaches the host, which never sees it unwind through C.
**
** THREADS AND BLOCKING
**
**   Host function                    thread                   blocks
**   log, log_with_metadata           any                      no network; one write(2)
**   is_timed_out, should_stop        any (is_timed_out        no
**                                    answers 0 off host
**                                    threads)
**   push_tasks, get_next_tasks,      any                      one Redis round trip; while the
**   purge_tasks, number_of_enqueued_tasks, retry, requeue,    host reconnects to a lost Redis,
**   lock_release, lock_is_locked, lock_set_ttl,               up to its reconnect timeout
**   lock_get_ttl, key_set, key_get, key_delete                (then SERGEANT_FAILURE)
**   lock_acquire                     any                      until taken or `timeout` seconds
**                                                             pass (negative: forever)
**   Every host function is thread-safe, including from threads the plugin starts.
**
**   Worker function                  called
**   config, initialize, finalize,    on the worker process's main thread, never concurrently
**   on_starvation, destroy           with any other worker function
**   pre_work, work, post_work and    on one executor thread per task, in that order; with
**   the outcome's on_* handler       number_of_threads > 1 several tasks run at once on
**                                    different threads, so keep per-task state per call
**   work_async (since 1.2)           with max_concurrent_tasks > 0 and a plugin that has it:
**                                    on the host's executor thread, which also calls every
**                                    pre_work, post_work and on_* handler, one at a time,
**                                    while up to max_concurrent_tasks started tasks run in
**                                    the plugin; `complete` may be called from any thread
**   cancel (since 1.2)               on any host thread, any number of times per handle,
**                                    also after the task completed (then it does nothing)
**
** ASYNC WORK (since 1.2)
**
**   A plugin that can run many tasks at once without a thread each (Swift concurrency, an
**   event loop) fills `work_async` and `cancel`. With max_concurrent_tasks N > 0 in its
**   configuration the host then keeps up to N tasks started: per task it calls pre_work,
**   then work_async, and when the plugin calls `complete` it calls post_work and the
**   outcome's handler, and acknowledges that task alone (completions come in any order).
**   A task past its `timeout`, and every task still running a grace period after SIGTERM,
**   is cancelled: the plugin should end it soon and still call `complete` exactly once,
**   with any status: a task cancelled at its timeout ends as a timeout (on_timeout), one
**   cancelled after SIGTERM as a stop (on_stop) unless it succeeded. A task that ignores
**   cancellation past timeout + grace_period ends the process, as with synchronous work.
**   A plugin without work_async (1.0, 1.1, or NULL) runs synchronously as before: the host
**   then ignores max_concurrent_tasks and says so at start.
** ---------------------------------------------------------------------------------------
*/
#ifndef SERGEANT_PLUGIN_H
#define SERGEANT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* MARK: - Versions and symbols */

/** Major version: bumped on any incompatible change. Host and plugin must agree. */
#define SERGEANT_ABI_VERSION_MAJOR 1
/** Minor version: bumped when fields are appended to a table. Older minors load. */
#define SERGEANT_ABI_VERSION_MINOR 2

/** Name of the function `uint32_t sergeant_plugin_abi_version(void)` every plugin exports.
 *  It returns (major << 16) | minor, the version the plugin was built against. */
#define SERGEANT_PLUGIN_ABI_SYMBOL "sergeant_plugin_abi_version"
/** Name of the sergeant_worker_create_fn every plugin exports. */
#define SERGEANT_PLUGIN_CREATE_SYMBOL "sergeant_worker_create"

/** Packs a version as `sergeant_plugin_abi_version` returns it. */
#define SERGEANT_ABI_VERSION(major, minor) ((uint32_t)(((major) << 16) | ((minor) & 0xffff)))

/** True when table `table` (a pointer) was built with field `field` and set it: its `size`
 *  covers the field and the field is not NULL. The field is read only when it is inside. */
#define SERGEANT_HAS_FIELD(table, type, field) \
    ((table)->size >= offsetof(type, field) + sizeof((table)->field) && (table)->field != NULL)

/* MARK: - Status codes */

/** Result of every fallible call. Fixed width on purpose: anonymous enums import as Int. */
typedef int32_t sergeant_status;

/** The call succeeded. */
#define SERGEANT_OK 0
/** The call failed; a message was written to `error`. For `work`: the task failed. */
#define SERGEANT_FAILURE 1
/** The task was pushed again with run_count + 1 (Worker.retry). */
#define SERGEANT_RETRY 2
/** Retry was asked for but the task already ran max_retries times. */
#define SERGEANT_MAX_RETRIES 3
/** The task was pushed again unchanged (Worker.requeue). */
#define SERGEANT_REQUEUE 4
/** The worker asks the supervisor to stop every worker and spawn none. */
#define SERGEANT_STOP 5
/** The worker asks to be replaced by a fresh process. */
#define SERGEANT_RESPAWN 6
/** The task ran past its timeout (reported by cooperative code or by the host). */
#define SERGEANT_TIMEOUT 7
/** sergeant_worker_create: the module exports no class with that name. */
#define SERGEANT_CLASS_NOT_FOUND 8
/** The other side's ABI major version is not this one. */
#define SERGEANT_ABI_MISMATCH 9
/** Bad arguments (NULL where a value is required, malformed bytes). */
#define SERGEANT_INVALID 10

/* MARK: - Enumerations */

/** Task priority: NORMAL appends to the queue (RPUSH), HIGH prepends (LPUSH). */
typedef int32_t sergeant_priority;
#define SERGEANT_PRIORITY_NORMAL 0
#define SERGEANT_PRIORITY_HIGH 1

/** Log levels, numerically equal to Python's logging levels. */
typedef int32_t sergeant_log_level;
#define SERGEANT_LOG_DEBUG 10
#define SERGEANT_LOG_INFO 20
#define SERGEANT_LOG_WARNING 30
#define SERGEANT_LOG_ERROR 40
#define SERGEANT_LOG_CRITICAL 50

/** Value of a `consumable_from` argument that means "now" (not a delayed task). */
#define SERGEANT_NOT_DELAYED (-1.0)

/* MARK: - Outputs */

/**
 * A place to send bytes to. The receiver provides it; the producer calls
 * `write(context, bytes, length)` once per item. `bytes` is borrowed for that call only.
 */
typedef struct sergeant_output {
    /** Receives one item. Never NULL. */
    void (*write)(void *context, const uint8_t *bytes, size_t length);
    /** Opaque pointer handed back to `write`. */
    void *context;
} sergeant_output;

/* MARK: - Host API (host -> plugin) */

/**
 * The functions a plugin may call back into the host. Every broker operation of a worker
 * (push, pop, purge, count, locks, keys) runs on the host's connections, so a plugin never
 * links a Redis client. `task_name` NULL means the worker's own queue (config `name`).
 * Kwargs and key values are msgpack bytes (a map for kwargs, any value for keys); tasks are
 * msgpack bytes of sergeant's task map `{"__task__": {"kwargs", "trace_id", "date",
 * "run_count"}}`, never compressed: the host applies the configured encoder.
 *
 * Every function is thread-safe (see THREADS AND BLOCKING); the broker functions block for
 * a Redis round trip. Functions appended in a minor version are marked "since 1.x": check
 * them with SERGEANT_HAS_FIELD.
 */
typedef struct sergeant_host_api {
    /** sizeof(sergeant_host_api) as the host was compiled: the fields a plugin may read. */
    size_t size;
    /** SERGEANT_ABI_VERSION of the host. */
    uint32_t abi_version;
    /** Opaque host state, passed back as the first argument of every function below. */
    void *host;

    /** Writes one log line through the host's logger (sergeant's line format). `message` is
     *  UTF-8, `length` bytes, not NUL-terminated. Never blocks on the network. */
    void (*log)(void *host, sergeant_log_level level, const char *message, size_t length);

    /** Pushes `count` tasks built from msgpack kwargs maps, in one round trip.
     *  `consumable_from` is a unix time or SERGEANT_NOT_DELAYED; `trace_id` may be NULL. */
    sergeant_status (*push_tasks)(void *host, const char *task_name,
                                  const uint8_t *const *kwargs, const size_t *kwargs_lengths,
                                  size_t count, sergeant_priority priority,
                                  double consumable_from, const char *trace_id,
                                  const sergeant_output *error);

    /** Pops up to `count` tasks; each is written to `tasks` as task msgpack bytes. At most
     *  once: the tasks leave the queue before they are written, so a plugin that crashes
     *  before handling them loses them (the worker's own loop, not this call, is what
     *  at_least_once protects). Does not wait for tasks: an empty queue writes nothing. */
    sergeant_status (*get_next_tasks)(void *host, const char *task_name, size_t count,
                                      const sergeant_output *tasks,
                                      const sergeant_output *error);

    /** Deletes the queue and its delayed tasks. */
    sergeant_status (*purge_tasks)(void *host, const char *task_name,
                                   const sergeant_output *error);

    /** Stores the number of queued tasks in `*count`; delayed ones only when
     *  `include_delayed` is non-zero (due delayed tasks always count). */
    sergeant_status (*number_of_enqueued_tasks)(void *host, const char *task_name,
                                                int32_t include_delayed, int64_t *count,
                                                const sergeant_output *error);

    /** Worker.retry: returns SERGEANT_RETRY after pushing the task with run_count + 1, or
     *  SERGEANT_MAX_RETRIES (nothing pushed) when max_retries is reached. */
    sergeant_status (*retry)(void *host, const uint8_t *task, size_t task_length,
                             sergeant_priority priority, double consumable_from,
                             const sergeant_output *error);

    /** Worker.requeue: pushes the task unchanged and returns SERGEANT_REQUEUE. */
    sergeant_status (*requeue)(void *host, const uint8_t *task, size_t task_length,
                               sergeant_priority priority, double consumable_from,
                               const sergeant_output *error);

    /** Tries to take lock `name` (key `__lock__.name`, SET NX EX ttl) until `timeout`
     *  seconds pass (negative: forever), polling every `check_interval` seconds.
     *  `*acquired` is 1 when taken, 0 when the timeout passed. Blocks the calling thread
     *  for up to `timeout` seconds (forever when negative; stop() does not interrupt it). */
    sergeant_status (*lock_acquire)(void *host, const char *name, double timeout,
                                    double check_interval, int64_t ttl, int32_t *acquired,
                                    const sergeant_output *error);
    /** Deletes lock `name`; `*released` is 1 when it existed. */
    sergeant_status (*lock_release)(void *host, const char *name, int32_t *released,
                                    const sergeant_output *error);
    /** `*locked` is 1 when lock `name` is held by anyone. */
    sergeant_status (*lock_is_locked)(void *host, const char *name, int32_t *locked,
                                      const sergeant_output *error);
    /** Sets the lock's time to live; `*was_set` is 1 when the lock exists. */
    sergeant_status (*lock_set_ttl)(void *host, const char *name, int64_t ttl,
                                    int32_t *was_set, const sergeant_output *error);
    /** Stores the lock's remaining seconds in `*ttl`, or -1 when it has none or is free. */
    sergeant_status (*lock_get_ttl)(void *host, const char *name, int64_t *ttl,
                                    const sergeant_output *error);

    /** Sets key `name` to msgpack `value`; `*was_new` is 1 when the key did not exist. */
    sergeant_status (*key_set)(void *host, const char *name, const uint8_t *value,
                               size_t value_length, int32_t *was_new,
                               const sergeant_output *error);
    /** Writes key `name`'s msgpack value to `value`; `*found` is 0 when it is unset. */
    sergeant_status (*key_get)(void *host, const char *name, const sergeant_output *value,
                               int32_t *found, const sergeant_output *error);
    /** Deletes key `name`; `*deleted` is 1 when it existed. */
    sergeant_status (*key_delete)(void *host, const char *name, int32_t *deleted,
                                  const sergeant_output *error);

    /** Returns 1 when the task running on the calling thread is past its timeout, so long
     *  work can stop cooperatively; 0 otherwise (and on a thread the host did not start). */
    int32_t (*is_timed_out)(void *host);

    /** Returns 1 when the worker was asked to stop (SIGTERM to the supervisor) while a task
     *  runs, so long work can end early; the host then calls on_stop for it. */
    int32_t (*should_stop)(void *host);

    /* ---- end of ABI 1.0 (SERGEANT_HOST_API_SIZE_1_0) ---- */

    /** Since 1.1. Writes one log line with swift-log style metadata: `count` pairs, `keys[i]`
     *  and `values[i]` NUL-terminated UTF-8. The host prints them after the message as
     *  `key=value`, sorted by key, as the host's own lines do. `message` is as for `log`.
     *  On a 1.0 host (no such field) append the pairs to the message and call `log`. */
    void (*log_with_metadata)(void *host, sergeant_log_level level, const char *message,
                              size_t length, const char *const *keys,
                              const char *const *values, size_t count);
} sergeant_host_api;

/** sizeof(sergeant_host_api) of ABI 1.0: the host table of a 1.0 host ends here. */
#define SERGEANT_HOST_API_SIZE_1_0 \
    (offsetof(sergeant_host_api, should_stop) + sizeof(int32_t (*)(void *)))

/* MARK: - Async work (since 1.2) */

/** A task started by `work_async`, named by the plugin: non-zero, never reused by an instance. */
typedef uint64_t sergeant_async_handle;

/**
 * How an asynchronous task ended, reported by the plugin exactly once per started task,
 * from any thread. `context` is the one the host gave to work_async. `status` is what
 * `work` would have returned; on SERGEANT_OK `value` holds the msgpack value work returned
 * (NULL or 0 bytes: nil); otherwise `message` (UTF-8, not NUL-terminated, may be NULL) is
 * the failure. Every pointer is borrowed for the call; the host copies what it keeps and
 * returns at once (it never calls into the plugin from here).
 */
typedef void (*sergeant_work_complete_fn)(void *context, sergeant_status status,
                                          const uint8_t *value, size_t value_length,
                                          const char *message, size_t message_length);

/* MARK: - Worker API (plugin -> host) */

/**
 * One worker instance, created by sergeant_worker_create. `worker` is the plugin's opaque
 * instance pointer, passed as the first argument of every function. `task` arguments are
 * task msgpack bytes (see sergeant_host_api). Handlers return SERGEANT_OK, a control-flow
 * status (a handler may retry, requeue, stop or respawn) or SERGEANT_FAILURE with a message.
 *
 * Every handler (initialize, finalize, pre_work, post_work, on_*) may be NULL: a handler
 * that does nothing. The host then skips it -- no call, no task bytes -- and goes on as if
 * it had returned SERGEANT_OK. Leave NULL what the worker does not implement: it saves a
 * crossing per task (Swift's SDK leaves NULL each handler a class overrides in neither form).
 */
typedef struct sergeant_worker_api {
    /** Set by the host to the room it allocated (sizeof its struct); left by the plugin
     *  at the number of bytes it wrote, min(its own sizeof, room). See TABLES. */
    size_t size;
    /** SERGEANT_ABI_VERSION the plugin was built against. */
    uint32_t abi_version;
    /** The plugin's instance. */
    void *worker;

    /** Writes the worker's configuration as one JSON document (sergeant's WorkerConfig:
     *  name, connector, max_tasks_per_run, max_retries, tasks_per_transaction,
     *  number_of_threads, encoder, timeouts, logging, starvation) to `config`. */
    sergeant_status (*config)(void *worker, const sergeant_output *config,
                              const sergeant_output *error);

    /** Called once in each worker process before the first task. */
    sergeant_status (*initialize)(void *worker, const sergeant_output *error);
    /** Called once when the worker process ends its run. */
    sergeant_status (*finalize)(void *worker, const sergeant_output *error);
    /** Called before `work` for each task. */
    sergeant_status (*pre_work)(void *worker, const uint8_t *task, size_t task_length,
                                const sergeant_output *error);
    /** Runs one task. SERGEANT_OK: success, and the returned value (msgpack) is written
     *  to `value`; writing nothing means nil. SERGEANT_FAILURE: the message is the exception.
     *  Any control-flow status: the task was retried, requeued, timed out, and so on. */
    sergeant_status (*work)(void *worker, const uint8_t *task, size_t task_length,
                            const sergeant_output *value, const sergeant_output *error);
    /** Called after each task, whatever its outcome. `success` is 1 on success;
     *  otherwise `exception` (may be NULL) holds the failure message. */
    sergeant_status (*post_work)(void *worker, const uint8_t *task, size_t task_length,
                                 int32_t success, const char *exception,
                                 const sergeant_output *error);
    /** The task succeeded; `value` is the msgpack value work returned. */
    sergeant_status (*on_success)(void *worker, const uint8_t *task, size_t task_length,
                                  const uint8_t *value, size_t value_length,
                                  const sergeant_output *error);
    /** The task failed with `exception` (a message). */
    sergeant_status (*on_failure)(void *worker, const uint8_t *task, size_t task_length,
                                  const char *exception, const sergeant_output *error);
    /** The task ran past its timeout. */
    sergeant_status (*on_timeout)(void *worker, const uint8_t *task, size_t task_length,
                                  const sergeant_output *error);
    /** The task was retried. */
    sergeant_status (*on_retry)(void *worker, const uint8_t *task, size_t task_length,
                                const sergeant_output *error);
    /** The task reached max_retries. */
    sergeant_status (*on_max_retries)(void *worker, const uint8_t *task, size_t task_length,
                                      const sergeant_output *error);
    /** The task was requeued. */
    sergeant_status (*on_requeue)(void *worker, const uint8_t *task, size_t task_length,
                                  const sergeant_output *error);
    /** No task arrived for `time_with_no_tasks` seconds (config starvation). */
    sergeant_status (*on_starvation)(void *worker, double time_with_no_tasks,
                                     const sergeant_output *error);
    /** The worker is stopping while `task` was in progress (stop() or SIGTERM). */
    sergeant_status (*on_stop)(void *worker, const uint8_t *task, size_t task_length,
                               const sergeant_output *error);
    /** Releases the instance. Called once; no other function is called afterwards. */
    void (*destroy)(void *worker);

    /* ---- end of ABI 1.0 (SERGEANT_WORKER_API_SIZE_1_0); ABI 1.1 appends nothing here ---- */

    /** Since 1.2, optional (see ASYNC WORK). Starts one task and returns at once.
     *  `task` is borrowed for this call only: copy what the work needs. On SERGEANT_OK the
     *  plugin has stored a non-zero handle in `*handle` (unique for the instance's lifetime;
     *  the host passes it to `cancel`) and will call `complete(context, ...)` exactly once,
     *  from any thread, possibly before work_async returns. Any other status: the task did
     *  not start, `complete` is never called, and the message in `error` is the failure. */
    sergeant_status (*work_async)(void *worker, const uint8_t *task, size_t task_length,
                                  sergeant_work_complete_fn complete, void *context,
                                  sergeant_async_handle *handle, const sergeant_output *error);
    /** Since 1.2, optional; required with work_async. Asks the task `handle` to stop soon (a
     *  timeout or a stopping worker): Swift's SDK cancels its Task. Never blocks; its
     *  `complete` still comes, once. A handle that already completed is ignored. */
    void (*cancel)(void *worker, sergeant_async_handle handle);

    /* ---- end of ABI 1.2 (SERGEANT_WORKER_API_SIZE_1_2) ---- */
} sergeant_worker_api;

/** sizeof(sergeant_worker_api) of ABI 1.0: the room a 1.0 host gives (it presets no size). */
#define SERGEANT_WORKER_API_SIZE_1_0 \
    (offsetof(sergeant_worker_api, destroy) + sizeof(void (*)(void *)))

/** sizeof(sergeant_worker_api) of ABI 1.2: the 1.0 table, work_async and cancel. */
#define SERGEANT_WORKER_API_SIZE_1_2 \
    (offsetof(sergeant_worker_api, cancel) + sizeof(void (*)(void *, sergeant_async_handle)))

/** The room the host gave for the worker table `api` points to: its preset `size`, or
 *  SERGEANT_WORKER_API_SIZE_1_0 from a 1.0 host, which preset nothing. */
#define SERGEANT_WORKER_API_ROOM(api) \
    ((api)->size != 0 ? (api)->size : SERGEANT_WORKER_API_SIZE_1_0)

/**
 * The growth rule's bounded copy: writes the first min(`table_size`, room) bytes of the
 * plugin's complete table `table` (whose first member is a sergeant_worker_api, possibly
 * followed by fields of a newer minor) into the host's room `api`, and sets `api->size` to
 * the number of bytes written, which it returns. Never writes past the room.
 */
static inline size_t sergeant_write_worker_api(sergeant_worker_api *api, const void *table,
                                               size_t table_size) {
    size_t room = SERGEANT_WORKER_API_ROOM(api);
    size_t length = table_size < room ? table_size : room;
    const unsigned char *from = (const unsigned char *)table;
    unsigned char *to = (unsigned char *)api;
    for (size_t i = sizeof(size_t); i < length; i++) to[i] = from[i];
    api->size = length;
    return length;
}

/* MARK: - Entry points a plugin exports */

/** `uint32_t sergeant_plugin_abi_version(void)`: SERGEANT_ABI_VERSION(major, minor). */
typedef uint32_t (*sergeant_plugin_abi_version_fn)(void);

/**
 * `sergeant_worker_create(class_name, host_api, worker_api, error)`: creates an instance of
 * the worker class named `class_name` and fills the room `*worker_api` by the growth rule
 * (the host zeroes it and presets `size` to its room; a 1.0 host preset nothing; see
 * TABLES). `host_api` stays valid until `destroy` returns; `worker_api` and `class_name`
 * only during this call. Returns SERGEANT_CLASS_NOT_FOUND with a message listing the
 * exported classes when there is no such class, SERGEANT_ABI_MISMATCH when the host's major
 * version is not the plugin's. Called once per worker process, on the host's main thread.
 */
typedef sergeant_status (*sergeant_worker_create_fn)(const char *class_name,
                                                     const sergeant_host_api *host_api,
                                                     sergeant_worker_api *worker_api,
                                                     const sergeant_output *error);

#ifdef __cplusplus
}
#endif

#endif /* SERGEANT_PLUGIN_H */
