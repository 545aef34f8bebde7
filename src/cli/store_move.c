/*
 * cli/store_move.c: `nudge migrate-store`, moving a whole store to another
 * engine (the library's nudge_store_copy does the work and the proof); this
 * file parses the two URLs and prints the per-table proof as a table, so
 * an operator sees every count and checksum side by side.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_migrate_store =
    "usage: nudge migrate-store --from URL --to URL\n"
    "\n"
    "Copies every table of the store at --from into the empty store at --to,\n"
    "typically --from sqlite:PATH --to postgres://USER@HOST/DB (the reverse and\n"
    "same-engine moves work too). The target is migrated to this build's schema\n"
    "first and must then be empty; the source must be at the same version (run\n"
    "`nudge --db SOURCE migrate` first). Ids are kept, one transaction on the\n"
    "target; every table is counted and checksummed on both sides before the\n"
    "commit, and printed. Any difference rolls the copy back and exits 1; a\n"
    "non-empty target or differing versions exit 4 with nothing written.\n"
    "Stop the processes using the source first: its writers would wait.\n";

int cli_migrate_store(cli_ctx *c)
{
    const char *from = cli_arg(&c->a, "from"), *to = cli_arg(&c->a, "to");
    if (c->a.npos)
        return cli_usage(c->cmd, "unexpected argument \"%s\"", c->a.pos[0]);
    if (!from || !*from || !to || !*to)
        return cli_usage(c->cmd, "%s", "--from URL and --to URL are required");
    if (!strcmp(from, to))
        return cli_usage(c->cmd, "%s", "--from and --to name the same store");
    nudge_clock clock;
    nudge_clock_system(&clock);
    static nudge_copy_report rep; /* ~13 KiB */
    nudge_err e = {0};
    int rc = nudge_store_copy(from, to, clock.now(&clock), &rep, &e);
    if (rep.ntables) {
        printf("%-36s %10s %10s  %-16s %-16s %s\n", "table", "rows from", "rows to", "sha256 from",
               "sha256 to", "");
        for (int i = 0; i < rep.ntables; i++) {
            const nudge_copy_table *t = &rep.tables[i];
            int same = t->rows_from == t->rows_to && !strcmp(t->sum_from, t->sum_to);
            printf("%-36s %10lld %10lld  %.16s %.16s %s\n", t->name, (long long)t->rows_from,
                   (long long)t->rows_to, t->sum_from, t->sum_to, same ? "ok" : "DIFFERS");
        }
    }
    if (rc < 0)
        return cli_fail(c->cmd, &e);
    printf("copied %d tables at schema version %d; counts and checksums match\n", rep.ntables,
           rep.schema_version);
    return 0;
}
