/*
 * test_write.c: the write path of issue 16. nudge_enqueue_batch: a good
 * batch is written whole, one bad item fails the whole batch naming its
 * index and field with nothing written, dedupe keys within a batch and
 * against rows already queued; and the same through POST
 * /v1/notifications:batch (every bad item listed, Idempotency-Key). Group
 * commit (commit.c): many threads' enqueues, each id distinct and on disk
 * with the audit chain whole; a write that fails in a group fails alone;
 * one dedupe key twice in a group; the WAL bounded over a long run. Runs on
 * SQLite, and on PostgreSQL under tests/pgcluster.sh (where the group
 * tests that need a committer are skipped: PostgreSQL commits directly).
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>

#include "core.h"
#include "httputil.h"

#define T0 TU_T(2026, 12, 1, 6, 30)

static int64_t w_clinic(nudge *n, const char *name)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    snprintf(c.name, sizeof c.name, "%s", name);
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    nudge_err e = {0};
    if (nudge_clinic_add(n, &c, &e) < 0)
        fail_msg("clinic: %s", e.msg);
    return c.id;
}

static int64_t w_patient(nudge *n, int64_t clinic, int i)
{
    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = clinic;
    snprintf(p.name, sizeof p.name, "Patient %d", i);
    strcpy(p.language, i % 2 ? "hi" : "en");
    snprintf(p.phone, sizeof p.phone, "98765%05d", i);
    nudge_err e = {0};
    if (nudge_patient_add(n, &p, &e) < 0)
        fail_msg("patient: %s", e.msg);
    return p.id;
}

static int64_t w_pending(nudge *n, int64_t clinic)
{
    int64_t counts[NUDGE_N_STATUS];
    nudge_err e = {0};
    if (nudge_queue_status(n, clinic, counts, &e) < 0)
        fail_msg("status: %s", e.msg);
    return counts[0];
}

static int64_t w_audit_rows(nudge *n)
{
    int64_t k = 0;
    nudge_err e = {0};
    if (store_scalar(n->db, &k, &e, "SELECT COUNT(*) FROM audit_log WHERE action = 'enqueue'") < 0)
        fail_msg("audit: %s", e.msg);
    return k;
}

static void test_batch_good(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge *n = env.n;
    int64_t c = w_clinic(n, "Batch Clinic");
    int64_t p[5];
    for (int i = 0; i < 5; i++)
        p[i] = w_patient(n, c, i);
    nudge_send s[12];
    for (int i = 0; i < 12; i++)
        s[i] = (nudge_send){.patient_id = p[i % 5], .template_name = "prescription_ready",
                            .channel = "sms", .priority = NUDGE_NORMAL};
    nudge_batch_result out[12];
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue_batch(n, c, s, 12, out, &e), 0);
    for (int i = 0; i < 12; i++) {
        assert_true(out[i].id > 0);
        assert_int_equal(out[i].created, 1);
        assert_int_equal(out[i].err.code, 0);
        for (int j = 0; j < i; j++)
            assert_true(out[i].id != out[j].id);
        nudge_notification m;
        assert_int_equal(nudge_notification_get(n, c, out[i].id, &m, &e), 0);
        assert_int_equal(m.patient_id, p[i % 5]);
        /* Each patient's own language, from the template read once per
         * (name, language). */
        assert_string_equal(m.language, i % 5 % 2 ? "hi" : "en");
        nudge_notification_free(&m);
    }
    assert_int_equal(w_pending(n, c), 12);
    assert_int_equal(w_audit_rows(n), 12);
    tu_close(&env);
}

/* A batch meeting more (template, language) pairs than one chunk of its
 * template reads holds (queue.c's BATCH_TPL_CHUNK, 8): each message is
 * rendered from its own template, read once however often it is met. */
static void test_batch_many_templates(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge *n = env.n;
    int64_t c = w_clinic(n, "Batch Clinic");
    int64_t p = w_patient(n, c, 0); /* en */
    nudge_err e = {0};
    enum { NT = 19, NS = 2 * NT };
    char names[NT][16], sms[NT][64];
    for (int i = 0; i < NT; i++) {
        nudge_template t = {.clinic_id = c};
        snprintf(names[i], sizeof names[i], "note_%02d", i);
        snprintf(sms[i], sizeof sms[i], "Note %02d for {patient_name}.", i);
        strcpy(t.name, names[i]);
        strcpy(t.language, "en");
        strcpy(t.category, "transactional");
        t.sms = t.text = sms[i];
        t.subject = "A note";
        t.html = "<p>A note.</p>";
        if (nudge_template_put(n, c, &t, &e) < 0)
            fail_msg("template: %s (%s)", e.msg, e.field);
    }
    nudge_send s[NS];
    for (int i = 0; i < NS; i++)
        s[i] = (nudge_send){.patient_id = p,
                            .template_name = names[i % NT],
                            .channel = "sms",
                            .priority = NUDGE_NORMAL};
    nudge_batch_result out[NS];
    assert_int_equal(nudge_enqueue_batch(n, c, s, NS, out, &e), 0);
    for (int i = 0; i < NS; i++) {
        nudge_notification m;
        char want[64];
        snprintf(want, sizeof want, "Note %02d for ", i % NT);
        assert_int_equal(nudge_notification_get(n, c, out[i].id, &m, &e), 0);
        assert_string_equal(m.template_name, names[i % NT]);
        assert_non_null(strstr(m.body, want));
        nudge_notification_free(&m);
    }
    assert_int_equal(w_pending(n, c), NS);
    tu_close(&env);
}

static void test_batch_bad_item_fails_all(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge *n = env.n;
    int64_t c = w_clinic(n, "Batch Clinic"), other = w_clinic(n, "Other Clinic");
    int64_t p = w_patient(n, c, 1), q = w_patient(n, other, 2);
    nudge_send s[6];
    for (int i = 0; i < 6; i++)
        s[i] = (nudge_send){.patient_id = p, .template_name = "prescription_ready",
                            .priority = NUDGE_NORMAL};
    s[3].patient_id = q;                 /* another clinic's patient */
    s[5].template_name = "no_such_name"; /* and a second bad item */
    nudge_batch_result out[6];
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue_batch(n, c, s, 6, out, &e), -1);
    assert_int_equal(e.code, NUDGE_EINVAL);
    assert_string_equal(e.field, "items[3].patient");
    assert_int_equal(out[3].err.code, NUDGE_EINVAL);
    assert_string_equal(out[3].err.field, "patient");
    assert_int_equal(out[5].err.code, NUDGE_EINVAL);
    assert_string_equal(out[5].err.field, "template");
    for (int i = 0; i < 6; i++) {
        assert_int_equal(out[i].id, 0);
        if (i != 3 && i != 5)
            assert_int_equal(out[i].err.code, 0);
    }
    /* Nothing half-written: no row, no audit line. */
    assert_int_equal(w_pending(n, c), 0);
    assert_int_equal(w_audit_rows(n), 0);
    /* Too many items: refused before anything is read. */
    nudge_send *big = calloc(NUDGE_BATCH_MAX + 1, sizeof *big);
    nudge_batch_result *bout = calloc(NUDGE_BATCH_MAX + 1, sizeof *bout);
    assert_int_equal(nudge_enqueue_batch(n, c, big, NUDGE_BATCH_MAX + 1, bout, &e), -1);
    assert_string_equal(e.field, "items");
    free(big);
    free(bout);
    tu_close(&env);
}

