/*
 * http/care.c: /v1/tickets, /v1/faq, /v1/patients/{id}/loyalty and
 * /v1/loyalty/rules (issue 10; ticket.c, faq.c, loyalty.c), each in the
 * key's clinic. These are not records of the field tables, so their JSON
 * is written here, and each body is read by one table of its members
 * (care_in): an unknown member, a wrong type or a text too long is a 422
 * naming the member, before the library sees anything.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "http/http.h"

/* ---- bodies ---- */

typedef struct care_member {
    const char *name;
    int type;      /* JSON_STRING or JSON_INTEGER (into an int64_t) */
    size_t offset; /* into the call's struct */
    size_t size;   /* a string's buffer */
    int required;
} care_member;

#define CARE_STR(st, name, field, req) {name, JSON_STRING, offsetof(st, field), sizeof((st *)0)->field, req}
#define CARE_INT(st, name, field, req) {name, JSON_INTEGER, offsetof(st, field), 0, req}

/* The body's members into out: 0, or -1 once answered. */
static int care_in(http_req *r, const care_member *ms, size_t n, void *out)
{
    json_t *j = http_body(r);
    if (!j)
        return -1;
    char msg[160];
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        const care_member *m = ms;
        while (m < ms + n && strcmp(m->name, k))
            m++;
        const char *bad = NULL;
        if (m == ms + n)
            snprintf(msg, sizeof msg, "unknown field \"%.64s\"", bad = k);
        else if (json_typeof(v) != (json_type)m->type)
            snprintf(msg, sizeof msg, "%s must be %s", bad = k,
                     m->type == JSON_STRING ? "a string" : "an integer");
        else if (m->type == JSON_STRING && json_string_length(v) >= m->size)
            snprintf(msg, sizeof msg, "%s is at most %zu bytes", bad = k, m->size - 1);
        else if (m->type == JSON_STRING && strlen(json_string_value(v)) != json_string_length(v))
            snprintf(msg, sizeof msg, "%s must not hold a NUL", bad = k);
        if (bad) {
            http_problem(r, 422, "Invalid input", msg, bad);
            json_decref(j);
            return -1;
        }
        char *dst = (char *)out + m->offset;
        if (m->type == JSON_INTEGER)
            *(int64_t *)dst = json_integer_value(v);
        else
            memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    }
    for (const care_member *m = ms; m < ms + n; m++)
        if (m->required && !json_object_get(j, m->name)) {
            snprintf(msg, sizeof msg, "%s is required", m->name);
            json_decref(j);
            return http_problem(r, 422, "Invalid input", msg, m->name), -1;
        }
    json_decref(j);
    return 0;
}

static json_t *care_time(const http_req *r, int64_t t)
{
    if (!t)
        return json_null();
    char b[40];
    nudge_time_format(t, r->clinic.timezone, b, sizeof b);
    return json_string(b);
}

static json_t *care_text(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *care_id(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

/* ---- tickets ---- */

static json_t *care_ticket_json(const http_req *r, const nudge_ticket *t)
{
    return json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "id", (json_int_t)t->id, "patient_id", care_id(t->patient_id), "subject",
                     t->subject, "description", t->description, "status", t->status, "priority",
                     t->priority, "assigned_to", care_text(t->assigned_to), "source", t->source,
                     "faq_id", care_id(t->faq_id), "confidence",
                     t->confidence < 0 ? json_null() : json_integer(t->confidence), "created_at",
                     care_time(r, t->created_at), "updated_at", care_time(r, t->updated_at),
                     "resolved_at", care_time(r, t->resolved_at), "closed_at",
                     care_time(r, t->closed_at));
}

struct care_list {
    http_req *r;
    json_t *items;
};

static int care_ticket_put(void *ctx, const nudge_ticket *t)
{
    struct care_list *l = ctx;
    json_array_append_new(l->items, care_ticket_json(l->r, t));
    return 0;
}

int api_ticket_list(http_req *r)
{
    int64_t after;
    int limit;
    if (http_paging(r, &after, &limit) < 0)
        return 0;
    /* One more than asked: whether a next page exists. */
    struct care_list l = {r, json_array()};
    nudge_err e = {0};
    if (nudge_ticket_list(r->n, r->key.clinic_id, http_query(r, "status"), after, limit + 1,
                          care_ticket_put, &l, &e) < 0) {
        json_decref(l.items);
        return http_fail(r, &e);
    }
    json_t *next = json_null();
    if (json_array_size(l.items) > (size_t)limit) {
        json_array_remove(l.items, (size_t)limit);
        next = json_incref(json_object_get(json_array_get(l.items, (size_t)limit - 1), "id"));
    }
    return http_ok(r, 200, json_pack("{s:o, s:o}", "data", l.items, "next_after", next));
}

static int care_message_put(void *ctx, const nudge_ticket_message *m)
{
    struct care_list *l = ctx;
    json_array_append_new(
        l->items,
        json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:o, s:o}", "id", (json_int_t)m->id,
                  "direction", m->direction, "channel", m->channel, "author",
                  care_text(m->author), "body", m->body, "notification_id",
                  care_id(m->notification_id), "faq_id", care_id(m->faq_id), "created_at",
                  care_time(l->r, m->created_at)));
    return 0;
}

