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
#include <time.h>
#include "fixture_common.h"

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

FIXTURE_EXPORT_ABI_VERSION()

static void log_line(const char *line) { fixture_log(host, line); }

static sergeant_status config(void *worker, const sergeant_output *config, const sergeant_output *error) {
    (void)worker; (void)error;
    fixture_say(config, "{\"name\": \"async_c_worker\", \"max_concurrent_tasks\": 8,"
                        " \"timeouts\": {\"timeout\": 1, \"grace_period\": 5},"
                        " " FIXTURE_REDIS_CONNECTOR ", " FIXTURE_LOGGING_INFO "}");
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
        fixture_say(error, "the async C worker runs at most 64 tasks at once");
        return SERGEANT_FAILURE;
    }
    job->handle = ++last_handle;
    job->cancelled = 0;
    job->kind = fixture_contains(task, length, "slow") ? 1 : fixture_contains(task, length, "hang") ? 2 : 0;
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
        fixture_say(error, "pthread_create failed");
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

sergeant_status sergeant_worker_create(const char *class_name, const sergeant_host_api *host_api,
                                       sergeant_worker_api *api, const sergeant_output *error) {
    if (strcmp(class_name, "AsyncCWorker") != 0) return fixture_class_not_found(error, "AsyncCWorker");
    host = host_api;
    sergeant_worker_api mine = fixture_worker_table(malloc(1), config, work, fixture_free_instance);
    mine.on_timeout = on_timeout;
    mine.work_async = work_async;
    mine.cancel = cancel;
    sergeant_write_worker_api(api, &mine, sizeof mine);
    return SERGEANT_OK;
}