static void test_batch_dedupe(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge *n = env.n;
    int64_t c = w_clinic(n, "Batch Clinic");
    int64_t p = w_patient(n, c, 1);
    nudge_err e = {0};
    int64_t before;
    nudge_send one = {.patient_id = p, .template_name = "prescription_ready",
                      .priority = NUDGE_NORMAL, .dedupe_key = "old"};
    assert_int_equal(nudge_enqueue(n, c, &one, &before, NULL, &e), 0);
    nudge_send s[4] = {
        {.patient_id = p, .template_name = "prescription_ready", .dedupe_key = "k"},
        {.patient_id = p, .template_name = "prescription_ready", .dedupe_key = "k"},
        {.patient_id = p, .template_name = "prescription_ready", .dedupe_key = "old"},
        {.patient_id = p, .template_name = "prescription_ready"},
    };
    for (int i = 0; i < 4; i++)
        s[i].priority = NUDGE_NORMAL;
    nudge_batch_result out[4];
    assert_int_equal(nudge_enqueue_batch(n, c, s, 4, out, &e), 0);
    assert_int_equal(out[0].created, 1);
    assert_int_equal(out[1].created, 0);
    assert_int_equal(out[1].id, out[0].id);
    assert_int_equal(out[2].created, 0);
    assert_int_equal(out[2].id, before);
    assert_int_equal(out[3].created, 1);
    assert_int_equal(w_pending(n, c), 3);
    tu_close(&env);
}

static int gc_chain(void *ctx, const nudge_audit_chain *c);

/* A batch past one chunk of rows (512: store.h's STORE_ROWS_MAX), with
 * dedupe keys repeated within it and already stored, written by
 * nudge_enqueue_batch on one database and one nudge_enqueue at a time in
 * the same order on another: the same ids, the same rows, and the same
 * audit chain hash for hash (so the chain computed in C from one read of
 * the head is the chain single adds write), which verifies. */
#define WB_N 600
#define WB_PATIENTS 7

static void wb_setup(tu_env *env, int64_t *c, int64_t *p)
{
    tu_open(env, T0);
    *c = w_clinic(env->n, "Chain Clinic");
    for (int i = 0; i < WB_PATIENTS; i++)
        p[i] = w_patient(env->n, *c, i);
    nudge_err e = {0};
    const char *old[] = {"k5", "k90"};
    for (int i = 0; i < 2; i++) {
        nudge_send s = {.patient_id = p[i], .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL, .dedupe_key = old[i]};
        if (nudge_enqueue(env->n, *c, &s, NULL, NULL, &e) < 0)
            fail_msg("enqueue: %s", e.msg);
    }
}

/* The clinic's audit rows, as text, one line each. */
static char *wb_chain(nudge *n, int64_t c)
{
    store_stmt *st;
    nudge_err e = {0};
    size_t cap = 1 << 20, len = 0;
    char *out = calloc(1, cap);
    if (store_query(n->db, &st, &e,
                    "SELECT chain_seq, action, entity_id, detail, prev_hash, hash FROM audit_log "
                    "WHERE clinic_id = ? ORDER BY chain_seq",
                    bind_int(c)) < 0)
        fail_msg("audit: %s", e.msg);
    while (store_next(st, &e) == 1 && len + 300 < cap)
        len += (size_t)snprintf(out + len, cap - len, "%lld %s %lld %s %s %s\n",
                                (long long)store_int(st, 0), store_text(st, 1),
                                (long long)store_int(st, 2), store_text(st, 3),
                                store_text(st, 4), store_text(st, 5));
    store_done(st);
    return out;
}

static void test_batch_chain_equals_single(void **state)
{
    (void)state;
    tu_env a, b;
    int64_t ca, cb, pa[WB_PATIENTS], pb[WB_PATIENTS];
    wb_setup(&a, &ca, pa);
    wb_setup(&b, &cb, pb);
    assert_int_equal(ca, cb);
    static nudge_send s[WB_N];
    static char keys[WB_N][16];
    static nudge_batch_result out[WB_N];
    for (int i = 0; i < WB_N; i++) {
        s[i] = (nudge_send){.patient_id = pa[i % WB_PATIENTS],
                            .template_name = "prescription_ready", .priority = NUDGE_NORMAL};
        if (i % 3 == 0) { /* k0 twice, k1 twice, ...: k5 and k90 already stored */
            snprintf(keys[i], sizeof keys[i], "k%d", i / 6);
            s[i].dedupe_key = keys[i];
        }
    }
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue_batch(a.n, ca, s, WB_N, out, &e), 0);
    /* One at a time, in one transaction so the test stays quick. */
    assert_int_equal(store_begin(b.n->db, &e), 0);
    for (int i = 0; i < WB_N; i++) {
        int64_t id;
        int created;
        s[i].patient_id = pb[i % WB_PATIENTS];
        if (nudge_enqueue(b.n, cb, &s[i], &id, &created, &e) < 0)
            fail_msg("enqueue %d: %s", i, e.msg);
        assert_int_equal(out[i].id, id);
        assert_int_equal(out[i].created, created);
    }
    assert_int_equal(store_commit(b.n->db, &e), 0);
    int made = 0;
    for (int i = 0; i < WB_N; i++) {
        made += out[i].created;
        if (!s[i].dedupe_key) {
            assert_int_equal(out[i].created, 1);
        } else if (!strcmp(keys[i], "k5") || !strcmp(keys[i], "k90")) {
            assert_int_equal(out[i].created, 0);
        } else { /* the first of a pair makes the row, the second finds it */
            assert_int_equal(out[i].created, i % 6 == 0);
            if (i % 6)
                assert_int_equal(out[i].id, out[i - 3].id);
        }
        /* Each id is its own item's row. */
        nudge_notification m;
        assert_int_equal(nudge_notification_get(a.n, ca, out[i].id, &m, &e), 0);
        if (out[i].created)
            assert_int_equal(m.patient_id, pa[i % WB_PATIENTS]);
        assert_string_equal(m.dedupe_key, s[i].dedupe_key ? s[i].dedupe_key : "");
        nudge_notification_free(&m);
    }
    assert_int_equal(made, WB_N - WB_N / 6 - 2);
    assert_int_equal(w_pending(a.n, ca), made + 2);
    char *ha = wb_chain(a.n, ca), *hb = wb_chain(b.n, cb);
    assert_true(strlen(ha) > (size_t)made * 100);
    assert_string_equal(ha, hb);
    free(ha);
    free(hb);
    assert_int_equal(nudge_audit_verify(a.n, ca, gc_chain, NULL, &e), 0);
    assert_int_equal(nudge_audit_verify(b.n, cb, gc_chain, NULL, &e), 0);
    tu_close(&a);
    tu_close(&b);
}