/* The ticket with its thread. */
static int care_ticket_answer(http_req *r, int status, int64_t id)
{
    nudge_ticket t;
    nudge_err e = {0};
    struct care_list l = {r, json_array()};
    if (nudge_ticket_get(r->n, r->key.clinic_id, id, &t, &e) < 0 ||
        nudge_ticket_thread(r->n, r->key.clinic_id, id, care_message_put, &l, &e) < 0) {
        json_decref(l.items);
        return http_fail(r, &e);
    }
    if (status == 201)
        snprintf(r->location, sizeof r->location, "/v1/tickets/%lld", (long long)id);
    json_t *j = care_ticket_json(r, &t);
    json_object_set_new(j, "messages", l.items);
    return http_ok(r, status, j);
}

int api_ticket_get(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    return care_ticket_answer(r, 200, id);
}

int api_ticket_open(http_req *r)
{
    static const care_member in[] = {
        CARE_STR(nudge_ticket, "subject", subject, 1),
        CARE_STR(nudge_ticket, "description", description, 0),
        CARE_INT(nudge_ticket, "patient_id", patient_id, 0),
        CARE_STR(nudge_ticket, "priority", priority, 0),
        CARE_STR(nudge_ticket, "assigned_to", assigned_to, 0),
    };
    nudge_ticket t = {0};
    if (care_in(r, in, sizeof in / sizeof *in, &t) < 0)
        return 0;
    t.clinic_id = r->key.clinic_id;
    /* A clinic's web form and its integrations open tickets with the
     * integration key; staff with theirs. */
    snprintf(t.source, sizeof t.source, "%s",
             r->key.role == NUDGE_ROLE_INTEGRATION ? "api" : "staff");
    nudge_err e = {0};
    if (nudge_ticket_open(r->n, &t, &e) < 0)
        return http_fail(r, &e);
    return care_ticket_answer(r, 201, t.id);
}

struct care_act {
    char text[2000];
    char author[64];
    char assigned_to[64];
};

int api_ticket_action(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0)
        return 0;
    const char *act = r->params[1];
    static const care_member reply_in[] = {CARE_STR(struct care_act, "text", text, 1),
                                           CARE_STR(struct care_act, "author", author, 0)};
    static const care_member assign_in[] = {
        CARE_STR(struct care_act, "assigned_to", assigned_to, 1)};
    struct care_act a = {0};
    nudge_err e = {0};
    int rc;
    if (!strcmp(act, "reply")) {
        if (care_in(r, reply_in, 2, &a) < 0)
            return 0;
        rc = nudge_ticket_reply(r->n, r->key.clinic_id, id, a.author[0] ? a.author : r->key.label,
                                a.text, NULL, &e);
    } else if (!strcmp(act, "assign")) {
        if (care_in(r, assign_in, 1, &a) < 0)
            return 0;
        rc = nudge_ticket_assign(r->n, r->key.clinic_id, id, a.assigned_to, &e);
    } else if (!strcmp(act, "close") || !strcmp(act, "autoresolve")) {
        if (http_no_body(r) < 0)
            return 0;
        nudge_ticket_outcome o;
        rc = !strcmp(act, "close") ? nudge_ticket_close(r->n, r->key.clinic_id, id, &e)
                                   : nudge_ticket_autoresolve(r->n, r->key.clinic_id, id, &o, &e);
    } else {
        return http_problem(r, 404, "Not found", "no such action", NULL);
    }
    if (rc < 0)
        return http_fail(r, &e);
    return care_ticket_answer(r, 200, id);
}

