/*
 * cli/key.c: `nudge key create|list` (revoke is a cli_by_id row). A new key is printed once on
 * stdout; only its hash is kept by the library.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_key =
    "usage: nudge key create --clinic ID --role admin|staff|integration [--label TEXT]\n"
    "       nudge key list [--clinic ID]\n"
    "       nudge key revoke ID\n"
    "\n"
    "create prints the new key, once: only a hash of it is kept. Send it as\n"
    "`Authorization: Bearer KEY`. list shows each key's public prefix only.\n";

int cli_key_create(cli_ctx *c)
{
    nudge_key in = {0};
    int64_t clinic;
    int rc;
    if ((rc = cli_record_in(c, "clinic", &clinic, &in)) || (rc = cli_open(c)))
        return rc;
    nudge_key k;
    char secret[NUDGE_KEY_SECRET_LEN];
    nudge_err e = {0};
    if (nudge_key_create(c->n, clinic, in.role, in.label[0] ? in.label : NULL, &k, secret, &e) <
        0)
        return cli_fail_fields(c, &e);
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

static int cli_key_rows(cli_ctx *c, const cli_page *p, nudge_err *e)
{
    return nudge_key_list(c->n, p->clinic, cli_key_row, c->n, e);
}

int cli_key_list(cli_ctx *c)
{
    return cli_list(c, "id\tclinic\trole\tprefix\tlabel\tcreated\tlast_used\trevoked",
                    cli_key_rows);
}