/* The audit log's and the keys' lists, one statement per case (a clinic,
 * every clinic): a clinic sees its own rows only, newest first, paged by
 * `before`; NUDGE_ANY_CLINIC sees every clinic's. */
struct wl_seen {
    int64_t ids[64], clinic[64];
    int n;
};

static int wl_audit(void *ctx, const nudge_audit *a)
{
    struct wl_seen *s = ctx;
    if (s->n < 64)
        s->ids[s->n] = a->id, s->clinic[s->n++] = a->clinic_id;
    return 0;
}

static int wl_key(void *ctx, const nudge_key *k)
{
    struct wl_seen *s = ctx;
    if (s->n < 64)
        s->ids[s->n] = k->id, s->clinic[s->n++] = k->clinic_id;
    return 0;
}

static void test_lists_by_clinic(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge *n = env.n;
    int64_t c[2] = {w_clinic(n, "List A"), w_clinic(n, "List B")};
    nudge_err e = {0};
    char secret[NUDGE_KEY_SECRET_LEN];
    for (int i = 0; i < 6; i++) {
        w_patient(n, c[i % 2], i);
        nudge_key k;
        assert_int_equal(nudge_key_create(n, c[i % 2], NUDGE_ROLE_STAFF, "k", &k, secret, &e), 0);
    }
    struct wl_seen all = {0}, a = {0}, page = {0};
    assert_int_equal(nudge_audit_list(n, NUDGE_ANY_CLINIC, 0, 64, wl_audit, &all, &e), 0);
    assert_int_equal(nudge_audit_list(n, c[0], 0, 64, wl_audit, &a, &e), 0);
    int of_a = 0;
    for (int i = 0; i < all.n; i++) {
        of_a += all.clinic[i] == c[0];
        if (i)
            assert_true(all.ids[i] < all.ids[i - 1]);
    }
    assert_true(of_a >= 6 && all.n > of_a);
    assert_int_equal(a.n, of_a);
    for (int i = 0; i < a.n; i++) {
        assert_int_equal(a.clinic[i], c[0]);
        if (i)
            assert_true(a.ids[i] < a.ids[i - 1]);
    }
    /* The next page of two, after the first two. */
    assert_int_equal(nudge_audit_list(n, c[0], a.ids[1], 2, wl_audit, &page, &e), 0);
    assert_int_equal(page.n, 2);
    assert_int_equal(page.ids[0], a.ids[2]);
    assert_int_equal(page.ids[1], a.ids[3]);
    struct wl_seen kall = {0}, kb = {0};
    assert_int_equal(nudge_key_list(n, NUDGE_ANY_CLINIC, wl_key, &kall, &e), 0);
    assert_int_equal(nudge_key_list(n, c[1], wl_key, &kb, &e), 0);
    assert_int_equal(kall.n, 6);
    assert_int_equal(kb.n, 3);
    for (int i = 0; i < kb.n; i++) {
        assert_int_equal(kb.clinic[i], c[1]);
        if (i)
            assert_true(kb.ids[i] > kb.ids[i - 1]);
    }
    tu_close(&env);
}

static void test_batch_http(void **state)
{
    (void)state;
    api_env a;
    api_open(&a, T0);
    nudge *n = a.env.n;
    int64_t p1 = w_patient(n, a.clinic_a, 1), p2 = w_patient(n, a.clinic_a, 2);
    int64_t pb = w_patient(n, a.clinic_b, 3);
    char body[512];
    snprintf(body, sizeof body,
             "{\"items\":[{\"patient_id\":%lld,\"template\":\"prescription_ready\"},"
             "{\"patient_id\":%lld,\"template\":\"prescription_ready\",\"priority\":\"high\"},"
             "{\"patient_id\":%lld,\"template\":\"prescription_ready\",\"dedupe_key\":\"d1\"}]}",
             (long long)p1, (long long)p2, (long long)p1);
    api_resp r = api_call(&a, "POST", "/v1/notifications:batch", a.integ_a, body);
    assert_int_equal(r.status, 201);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 3);
    int64_t ids[3];
    for (size_t i = 0; i < 3; i++) {
        ids[i] = json_integer_value(json_object_get(json_array_get(items, i), "id"));
        assert_true(ids[i] > 0);
        assert_true(json_is_true(json_object_get(json_array_get(items, i), "created")));
    }
    assert_true(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    api_free(&r);
    assert_int_equal(w_pending(n, a.clinic_a), 3);

    /* Every bad item listed, each by index; nothing written. */
    snprintf(body, sizeof body,
             "{\"items\":[{\"patient_id\":%lld,\"template\":\"prescription_ready\"},"
             "{\"patient_id\":%lld,\"template\":\"prescription_ready\"},"
             "{\"patient_id\":%lld,\"template\":\"no_such_template\"}]}",
             (long long)p1, (long long)pb, (long long)p2);
    r = api_call(&a, "POST", "/v1/notifications:batch", a.integ_a, body);
    API_EXPECT_PROBLEM(r, 422, "items[1].patient_id");
    json_t *errs = json_object_get(r.json, "errors");
    assert_int_equal(json_array_size(errs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 1), "field")),
                        "items[2].template");
    api_free(&r);
    snprintf(body, sizeof body,
             "{\"items\":[{\"patient_id\":%lld,\"template\":\"prescription_ready\"},"
             "{\"patient_id\":%lld,\"template\":\"prescription_ready\",\"priority\":5}]}",
             (long long)p1, (long long)p2);
    r = api_call(&a, "POST", "/v1/notifications:batch", a.integ_a, body);
    API_EXPECT_PROBLEM(r, 422, "items[1].priority");
    api_free(&r);
    r = api_call(&a, "POST", "/v1/notifications:batch", a.integ_a, "{\"items\":[]}");
    API_EXPECT_PROBLEM(r, 422, "items");
    api_free(&r);
    assert_int_equal(w_pending(n, a.clinic_a), 3);

    /* Idempotency-Key: the second call answers the first's result. */
    snprintf(body, sizeof body,
             "{\"items\":[{\"patient_id\":%lld,\"template\":\"prescription_ready\"}]}",
             (long long)p2);
    const char *hk[] = {"Idempotency-Key: batch-1", NULL};
    api_resp r1 = api_call_raw(&a, "POST", "/v1/notifications:batch", a.integ_a, body,
                               strlen(body), hk);
    api_resp r2 = api_call_raw(&a, "POST", "/v1/notifications:batch", a.integ_a, body,
                               strlen(body), hk);
    assert_int_equal(r1.status, 201);
    assert_int_equal(r2.status, 201);
    assert_string_equal(r1.body, r2.body);
    api_free(&r1);
    api_free(&r2);
    assert_int_equal(w_pending(n, a.clinic_a), 4);
    api_close(&a);
}

