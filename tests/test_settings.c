/*
 * test_settings.c: walks the settings table (src/settings.c): names, flags
 * and variables unique, each variable NUDGE_ + upper(name), every default
 * parses as its type, every secret without a flag and masked; loading from
 * a fake environment fills nudge_config, a secret comes from its _FILE,
 * giving both forms or a bad value is refused naming the setting, and a
 * flag wins over the environment.
 */
#include "testutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fake environment and flags: NULL-ended name, value pairs. */
typedef struct fake {
    const char *const *env, *const *flags;
} fake;

static const char *fake_find(const char *const *kv, const char *name)
{
    for (; kv && kv[0]; kv += 2)
        if (!strcmp(kv[0], name))
            return kv[1];
    return NULL;
}

static const char *fake_env(void *ctx, const char *name)
{
    return fake_find(((fake *)ctx)->env, name);
}

static const char *fake_flag(void *ctx, const char *name)
{
    return fake_find(((fake *)ctx)->flags, name);
}

static int load(const char *const *env, const char *const *flags, nudge_config *cfg,
                nudge_config_loaded *ld, nudge_err *e)
{
    fake f = {env, flags};
    memset(cfg, 0, sizeof *cfg);
    return nudge_config_load(cfg, ld, fake_flag, fake_env, &f, e);
}

static void test_table_unique_and_named(void **state)
{
    (void)state;
    assert_true(nudge_n_settings > 20);
    assert_true(nudge_n_settings <= NUDGE_MAX_SETTINGS);
    for (int i = 0; i < nudge_n_settings; i++) {
        const nudge_setting *s = &nudge_settings[i];
        char want[96] = "NUDGE_";
        for (const char *p = s->name; *p; p++)
            want[strlen(want)] = (char)toupper((unsigned char)*p);
        assert_string_equal(s->env, want);
        assert_true(s->help && strlen(s->help) > 10);
        assert_ptr_equal(nudge_setting_find(s->name), s);
        if (s->flags & NUDGE_SETTING_SECRET)
            assert_null(s->flag); /* never from argv */
        for (int j = i + 1; j < nudge_n_settings; j++) {
            const nudge_setting *t = &nudge_settings[j];
            assert_string_not_equal(s->name, t->name);
            assert_string_not_equal(s->env, t->env);
            assert_true(s->offset != t->offset);
            if (s->flag && t->flag)
                assert_string_not_equal(s->flag, t->flag);
        }
    }
    assert_null(nudge_setting_find("no_such_setting"));
}

/* Each default, given as the value, loads; and nudge_config_defaults gives
 * an empty configuration the same values. */
static void test_defaults_parse(void **state)
{
    (void)state;
    nudge_config empty = {0};
    nudge_config_defaults(&empty);
    for (int i = 0; i < nudge_n_settings; i++) {
        const nudge_setting *s = &nudge_settings[i];
        if (!s->def)
            continue;
        const char *env[] = {s->env, s->def, NULL};
        nudge_config cfg, none;
        nudge_config_loaded ld, ld2;
        nudge_err e;
        if (load(env, NULL, &cfg, &ld, &e) < 0)
            fail_msg("default of %s does not parse: %s", s->name, e.msg);
        assert_int_equal(ld.source[i], NUDGE_FROM_ENV);
        assert_int_equal(load(NULL, NULL, &none, &ld2, &e), 0);
        assert_int_equal(ld2.source[i], NUDGE_FROM_DEFAULT);
        char a[256], b[256], c[256];
        nudge_setting_format(s, &cfg, a, sizeof a);
        nudge_setting_format(s, &none, b, sizeof b);
        nudge_setting_format(s, &empty, c, sizeof c);
        assert_string_equal(a, b);
        assert_string_equal(a, c);
        nudge_config_loaded_free(&ld);
        nudge_config_loaded_free(&ld2);
    }
    assert_string_equal(empty.db, "nudge.db");
    assert_int_equal(empty.lease_seconds, 300);
    assert_int_equal(empty.max_in_flight, 32);
}

