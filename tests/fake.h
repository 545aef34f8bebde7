/*
 * fake.h: the providers' fakes the channel tests send to (tests/twilio_fake.py
 * and its siblings), each a Python child process on a free 127.0.0.1 port,
 * driven over HTTP with libcurl through its test endpoints.
 *
 * Every fake follows one convention, which fake_start relies on:
 *   /usr/bin/python3 tests/<fake>.py --port 0 --dir D [its own arguments]
 * prints "READY <port>" on stdout once listening on 127.0.0.1 and stops on
 * SIGTERM; POST /_control takes a JSON body, GET /_requests answers the JSON
 * list of what it received, POST /_reset forgets it.
 *
 *   static const char *const args[] = {"--account-sid", AC, "--auth-token", TOK, NULL};
 *   fake tw;
 *   fake_start(&tw, "twilio_fake.py", args);
 *   fake_control(&tw, "{\"next\": [{\"status\": 429, \"retry_after\": 30}]}");
 *   ... point the channel at fake_url(&tw, "", buf, sizeof buf) and send ...
 *   json_t *reqs = fake_requests(&tw);
 *   ...
 *   json_decref(reqs);
 *   fake_stop(&tw);
 */
#ifndef NUDGE_TEST_FAKE_H
#define NUDGE_TEST_FAKE_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <jansson.h>

#include "testutil.h"

#ifndef PYTHON
#define PYTHON "/usr/bin/python3"
#endif

typedef struct fake {
    pid_t pid;
    int port;
    char dir[128]; /* the fake's --dir, removed by fake_stop */
    char script[64];
} fake;

/* Whether fakes can run here at all (they need nothing but python3). */
static inline int fake_available(void)
{
    return access(PYTHON, X_OK) == 0;
}

/* tests/<script> from the source tree: as given when it is a path that
 * exists, else $NUDGE_FAKES_DIR/<script>, else tests/<script> from the
 * working directory, else beside this header. */
static inline const char *fake_script_path(const char *script, char *buf, size_t n)
{
    const char *e = getenv("NUDGE_FAKES_DIR");
    if (strchr(script, '/') && access(script, R_OK) == 0)
        snprintf(buf, n, "%s", script);
    else if (e)
        snprintf(buf, n, "%s/%s", e, script);
    else {
        snprintf(buf, n, "tests/%s", script);
        if (access(buf, R_OK) != 0) {
            const char *slash = strrchr(__FILE__, '/');
            snprintf(buf, n, "%.*s/%s", slash ? (int)(slash - __FILE__) : 1,
                     slash ? __FILE__ : ".", script);
        }
    }
    return buf;
}

/* Starts script with its own arguments (NULL-terminated, may be NULL) and
 * waits, up to 20 seconds, for its "READY <port>" line. Skips the test when
 * python3 is missing; fails it when the fake does not come up. */
static inline void fake_start(fake *f, const char *script, const char *const *args)
{
    memset(f, 0, sizeof *f);
    if (!fake_available())
        skip();
    snprintf(f->script, sizeof f->script, "%s", script);
    char path[1024];
    fake_script_path(script, path, sizeof path);
    tu_tmpdir(f->dir, sizeof f->dir);
    const char *argv[40] = {PYTHON, path, "--port", "0", "--dir", f->dir};
    int n = 6;
    for (; args && *args; args++) {
        if (n >= 39)
            fail_msg("%s: too many arguments", script);
        argv[n++] = *args;
    }
    argv[n] = NULL;
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        /* A fake must not outlive a test binary that crashes. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pfd[1], STDOUT_FILENO);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        execv(PYTHON, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char line[128];
    size_t len = 0;
    for (int waited = 0; waited < 20000 && len < sizeof line - 1 && !memchr(line, '\n', len);) {
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int r = poll(&p, 1, 100);
        if (r == 0) {
            waited += 100;
            continue;
        }
        if (r < 0)
            continue; /* EINTR */
        ssize_t got = read(pfd[0], line + len, sizeof line - 1 - len);
        if (got <= 0)
            break; /* the fake exited */
        len += (size_t)got;
    }
    close(pfd[0]);
    line[len] = 0;
    if (sscanf(line, "READY %d", &f->port) != 1 || f->port <= 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
        tu_rmrf(f->dir);
        fail_msg("%s did not start (%s)", script, line);
    }
}

/* SIGTERM, up to 5 seconds to exit, then SIGKILL; removes its directory. */
static inline void fake_stop(fake *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        int st;
        pid_t r = 0;
        for (int i = 0; i < 500 && (r = waitpid(f->pid, &st, WNOHANG)) == 0; i++)
            poll(NULL, 0, 10);
        if (r == 0) {
            kill(f->pid, SIGKILL);
            waitpid(f->pid, &st, 0);
        }
        f->pid = 0;
    }
    if (f->dir[0])
        tu_rmrf(f->dir);
    f->dir[0] = 0;
}