/* ---- group commit ---- */

#define GC_THREADS 8
#define GC_EACH 40

struct gc_caller {
    const char *db;
    nudge_clock *clock;
    int64_t clinic, patient;
    int64_t ids[GC_EACH];
};

static void *gc_call(void *arg)
{
    struct gc_caller *g = arg;
    nudge_config cfg = {.db = g->db, .outbox_dir = "/tmp", .clock = g->clock};
    nudge *n;
    nudge_err e = {0};
    if (nudge_open(&cfg, &n, &e) < 0)
        fail_msg("open: %s", e.msg);
    for (int i = 0; i < GC_EACH; i++) {
        nudge_send s = {.patient_id = g->patient, .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL};
        if (nudge_enqueue(n, g->clinic, &s, &g->ids[i], NULL, &e) < 0)
            fail_msg("enqueue: %s", e.msg);
    }
    nudge_close(n);
    return NULL;
}

static int gc_chain(void *ctx, const nudge_audit_chain *c)
{
    (void)ctx;
    (void)c;
    return 0;
}

static void test_group_many_threads(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Group Clinic");
    struct gc_caller g[GC_THREADS];
    pthread_t t[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++) {
        g[i] = (struct gc_caller){.db = env.db, .clock = &env.clock, .clinic = c,
                                  .patient = w_patient(env.n, c, i)};
        pthread_create(&t[i], NULL, gc_call, &g[i]);
    }
    for (int i = 0; i < GC_THREADS; i++)
        pthread_join(t[i], NULL);
    /* Every id distinct... */
    int64_t *all = calloc(GC_THREADS * GC_EACH, sizeof *all);
    for (int i = 0; i < GC_THREADS * GC_EACH; i++)
        all[i] = g[i / GC_EACH].ids[i % GC_EACH];
    for (int i = 0; i < GC_THREADS * GC_EACH; i++)
        for (int j = 0; j < i; j++)
            assert_true(all[i] != all[j]);
    free(all);
    /* ... and on disk: a handle opened afterwards sees each row and an
     * audit chain without a gap. */
    nudge_close(env.n);
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &env.clock};
    nudge_err e = {0};
    assert_int_equal(nudge_open(&cfg, &env.n, &e), 0);
    assert_int_equal(w_pending(env.n, c), GC_THREADS * GC_EACH);
    assert_int_equal(w_audit_rows(env.n), GC_THREADS * GC_EACH);
    assert_int_equal(nudge_audit_verify(env.n, c, gc_chain, NULL, &e), 0);
    tu_close(&env);
}

/* Writes handed straight to the committer, so a test chooses what fails. */
struct gc_write {
    nudge *n;
    int64_t clinic, patient;
    const char *dedupe;
    int fail, hold; /* hold: wait, leading, until `hold` writes queue behind */
    int held;       /* it has waited */
    int ran;        /* its fn has run */
    int enqueue;    /* through nudge_enqueue (prescription_ready, by SMS) */
    int leading;    /* set once a held write runs: its group is taken */
    int rc, created;
    int64_t id;
    nudge_err err;
};

static int gc_fn_one(nudge *n, struct gc_write *w, nudge_err *err)
{
    __atomic_store_n(&w->ran, 1, __ATOMIC_SEQ_CST);
    if (w->hold)
        __atomic_store_n(&w->leading, 1, __ATOMIC_SEQ_CST);
    /* Once: the leader, gathering while it writes, takes the writes that
     * queued into its own group, and a group run again after a failure
     * runs this write again with nothing queued. */
    while (w->hold && !w->held && commit_waiting(w->n) < w->hold)
        sched_yield();
    if (w->hold) {
        w->held = 1;
        return 0;
    }
    queue_item it = {.clinic_id = w->clinic, .patient_id = w->patient, .channel = "sms",
                     .recipient = "+919876500001", .template_name = "t", .language = "en",
                     .category = "transactional", .body = "hello", .priority = NUDGE_NORMAL,
                     .due_at = T0, .dedupe_key = w->dedupe, .max_retries = 3};
    if (queue_insert(n, &it, &w->id, &w->created, err) < 0)
        return -1;
    if (w->fail) /* after its row went in: the group's rollback must take it back */
        return nudge_err_set(err, NUDGE_EINVAL, "patient", "refused on purpose");
    return 0;
}

/* Joined writes (commit_fn's contract) one after the other; gc_joined
 * counts the joined calls, so a test sees writes join. */
static int gc_joined;

static int gc_fn(nudge *n, void *const *args, size_t count, nudge_err *err)
{
    if (count > 1)
        __atomic_add_fetch(&gc_joined, 1, __ATOMIC_SEQ_CST);
    for (size_t k = 0; k < count; k++)
        if (gc_fn_one(n, args[k], err) < 0)
            return -1;
    return 0;
}

static void *gc_write_thread(void *arg)
{
    struct gc_write *w = arg;
    nudge_send s = {.patient_id = w->patient, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL, .dedupe_key = w->dedupe};
    w->rc = w->enqueue ? nudge_enqueue(w->n, w->clinic, &s, &w->id, &w->created, &w->err)
                       : commit_run(w->n, w->clinic, gc_fn, w, &w->err);
    return NULL;
}

/* w[0] (hold = k - 1) leads a group of its own and waits there until the
 * k - 1 others queue, so they form the next group together. */
static void gc_run_group(struct gc_write *w, int k)
{
    pthread_t t[16];
    assert_true(k <= 16);
    pthread_create(&t[0], NULL, gc_write_thread, &w[0]);
    while (!__atomic_load_n(&w[0].leading, __ATOMIC_SEQ_CST)) /* w[0] has taken its group */
        sched_yield();
    for (int i = 1; i < k; i++)
        pthread_create(&t[i], NULL, gc_write_thread, &w[i]);
    for (int i = 0; i < k; i++)
        pthread_join(t[i], NULL);
}

/* k more handles on env's database, each as a caller of its own opens it. */
static void gc_handles(tu_env *env, nudge **h, int k)
{
    nudge_config cfg = {.db = env->db, .outbox_dir = env->outbox, .clock = &env->clock};
    nudge_err e = {0};
    for (int i = 0; i < k; i++)
        assert_int_equal(nudge_open(&cfg, &h[i], &e), 0);
}

