/*
 * cli/backup.c: `nudge backup [--encrypt]` and `nudge backup restore
 * FILE`. The folder and the number kept are settings (--backup-dir,
 * NUDGE_BACKUP_KEEP), the key of encrypted backups NUDGE_BACKUP_KEY or
 * NUDGE_BACKUP_KEY_FILE; SQLite only: PostgreSQL is refused, pointing to
 * pg_dump.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_help_backup =
    "usage: nudge backup [--encrypt] [--keep N] [--backup-dir DIR]\n"
    "       nudge backup restore FILE\n"
    "\n"
    "backup copies the SQLite database online (others may go on using it) into\n"
    "DIR/nudge-YYYYMMDDTHHMMSSZ.db, keeps the newest N ($NUDGE_BACKUP_KEEP, 7),\n"
    "and prints the file's path. --encrypt seals it with AES-256-GCM under\n"
    "$NUDGE_BACKUP_KEY (or _FILE): 64 hex digits, from `openssl rand -hex 32`;\n"
    "the file is then .db.enc. restore replaces the database with a backup (an\n"
    "encrypted one needs the same key; a wrong key or a changed byte is refused\n"
    "and nothing is written). Stop the workers first. On PostgreSQL use pg_dump\n"
    "and pg_restore instead (docs/OPERATIONS.md).\n";

int cli_backup(cli_ctx *c)
{
    int keep = 0, rc;
    const char *v = cli_arg(&c->a, "keep");
    if ((v && (rc = cli_parse_int(c->cmd, "--keep", v, 1, 10000, &keep))) || (rc = cli_open(c)))
        return rc;
    char path[4096];
    nudge_err e = {0};
    if (nudge_backup(c->n, NULL, keep, cli_arg(&c->a, "encrypt") != NULL, path, sizeof path, &e) <
        0)
        return cli_fail(c->cmd, &e);
    printf("%s\n", path);
    return 0;
}

int cli_backup_restore(cli_ctx *c)
{
    int rc;
    if (c->a.npos != 1)
        return cli_usage(c->cmd, "%s", "give the backup file to restore");
    if ((rc = cli_open(c)))
        return rc;
    nudge_err e = {0};
    if (nudge_backup_restore(c->n, c->a.pos[0], &e) < 0)
        return cli_fail(c->cmd, &e);
    fprintf(stderr, "nudge: restored from %s\n", c->a.pos[0]);
    return 0;
}
