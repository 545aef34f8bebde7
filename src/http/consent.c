/*
 * http/consent.c: /v1/patients/{id}/consent (what a patient's ledger
 * allows now and the ledger itself; POST records a grant or withdrawal),
 * /v1/usage (a month's usage and cost of the key's clinic), /v1/plan
 * (the clinic's tier, reminders policy, send window, reserve and
 * broadcast grace; PUT by an admin, members not given keep their value), and
 * /unsubscribe, the signed one-click link of promotional emails (RFC
 * 8058), served without an API key: GET shows a confirmation with a form,
 * POST (the mail client's one click, or the form) records the withdrawal.
 * The rules are the library's (src/consent.c); the JSON is written here.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static const char *const consent_http_channels[] = {"sms", "whatsapp", "email"};

static int consent_http_entry(void *ctx, const nudge_consent_entry *e)
{
    json_t *a = ((json_t **)ctx)[0];
    const char *tz = json_string_value(((json_t **)ctx)[1]);
    char at[40];
    nudge_time_format(e->at, tz, at, sizeof at);
    json_array_append_new(
        a, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "id", (json_int_t)e->id,
                     "category", e->category, "channel", e->channel, "state", e->state, "source",
                     e->source, "actor", e->actor, "wording",
                     e->wording[0] ? json_string(e->wording) : json_null(), "message",
                     e->message[0] ? json_string(e->message) : json_null(), "at", at));
    return 0;
}

static int consent_http_answer(http_req *r, int status, int64_t patient)
{
    nudge_err e = {0};
    json_t *allowed = json_object();
    for (int i = 0; nudge_consent_categories[i]; i++) {
        json_t *row = json_object();
        for (int k = 0; k < 3; k++) {
            const char *why = NULL;
            int ok = nudge_consent_allowed(r->n, r->key.clinic_id, patient,
                                           nudge_consent_categories[i], consent_http_channels[k],
                                           &why, &e);
            if (ok < 0) {
                json_decref(row);
                json_decref(allowed);
                return http_fail(r, &e);
            }
            json_object_set_new(row, consent_http_channels[k], json_string(ok ? "allowed" : why));
        }
        json_object_set_new(allowed, nudge_consent_categories[i], row);
    }
    json_t *ctx[2] = {json_array(), json_string(r->clinic.timezone)};
    int rc = nudge_consent_history(r->n, r->key.clinic_id, patient, consent_http_entry, ctx, &e);
    json_decref(ctx[1]);
    if (rc < 0) {
        json_decref(ctx[0]);
        json_decref(allowed);
        return http_fail(r, &e);
    }
    return http_ok(r, status,
                   json_pack("{s:I, s:o, s:o}", "patient_id", (json_int_t)patient, "allowed",
                             allowed, "ledger", ctx[0]));
}

int api_patient_consent(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    return consent_http_answer(r, 200, id);
}

int api_patient_consent_record(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    json_t *j = http_body(r);
    if (!j)
        return 0;
    nudge_consent_entry e = {.clinic_id = r->key.clinic_id, .patient_id = id};
    strcpy(e.source, "api");
    static const struct {
        const char *name;
        size_t offset, size;
        int required;
    } in[] = {
        {"category", offsetof(nudge_consent_entry, category), sizeof e.category, 1},
        {"channel", offsetof(nudge_consent_entry, channel), sizeof e.channel, 1},
        {"state", offsetof(nudge_consent_entry, state), sizeof e.state, 1},
        {"source", offsetof(nudge_consent_entry, source), sizeof e.source, 0},
        {"wording", offsetof(nudge_consent_entry, wording), sizeof e.wording, 0},
    };
    const size_t nin = sizeof in / sizeof *in;
    char msg[160];
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        size_t i = 0;
        while (i < nin && strcmp(in[i].name, k))
            i++;
        char field[64];
        snprintf(field, sizeof field, "%s", k);
        if (i == nin)
            snprintf(msg, sizeof msg, "unknown field \"%.60s\"", k);
        else if (!json_is_string(v))
            snprintf(msg, sizeof msg, "%s must be a string", k);
        else if (json_string_length(v) >= in[i].size)
            snprintf(msg, sizeof msg, "%s is at most %zu bytes", k, in[i].size - 1);
        else if (strlen(json_string_value(v)) != json_string_length(v))
            snprintf(msg, sizeof msg, "%s must not hold a NUL character", k);
        else {
            memcpy((char *)&e + in[i].offset, json_string_value(v), json_string_length(v) + 1);
            continue;
        }
        json_decref(j); /* k is j's */
        return http_problem(r, 422, "Invalid input", msg, field);
    }
    json_decref(j);
    for (size_t i = 0; i < nin; i++)
        if (in[i].required && !((char *)&e + in[i].offset)[0]) {
            snprintf(msg, sizeof msg, "%s is required", in[i].name);
            return http_problem(r, 422, "Invalid input", msg, in[i].name);
        }
    nudge_err err = {0};
    if (nudge_consent_record(r->n, &e, &err) < 0)
        return http_fail(r, &err);
    return consent_http_answer(r, 201, id);
}

