/*
 * cli/audit.c: `nudge audit verify`: walks the audit log's hash chains
 * (nudge_audit_verify, src/audit.c) and prints one line per chain, with the
 * head hash to keep elsewhere: only a kept head shows that a chain's last
 * rows were deleted or the whole chain recomputed. Exit 0 when every chain
 * is intact, 1 when one is broken (the line names the row).
 */
#include <stdio.h>

#include "cli/cli.h"

const char *const cli_help_audit =
    "usage: nudge audit verify [--clinic ID]\n"
    "\n"
    "Checks the audit log's hash chains (one per clinic; clinic 0 holds the\n"
    "rows about no clinic) and names the first row edited, deleted or\n"
    "rewritten by hand. Prints per chain: clinic, rows, head hash, verdict.\n"
    "Keep the head hashes: a chain's lost tail shows only against them.\n"
    "Exit 0 all intact, 1 a chain is broken.\n";

static int cli_audit_chain(void *x, const nudge_audit_chain *ch)
{
    (void)x;
    printf("%lld\t%lld\t%s\t", (long long)ch->clinic_id, (long long)ch->rows, ch->head);
    if (ch->problem[0])
        printf("BROKEN: %s\n", ch->problem);
    else if (ch->sealed && ch->rows == ch->sealed)
        printf("ok (%lld rows from before the chain, not sealed until the next is written)\n",
               (long long)ch->sealed);
    else
        printf("ok\n");
    return 0;
}

int cli_audit_verify(cli_ctx *c)
{
    int64_t clinic = NUDGE_ANY_CLINIC;
    const char *v = cli_arg(&c->a, "clinic");
    int rc;
    if ((v && (rc = cli_parse_id(c->cmd, "--clinic", v, &clinic))) || (rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    printf("clinic\trows\thead\tverdict\n");
    int broken = nudge_audit_verify(c->n, clinic, cli_audit_chain, NULL, &e);
    if (broken < 0)
        return cli_fail(c->cmd, &e);
    if (broken)
        fprintf(stderr, "nudge %s: %d chain%s broken\n", c->cmd, broken, broken > 1 ? "s" : "");
    return broken ? 1 : 0;
}
