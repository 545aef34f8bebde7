/*
 * throughput.c: end-to-end throughput of nudge's dispatcher on SQLite,
 * sending SMS through the Twilio channel to tests/twilio_fake.py on
 * loopback. Not a test: bench/run.sh drives it (see bench/README.md).
 *
 *   build/bench/throughput [-n N] [-j IN_FLIGHT] [-b BATCH] [-p PATIENTS] [-r]
 *                          [-u http://127.0.0.1:PORT] [-f tests/twilio_fake.py]
 *   build/bench/throughput -F [-r]   prints the form body nudge POSTs for
 *                                    one message (what wrk sends; -r: one
 *                                    reminder), and exits
 *
 * Setup (timed apart): a scratch SQLite file in /tmp, one clinic with the
 * rate limit lifted (1,000,000 a minute) and no quiet hours, PATIENTS
 * patients, then N SMS notifications enqueued with nudge_enqueue inside one
 * transaction. They are enqueued due a day ahead, then released with one
 * UPDATE to a whole second D just ahead, so every message becomes due at
 * the same instant and the clock the queue keeps (seconds) is exact.
 *
 * Measured phase: from D, nudge_tick on the system clock in a loop until
 * nothing is pending. Each "sent" outcome (nudge_on_sent, called once the
 * outcome is committed) is timed with CLOCK_REALTIME in nanoseconds:
 * latency = sent - due. Messages per second are N over the time from D to
 * the last "sent". Peak RSS is getrusage's ru_maxrss (the whole process,
 * setup included). Checks: every notification ended `sent`, each reported
 * sent exactly once and nothing else reported, and the fake accepted
 * exactly N more messages (GET /_stats before and after).
 *
 * -r (reminders, issue 16's burst "50,000 reminders all due at 09:00"):
 * the N messages are not enqueued but planned: setup books N visits (one a
 * patient, so PATIENTS is N) three days ahead, cancels their confirmations
 * and releases their 24-hour reminders to D with one UPDATE. From D the
 * same tick loop makes them messages (planner.c) and sends them, as
 * `nudge serve` would, so the last "sent" times both; ids are those the
 * planner gives, from the queue's next id on.
 *
 * Without -u it starts the fake itself (as tests/fake.h does). Results go
 * to stdout as key=value lines (for run.sh) and to stderr as prose.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core.h"
#include "nudge.h"

#define SID "AC0123456789abcdef0123456789abcdef"
#define TOKEN "bench-auth-token"
#define FROM "+15005550006"
#define TEMPLATE "prescription_ready"

static void die(const char *what, const nudge_err *e)
{
    fprintf(stderr, "throughput: %s: %s%s%s\n", what, e ? e->msg : strerror(errno),
            e && e->field[0] ? " / " : "", e ? e->field : "");
    exit(2);
}

static int64_t ns_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the fake ---------------------------------------------------------- */

typedef struct bench_fake {
    pid_t pid; /* 0: not ours */
    char base[128];
} bench_fake;

