/*
 * test_transport.c: the transport registry's edges that no provider fake
 * reaches: migration 008 moving the four provider columns into the one
 * opaque transport_data (and a migrated message still sent with its
 * invitation), and webhook verification through the public call, for a
 * handle that verifies callbacks without sending through the provider.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "nudge.h"
#include "signature.h"
#include "testutil.h"

#define T0 1764561600 /* 2025-12-01 04:00 UTC */

/* Runs sql through the sqlite3 tool on db; its output in out. */
static void sql(const char *db, const char *sql_text, char *out, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s.sql", db);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(sql_text, f);
    fclose(f);
    char cmd[768];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' < '%s' 2>&1", db, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, n - 1, p);
    out[got] = 0;
    assert_int_equal(pclose(p), 0);
}

static void test_migration_008_moves_provider_columns(void **state)
{
    (void)state;
    char dir[128], db[192], outdir[192], out[4096];
    tu_tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/n.db", dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    /* A database as 007 left it, with one message of each kind. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cat src/store/sql/sqlite/00[1-7]_*.sql | sqlite3 '%s' && sqlite3 '%s' "
             "\"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
             "applied_at INTEGER NOT NULL); WITH RECURSIVE v(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
             "FROM v WHERE x < 7) INSERT INTO schema_migrations SELECT x, 'm', 0 FROM v;\"",
             db, db);
    assert_int_equal(system(cmd), 0);
    sql(db,
        "INSERT INTO clinics (id, name, timezone, country, created_at) VALUES "
        "(1, 'Smile', 'Asia/Kolkata', 'IN', 0);\n"
        "INSERT INTO notification_queue (id, clinic_id, channel, recipient, template, language, "
        "category, subject, body, priority, due_at, created_at, updated_at, ics, ics_method) "
        "VALUES (1, 1, 'email', 'ram@example.com', 'reply_cancelled', 'en', 'transactional', "
        "'Cancelled', 'Your visit is cancelled.', 3, 0, 0, 0, 'BEGIN:VCALENDAR', 'CANCEL');\n"
        "INSERT INTO notification_queue (id, clinic_id, channel, recipient, template, language, "
        "category, body, status, due_at, created_at, updated_at, wa_template) VALUES (2, 1, "
        "'whatsapp', '+919876543210', 't', 'en', 'transactional', 'b', 'sent', 0, 0, 0, "
        "'{\"name\":\"rx\",\"language\":\"en\",\"params\":[\"Ram\"]}');\n"
        "INSERT INTO notification_queue (id, clinic_id, channel, recipient, template, language, "
        "category, body, status, due_at, created_at, updated_at, msg91_flow) VALUES (3, 1, 'sms', "
        "'+919876543210', 't', 'en', 'transactional', 'b', 'sent', 0, 0, 0, "
        "'{\"template_id\":\"T1\",\"vars\":{\"var1\":\"Ram\"}}');\n"
        "INSERT INTO notification_queue (id, clinic_id, channel, recipient, template, language, "
        "category, body, status, due_at, created_at, updated_at) VALUES (4, 1, 'sms', "
        "'+919876543210', 't', 'en', 'transactional', 'b', 'sent', 0, 0, 0);\n",
        out, sizeof out);

    nudge_clock clock;
    nudge_clock_fake(&clock, T0);
    nudge_config cfg = {.db = db, .outbox_dir = outdir, .clock = &clock};
    nudge *n;
    nudge_err e = {0};
    assert_int_equal(nudge_open(&cfg, &n, &e), 0);
    sql(db, "SELECT id, COALESCE(transport_data, '-') FROM notification_queue ORDER BY id;", out,
        sizeof out);
    assert_string_equal(out, "1|{\"invite\":{\"method\":\"CANCEL\",\"ics\":\"BEGIN:VCALENDAR\"}}\n"
                             "2|{\"whatsapp\":{\"name\":\"rx\",\"language\":\"en\","
                             "\"params\":[\"Ram\"]}}\n"
                             "3|{\"msg91\":{\"template_id\":\"T1\",\"vars\":{\"var1\":\"Ram\"}}}\n"
                             "4|-\n");
    sql(db, "SELECT COUNT(*) FROM pragma_table_info('notification_queue') WHERE name IN "
            "('wa_template', 'msg91_flow', 'ics', 'ics_method');",
        out, sizeof out);
    assert_string_equal(out, "0\n");

    /* The migrated email still goes with its invitation. */
    nudge_tick_stats st;
    assert_int_equal(nudge_tick(n, &st, &e), 0);
    assert_int_equal(st.sent, 1);
    snprintf(cmd, sizeof cmd, "grep -l 'method=CANCEL' '%s'/1-*.eml >/dev/null", outdir);
    assert_int_equal(system(cmd), 0);
    nudge_close(n);
    tu_rmrf(dir);
}