static void test_group_fails_alone_and_dedupes(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Group Clinic"), p = w_patient(env.n, c, 1);
    nudge *h[4];
    gc_handles(&env, h, 4);
    /* w[0] leads a group of its own and waits there until the three others
     * queue, so they form the next group together. */
    struct gc_write w[4] = {
        {.n = h[0], .hold = 3},
        {.n = h[1], .clinic = c, .patient = p, .dedupe = "same"},
        {.n = h[2], .clinic = c, .patient = p, .fail = 1},
        {.n = h[3], .clinic = c, .patient = p, .dedupe = "same"},
    };
    gc_joined = 0;
    gc_run_group(w, 4);
    /* The three joined one call first (one clinic, actor and instant),
     * which failed and was run again a write at a time. */
    assert_int_equal(gc_joined, 1);
    assert_int_equal(w[0].rc, 0);
    assert_int_equal(w[1].rc, 0);
    assert_int_equal(w[3].rc, 0);
    assert_int_equal(w[2].rc, -1);
    assert_string_equal(w[2].err.msg, "refused on purpose");
    /* One row for the dedupe key, whichever of the two came first. */
    assert_int_equal(w[1].id, w[3].id);
    assert_int_equal(w[1].created + w[3].created, 1);
    /* The failed write's row was taken back; the group's others stayed. */
    assert_int_equal(w_pending(env.n, c), 1);
    for (int i = 0; i < 4; i++)
        nudge_close(h[i]);
    tu_close(&env);
}

/* Gathering (commit_gather): a write whose caller is still reading for it
 * is on its way, and the leader waits for it in its group. A caller
 * that reads (commit_read) and holds there until told: */
struct gc_reader {
    nudge *n;
    struct gc_write w; /* then written, through the committer */
    int inside, release, rc;
};

static int gc_read_fn(nudge *n, void *arg, nudge_err *err)
{
    (void)n, (void)err;
    struct gc_reader *r = arg;
    __atomic_store_n(&r->inside, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&r->release, __ATOMIC_SEQ_CST))
        sched_yield();
    return 0;
}

static void *gc_reader_thread(void *arg)
{
    struct gc_reader *r = arg;
    nudge_err e = {0};
    r->rc = commit_read(r->n, gc_read_fn, r, &e);
    if (r->rc == 1) /* PostgreSQL's: the caller reads on its own handle */
        r->rc = gc_read_fn(r->n, r, &e);
    if (r->rc == 0)
        r->w.rc = commit_run(r->n, r->w.clinic, gc_fn, &r->w, &r->w.err);
    return NULL;
}

static void test_group_gathers_writes_on_their_way(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Group Clinic"), p = w_patient(env.n, c, 1);
    nudge *h[2];
    gc_handles(&env, h, 2);
    assert_int_equal(commit_on_way(h[0]), 0);
    /* On SQLite a leader waits for the reader however long it reads (the
     * wait's bound moved out of the way), its own write already run: the
     * two writes make one group, one transaction. PostgreSQL's leader does
     * not wait (commit.c says why): b commits alone, then r. */
    long was = commit_gather_set(60L * 1000000000L);
    struct gc_reader r = {.n = h[0], .w = {.n = h[0], .clinic = c, .patient = p, .dedupe = "r"}};
    struct gc_write b = {.n = h[1], .clinic = c, .patient = p, .dedupe = "b"};
    pthread_t tr, tb;
    pthread_create(&tr, NULL, gc_reader_thread, &r);
    while (!__atomic_load_n(&r.inside, __ATOMIC_SEQ_CST))
        sched_yield();
    assert_int_equal(commit_on_way(h[0]), 1);
    long groups = commit_groups(h[0]);
    pthread_create(&tb, NULL, gc_write_thread, &b);
    if (tu_pg_admin())
        pthread_join(tb, NULL); /* b does not wait for r */
    else
        while (!__atomic_load_n(&b.ran, __ATOMIC_SEQ_CST)) /* b leads, writes, and waits */
            sched_yield();
    __atomic_store_n(&r.release, 1, __ATOMIC_SEQ_CST);
    if (!tu_pg_admin())
        pthread_join(tb, NULL);
    pthread_join(tr, NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.w.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_int_equal(commit_groups(h[0]) - groups, tu_pg_admin() ? 2 : 1);
    assert_int_equal(w_pending(env.n, c), 2);
    /* With the bound back where it was, a reader that holds longer does
     * not hold the group: b's write commits while r still reads. */
    commit_gather_set(1000000L); /* 1 ms */
    r = (struct gc_reader){.n = h[0], .w = {.n = h[0], .clinic = c, .patient = p, .dedupe = "r2"}};
    b = (struct gc_write){.n = h[1], .clinic = c, .patient = p, .dedupe = "b2"};
    pthread_create(&tr, NULL, gc_reader_thread, &r);
    while (!__atomic_load_n(&r.inside, __ATOMIC_SEQ_CST))
        sched_yield();
    pthread_create(&tb, NULL, gc_write_thread, &b);
    pthread_join(tb, NULL);
    assert_int_equal(b.rc, 0);
    assert_int_equal(w_pending(env.n, c), 3);
    assert_int_equal(__atomic_load_n(&r.inside, __ATOMIC_SEQ_CST), 1);
    __atomic_store_n(&r.release, 1, __ATOMIC_SEQ_CST);
    pthread_join(tr, NULL);
    assert_int_equal(r.w.rc, 0);
    assert_int_equal(w_pending(env.n, c), 4);
    commit_gather_set(was);
    /* Nothing stays counted on its way: not a write that went, nor a read
     * that failed (an unknown patient), nor a write that failed. */
    assert_int_equal(commit_on_way(h[0]), 0);
    nudge_send s = {.patient_id = p + 1000, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL};
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue(h[0], c, &s, NULL, NULL, &e), -1);
    assert_int_equal(commit_on_way(h[0]), 0);
    s.patient_id = p;
    assert_int_equal(nudge_enqueue(h[0], c, &s, NULL, NULL, &e), 0);
    assert_int_equal(commit_on_way(h[0]), 0);
    struct gc_write f = {.n = h[1], .clinic = c, .patient = p, .fail = 1};
    gc_write_thread(&f);
    assert_int_equal(f.rc, -1);
    assert_int_equal(commit_on_way(h[1]), 0);
    for (int i = 0; i < 2; i++)
        nudge_close(h[i]);
    tu_close(&env);
}

/* More failing writes in one group than it is run again for
 * (COMMIT_ROUNDS): the rest go one transaction each, and every good write
 * is still written once, every bad one fails alone. */
static void test_group_many_fail(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Group Clinic"), p = w_patient(env.n, c, 1);
    enum { K = 11 };
    nudge *h[K];
    gc_handles(&env, h, K);
    struct gc_write w[K];
    char keys[K][8];
    for (int i = 0; i < K; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        w[i] = (struct gc_write){.n = h[i], .clinic = c, .patient = p, .dedupe = keys[i],
                                 .fail = i % 2 == 0}; /* 1, 3, 5, 7, 9 good */
    }
    w[0] = (struct gc_write){.n = h[0], .hold = K - 1};
    gc_run_group(w, K);
    for (int i = 1; i < K; i++) {
        assert_int_equal(w[i].rc, w[i].fail ? -1 : 0);
        if (!w[i].fail)
            assert_int_equal(w[i].created, 1);
        else
            assert_string_equal(w[i].err.msg, "refused on purpose");
    }
    assert_int_equal(w_pending(env.n, c), 5);
    for (int i = 0; i < K; i++)
        nudge_close(h[i]);
    tu_close(&env);
}