/* ---- the FAQ ---- */

static json_t *care_faq_json(const http_req *r, const nudge_faq *f)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)f->id,
                     "question", f->question, "answer", f->answer, "keywords", f->keywords,
                     "language", f->language, "seed", care_text(f->seed), "created_at",
                     care_time(r, f->created_at), "updated_at", care_time(r, f->updated_at));
}

static int care_faq_put(void *ctx, const nudge_faq *f)
{
    struct care_list *l = ctx;
    json_array_append_new(l->items, care_faq_json(l->r, f));
    return 0;
}

int api_faq_list(http_req *r)
{
    struct care_list l = {r, json_array()};
    nudge_err e = {0};
    int threshold;
    if (nudge_faq_list(r->n, r->key.clinic_id, http_query(r, "language"), care_faq_put, &l,
                       &e) < 0 ||
        nudge_faq_threshold(r->n, r->key.clinic_id, &threshold, &e) < 0) {
        json_decref(l.items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o, s:i}", "data", l.items, "threshold", threshold));
}

int api_faq_add(http_req *r)
{
    static const care_member in[] = {
        CARE_STR(nudge_faq, "question", question, 1), CARE_STR(nudge_faq, "answer", answer, 1),
        CARE_STR(nudge_faq, "keywords", keywords, 0), CARE_STR(nudge_faq, "language", language, 0)};
    nudge_faq f = {0};
    if (care_in(r, in, sizeof in / sizeof *in, &f) < 0)
        return 0;
    f.clinic_id = r->key.clinic_id;
    nudge_err e = {0};
    if (nudge_faq_add(r->n, &f, &e) < 0)
        return http_fail(r, &e);
    snprintf(r->location, sizeof r->location, "/v1/faq/%lld", (long long)f.id);
    return http_ok(r, 201, care_faq_json(r, &f));
}

int api_faq_remove(http_req *r)
{
    int64_t id;
    if (http_param_id(r, 0, &id) < 0 || http_no_body(r) < 0)
        return 0;
    nudge_err e = {0};
    if (nudge_faq_remove(r->n, r->key.clinic_id, id, &e) < 0)
        return http_fail(r, &e);
    return http_ok(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "removed", 1));
}

int api_faq_match(http_req *r)
{
    static const care_member in[] = {CARE_STR(struct care_act, "text", text, 1)};
    struct care_act a = {0};
    if (care_in(r, in, 1, &a) < 0)
        return 0;
    nudge_faq_match m;
    nudge_err e = {0};
    if (nudge_faq_match_text(r->n, r->key.clinic_id, a.text, &m, &e) < 0)
        return http_fail(r, &e);
    const char *verdict = m.urgent || !m.faq_id || m.confidence < m.threshold ? "escalate"
                                                                              : "answer";
    return http_ok(r, 200,
                   json_pack("{s:s, s:b, s:o, s:o, s:i, s:i, s:o, s:o}", "verdict", verdict,
                             "urgent", m.urgent, "urgent_word", care_text(m.urgent_word),
                             "faq_id", care_id(m.faq_id), "confidence", m.confidence,
                             "threshold", m.threshold, "answer", care_text(m.answer),
                             "language", care_text(m.language)));
}

/* GET and PUT /v1/faq/threshold: the confidence, percent, from which a
 * ticket's best match answers the patient. */
int api_faq_threshold(http_req *r)
{
    struct care_threshold {
        int64_t pct;
    } t = {0};
    static const care_member in[] = {CARE_INT(struct care_threshold, "threshold", pct, 1)};
    nudge_err e = {0};
    int pct;
    if (!strcmp(r->method, "PUT")) {
        if (care_in(r, in, 1, &t) < 0)
            return 0;
        /* Out of range before the narrowing, so 2^32 + 50 is no 50. */
        pct = t.pct < 0 || t.pct > 100 ? -1 : (int)t.pct;
        if (nudge_faq_set_threshold(r->n, r->key.clinic_id, pct, &e) < 0)
            return http_fail(r, &e);
    }
    if (nudge_faq_threshold(r->n, r->key.clinic_id, &pct, &e) < 0)
        return http_fail(r, &e);
    return http_ok(r, 200, json_pack("{s:i}", "threshold", pct));
}