int api_usage(http_req *r)
{
    nudge_usage u;
    nudge_err e = {0};
    if (nudge_usage_get(r->n, r->key.clinic_id, http_query(r, "month"), &u, &e) < 0)
        return http_fail(r, &e);
    json_t *ch = json_object();
    for (int k = 0; k < 3; k++)
        json_object_set_new(ch, consent_http_channels[k],
                            json_pack("{s:I, s:I}", "messages",
                                      (json_int_t)u.channel_messages[k], "units",
                                      (json_int_t)u.channel_units[k]));
    return http_ok(
        r, 200,
        json_pack("{s:s, s:o, s:o, s:o, s:I, s:I, s:o, s:I, s:I}", "month", u.month, "tier",
                  u.tier[0] ? json_string(u.tier) : json_null(), "quota",
                  u.quota >= 0 ? json_integer(u.quota) : json_null(), "overage_paise",
                  u.overage_paise >= 0 ? json_integer(u.overage_paise) : json_null(), "messages",
                  (json_int_t)u.messages, "units", (json_int_t)u.units, "channels", ch,
                  "overage", (json_int_t)u.overage, "cost_paise", (json_int_t)u.cost_paise));
}

/* ---- /v1/plan ---- */

static json_t *consent_http_plan(const nudge_usage_plan *p)
{
    char w[64];
    snprintf(w, sizeof w, "%02d:%02d-%02d:%02d", p->window_start / 60, p->window_start % 60,
             p->window_end / 60, p->window_end % 60);
    return json_pack("{s:o, s:s, s:s, s:I, s:I}", "tier",
                     p->tier[0] ? json_string(p->tier) : json_null(), "reminders_policy",
                     p->reminders_policy, "window", w, "reserve", (json_int_t)p->reserve,
                     "grace_minutes", (json_int_t)(p->grace / 60));
}

/* One member of a PUT /v1/plan body into p: NULL, or what is wrong. */
static const char *consent_http_plan_member(nudge_usage_plan *p, const char *k, json_t *v)
{
    const char *s = json_string_value(v);
    if (!strcmp(k, "tier")) {
        if (json_is_null(v))
            p->tier[0] = 0;
        else if (!s || json_string_length(v) >= sizeof p->tier || strlen(s) != json_string_length(v))
            return "tier must be a tier's name or null (not metered)";
        else
            strcpy(p->tier, s);
    } else if (!strcmp(k, "reminders_policy")) {
        if (!s || (strcmp(s, "opt_out") && strcmp(s, "opt_in")))
            return "reminders_policy must be opt_out or opt_in";
        strcpy(p->reminders_policy, s);
    } else if (!strcmp(k, "window")) {
        char a[8] = "", b[8] = "";
        const char *dash = s ? strchr(s, '-') : NULL;
        int start, end;
        if (dash && dash - s < 8 && strlen(dash + 1) < 8) {
            snprintf(a, sizeof a, "%.*s", (int)(dash - s), s);
            snprintf(b, sizeof b, "%s", dash + 1);
        }
        if (!dash || nudge_time_parse_hhmm(a, &start) < 0 ||
            (strcmp(b, "24:00") ? nudge_time_parse_hhmm(b, &end) < 0 : (end = 1440, 0)))
            return "window must be HH:MM-HH:MM";
        p->window_start = start;
        p->window_end = end;
    } else if (!strcmp(k, "reserve") || !strcmp(k, "grace_minutes")) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 1000000000)
            return "must be a whole number, 0 or more";
        if (!strcmp(k, "reserve"))
            p->reserve = json_integer_value(v);
        else if (json_integer_value(v) == 0)
            return "grace_minutes is 1 to 10080";
        else
            p->grace = json_integer_value(v) * 60;
    } else
        return "unknown field";
    return NULL;
}