/* One committer per file, however its name is spelt; another per
 * durability, so a ?synchronous=normal handle never commits a FULL one's
 * writes (nor they wait for each other in the busy handler). On
 * PostgreSQL one per URL. */
static void test_group_one_per_file(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    if (tu_pg_admin()) {
        nudge *a;
        gc_handles(&env, &a, 1);
        assert_non_null(env.n->commit);
        assert_ptr_equal(env.n->commit, a->commit);
        nudge_close(a);
        tu_close(&env);
        return;
    }
    char other[256], normal[256];
    snprintf(other, sizeof other, "%s/./n.db", env.dir);
    snprintf(normal, sizeof normal, "%s?synchronous=normal", env.db);
    nudge *a, *b;
    nudge_err e = {0};
    nudge_config cfg = {.db = other, .outbox_dir = env.outbox, .clock = &env.clock};
    assert_int_equal(nudge_open(&cfg, &a, &e), 0);
    cfg.db = normal;
    assert_int_equal(nudge_open(&cfg, &b, &e), 0);
    assert_non_null(env.n->commit);
    assert_ptr_equal(env.n->commit, a->commit);
    assert_non_null(b->commit);
    assert_ptr_not_equal(env.n->commit, b->commit);
    nudge_close(a);
    nudge_close(b);
    tu_close(&env);
}

static void test_group_wal_bounded(void **state)
{
    (void)state;
    if (tu_pg_admin())
        skip(); /* no WAL file of ours on PostgreSQL */
    char dir[128], db[192], wal[200];
    tu_tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/w.db?synchronous=normal", dir);
    snprintf(wal, sizeof wal, "%s/w.db-wal", dir);
    nudge_clock clock;
    nudge_clock_fake(&clock, T0);
    nudge_config cfg = {.db = db, .outbox_dir = dir, .clock = &clock};
    nudge *n;
    nudge_err e = {0};
    assert_int_equal(nudge_open(&cfg, &n, &e), 0);
    int64_t c = w_clinic(n, "WAL Clinic"), p = w_patient(n, c, 1);
    /* Each enqueue writes a handful of pages (the row, its indexes, the
     * audit line): 4000 of them would leave a WAL of tens of MB if nothing
     * checkpointed, since the committer's connection runs no
     * auto-checkpoint. The bound: the TRUNCATE mark (8000 frames of 4 KiB
     * pages) plus one group. */
    off_t most = 0;
    for (int i = 0; i < 4000; i++) {
        nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL};
        if (nudge_enqueue(n, c, &s, NULL, NULL, &e) < 0)
            fail_msg("enqueue: %s", e.msg);
        struct stat st;
        if (stat(wal, &st) == 0 && st.st_size > most)
            most = st.st_size;
    }
    assert_true(most > 0);
    assert_true(most < (off_t)9000 * (4096 + 24));
    assert_int_equal(w_pending(n, c), 4000);
    nudge_close(n);
    tu_rmrf(dir);
}

/* The enqueue's reads run on the committer's readers (commit_read), whose
 * snapshot must still be the newest: a patient changed by another
 * connection (another process, say the CLI) between two enqueues is read
 * anew, and a patient added inside the caller's own open transaction is
 * read on the caller's connection, which alone sees it. */
static void test_reads_fresh_and_own(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Read Clinic"), p = w_patient(env.n, c, 1);
    nudge_err e = {0};
    nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL};
    int64_t id1, id2, id3;
    assert_int_equal(nudge_enqueue(env.n, c, &s, &id1, NULL, &e), 0);
    store *other;
    assert_int_equal(store_open(env.db, &other, &e), 0);
    assert_int_equal(store_exec(other, &e,
                                "UPDATE patients SET phone = '+919876500099', language = 'en' "
                                "WHERE clinic_id = ? AND id = ?",
                                bind_int(c), bind_int(p)),
                     0);
    store_close(other);
    assert_int_equal(nudge_enqueue(env.n, c, &s, &id2, NULL, &e), 0);
    nudge_notification m1, m2;
    assert_int_equal(nudge_notification_get(env.n, c, id1, &m1, &e), 0);
    assert_int_equal(nudge_notification_get(env.n, c, id2, &m2, &e), 0);
    assert_string_equal(m1.language, "hi");
    assert_string_equal(m2.recipient, "+919876500099");
    assert_string_equal(m2.language, "en");
    assert_string_not_equal(m1.recipient, m2.recipient);
    nudge_notification_free(&m1);
    nudge_notification_free(&m2);
    /* Inside the caller's transaction: its uncommitted patient is found. */
    assert_int_equal(store_begin(env.n->db, &e), 0);
    int64_t q = w_patient(env.n, c, 2);
    s.patient_id = q;
    if (nudge_enqueue(env.n, c, &s, &id3, NULL, &e) < 0)
        fail_msg("enqueue in a transaction: %s", e.msg);
    assert_int_equal(store_commit(env.n->db, &e), 0);
    assert_int_equal(w_pending(env.n, c), 3);
    tu_close(&env);
}

/* Enqueues of two API keys in one group: each audit line names the actor
 * whose enqueue made it (writes merge only within one actor's). */
static void test_group_actors_kept(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Actor Clinic"), p = w_patient(env.n, c, 1);
    enum { K = 9 };
    nudge *h[K];
    nudge_err e = {0};
    struct gc_write w[K];
    gc_handles(&env, h, K);
    for (int i = 0; i < K; i++) {
        nudge_set_actor(h[i], i % 3 ? "key:1" : "key:2");
        w[i] = (struct gc_write){.n = h[i], .clinic = c, .patient = p, .enqueue = 1};
    }
    w[0] = (struct gc_write){.n = h[0], .hold = K - 1};
    gc_run_group(w, K);
    for (int i = 1; i < K; i++) {
        assert_int_equal(w[i].rc, 0);
        int64_t k = 0;
        assert_int_equal(store_scalar(env.n->db, &k, &e,
                                      "SELECT COUNT(*) FROM audit_log WHERE clinic_id = ? AND "
                                      "action = 'enqueue' AND entity_id = ? AND actor = ?",
                                      bind_int(c), bind_int(w[i].id), bind_text(h[i]->actor)),
                         1);
        assert_int_equal(k, 1);
    }
    for (int i = 0; i < K; i++)
        nudge_close(h[i]);
    tu_close(&env);
}

/* nudge_enqueue_submit: one handle keeps many enqueues outstanding and
 * reaps their answers, each given once its row is durable: in the order
 * submitted, under the caller's tags, a dedupe key answered by its first
 * row; a bad send refused at once, naming its field, with nothing
 * pending; every row, and its audit line, on disk for a handle opened
 * when the answers came. */
