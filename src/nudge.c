/*
 * nudge.c: the library handle. Opens the store, applies migrations, sets up
 * the transports from configuration, and owns the clock every module reads
 * time from. Also `nudge_tick`, the single pass the daemon, cron and tests
 * all drive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <pthread.h>

#include "core.h"
#include "util.h"

void nudge_set_actor(nudge *n, const char *actor)
{
    snprintf(n->actor, sizeof n->actor, "%s", actor ? actor : "system");
}

void nudge_set_stop(nudge *n, volatile int *flag)
{
    n->stop = flag;
}

void nudge_on_sent(nudge *n, nudge_sent_fn fn, void *ctx)
{
    n->on_sent = fn;
    n->on_sent_ctx = ctx;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int nudge_open(const nudge_config *cfg, nudge **out, nudge_err *err)
{
    err_clear(err);
    pthread_once(&curl_once, curl_init_once);
    nudge *n = calloc(1, sizeof *n);
    if (!n)
        return err_set(err, NUDGE_ENOMEM, "", "out of memory");
    if (cfg->clock) {
        n->clock = cfg->clock;
    } else {
        nudge_clock_system(&n->sysclock);
        n->clock = &n->sysclock;
    }
    nudge_set_actor(n, "system");
    unsigned char rnd[4] = {0};
    RAND_bytes(rnd, sizeof rnd);
    char host[32] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    snprintf(n->worker_id, sizeof n->worker_id, "%.31s:%d:%02x%02x%02x%02x", host, (int)getpid(),
             rnd[0], rnd[1], rnd[2], rnd[3]);
    n->lease_seconds = cfg->lease_seconds > 0 ? cfg->lease_seconds : 300;
    n->batch_size = cfg->batch_size > 0 ? cfg->batch_size : 100;
    n->max_in_flight = cfg->max_in_flight > 0 ? cfg->max_in_flight : 32;
    n->multi = curl_multi_init();
    if (!n->multi) {
        free(n);
        return err_set(err, NUDGE_ENOMEM, "", "cannot start libcurl");
    }
    n->public_url = str_dup(cfg->public_url);

    if (store_open(cfg->db, &n->db, err) < 0)
        goto fail;
    if (store_migrate(n->db, clock_now(n), NULL, err) < 0)
        goto fail;
    n->outbox = channel_outbox_new(cfg->outbox_dir ? cfg->outbox_dir : "outbox", err);
    if (!n->outbox)
        goto fail;
    if (cfg->smtp_url && *cfg->smtp_url) {
        smtp_config sc = {
            .url = cfg->smtp_url,
            .from = cfg->smtp_from,
            .user = cfg->smtp_user,
            .password = cfg->smtp_password,
            .starttls = cfg->smtp_starttls,
            .insecure = cfg->smtp_insecure,
        };
        if (!sc.from || !*sc.from) {
            err_set(err, NUDGE_EINVAL, "smtp_from", "SMTP needs a From address");
            goto fail;
        }
        n->email = channel_smtp_new(&sc, err);
        if (!n->email)
            goto fail;
    }
    if (cfg->twilio_account_sid && *cfg->twilio_account_sid) {
        char callback[512] = "";
        if (cfg->public_url && *cfg->public_url)
            snprintf(callback, sizeof callback, "%s/webhooks/twilio/status", cfg->public_url);
        twilio_config tc = {
            .base_url = cfg->twilio_base_url,
            .account_sid = cfg->twilio_account_sid,
            .auth_token = cfg->twilio_auth_token,
            .from = cfg->twilio_from,
            .messaging_service_sid = cfg->twilio_messaging_service_sid,
            .status_callback = callback[0] ? callback : NULL,
        };
        n->sms = channel_twilio_new(&tc, err);
        if (!n->sms)
            goto fail;
        n->twilio_token = str_dup(cfg->twilio_auth_token);
    }
    if (cfg->whatsapp_phone_number_id && *cfg->whatsapp_phone_number_id) {
        whatsapp_config wc = {
            .base_url = cfg->whatsapp_base_url,
            .version = cfg->whatsapp_version,
            .phone_number_id = cfg->whatsapp_phone_number_id,
            .token = cfg->whatsapp_token,
        };
        n->whatsapp = channel_whatsapp_new(&wc, err);
        if (!n->whatsapp)
            goto fail;
    }
    if (cfg->msg91_authkey && *cfg->msg91_authkey) {
        /* India's DLT rules: where MSG91 is configured, it carries SMS. */
        msg91_config mc = {.base_url = cfg->msg91_base_url, .authkey = cfg->msg91_authkey};
        if (n->sms)
            n->sms->free(n->sms);
        n->sms = channel_msg91_new(&mc, err);
        if (!n->sms)
            goto fail;
    }
    n->msg91_secret = str_dup(cfg->msg91_webhook_secret);
    n->wa_app_secret = str_dup(cfg->whatsapp_app_secret);
    n->wa_verify_token = str_dup(cfg->whatsapp_verify_token);
    *out = n;
    return 0;
fail:
    nudge_close(n);
    return -1;
}

void nudge_close(nudge *n)
{
    if (!n)
        return;
    if (n->email)
        n->email->free(n->email);
    if (n->sms)
        n->sms->free(n->sms);
    if (n->whatsapp)
        n->whatsapp->free(n->whatsapp);
    str_free_secret(n->wa_app_secret);
    str_free_secret(n->msg91_secret);
    str_free_secret(n->wa_verify_token);
    if (n->multi)
        curl_multi_cleanup(n->multi);
    str_free_secret(n->twilio_token);
    free(n->public_url);
    if (n->outbox)
        n->outbox->free(n->outbox);
    store_close(n->db);
    free(n);
}

int nudge_migrate(nudge *n, int *applied, nudge_err *err)
{
    return store_migrate(n->db, clock_now(n), applied, err);
}

int nudge_tick(nudge *n, nudge_tick_stats *st, nudge_err *err)
{
    nudge_tick_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    err_clear(err);
    int64_t now = clock_hold(n);
    int rc = planner_run(n, now, st, err) < 0 || queue_fallback_overdue(n, now, err) < 0 ||
                     dispatch_run(n, now, st, err) < 0
                 ? -1
                 : 0;
    clock_release(n);
    return rc;
}
