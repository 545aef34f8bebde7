/*
 * test_record.c: the record tables (nudge.h, src/record.c). Each table is
 * well formed, its SELECT list (record.h) names exactly its columns in its
 * order, rows read through it come back field for field, and the opt-out
 * names are the one list the bits follow.
 */
#include "testutil.h"

#include "record.h"

#define T0 TU_T(2026, 11, 24, 6, 0)

static const struct {
    const char *name;
    const nudge_field *fields;
    const char *cols;
    size_t size;
} tables[] = {
    {"clinic", nudge_clinic_fields, RECORD_CLINIC_COLS, sizeof(nudge_clinic)},
    {"patient", nudge_patient_fields, RECORD_PATIENT_COLS, sizeof(nudge_patient)},
    {"appointment", nudge_appointment_fields, RECORD_APPOINTMENT_COLS, sizeof(nudge_appointment)},
    {"reminder", nudge_reminder_fields, RECORD_REMINDER_COLS, sizeof(nudge_reminder)},
    {"prescription", nudge_prescription_fields, RECORD_PRESCRIPTION_COLS,
     sizeof(nudge_prescription)},
    {"medication", nudge_medication_fields, RECORD_MEDICATION_COLS, sizeof(nudge_medication)},
    {"notification", nudge_notification_fields, RECORD_NOTIFICATION_COLS,
     sizeof(nudge_notification)},
    {"attempt", nudge_attempt_fields, RECORD_ATTEMPT_COLS, sizeof(nudge_attempt)},
    {"delivery_event", nudge_delivery_event_fields, RECORD_DELIVERY_EVENT_COLS,
     sizeof(nudge_delivery_event)},
    {"key", nudge_key_fields, RECORD_KEY_COLS, sizeof(nudge_key)},
    {"template", nudge_template_fields, RECORD_TEMPLATE_COLS, sizeof(nudge_template)},
    {"audit", nudge_audit_fields, RECORD_AUDIT_COLS, sizeof(nudge_audit)},
};
#define N_TABLES (sizeof tables / sizeof *tables)

/* A field's CLI option as src/cli/fields.c makes it. */
static void option_of(const nudge_field *f, char *buf, size_t n)
{
    snprintf(buf, n, "%s", f->cli ? f->cli : f->name);
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = '-';
}

/* The CLI makes an option of every field settable on create: no two of a
 * table may share one, and a cli name is only given where it differs. */
static void test_cli_options_are_unique(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TABLES; i++)
        for (const nudge_field *f = tables[i].fields; f->name; f++) {
            char a[64], b[64], dashed[64];
            if (f->cli) {
                option_of(&(nudge_field){.name = f->name}, dashed, sizeof dashed);
                if (!strcmp(f->cli, dashed) || strchr(f->cli, '_'))
                    fail_msg("%s.%s: cli \"%s\" should be left out or use '-'",
                             tables[i].name, f->name, f->cli);
            }
            if (!(f->flags & NUDGE_F_CREATE) || (f->flags & (NUDGE_F_RO | NUDGE_F_HIDDEN)))
                continue;
            option_of(f, a, sizeof a);
            for (const nudge_field *g = f + 1; g->name; g++) {
                if (!(g->flags & NUDGE_F_CREATE) || (g->flags & (NUDGE_F_RO | NUDGE_F_HIDDEN)))
                    continue;
                option_of(g, b, sizeof b);
                if (!strcmp(a, b))
                    fail_msg("%s: %s and %s are both --%s", tables[i].name, f->name, g->name, a);
            }
        }
}

static void test_select_lists_follow_tables(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TABLES; i++) {
        char buf[1024];
        record_columns(tables[i].fields, buf, sizeof buf);
        if (strcmp(buf, tables[i].cols))
            fail_msg("%s: the SELECT list\n  %s\nis not the table's\n  %s", tables[i].name,
                     tables[i].cols, buf);
    }
}

static void test_tables_are_well_formed(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_TABLES; i++) {
        const nudge_field *fs = tables[i].fields;
        assert_non_null(fs[0].name);
        for (const nudge_field *f = fs; f->name; f++) {
            /* One field per name: the codec finds the first. */
            assert_ptr_equal(nudge_field_find(fs, f->name), f);
            assert_true(f->offset + f->size <= tables[i].size);
            assert_non_null(f->help);
            assert_false((f->flags & NUDGE_F_RO) && (f->flags & NUDGE_F_REQUIRED));
            assert_false((f->flags & NUDGE_F_HIDDEN) && (f->flags & NUDGE_F_REQUIRED));
            if (f->why)
                assert_true(f->flags & NUDGE_F_RO);
            switch (f->type) {
            case NUDGE_T_TEXT:
            case NUDGE_T_TAGS: assert_true(f->size > 1); break;
            case NUDGE_T_STR: assert_int_equal(f->size, sizeof(char *)); break;
            case NUDGE_T_ENUM: assert_non_null(f->names); break;
            case NUDGE_T_INT64:
            case NUDGE_T_ID:
            case NUDGE_T_TIME:
            case NUDGE_T_SOURCE: assert_int_equal(f->size, sizeof(int64_t)); break;
            case NUDGE_T_INT:
            case NUDGE_T_BOOL:
            case NUDGE_T_HHMM: assert_int_equal(f->size, sizeof(int)); break;
            default: break;
            }
        }
    }
    assert_null(nudge_field_find(nudge_patient_fields, "no_such_field"));
    assert_null(nudge_field_find(nudge_patient_fields, NULL));
}