static void fake_spawn(bench_fake *f, const char *script)
{
    const char *argv[] = {"/usr/bin/python3", script,   "--port", "0",  "--account-sid",
                          SID,                "--auth-token", TOKEN, "--keep", "100", NULL};
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        die("pipe", NULL);
    f->pid = fork();
    if (f->pid < 0)
        die("fork", NULL);
    if (f->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pfd[1], STDOUT_FILENO);
        execv(argv[0], (char *const *)argv);
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
            continue;
        ssize_t got = read(pfd[0], line + len, sizeof line - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(pfd[0]);
    line[len] = 0;
    int port = 0;
    if (sscanf(line, "READY %d", &port) != 1 || port <= 0) {
        fprintf(stderr, "throughput: %s did not start (%s)\n", script, line);
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        exit(2);
    }
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", port);
}

static void fake_end(bench_fake *f)
{
    if (f->pid <= 0)
        return;
    kill(f->pid, SIGTERM);
    pid_t r = 0;
    for (int i = 0; i < 500 && (r = waitpid(f->pid, NULL, WNOHANG)) == 0; i++)
        poll(NULL, 0, 10);
    if (r == 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    f->pid = 0;
}

static size_t collect(char *p, size_t sz, size_t nm, void *ud)
{
    sbuf_add(ud, p, sz * nm);
    return sz * nm;
}

/* GET /_stats: the fake's counters of accepted and all requests. */
static void fake_stats(const bench_fake *f, long long *accepted, long long *requests)
{
    char url[256];
    snprintf(url, sizeof url, "%s/_stats", f->base);
    CURL *c = curl_easy_init();
    sbuf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    json_t *j = rc == CURLE_OK && b.data ? json_loads(b.data, 0, NULL) : NULL;
    if (!j) {
        fprintf(stderr, "throughput: GET %s: %s\n", url,
                rc == CURLE_OK ? "not JSON" : curl_easy_strerror(rc));
        exit(2);
    }
    *accepted = (long long)json_integer_value(json_object_get(j, "accepted"));
    *requests = (long long)json_integer_value(json_object_get(j, "requests"));
    json_decref(j);
    sbuf_free(&b);
}

/* ---- what is measured -------------------------------------------------- */

typedef struct bench {
    int64_t first_id, n;
    int64_t *due_s;        /* due time per message, seconds (the queue's unit) */
    int64_t *lat_ns;       /* sent - due, per message */
    unsigned char *sent;   /* "sent" reports per message */
    int64_t other, stray;  /* any other outcome; ids outside the run */
    int64_t n_sent, last_sent_ns;
} bench;

static void on_sent(void *ctx, const nudge_notification *m, const char *outcome)
{
    bench *b = ctx;
    int64_t now = ns_of(CLOCK_REALTIME);
    int64_t i = m->id - b->first_id;
    if (i < 0 || i >= b->n) {
        b->stray++;
        return;
    }
    if (strcmp(outcome, "sent")) {
        b->other++;
        return;
    }
    if (b->sent[i] < 255)
        b->sent[i]++;
    if (b->sent[i] == 1) {
        b->lat_ns[i] = now - b->due_s[i] * 1000000000;
        b->n_sent++;
    }
    b->last_sent_ns = now;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank on a sorted array. */
static double pct_ms(const int64_t *v, int64_t n, double p)
{
    if (n <= 0)
        return 0;
    int64_t k = (int64_t)ceil(p / 100.0 * (double)n);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1e6;
}

/* Counts by status, into counts[] in nudge_status_names order; answers how
 * many are pending or sending. Not nudge_queue_status: its NOT EXISTS on
 * notification_queue.fallback_of has no index to use and is quadratic in
 * the rows of the queue (bench/README.md, "Findings"). */
static int64_t queue_counts(nudge *n, int64_t counts[NUDGE_N_STATUS])
{
    nudge_err e = {0};
    store_stmt *st;
    memset(counts, 0, sizeof(int64_t) * NUDGE_N_STATUS);
    if (store_query(n->db, &st, &e,
                    "SELECT status, COUNT(*) FROM notification_queue GROUP BY status") < 0)
        die("queue counts", &e);
    int r;
    while ((r = store_next(st, &e)) == 1)
        for (int i = 0; i < NUDGE_N_STATUS; i++)
            if (!strcmp(store_text(st, 0), nudge_status_names[i]))
                counts[i] = store_int(st, 1);
    store_done(st);
    if (r < 0)
        die("queue counts", &e);
    return counts[0] + counts[1];
}

/* ---- setup ------------------------------------------------------------- */

static nudge *open_store(const char *dir, const char *fake_base, int in_flight, int batch)
{
    char db[256], outbox[256];
    snprintf(db, sizeof db, "%s/bench.db", dir);
    snprintf(outbox, sizeof outbox, "%s/outbox", dir);
    nudge_config cfg = {
        .db = db,
        .outbox_dir = outbox,
        .twilio_base_url = fake_base,
        .twilio_account_sid = SID,
        .twilio_auth_token = TOKEN,
        .twilio_from = FROM,
        .clock = NULL, /* the system clock */
        .batch_size = batch,
        .max_in_flight = in_flight,
    };
    nudge *n;
    nudge_err e = {0};
    if (nudge_open(&cfg, &n, &e) < 0)
        die("nudge_open", &e);
    return n;
}

static int64_t add_clinic(nudge *n)
{
    nudge_clinic c;
    nudge_err e = {0};
    nudge_clinic_defaults(&c);
    strcpy(c.name, "Bench Dental");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    strcpy(c.phone, "+911140000000");
    c.quiet_start = c.quiet_end = 0; /* no quiet hours */
    c.rate_per_minute = 1000000;     /* the limit lifted */
    if (nudge_clinic_add(n, &c, &e) < 0)
        die("clinic", &e);
    return c.id;
}

/* Patients of equal name and number lengths, so every message is the same
 * size as the one wrk sends. */
static int64_t add_patient(nudge *n, int64_t clinic, int i)
{
    nudge_patient p;
    nudge_err e = {0};
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    snprintf(p.name, sizeof p.name, "Patient %06d", i);
    snprintf(p.phone, sizeof p.phone, "+9198%08d", i);
    if (nudge_patient_add(n, &p, &e) < 0)
        die("patient", &e);
    return p.id;
}

static int64_t enqueue(nudge *n, int64_t clinic, int64_t patient, int64_t due)
{
    nudge_send s = {.patient_id = patient,
                    .template_name = TEMPLATE,
                    .channel = "sms",
                    .priority = NUDGE_NORMAL,
                    .due_at = due};
    int64_t id;
    nudge_err e = {0};
    if (nudge_enqueue(n, clinic, &s, &id, NULL, &e) < 0)
        die("enqueue", &e);
    return id;
}

/* -r: a visit at `visit` for the patient, booked (its plans made). */
static void book(nudge *n, int64_t clinic, int64_t patient, int64_t visit)
{
    nudge_appointment a = {.patient_id = patient, .start_at = visit, .duration_min = 30};
    snprintf(a.service, sizeof a.service, "Cleaning");
    nudge_err e = {0};
    if (nudge_appointment_add(n, clinic, &a, &e) < 0)
        die("book", &e);
}

/* -r: the booked visits' 24-hour reminders (due at visit - 24 h) released
 * to `due`, their other plans cancelled. The id the first message the
 * planner makes will get. */
static int64_t release_reminders(nudge *n, int64_t visit, int64_t due)
{
    int64_t next = 0;
    nudge_err e = {0};
    if (store_exec(n->db, &e,
                   "UPDATE reminders SET status = 'cancelled' WHERE status = 'planned' AND "
                   "due_at <> ?",
                   bind_int(visit - 86400)) < 0 ||
        store_exec(n->db, &e,
                   "UPDATE reminders SET due_at = ? WHERE status = 'planned' AND due_at = ?",
                   bind_int(due), bind_int(visit - 86400)) < 0 ||
        store_scalar(n->db, &next, &e, "SELECT COALESCE(MAX(id), 0) + 1 FROM notification_queue") !=
            1)
        die("release", &e);
    return next;
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "throughput: could not remove %s\n", dir);
}

/* -F: the form body src/channel/twilio.c builds for patient 1's message
 * (To, From, Body, each percent-encoded by curl; no StatusCallback, as no
 * public URL is configured in the run either); with -r, for a visit's
 * 24-hour reminder, as the planner makes it. */
static int print_form(int reminders)
{
    char dir[] = "/tmp/nudge-bench-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    nudge *n = open_store(dir, "http://127.0.0.1:9", 1, 1);
    int64_t clinic = add_clinic(n), patient = add_patient(n, clinic, 1), id;
    nudge_notification m;
    nudge_err e = {0};
    if (reminders) {
        int64_t now = ns_of(CLOCK_REALTIME) / 1000000000, visit = now + 2 * 86400;
        nudge_tick_stats st = {0};
        book(n, clinic, patient, visit);
        id = release_reminders(n, visit, now);
        if (planner_run(n, now, 0, &st, &e) < 0 || st.planned_enqueued != 1)
            die("planner", &e);
    } else {
        id = enqueue(n, clinic, patient, 0);
    }
    if (nudge_notification_get(n, clinic, id, &m, &e) < 0)
        die("notification", &e);
    CURL *c = curl_easy_init();
    char *to = curl_easy_escape(c, m.recipient, 0);
    char *from = curl_easy_escape(c, FROM, 0);
    char *body = curl_easy_escape(c, m.body, 0);
    printf("To=%s&From=%s&Body=%s\n", to, from, body);
    curl_free(to);
    curl_free(from);
    curl_free(body);
    curl_easy_cleanup(c);
    nudge_notification_free(&m);
    nudge_close(n);
    rm_rf(dir);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: throughput [-n N] [-j IN_FLIGHT] [-b BATCH] [-p PATIENTS] [-r]\n"
            "                  [-u http://127.0.0.1:PORT] [-f path/to/twilio_fake.py] [-k]\n"
            "       throughput -F [-r]\n"
            "  -n  notifications to send (100000)\n"
            "  -j  transfers in flight on the multi handle, max_in_flight (32)\n"
            "  -b  dispatcher batch size, batch_size (100)\n"
            "  -p  patients the messages go round (5000)\n"
            "  -r  the messages are N visits' reminders, all due at once, planned\n"
            "      in the measured phase (one patient a visit)\n"
            "  -u  a running twilio_fake.py (account " SID ", token " TOKEN ");\n"
            "      without it the fake at -f (tests/twilio_fake.py) is started\n"
            "  -k  keep the scratch directory\n"
            "  -F  print the form body of one message (for wrk) and exit; with -r,\n"
            "      of one reminder\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long n_msgs = 100000, in_flight = 32, batch = 100, patients = 5000;
    const char *url = NULL, *script = "tests/twilio_fake.py";
    int keep = 0, reminders = 0, form = 0, opt;
    while ((opt = getopt(argc, argv, "n:j:b:p:u:f:krFh")) != -1) {
        switch (opt) {
        case 'n': n_msgs = strtol(optarg, NULL, 10); break;
        case 'j': in_flight = strtol(optarg, NULL, 10); break;
        case 'b': batch = strtol(optarg, NULL, 10); break;
        case 'p': patients = strtol(optarg, NULL, 10); break;
        case 'u': url = optarg; break;
        case 'f': script = optarg; break;
        case 'k': keep = 1; break;
        case 'r': reminders = 1; break;
        case 'F': form = 1; break;
        default: usage();
        }
    }
    if (form) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return print_form(reminders);
    }
    if (reminders)
        patients = n_msgs;
    if (n_msgs < 1 || in_flight < 1 || batch < 1 || patients < 1 || patients > 99999999)
        usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);

    bench_fake fk = {0};
    if (url)
        snprintf(fk.base, sizeof fk.base, "%s", url);
    else
        fake_spawn(&fk, script);

    char dir[] = "/tmp/nudge-bench-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    nudge *n = open_store(dir, fk.base, (int)in_flight, (int)batch);
    nudge_err e = {0};

    /* ---- setup: clinic, patients, N notifications in one transaction ---- */
    int64_t t_setup = ns_of(CLOCK_MONOTONIC);
    int64_t clinic = add_clinic(n);
    int64_t *pid = malloc((size_t)patients * sizeof *pid);
    bench b = {.n = n_msgs};
    b.due_s = malloc((size_t)n_msgs * sizeof *b.due_s);
    b.lat_ns = malloc((size_t)n_msgs * sizeof *b.lat_ns);
    b.sent = calloc((size_t)n_msgs, 1);
    if (!pid || !b.due_s || !b.lat_ns || !b.sent)
        die("malloc", NULL);
    if (store_begin(n->db, &e) < 0)
        die("begin", &e);
    for (long i = 0; i < patients; i++)
        pid[i] = add_patient(n, clinic, (int)i + 1);
    int64_t parked = ns_of(CLOCK_REALTIME) / 1000000000 + 86400; /* not due yet */
    int64_t visit = parked + 2 * 86400; /* -r: its 24-hour reminder is due at parked */
    for (long i = 0; reminders && i < n_msgs; i++)
        book(n, clinic, pid[i], visit);
    for (long i = 0; !reminders && i < n_msgs; i++) {
        int64_t id = enqueue(n, clinic, pid[i % patients], parked);
        if (i == 0)
            b.first_id = id;
        else if (id != b.first_id + i) {
            fprintf(stderr, "throughput: ids not consecutive\n");
            return 2;
        }
    }
    if (store_commit(n->db, &e) < 0)
        die("commit", &e);
    /* Release them all at a whole second D just ahead: the messages, or
     * (-r) the 24-hour reminders, the visits' other plans cancelled. */
    int64_t due = ns_of(CLOCK_REALTIME) / 1000000000 + 2;
    if (reminders) {
        b.first_id = release_reminders(n, visit, due);
    } else if (store_exec(n->db, &e,
                          "UPDATE notification_queue SET due_at = ? WHERE status = 'pending' AND "
                          "due_at = ?",
                          bind_int(due), bind_int(parked)) < 0) {
        die("release", &e);
    }
    for (long i = 0; i < n_msgs; i++)
        b.due_s[i] = due;
    double setup_s = (double)(ns_of(CLOCK_MONOTONIC) - t_setup) / 1e9;
    free(pid);

    long long acc0, req0;
    fake_stats(&fk, &acc0, &req0);
    nudge_on_sent(n, on_sent, &b);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    struct timespec at = {.tv_sec = (time_t)due};
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL) == EINTR)
        ;

    /* ---- the measured phase ---- */
    int64_t t0 = ns_of(CLOCK_REALTIME);
    int ticks = 0;
    int64_t counts[NUDGE_N_STATUS];
    for (;;) {
        nudge_tick_stats st;
        if (nudge_tick(n, &st, &e) < 0)
            die("tick", &e);
        ticks++;
        if (st.claimed > 0)
            continue;
        if (queue_counts(n, counts) == 0)
            break;
        /* Due later (a retry): wait for it. */
        poll(NULL, 0, 50);
        if ((ns_of(CLOCK_REALTIME) - t0) / 1000000000 > 3600) {
            fprintf(stderr, "throughput: still %lld pending after an hour\n",
                    (long long)counts[0]);
            break;
        }
    }
    int64_t t_end = ns_of(CLOCK_REALTIME);
    getrusage(RUSAGE_SELF, &ru1);
    long long acc1, req1;
    fake_stats(&fk, &acc1, &req1);

    /* ---- checks ---- */
    int64_t once = 0, twice = 0, never = 0;
    for (long i = 0; i < n_msgs; i++) {
        once += b.sent[i] == 1;
        twice += b.sent[i] > 1;
        never += b.sent[i] == 0;
    }
    int64_t planned = 0; /* -r: each reminder made a message once */
    if (reminders &&
        store_scalar(n->db, &planned, &e,
                     "SELECT COUNT(*) FROM reminders WHERE status = 'enqueued' AND due_at = ?",
                     bind_int(due)) != 1)
        die("reminders", &e);
    int ok = counts[2] == n_msgs && once == n_msgs && !twice && !never && !b.other && !b.stray &&
             acc1 - acc0 == n_msgs && req1 - req0 == n_msgs && (!reminders || planned == n_msgs);

    int64_t *lat = malloc((size_t)b.n_sent * sizeof *lat);
    int64_t k = 0;
    for (long i = 0; i < n_msgs; i++)
        if (b.sent[i])
            lat[k++] = b.lat_ns[i];
    qsort(lat, (size_t)k, sizeof *lat, cmp_i64);
    double send_s = (double)((b.last_sent_ns ? b.last_sent_ns : t_end) - due * 1000000000) / 1e9;
    double loop_s = (double)(t_end - t0) / 1e9;
    double cpu_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                   (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                   (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                   (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    double rate = send_s > 0 ? (double)b.n_sent / send_s : 0;

    printf("n=%ld\nin_flight=%ld\nbatch=%ld\npatients=%ld\n", n_msgs, in_flight, batch,
           patients);
    printf("mode=%s\nplanned=%lld\n", reminders ? "reminders" : "queued", (long long)planned);
    printf("setup_s=%.2f\nsend_s=%.3f\nloop_s=%.3f\nticks=%d\n", setup_s, send_s, loop_s, ticks);
    printf("rate=%.0f\n", rate);
    printf("p50_ms=%.1f\np99_ms=%.1f\nmax_ms=%.1f\n", pct_ms(lat, k, 50), pct_ms(lat, k, 99),
           pct_ms(lat, k, 100));
    printf("first_ms=%.2f\n", pct_ms(lat, k, 0));
    printf("rss_kb=%ld\n", ru1.ru_maxrss);
    printf("cpu_s=%.2f\ncpu_us_per_msg=%.0f\n", cpu_s, cpu_s * 1e6 / (double)n_msgs);
    printf("status_sent=%lld\nstatus_pending=%lld\nstatus_failed=%lld\n", (long long)counts[2],
           (long long)counts[0], (long long)counts[5]);
    printf("sent_once=%lld\nsent_twice=%lld\nnever_sent=%lld\nother_outcomes=%lld\n",
           (long long)once, (long long)twice, (long long)never, (long long)b.other);
    printf("fake_accepted=%lld\nfake_requests=%lld\n", acc1 - acc0, req1 - req0);
    printf("ok=%d\n", ok);

    fprintf(stderr,
            "throughput: %ld %s (%ld patients), setup %.1f s; sent in %.2f s: %.0f/s, "
            "due->sent p50 %.1f ms p99 %.1f ms, peak RSS %ld KiB, CPU %.0f us/message; %s\n",
            n_msgs, reminders ? "reminders" : "messages", patients, setup_s, send_s, rate,
            pct_ms(lat, k, 50), pct_ms(lat, k, 99), ru1.ru_maxrss, cpu_s * 1e6 / (double)n_msgs,
            ok ? "every message sent exactly once" : "CHECK FAILED");
    free(lat);
    free(b.due_s);
    free(b.lat_ns);
    free(b.sent);
    nudge_close(n);
    fake_end(&fk);
    if (keep)
        fprintf(stderr, "throughput: kept %s\n", dir);
    else
        rm_rf(dir);
    curl_global_cleanup();
    return ok ? 0 : 1;
}
