/*
 * The physical limit of the single rows of `make bench`: a bare hiredis loop, no framework.
 *
 *   raw_redis PORT TASKS PAYLOAD_BYTES rpush|lpop|lpop1000
 *
 * rpush:    times TASKS x RPUSH of a PAYLOAD_BYTES value, one command per round trip.
 * lpop:     fills the list with TASKS values (pipelined, untimed), then times TASKS x LPOP,
 *           one per round trip.
 * lpop1000: fills the list likewise, then times TASKS / 1000 x `LPOP key 1000`, one round
 *           trip per 1,000 tasks (the batch consume rows' limit).
 * Against 127.0.0.1:PORT; prints one line: `seconds SECONDS vmhwm_kb KB`.
 *
 * Built by scripts/bench.sh with `cc -O2 bench/raw_redis.c -lhiredis`.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long peak_rss_kb(void) {
    FILE *file = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    if (!file) return 0;
    while (fgets(line, sizeof line, file)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(file);
    return kb;
}

static void fail(redisContext *context, const char *what) {
    fprintf(stderr, "raw_redis: %s: %s\n", what, context->errstr[0] ? context->errstr : "unexpected reply");
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[4], "rpush") != 0 && strcmp(argv[4], "lpop") != 0
                      && strcmp(argv[4], "lpop1000") != 0)) {
        fprintf(stderr, "usage: raw_redis PORT TASKS PAYLOAD_BYTES rpush|lpop|lpop1000\n");
        return 2;
    }
    int batched = strcmp(argv[4], "lpop1000") == 0;
    int pop = batched || strcmp(argv[4], "lpop") == 0;
    int port = atoi(argv[1]);
    long tasks = atol(argv[2]);
    size_t size = (size_t)atol(argv[3]);
    char *payload = malloc(size ? size : 1);
    memset(payload, 'x', size);
    const char *key = "raw_benchmark";

    redisContext *context = redisConnect("127.0.0.1", port);
    if (!context || context->err) fail(context, "connect");
    redisReply *reply = redisCommand(context, "DEL %s", key);
    if (!reply) fail(context, "DEL");
    freeReplyObject(reply);

    if (pop) {
        /* The list to pop from, filled in pipelined batches outside the timed loop. */
        for (long done = 0; done < tasks;) {
            long batch = tasks - done < 1000 ? tasks - done : 1000;
            for (long i = 0; i < batch; i++) redisAppendCommand(context, "RPUSH %s %b", key, payload, size);
            for (long i = 0; i < batch; i++) {
                if (redisGetReply(context, (void **)&reply) != REDIS_OK) fail(context, "RPUSH (fill)");
                freeReplyObject(reply);
            }
            done += batch;
        }
    }

    double start = now();
    for (long i = 0; batched && i < tasks; i += 1000) {
        long count = tasks - i < 1000 ? tasks - i : 1000;
        reply = redisCommand(context, "LPOP %s %ld", key, count);
        if (!reply || reply->type != REDIS_REPLY_ARRAY || (long)reply->elements != count) fail(context, "LPOP key 1000");
        for (size_t e = 0; e < reply->elements; e++) {
            if (reply->element[e]->type != REDIS_REPLY_STRING || reply->element[e]->len != size) fail(context, "LPOP key 1000");
        }
        freeReplyObject(reply);
    }
    for (long i = 0; !batched && i < tasks; i++) {
        if (pop) {
            reply = redisCommand(context, "LPOP %s", key);
            if (!reply || reply->type != REDIS_REPLY_STRING || reply->len != size) fail(context, "LPOP");
        } else {
            reply = redisCommand(context, "RPUSH %s %b", key, payload, size);
            if (!reply || reply->type != REDIS_REPLY_INTEGER) fail(context, "RPUSH");
        }
        freeReplyObject(reply);
    }
    double seconds = now() - start;

    printf("seconds %.6f vmhwm_kb %ld\n", seconds, peak_rss_kb());
    redisFree(context);
    free(payload);
    return 0;
}