static void test_load_fills_struct(void **state)
{
    (void)state;
    const char *env[] = {"NUDGE_DB", "/tmp/x.db", "NUDGE_SMTP_URL", "smtp://mail:587",
                         "NUDGE_SMTP_STARTTLS", "yes", "NUDGE_TWILIO_ACCOUNT_SID", "AC1",
                         "NUDGE_TWILIO_AUTH_TOKEN", "tok", "NUDGE_BATCH_SIZE", "7",
                         "NUDGE_PUBLIC_URL", "https://n.example", NULL};
    const char *flags[] = {"db", "/flag.db", NULL};
    nudge_config cfg;
    nudge_config_loaded ld;
    nudge_err e;
    assert_int_equal(load(env, flags, &cfg, &ld, &e), 0);
    assert_string_equal(cfg.db, "/flag.db"); /* the flag wins */
    assert_int_equal(ld.source[0], NUDGE_FROM_FLAG);
    assert_string_equal(cfg.smtp_url, "smtp://mail:587");
    assert_int_equal(cfg.smtp_starttls, 1);
    assert_int_equal(cfg.smtp_insecure, 0);
    assert_string_equal(cfg.twilio_account_sid, "AC1");
    assert_string_equal(cfg.twilio_auth_token, "tok");
    assert_int_equal(cfg.batch_size, 7);
    assert_int_equal(cfg.lease_seconds, 300);
    assert_string_equal(cfg.public_url, "https://n.example");
    assert_string_equal(cfg.outbox_dir, "outbox");
    assert_string_equal(cfg.whatsapp_version, "v23.0");
    assert_null(cfg.smtp_user);
    /* Secrets are masked, never written out. */
    char buf[128];
    nudge_setting_format(nudge_setting_find("twilio_auth_token"), &cfg, buf, sizeof buf);
    assert_string_equal(buf, "********");
    nudge_setting_format(nudge_setting_find("whatsapp_token"), &cfg, buf, sizeof buf);
    assert_string_equal(buf, "-");
    nudge_setting_format(nudge_setting_find("smtp_starttls"), &cfg, buf, sizeof buf);
    assert_string_equal(buf, "on");
    /* A password inside a URL (the PostgreSQL one) is masked too; a URL
     * without one, or an '@' past the host, is shown as it is. */
    const nudge_setting *db = nudge_setting_find("db");
    cfg.db = "postgres://nudge:s3cret@db.example:5432/nudge";
    nudge_setting_format(db, &cfg, buf, sizeof buf);
    assert_string_equal(buf, "postgres://nudge:********@db.example:5432/nudge");
    cfg.db = "postgres://nudge@db.example/nudge?application_name=a@b";
    nudge_setting_format(db, &cfg, buf, sizeof buf);
    assert_string_equal(buf, "postgres://nudge@db.example/nudge?application_name=a@b");
    nudge_config_loaded_free(&ld);
}

/* Every secret: masked by show whatever its value, and read from its _FILE. */
static void test_secret_file(void **state)
{
    (void)state;
    char path[] = "/tmp/nudge-secret.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret\r\nsecond line\n", 20), 20);
    close(fd);
    int secrets = 0;
    for (int i = 0; i < nudge_n_settings; i++) {
        const nudge_setting *s = &nudge_settings[i];
        if (!(s->flags & NUDGE_SETTING_SECRET))
            continue;
        secrets++;
        char var[96];
        snprintf(var, sizeof var, "%s_FILE", s->env);
        const char *env[] = {var, path, NULL};
        nudge_config cfg;
        nudge_config_loaded ld;
        nudge_err e;
        assert_int_equal(load(env, NULL, &cfg, &ld, &e), 0);
        assert_int_equal(ld.source[i], NUDGE_FROM_FILE);
        assert_string_equal(*(const char **)((char *)&cfg + s->offset), "s3cret");
        char buf[128];
        nudge_setting_format(s, &cfg, buf, sizeof buf);
        assert_null(strstr(buf, "s3cret"));
        assert_string_equal(buf, "********");
        nudge_config_loaded_free(&ld);

        /* Both forms: refused, naming the setting. */
        const char *both[] = {var, path, s->env, "x", NULL};
        assert_int_equal(load(both, NULL, &cfg, &ld, &e), -1);
        assert_int_equal(e.code, NUDGE_EINVAL);
        assert_string_equal(e.field, s->name);
        assert_non_null(strstr(e.msg, var));
    }
    assert_true(secrets >= 7);
    unlink(path);
    const char *missing[] = {"NUDGE_SMTP_PASSWORD_FILE", "/nonexistent/pw", NULL};
    nudge_config cfg;
    nudge_config_loaded ld;
    nudge_err e;
    assert_int_equal(load(missing, NULL, &cfg, &ld, &e), -1);
    assert_string_equal(e.field, "smtp_password");
    assert_non_null(strstr(e.msg, "/nonexistent/pw"));
}

static void test_bad_values_named(void **state)
{
    (void)state;
    static const struct {
        const char *var, *value, *setting;
    } bad[] = {
        {"NUDGE_LEASE_SECONDS", "0", "lease_seconds"},
        {"NUDGE_BATCH_SIZE", "12x", "batch_size"},
        {"NUDGE_MAX_IN_FLIGHT", "99999", "max_in_flight"},
        {"NUDGE_SMTP_STARTTLS", "maybe", "smtp_starttls"},
        {"NUDGE_SMTP_URL", "mail.example:587", "smtp_url"},
        {"NUDGE_PUBLIC_URL", "https://", "public_url"},
        {"NUDGE_DB", "", "db"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *env[] = {bad[i].var, bad[i].value, NULL};
        nudge_config cfg;
        nudge_config_loaded ld;
        nudge_err e;
        assert_int_equal(load(env, NULL, &cfg, &ld, &e), -1);
        assert_int_equal(e.code, NUDGE_EINVAL);
        assert_string_equal(e.field, bad[i].setting);
        assert_non_null(strstr(e.msg, bad[i].var));
    }
    /* A flag's bad value names the flag. */
    const char *flags[] = {"smtp-url", "nonsense", NULL};
    nudge_config cfg;
    nudge_config_loaded ld;
    nudge_err e;
    assert_int_equal(load(NULL, flags, &cfg, &ld, &e), -1);
    assert_non_null(strstr(e.msg, "--smtp-url"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_unique_and_named),
        cmocka_unit_test(test_defaults_parse),
        cmocka_unit_test(test_load_fills_struct),
        cmocka_unit_test(test_secret_file),
        cmocka_unit_test(test_bad_values_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
