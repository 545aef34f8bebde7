/*
 * cli/key.c: `nudge key create|list|revoke`. A new key is printed once on
 * stdout; only its hash is kept by the library.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const cli_opt cli_key_create_opts[] = {
    {"clinic", 1, 0}, {"role", 1, 0}, {"label", 1, 0}, {NULL, 0, 0}};

static const char *const cli_help_key =
    "usage: nudge key create --clinic ID --role admin|staff|integration [--label TEXT]\n"
    "       nudge key list [--clinic ID]\n"
    "       nudge key revoke ID\n"
    "\n"
    "create prints the new key, once: only a hash of it is kept. Send it as\n"
    "`Authorization: Bearer KEY`. list shows each key's public prefix only.\n";

static int cli_key_create(cli_ctx *c)
{
    int64_t clinic;
    int rc, role;
    const char *v;
    if ((rc = cli_parse_id(c->cmd, "--clinic", cli_arg(&c->a, "clinic"), &clinic)))
        return rc;
    if (!(v = cli_arg(&c->a, "role")))
        return cli_usage(c->cmd, "%s is required", "--role");
    if (!(role = nudge_role_parse(v)))
        return cli_usage(c->cmd, "--role must be admin, staff or integration (got \"%s\")", v);
    if ((rc = cli_open(c)))
        return rc;
    nudge_key k;
    char secret[NUDGE_KEY_SECRET_LEN];
    nudge_err e = {0};
    if (nudge_key_create(c->n, clinic, role, cli_arg(&c->a, "label"), &k, secret, &e) < 0)
        return cli_fail(c->cmd, &e);
    printf("%s\n", secret);
    fprintf(stderr, "nudge: key %lld (%s, %s) created; it is shown only now\n", (long long)k.id,
            k.prefix, nudge_role_name(k.role));
    memset(secret, 0, sizeof secret);
    return 0;
}

static int cli_key_row(void *x, const nudge_key *k)
{
    nudge *n = x;
    char tzb[64], created[40], used[40], revoked[40];
    const char *tz = cli_clinic_tz(n, k->clinic_id, tzb, sizeof tzb);
    cli_fmt_time(k->created_at, tz, created, sizeof created);
    cli_fmt_time(k->last_used_at, tz, used, sizeof used);
    cli_fmt_time(k->revoked_at, tz, revoked, sizeof revoked);
    printf("%lld\t%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)k->id, (long long)k->clinic_id,
           nudge_role_name(k->role), k->prefix, cli_or_dash(k->label), created, used, revoked);
    return 0;
}

static int cli_key_list(cli_ctx *c)
{
    int64_t clinic, after;
    int limit, rc;
    if ((rc = cli_paging(c, &clinic, &after, &limit)) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    printf("id\tclinic\trole\tprefix\tlabel\tcreated\tlast_used\trevoked\n");
    if (nudge_key_list(c->n, clinic, cli_key_row, c->n, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

static int cli_key_revoke(cli_ctx *c)
{
    int64_t id;
    int rc;
    if ((rc = cli_one_id(c, "key", &id)))
        return rc;
    nudge_err e = {0};
    if (nudge_key_revoke(c->n, NUDGE_ANY_CLINIC, id, &e) < 0)
        return cli_fail(c->cmd, &e);
    return 0;
}

const cli_command cli_key_commands[] = {
    {"key", "create", cli_key_create, cli_key_create_opts, &cli_help_key, 0},
    {"key", "list", cli_key_list, cli_list_opts, &cli_help_key, 0},
    {"key", "revoke", cli_key_revoke, NULL, &cli_help_key, 1},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