static void test_optout_names_are_the_bits(void **state)
{
    (void)state;
    for (int i = 0; i < NUDGE_N_OPTOUTS; i++)
        assert_int_equal(nudge_optout_parse(nudge_optout_names[i]), 1u << i);
    assert_null(nudge_optout_names[NUDGE_N_OPTOUTS]);
    assert_int_equal(nudge_optout_parse("reminders"), NUDGE_OPTOUT_REMINDERS);
    assert_int_equal(nudge_optout_parse("health_tips"), NUDGE_OPTOUT_HEALTH_TIPS);
    assert_int_equal(nudge_optout_parse("email"), NUDGE_OPTOUT_EMAIL);
    assert_int_equal(nudge_optout_parse("fax"), 0);
    assert_int_equal(nudge_optout_parse(""), 0);
    assert_int_equal(nudge_optout_parse(NULL), 0);
    assert_string_equal(nudge_priority_names[NUDGE_URGENT], "urgent");
    assert_string_equal(nudge_priority_names[NUDGE_LOW], "low");
}

static nudge_clinic clinic_in(const char *name)
{
    nudge_clinic c;
    nudge_clinic_defaults(&c);
    snprintf(c.name, sizeof c.name, "%s", name);
    strcpy(c.timezone, "Asia/Kolkata");
    strcpy(c.country, "IN");
    return c;
}

/* Every special type read back from its columns exactly as written. */
static void test_rows_read_through_tables(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    nudge_clinic c = clinic_in("Smile");
    strcpy(c.sms_sender, "+15005550006");
    c.quiet_start = 22 * 60;
    c.quiet_end = 7 * 60 + 30;
    c.n_offsets = 3;
    c.offsets[0] = 2880;
    c.offsets[1] = 1440;
    c.offsets[2] = 90;
    c.whatsapp_fallback = 1;
    c.whatsapp_fallback_after = 45;
    c.rate_per_minute = 7;
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), 0);
    nudge_clinic cg;
    assert_int_equal(nudge_clinic_get(env.n, c.id, &cg, &e), 0);
    assert_int_equal(cg.quiet_start, 22 * 60);
    assert_int_equal(cg.quiet_end, 7 * 60 + 30);
    assert_int_equal(cg.n_offsets, 3);
    assert_int_equal(cg.offsets[2], 90);
    assert_int_equal(cg.whatsapp_fallback, 1);
    assert_int_equal(cg.whatsapp_fallback_after, 45);
    assert_int_equal(cg.rate_per_minute, 7);
    assert_string_equal(cg.sms_sender, "+15005550006");
    assert_int_equal(cg.created_at, T0);

    nudge_patient p;
    nudge_patient_init(&p);
    p.clinic_id = c.id;
    strcpy(p.name, "Asha");
    strcpy(p.phone, "+919876543210");
    strcpy(p.tags, "diabetes,bp");
    strcpy(p.dob, "1980-02-29");
    p.preferred_time = 9 * 60 + 15;
    p.opt_outs = NUDGE_OPTOUT_MARKETING | NUDGE_OPTOUT_EMAIL;
    assert_int_equal(nudge_patient_add(env.n, &p, &e), 0);
    nudge_patient pg;
    assert_int_equal(nudge_patient_get(env.n, c.id, p.id, &pg, &e), 0);
    assert_int_equal(pg.opt_outs, NUDGE_OPTOUT_MARKETING | NUDGE_OPTOUT_EMAIL);
    assert_int_equal(pg.preferred_time, 9 * 60 + 15);
    assert_string_equal(pg.tags, "diabetes,bp");
    assert_string_equal(pg.dob, "1980-02-29");
    assert_int_equal(pg.clinic_id, c.id);
    assert_true(pg.version >= 1);

    nudge_key k;
    char secret[NUDGE_KEY_SECRET_LEN];
    assert_int_equal(nudge_key_create(env.n, c.id, NUDGE_ROLE_STAFF, "desk", &k, secret, &e), 0);
    nudge_key kv;
    assert_int_equal(nudge_key_verify(env.n, secret, &kv, &e), 0);
    assert_int_equal(kv.role, NUDGE_ROLE_STAFF); /* stored by name, read back as the enum */
    assert_string_equal(kv.label, "desk");
    assert_int_equal(kv.clinic_id, c.id);
    tu_close(&env);
}

static int last_audit(void *ctx, const nudge_audit *a)
{
    *(nudge_audit *)ctx = *a;
    return 1;
}

static void test_audit_rows(void **state)
{
    (void)state;
    tu_env env;
    tu_open(&env, T0);
    nudge_err e = {0};
    nudge_clinic c = clinic_in("Smile");
    nudge_set_actor(env.n, "tester");
    assert_int_equal(nudge_clinic_add(env.n, &c, &e), 0);
    nudge_audit a = {0};
    assert_int_equal(nudge_audit_list(env.n, c.id, 0, 1, last_audit, &a, &e), 0);
    assert_true(a.id > 0);
    assert_int_equal(a.clinic_id, c.id);
    assert_int_equal(a.at, T0);
    assert_string_equal(a.actor, "tester");
    assert_string_equal(a.entity, "clinic");
    assert_int_equal(a.entity_id, c.id);
    tu_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_lists_follow_tables),
        cmocka_unit_test(test_tables_are_well_formed),
        cmocka_unit_test(test_cli_options_are_unique),
        cmocka_unit_test(test_optout_names_are_the_bits),
        cmocka_unit_test(test_rows_read_through_tables),
        cmocka_unit_test(test_audit_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