struct req {
    const char *hdr_name, *hdr_value;
    const char *q[3][2];
};

static const char *req_header(void *ctx, const char *name)
{
    struct req *r = ctx;
    return r->hdr_name && !strcasecmp(r->hdr_name, name) ? r->hdr_value : NULL;
}

static const char *req_query(void *ctx, const char *name)
{
    struct req *r = ctx;
    for (int i = 0; i < 3; i++)
        if (r->q[i][0] && !strcmp(r->q[i][0], name))
            return r->q[i][1];
    return NULL;
}

static int verify(nudge *n, const char *transport, const char *method, struct req *r,
                  const char *body, nudge_err *e)
{
    nudge_webhook w = {.method = method,
                       .path = "/webhooks/x",
                       .body = body,
                       .body_len = strlen(body),
                       .header = req_header,
                       .query = req_query,
                       .ctx = r};
    memset(e, 0, sizeof *e);
    return nudge_webhook_verify(n, transport, &w, e);
}

static void test_webhooks_verified_by_their_transport(void **state)
{
    (void)state;
    tu_env env;
    memset(&env, 0, sizeof env);
    tu_tmpdir(env.dir, sizeof env.dir);
    snprintf(env.db, sizeof env.db, "%s/n.db", env.dir);
    snprintf(env.outbox, sizeof env.outbox, "%s/out", env.dir);
    nudge_clock_fake(&env.clock, T0);
    /* Secrets for the callbacks, nothing to send with. */
    nudge_config cfg = {.db = env.db, .outbox_dir = env.outbox, .clock = &env.clock,
                        .whatsapp_app_secret = "app-secret", .whatsapp_verify_token = "vt",
                        .msg91_webhook_secret = "m91"};
    nudge_err e = {0};
    assert_int_equal(nudge_open(&cfg, &env.n, &e), 0);
    assert_string_equal(nudge_transport_for(env.n, "whatsapp"), "outbox");
    assert_string_equal(nudge_transport_for(env.n, "sms"), "outbox");

    struct req r = {.hdr_name = "X-MSG91-Secret", .hdr_value = "m91"};
    assert_int_equal(verify(env.n, "msg91", "POST", &r, "{}", &e), 0);
    r.hdr_value = "m92";
    assert_int_equal(verify(env.n, "msg91", "POST", &r, "{}", &e), -1);
    assert_int_equal(e.code, NUDGE_EDENIED);
    assert_null(strstr(e.msg, "m91")); /* never the secret */
    struct req q = {.q = {{"secret", "m91"}}};
    assert_int_equal(verify(env.n, "msg91", "POST", &q, "{}", &e), 0);

    const char *body = "{\"entry\":[]}";
    char sig[80];
    assert_int_equal(sig_hub256("app-secret", body, strlen(body), sig, sizeof sig), 0);
    struct req h = {.hdr_name = "X-Hub-Signature-256", .hdr_value = sig};
    assert_int_equal(verify(env.n, "whatsapp", "POST", &h, body, &e), 0);
    assert_int_equal(verify(env.n, "whatsapp", "POST", &h, "{\"entry\":[1]}", &e), -1);
    assert_int_equal(e.code, NUDGE_EDENIED);
    assert_string_equal(e.msg, "the signature does not match");
    struct req hs = {.q = {{"hub.mode", "subscribe"}, {"hub.verify_token", "vt"},
                           {"hub.challenge", "42"}}};
    assert_int_equal(verify(env.n, "whatsapp", "GET", &hs, "", &e), 0);
    hs.q[1][1] = "vu";
    assert_int_equal(verify(env.n, "whatsapp", "GET", &hs, "", &e), -1);
    assert_int_equal(e.code, NUDGE_EDENIED);

    /* Twilio is not configured: its callbacks are not ours to take. */
    assert_int_equal(verify(env.n, "twilio", "POST", &r, "", &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    assert_string_equal(e.msg, "Twilio is not configured here");
    assert_int_equal(verify(env.n, "pigeon", "POST", &r, "", &e), -1);
    assert_int_equal(e.code, NUDGE_ENOTFOUND);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migration_008_moves_provider_columns),
        cmocka_unit_test(test_webhooks_verified_by_their_transport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