/* http://127.0.0.1:<port><path> */
static inline const char *fake_url(const fake *f, const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "http://127.0.0.1:%d%s", f->port, path);
    return buf;
}

typedef struct fake_buf {
    char *p;
    size_t len;
} fake_buf;

static inline size_t fake_collect(char *p, size_t sz, size_t n, void *ud)
{
    fake_buf *b = ud;
    size_t add = sz * n;
    char *q = realloc(b->p, b->len + add + 1);
    if (!q)
        return 0;
    memcpy(q + b->len, p, add);
    b->len += add;
    q[b->len] = 0;
    b->p = q;
    return add;
}

/* One request to the fake's own endpoints: method on path, with a JSON body
 * when json_body is not NULL. Returns the HTTP status; the answer's body in
 * *out (caller frees) when out is not NULL. Fails the test when the fake
 * cannot be reached. */
static inline long fake_http(const fake *f, const char *method, const char *path,
                             const char *json_body, char **out)
{
    char url[256];
    fake_url(f, path, url, sizeof url);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = NULL;
    fake_buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fake_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (json_body) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json_body));
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(b.p);
        fail_msg("%s %s %s: %s", f->script, method, url, curl_easy_strerror(rc));
    }
    if (out)
        *out = b.p ? b.p : strdup("");
    else
        free(b.p);
    return status;
}

/* method on path, asserting a 200 with a JSON answer, which it returns
 * (caller json_decref()s). */
static inline json_t *fake_json(const fake *f, const char *method, const char *path,
                                const char *json_body)
{
    char *body = NULL;
    long st = fake_http(f, method, path, json_body, &body);
    json_error_t je = {0};
    json_t *j = st == 200 ? json_loads(body, JSON_DECODE_ANY, &je) : NULL;
    char msg[1024] = "";
    if (!j)
        snprintf(msg, sizeof msg, "%s %s %s: HTTP %ld%s%s: %.300s", f->script, method, path, st,
                 st == 200 ? ", not JSON: " : "", st == 200 ? je.text : "", body);
    free(body);
    if (!j)
        fail_msg("%s", msg);
    return j;
}

/* POST /_control with json_text, e.g.
 * "{\"next\": [{\"status\": 500}, {\"drop\": true}]}"; fails unless 200. */
static inline void fake_control(const fake *f, const char *json_text)
{
    json_decref(fake_json(f, "POST", "/_control", json_text));
}

/* POST /_reset: the fake as it was at start. */
static inline void fake_reset(const fake *f)
{
    json_decref(fake_json(f, "POST", "/_reset", NULL));
}

/* GET /_requests: the JSON array of what the fake received, oldest first. */
static inline json_t *fake_requests(const fake *f)
{
    json_t *j = fake_json(f, "GET", "/_requests", NULL);
    if (!json_is_array(j))
        fail_msg("%s /_requests: not an array", f->script);
    return j;
}

/* The last request the fake received (a new reference), failing if none. */
static inline json_t *fake_last_request(const fake *f)
{
    json_t *all = fake_requests(f);
    size_t n = json_array_size(all);
    if (n == 0)
        fail_msg("%s: no request received", f->script);
    json_t *last = json_incref(json_array_get(all, n - 1));
    json_decref(all);
    return last;
}

/* GETs path (a JSON array, such as "/_requests" or "/_callbacks") until it
 * holds at least n items, for up to ms milliseconds; returns it or fails. */
static inline json_t *fake_wait(const fake *f, const char *path, size_t n, int ms)
{
    for (int waited = 0;; waited += 20) {
        json_t *j = fake_json(f, "GET", path, NULL);
        size_t have = json_array_size(j);
        if (have >= n)
            return j;
        json_decref(j);
        if (waited >= ms)
            fail_msg("%s %s: %zu items after %d ms, want %zu", f->script, path, have, ms, n);
        poll(NULL, 0, 20);
    }
}

/* The member at path in obj: names separated by '.' descend ("form.To",
 * "error.code"); NULL when any is absent. Borrowed reference. */
static inline json_t *fake_at(json_t *obj, const char *path)
{
    char key[128];
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t l = dot ? (size_t)(dot - path) : strlen(path);
        if (l >= sizeof key)
            return NULL;
        memcpy(key, path, l);
        key[l] = 0;
        obj = json_object_get(obj, key);
        path += l + (dot ? 1 : 0);
    }
    return obj;
}

/* The string at path, NULL when absent or not a string. */
static inline const char *fake_str(json_t *obj, const char *path)
{
    json_t *v = fake_at(obj, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The integer at path, -1 when absent or not an integer. */
static inline long long fake_int(json_t *obj, const char *path)
{
    json_t *v = fake_at(obj, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

#endif
