/*
 * Test fixture: a C plugin that uses the async entries of ABI 1.2 (work_async, cancel) and
 * completes every task from a pthread of its own. Class "AsyncCWorker": queue
 * "async_c_worker", max_concurrent_tasks 8, timeout 1 s, grace period 5 s, INFO to stdout.
 * A task whose bytes contain "slow" takes 300 ms; one that contains "hang" runs until it is
 * cancelled (then it logs "async C task cancelled" and completes); any other completes at
 * once. Each start logs "async C task started running=N" (N: tasks running now in this
 * process), each end "async C task done". on_timeout logs "async C on_timeout".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sergeant_plugin.h"

static const sergeant_host_api *host;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sergeant_async_handle last_handle;
static int running;

#define MAX_JOBS 64
struct job {
    sergeant_async_handle handle; /* 0: free slot */
    int cancelled;
    int kind;                     /* 0 at once, 1 slow, 2 hang */
    sergeant_work_complete_fn complete;
    void *context;
};
static struct job jobs[MAX_JOBS];

uint32_t sergeant_plugin_abi_version(void) {
    return SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
}

static void say(const sergeant_output *out, const char *text) {
    if (out) out->write(out->context, (const uint8_t *)text, strlen(text));
}

static void log_line(const char *line) {
    if (SERGEANT_HAS_FIELD(host, sergeant_host_api, log)) host->log(host->host, SERGEANT_LOG_INFO, line, strlen(line));
}

static int contains(const uint8_t *bytes, size_t length, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= length; i++) if (memcmp(bytes + i, needle, n) == 0) return 1;
    return 0;
}

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    say(config, "{\"name\": \"async_c_worker\", \"max_concurrent_tasks\": 8,"
                " \"timeouts\": {\"timeout\": 1, \"grace_period\": 5},"
                " \"connector\": {\"type\": \"redis\", \"params\": {\"nodes\": [{\"host\": \"localhost\", \"port\": 6379, \"password\": null, \"database\": 0}]}},"
                " \"logging\": {\"level\": 20, \"log_to_stdout\": true}}");
    return SERGEANT_OK;
}

/* The synchronous entry, for hosts older than 1.2: the same work, on the host's thread. */
static sergeant_status work(void *worker, const uint8_t *task, size_t length,
                            const sergeant_output *value, const sergeant_output *error) {
    (void)worker; (void)task; (void)length; (void)value; (void)error;
    log_line("async C worker ran a task synchronously");
    return SERGEANT_OK;
}

static void *run_job(void *argument) {
    struct job *job = argument;
    int ticks = job->kind == 1 ? 30 : job->kind == 2 ? -1 : 0;
    int cancelled = 0;
    for (int tick = 0; ticks < 0 || tick < ticks; tick++) {
        pthread_mutex_lock(&lock);
        cancelled = job->cancelled;
        pthread_mutex_unlock(&lock);
        if (cancelled) break;
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    sergeant_work_complete_fn complete = job->complete;
    void *context = job->context;
    pthread_mutex_lock(&lock);
    job->handle = 0;
    running--;
    pthread_mutex_unlock(&lock);
    if (cancelled) {
        log_line("async C task cancelled");
        static const char message[] = "cancelled";
        complete(context, SERGEANT_FAILURE, NULL, 0, message, sizeof message - 1);
    } else {
        log_line("async C task done");
        complete(context, SERGEANT_OK, NULL, 0, NULL, 0);
    }
    return NULL;
}

static sergeant_status work_async(void *worker, const uint8_t *task, size_t length, sergeant_work_complete_fn complete,
                                  void *context, sergeant_async_handle *handle, const sergeant_output *error) {
    (void)worker;
    pthread_mutex_lock(&lock);
    struct job *job = NULL;
    for (int i = 0; i < MAX_JOBS && !job; i++) if (jobs[i].handle == 0) job = &jobs[i];
    if (!job) {
        pthread_mutex_unlock(&lock);
        say(error, "the async C worker runs at most 64 tasks at once");
        return SERGEANT_FAILURE;
    }
    job->handle = ++last_handle;
    job->cancelled = 0;
    job->kind = contains(task, length, "slow") ? 1 : contains(task, length, "hang") ? 2 : 0;
    job->complete = complete;
    job->context = context;
    *handle = job->handle;
    int now = ++running;
    pthread_mutex_unlock(&lock);
    char line[64];
    snprintf(line, sizeof line, "async C task started running=%d", now);
    log_line(line);
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_job, job) != 0) {
        pthread_mutex_lock(&lock);
        job->handle = 0;
        running--;
        pthread_mutex_unlock(&lock);
        say(error, "pthread_create failed");
        return SERGEANT_FAILURE;
    }
    pthread_detach(thread);
    return SERGEANT_OK;
}

static void cancel(void *worker, sergeant_async_handle handle) {
    (void)worker;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_JOBS; i++) if (jobs[i].handle == handle && handle != 0) jobs[i].cancelled = 1;
    pthread_mutex_unlock(&lock);
}

static sergeant_status on_timeout(void *worker, const uint8_t *task, size_t length, const sergeant_output *error) {
    (void)worker; (void)task; (void)length; (void)error;
    log_line("async C on_timeout");
    return SERGEANT_OK;
}

static void destroy(void *worker) { free(worker); }

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    if (strcmp(class_name, "AsyncCWorker") != 0) {
        say(error, "this module exports no worker class with that name; it exports: AsyncCWorker");
        return SERGEANT_CLASS_NOT_FOUND;
    }
    host = host_api;
    sergeant_worker_api mine = {0};
    mine.abi_version = SERGEANT_ABI_VERSION(SERGEANT_ABI_VERSION_MAJOR, SERGEANT_ABI_VERSION_MINOR);
    mine.worker = malloc(1);
    mine.config = config;
    mine.work = work;
    mine.on_timeout = on_timeout;
    mine.destroy = destroy;
    mine.work_async = work_async;
    mine.cancel = cancel;
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