/* ---- loyalty ---- */

static int care_entry_put(void *ctx, const nudge_loyalty_entry *x)
{
    struct care_list *l = ctx;
    json_array_append_new(
        l->items, json_pack("{s:I, s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)x->id, "points",
                            (json_int_t)x->points, "reason", x->reason, "ref_kind", x->ref_kind,
                            "ref_id", care_id(x->ref_id), "created_at",
                            care_time(l->r, x->created_at)));
    return 0;
}

static int care_loyalty_answer(http_req *r, int status, int64_t patient, int limit)
{
    int64_t balance;
    nudge_err e = {0};
    struct care_list l = {r, json_array()};
    if (nudge_loyalty_balance(r->n, r->key.clinic_id, patient, &balance, &e) < 0 ||
        nudge_loyalty_ledger(r->n, r->key.clinic_id, patient, limit, care_entry_put, &l, &e) < 0) {
        json_decref(l.items);
        return http_fail(r, &e);
    }
    return http_ok(r, status,
                   json_pack("{s:I, s:I, s:o}", "patient_id", (json_int_t)patient, "balance",
                             (json_int_t)balance, "entries", l.items));
}

int api_loyalty_get(http_req *r)
{
    int64_t id, after;
    int limit;
    if (http_param_id(r, 0, &id) < 0 || http_paging(r, &after, &limit) < 0)
        return 0;
    return care_loyalty_answer(r, 200, id, limit);
}

struct care_change {
    char type[16];
    int64_t points;
    char reason[200];
};

int api_loyalty_post(http_req *r)
{
    static const care_member in[] = {CARE_STR(struct care_change, "type", type, 1),
                                     CARE_INT(struct care_change, "points", points, 1),
                                     CARE_STR(struct care_change, "reason", reason, 0)};
    int64_t id;
    struct care_change c = {0};
    if (http_param_id(r, 0, &id) < 0 || care_in(r, in, 3, &c) < 0)
        return 0;
    nudge_err e = {0};
    int rc;
    if (!strcmp(c.type, "add"))
        rc = nudge_loyalty_add(r->n, r->key.clinic_id, id, c.points, c.reason, NULL, &e);
    else if (!strcmp(c.type, "redeem"))
        rc = nudge_loyalty_redeem(r->n, r->key.clinic_id, id, c.points, c.reason, NULL, &e);
    else
        return http_problem(r, 422, "Invalid input", "type must be add or redeem", "type");
    if (rc < 0)
        return http_fail(r, &e);
    return care_loyalty_answer(r, 201, id, 0);
}

static int care_rule_put(void *ctx, const nudge_loyalty_rule *x)
{
    json_array_append_new(ctx, json_pack("{s:s, s:o, s:I}", "kind", x->kind, "service",
                                         care_text(x->service), "points", (json_int_t)x->points));
    return 0;
}

int api_loyalty_rules(http_req *r)
{
    static const care_member in[] = {CARE_STR(nudge_loyalty_rule, "kind", kind, 1),
                                     CARE_STR(nudge_loyalty_rule, "service", service, 0),
                                     CARE_INT(nudge_loyalty_rule, "points", points, 1)};
    nudge_loyalty_rule x = {0};
    nudge_err e = {0};
    if (!strcmp(r->method, "PUT")) {
        if (care_in(r, in, 3, &x) < 0)
            return 0;
        x.clinic_id = r->key.clinic_id;
        if (nudge_loyalty_rule_set(r->n, &x, &e) < 0)
            return http_fail(r, &e);
    }
    json_t *items = json_array();
    if (nudge_loyalty_rules(r->n, r->key.clinic_id, care_rule_put, items, &e) < 0) {
        json_decref(items);
        return http_fail(r, &e);
    }
    return http_ok(r, 200, json_pack("{s:o}", "data", items));
}
