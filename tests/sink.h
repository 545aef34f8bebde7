/*
 * sink.h: the real SMTP server tests send to: tests/smtp_sink.py (Debian's
 * python3-aiosmtpd) on a free 127.0.0.1 port, keeping each message as raw
 * bytes, envelope and a parse by Python's email package.
 */
#ifndef NUDGE_TEST_SINK_H
#define NUDGE_TEST_SINK_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <jansson.h>

#include "testutil.h"

#define PYTHON "/usr/bin/python3"

static int have_sink; /* python3-aiosmtpd present */

static inline int sink_available(void)
{
    return access(PYTHON, X_OK) == 0 &&
           system(PYTHON " -c 'import aiosmtpd' >/dev/null 2>&1") == 0;
}

typedef struct sink {
    pid_t pid;
    int port;
    char dir[128];
} sink;

static inline const char *sink_script(void)
{
    static char path[1024];
    const char *e = getenv("NUDGE_SMTP_SINK");
    if (e)
        return e;
    if (access("tests/smtp_sink.py", R_OK) == 0)
        return "tests/smtp_sink.py";
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof path, "%.*s/smtp_sink.py", slash ? (int)(slash - __FILE__) : 1,
             slash ? __FILE__ : ".");
    return path;
}

/* A port nobody listens on: bound by the kernel's choice, then released. */
static inline int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Starts the sink with extra arguments (NULL-terminated) and waits, up to 20
 * seconds, for its "READY <port>" line. */
static inline void sink_start(sink *s, const char *const *extra)
{
    if (!have_sink)
        skip();
    tu_tmpdir(s->dir, sizeof s->dir);
    const char *argv[24] = {PYTHON, sink_script(), "--port", "0", "--dir", s->dir};
    int n = 6;
    for (; extra && *extra && n < 22; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        /* The sink must not outlive a test binary that crashes. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pfd[1], STDOUT_FILENO);
        execv(PYTHON, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    char line[128];
    size_t len = 0;
    for (int waited = 0; waited < 20000 && !memchr(line, '\n', len);) {
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int r = poll(&p, 1, 100);
        if (r == 0) {
            waited += 100;
            continue;
        }
        ssize_t got = read(pfd[0], line + len, sizeof line - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(pfd[0]);
    line[len] = 0;
    if (sscanf(line, "READY %d", &s->port) != 1)
        fail_msg("smtp_sink.py did not start (%s)", line);
}

static inline void sink_stop(sink *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int st;
        for (int i = 0; i < 500 && waitpid(s->pid, &st, WNOHANG) == 0; i++)
            poll(NULL, 0, 10);
        if (kill(s->pid, 0) == 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
        }
        s->pid = 0;
    }
    if (s->dir[0])
        tu_rmrf(s->dir);
    s->dir[0] = 0;
}

/* D/<n>.<ext> of the sink as JSON (.json parsed message, .env envelope). */
static inline json_t *sink_json(const sink *s, int n, const char *ext)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%d.%s", s->dir, n, ext);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("%s: %s", path, je.text);
    return j;
}

static inline char *sink_raw(const sink *s, int n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%d.eml", s->dir, n);
    return tu_read_file(path);
}

#endif