static void test_submit_reap(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Async Clinic"), p[3];
    for (int i = 0; i < 3; i++)
        p[i] = w_patient(env.n, c, i);
    nudge *h;
    gc_handles(&env, &h, 1);
    nudge_err e = {0};
    enum { K = 40 };
    for (int i = 0; i < K; i++) {
        nudge_send s = {.patient_id = p[i % 3], .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL,
                        .dedupe_key = i == 5 || i == 25 ? "twice" : NULL};
        char key[16]; /* the caller's buffer: gone (overwritten) once submitted */
        if (i == 7) {
            snprintf(key, sizeof key, "seven");
            s.dedupe_key = key;
        }
        if (nudge_enqueue_submit(h, c, &s, 100 + (uint64_t)i, &e) < 0)
            fail_msg("submit %d: %s", i, e.msg);
        if (i == 7)
            memset(key, 'x', sizeof key - 1);
    }
    assert_int_equal(nudge_enqueue_pending(h), K);
    nudge_send bad = {.patient_id = p[0] + 1000, .template_name = "prescription_ready",
                      .priority = NUDGE_NORMAL};
    assert_int_equal(nudge_enqueue_submit(h, c, &bad, 1, &e), -1);
    assert_string_equal(e.field, "patient");
    bad = (nudge_send){.patient_id = p[0], .template_name = "no_such", .priority = NUDGE_NORMAL};
    assert_int_equal(nudge_enqueue_submit(h, c, &bad, 2, &e), -1);
    assert_string_equal(e.field, "template");
    assert_int_equal(nudge_enqueue_pending(h), K);
    nudge_enqueued out[K + 8];
    size_t got = 0;
    while (got < K) {
        size_t k = nudge_enqueue_reap(h, out + got, K + 8 - got, 1);
        assert_true(k >= 1);
        /* Answered means durable: another connection sees each row. */
        for (size_t i = got; i < got + k; i++) {
            int64_t seen = 0;
            assert_int_equal(store_scalar(env.n->db, &seen, &e,
                                          "SELECT COUNT(*) FROM notification_queue WHERE "
                                          "clinic_id = ? AND id = ?",
                                          bind_int(c), bind_int(out[i].id)),
                             1);
            assert_int_equal(seen, 1);
        }
        got += k;
    }
    assert_int_equal(nudge_enqueue_pending(h), 0);
    assert_int_equal(nudge_enqueue_reap(h, out, K, 0), 0); /* nothing left, no wait */
    for (int i = 0; i < K; i++) {
        assert_int_equal(out[i].tag, 100 + i);
        assert_int_equal(out[i].rc, 0);
        assert_int_equal(out[i].created, i != 25);
        for (int j = 0; j < i; j++)
            if (!(i == 25 && j == 5))
                assert_true(out[i].id != out[j].id);
    }
    assert_int_equal(out[25].id, out[5].id);
    nudge_notification m;
    assert_int_equal(nudge_notification_get(env.n, c, out[7].id, &m, &e), 0);
    assert_string_equal(m.dedupe_key, "seven");
    nudge_notification_free(&m);
    assert_int_equal(w_pending(env.n, c), K - 1);
    assert_int_equal(w_audit_rows(env.n), K - 1);
    assert_int_equal(nudge_audit_verify(env.n, c, gc_chain, NULL, &e), 0);
    nudge_close(h);
    tu_close(&env);
}

/* A handle closed with enqueues still pending waits for them: their rows
 * are written, only the answers are dropped. */
static void test_submit_close_waits(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Async Clinic"), p = w_patient(env.n, c, 1);
    nudge *h;
    gc_handles(&env, &h, 1);
    nudge_err e = {0};
    for (int i = 0; i < 30; i++) {
        nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL};
        if (nudge_enqueue_submit(h, c, &s, (uint64_t)i, &e) < 0)
            fail_msg("submit: %s", e.msg);
    }
    nudge_close(h);
    assert_int_equal(w_pending(env.n, c), 30);
    tu_close(&env);
}

/* Submitted writes in a group with one that fails: it fails alone, in
 * its answer, and the others are written once. */
struct sr_answers {
    void *arg[8];
    int rc[8];
    nudge_err err[8];
    size_t k;
};

static void sr_answer(void *ctx, void *arg, int rc, const nudge_err *err)
{
    struct sr_answers *a = ctx;
    a->arg[a->k] = arg;
    a->rc[a->k] = rc;
    if (rc < 0)
        a->err[a->k] = *err;
    a->k++;
}

static void test_submit_fails_alone(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Async Clinic"), p = w_patient(env.n, c, 1);
    nudge *h;
    gc_handles(&env, &h, 1);
    nudge_err e = {0};
    struct gc_write w[4] = {
        {.n = h, .clinic = c, .patient = p, .dedupe = "a"},
        {.n = h, .clinic = c, .patient = p, .dedupe = "b", .fail = 1},
        {.n = h, .clinic = c, .patient = p, .dedupe = "c"},
        {.n = h, .clinic = c, .patient = p, .dedupe = "a"},
    };
    for (int i = 0; i < 4; i++)
        assert_int_equal(commit_submit(h, c, gc_fn, &w[i], &e), 0);
    struct sr_answers a = {0};
    assert_int_equal(commit_reap(h, 8, 4, sr_answer, &a), 4);
    for (int i = 0; i < 4; i++) {
        assert_ptr_equal(a.arg[i], &w[i]);
        assert_int_equal(a.rc[i], i == 1 ? -1 : 0);
    }
    assert_string_equal(a.err[1].msg, "refused on purpose");
    assert_int_equal(w[0].id, w[3].id);
    assert_int_equal(w[0].created + w[3].created, 1);
    assert_int_equal(w_pending(env.n, c), 2);
    nudge_close(h);
    tu_close(&env);
}

/* Waiting callers (nudge_enqueue on threads of their own) and one that
 * submits, on one database at once: the lead passes between the
 * waiters and the committer's thread, and every write is answered and
 * written once. */
struct sm_waiter {
    nudge *n;
    int64_t clinic, patient;
    int rc;
};

static void *sm_wait_thread(void *arg)
{
    struct sm_waiter *w = arg;
    nudge_send s = {.patient_id = w->patient, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL};
    nudge_err e = {0};
    for (int i = 0; i < 50 && w->rc == 0; i++)
        w->rc = nudge_enqueue(w->n, w->clinic, &s, NULL, NULL, &e);
    return NULL;
}