int api_plan(http_req *r)
{
    nudge_usage_plan p;
    nudge_err e = {0};
    if (nudge_usage_plan_get(r->n, r->key.clinic_id, &p, &e) < 0)
        return http_fail(r, &e);
    if (!strcmp(r->method, "PUT")) {
        json_t *j = http_body(r);
        if (!j)
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            const char *why = consent_http_plan_member(&p, k, v);
            if (why) {
                char field[64], msg[160];
                snprintf(field, sizeof field, "%s", k);
                snprintf(msg, sizeof msg, "%s: %s", field, why);
                json_decref(j); /* k is j's */
                return http_problem(r, 422, "Invalid input", msg, field);
            }
        }
        json_decref(j);
        if (nudge_usage_plan_set(r->n, r->key.clinic_id, &p, &e) < 0 ||
            nudge_usage_plan_get(r->n, r->key.clinic_id, &p, &e) < 0)
            return http_fail(r, &e);
    }
    return http_ok(r, 200, consent_http_plan(&p));
}

static int consent_http_tier(void *ctx, const char *name, int64_t quota, int64_t overage)
{
    json_array_append_new(ctx, json_pack("{s:s, s:o, s:o}", "name", name, "quota",
                                         quota >= 0 ? json_integer(quota) : json_null(),
                                         "overage_paise",
                                         overage >= 0 ? json_integer(overage) : json_null()));
    return 0;
}

/* The tier table, read-only: it is the installation's, shared by every
 * clinic, so no clinic's key may change it (the CLI's `usage tier` does). */
int api_tiers(http_req *r)
{
    json_t *items = json_array();
    nudge_err e = {0};
    if (nudge_usage_tier_list(r->n, consent_http_tier, items, &e) < 0) {
        json_decref(items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", items));
}

/* ---- /unsubscribe: no API key; the link's signature instead ---- */

static int consent_http_num(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
        return -1;
    *out = strtoll(s, NULL, 10);
    return *out > 0 ? 0 : -1;
}

static int consent_http_page(http_req *r, int status, const char *title, const char *text,
                             const char *form_action)
{
    size_t n = 1024 + (form_action ? strlen(form_action) : 0);
    char *html = malloc(n);
    if (!html)
        return http_problem(r, 500, "Internal error", "out of memory", NULL);
    snprintf(html, n,
             "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title></head>"
             "<body><h1>%s</h1><p>%s</p>%s%s%s</body></html>",
             title, title, text, form_action ? "<form method=\"post\" action=\"" : "",
             form_action ? form_action : "",
             form_action ? "\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
                           "value=\"One-Click\"><button type=\"submit\">Unsubscribe</button>"
                           "</form>"
                         : "");
    r->status = status;
    r->raw = html;
    r->raw_type = "text/html; charset=utf-8";
    return 0;
}

int api_unsubscribe(http_req *r)
{
    nudge_unsubscribe_link l = {.category = http_query(r, "cat"),
                                .channel = http_query(r, "ch"),
                                .sig = http_query(r, "sig")};
    static const char *const ids[] = {"c", "p", "exp"};
    int64_t *dst[] = {&l.clinic_id, &l.patient_id, &l.expires};
    for (int i = 0; i < 3; i++)
        if (consent_http_num(http_query(r, ids[i]), dst[i]) < 0) {
            char msg[64];
            snprintf(msg, sizeof msg, "the link's %s is missing or not a number", ids[i]);
            return http_problem(r, 400, "Bad request", msg, ids[i]);
        }
    int apply = !strcmp(r->method, "POST");
    nudge_err e = {0};
    if (nudge_unsubscribe(r->n, &l, apply, &e) < 0) {
        if (e.code == NUDGE_EDENIED)
            return http_problem(r, 403, "Forbidden", e.msg, e.field);
        if (e.code == NUDGE_EINVAL)
            return http_problem(r, 400, "Bad request", e.msg, e.field);
        return http_fail(r, &e);
    }
    /* The categories and channels are from fixed lists (checked above),
     * so the page holds no text of the client's. */
    char text[160], action[320];
    if (apply) {
        snprintf(text, sizeof text, "You will receive no more %s messages by %s.", l.category,
                 l.channel);
        return consent_http_page(r, 200, "Unsubscribed", text, NULL);
    }
    snprintf(text, sizeof text, "Stop receiving %s messages by %s?", l.category, l.channel);
    snprintf(action, sizeof action, "/unsubscribe?c=%lld&amp;p=%lld&amp;cat=%s&amp;ch=%s&amp;exp=%lld&amp;sig=%s",
             (long long)l.clinic_id, (long long)l.patient_id, l.category, l.channel,
             (long long)l.expires, l.sig);
    return consent_http_page(r, 200, "Unsubscribe", text, action);
}