static void test_submit_beside_waiters(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Async Clinic"), p = w_patient(env.n, c, 1);
    enum { W = 4, K = 300 };
    nudge *h[W + 1];
    gc_handles(&env, h, W + 1);
    struct sm_waiter wt[W];
    pthread_t t[W];
    for (int i = 0; i < W; i++) {
        wt[i] = (struct sm_waiter){.n = h[i], .clinic = c, .patient = p};
        pthread_create(&t[i], NULL, sm_wait_thread, &wt[i]);
    }
    nudge_err e = {0};
    nudge_enqueued out[16];
    size_t answered = 0;
    for (int i = 0; i < K; i++) {
        nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL};
        if (nudge_enqueue_submit(h[W], c, &s, (uint64_t)i, &e) < 0)
            fail_msg("submit: %s", e.msg);
        if (nudge_enqueue_pending(h[W]) >= 16) {
            size_t k = nudge_enqueue_reap(h[W], out, 16, 1);
            for (size_t j = 0; j < k; j++) {
                assert_int_equal(out[j].rc, 0);
                assert_int_equal(out[j].tag, answered + j); /* in order */
            }
            answered += k;
        }
    }
    while (nudge_enqueue_pending(h[W]) > 0) {
        size_t k = nudge_enqueue_reap(h[W], out, 16, 1);
        for (size_t j = 0; j < k; j++)
            assert_int_equal(out[j].tag, answered + j);
        answered += k;
    }
    assert_int_equal(answered, K);
    for (int i = 0; i < W; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(wt[i].rc, 0);
    }
    assert_int_equal(w_pending(env.n, c), K + W * 50);
    for (int i = 0; i <= W; i++)
        nudge_close(h[i]);
    tu_close(&env);
}

/* An event loop's way in: the ready hook wakes the loop (here a pipe it
 * polls), which reaps without waiting, until every answer came. */
static void sr_ready(void *ctx)
{
    int fd = *(int *)ctx;
    char b = 1;
    (void)!write(fd, &b, 1);
}

static void test_submit_ready_hook(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Async Clinic"), p = w_patient(env.n, c, 1);
    nudge *h;
    gc_handles(&env, &h, 1);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    nudge_err e = {0};
    assert_int_equal(nudge_enqueue_on_ready(h, sr_ready, &fds[1], &e), 0);
    enum { K = 20 };
    for (int i = 0; i < K; i++) {
        nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL};
        if (nudge_enqueue_submit(h, c, &s, (uint64_t)i, &e) < 0)
            fail_msg("submit: %s", e.msg);
    }
    size_t got = 0;
    nudge_enqueued out[K];
    while (got < K) {
        struct pollfd pf = {.fd = fds[0], .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 30000), 1); /* woken, never by the clock */
        char buf[64];
        assert_true(read(fds[0], buf, sizeof buf) > 0);
        size_t k = nudge_enqueue_reap(h, out + got, K - got, 0);
        for (size_t i = 0; i < k; i++)
            assert_int_equal(out[got + i].tag, got + i);
        got += k;
    }
    assert_int_equal(nudge_enqueue_pending(h), 0);
    assert_int_equal(nudge_enqueue_on_ready(h, NULL, NULL, &e), 0);
    nudge_close(h);
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(w_pending(env.n, c), K);
    tu_close(&env);
}

/* Inside nudge_once's function a submitted enqueue joins that
 * transaction, as nudge_enqueue does: its answer is ready at once, and
 * its row is there once the transaction commits. */
struct so_ctx {
    nudge *n;
    int64_t clinic, patient;
    int rc;
    size_t ready; /* answers ready inside the function */
};

static int so_fn(void *ctx, int *code, char **answer)
{
    struct so_ctx *x = ctx;
    nudge_send s = {.patient_id = x->patient, .template_name = "prescription_ready",
                    .priority = NUDGE_NORMAL};
    nudge_err e = {0};
    x->rc = nudge_enqueue_submit(x->n, x->clinic, &s, 7, &e);
    nudge_enqueued out[2];
    x->ready = nudge_enqueue_reap(x->n, out, 2, 0);
    if (x->ready != 1 || out[0].rc != 0 || out[0].tag != 7)
        return -1;
    *code = 201;
    *answer = strdup("{}");
    return 0;
}

static void test_submit_inside_once(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    int64_t c = w_clinic(env.n, "Async Clinic"), p = w_patient(env.n, c, 1);
    nudge *h;
    gc_handles(&env, &h, 1);
    struct so_ctx x = {.n = h, .clinic = c, .patient = p};
    nudge_once_result res = {0};
    nudge_err e = {0};
    const char *req = "submit once";
    assert_int_equal(nudge_once(h, c, "once-1", req, strlen(req), so_fn, &x, &res, &e), 0);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.ready, 1);
    assert_int_equal(res.replayed, 0);
    assert_int_equal(res.code, 201);
    free(res.answer);
    assert_int_equal(nudge_enqueue_pending(h), 0);
    assert_int_equal(w_pending(env.n, c), 1);
    nudge_close(h);
    tu_close(&env);
}

/* A template in the patient's language, else in the clinic's, else in
 * English (nudge_template_get, which reads the clinic only for the second
 * try). */
static void test_template_language_fallback(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    snprintf(c.name, sizeof c.name, "Lucknow Clinic");
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    strcpy(c.language, "hi");
    nudge_err e = {0};
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), 0);
    const char *want[][2] = {{"en", "en"}, {"hi", "hi"}, {"ta", "hi"}};
    for (int i = 0; i < 3; i++) {
        int64_t p = w_patient(env.n, c.id, 10 + i), id;
        nudge_patient pt;
        assert_int_equal(nudge_patient_get(env.n, c.id, p, &pt, &e), 0);
        strcpy(pt.language, want[i][0]);
        if (nudge_patient_update(env.n, c.id, &pt, 0, &e) < 0)
            fail_msg("patient update: %s", e.msg);
        nudge_send s = {.patient_id = p, .template_name = "prescription_ready",
                        .priority = NUDGE_NORMAL};
        if (nudge_enqueue(env.n, c.id, &s, &id, NULL, &e) < 0)
            fail_msg("enqueue: %s", e.msg);
        nudge_notification m;
        assert_int_equal(nudge_notification_get(env.n, c.id, id, &m, &e), 0);
        assert_string_equal(m.language, want[i][1]);
        nudge_notification_free(&m);
    }
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_good),
        cmocka_unit_test(test_batch_many_templates),
        cmocka_unit_test(test_batch_bad_item_fails_all),
        cmocka_unit_test(test_batch_dedupe),
        cmocka_unit_test(test_batch_http),
        cmocka_unit_test(test_group_many_threads),
        cmocka_unit_test(test_group_fails_alone_and_dedupes),
        cmocka_unit_test(test_group_many_fail),
        cmocka_unit_test(test_group_gathers_writes_on_their_way),
        cmocka_unit_test(test_group_one_per_file),
        cmocka_unit_test(test_group_wal_bounded),
        cmocka_unit_test(test_batch_chain_equals_single),
        cmocka_unit_test(test_lists_by_clinic),
        cmocka_unit_test(test_reads_fresh_and_own),
        cmocka_unit_test(test_group_actors_kept),
        cmocka_unit_test(test_template_language_fallback),
        cmocka_unit_test(test_submit_reap),
        cmocka_unit_test(test_submit_close_waits),
        cmocka_unit_test(test_submit_fails_alone),
        cmocka_unit_test(test_submit_beside_waiters),
        cmocka_unit_test(test_submit_ready_hook),
        cmocka_unit_test(test_submit_inside_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
