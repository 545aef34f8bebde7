/*
 * sqlite_wal.c: the VFS every nudge SQLite connection opens its files
 * through: SQLite's own (the default, "unix"), except that a WAL file's
 * writes are gathered and a transaction's frames reach the kernel in one
 * write(2).
 *
 * Why: SQLite writes each WAL frame as two writes, its 24-byte header and
 * its page, so a group commit of 12 frames made 24 write calls before its
 * fdatasync. On this project's machine a write call into the page cache
 * cost 3.5-4.5 us, 90 us of a 0.69 ms group cycle (bench/README.md,
 * session 11). The bytes, their order in the file and the fsyncs are
 * SQLite's: only the number of calls changes.
 *
 * Why it is safe: another connection (in this process or another) finds a
 * frame through the wal-index, and SQLite publishes the index's header
 * only after the transaction's last frame is written (and synced, under
 * synchronous=FULL). The gathered bytes are written when the commit
 * frame's page is in (a frame header whose "database size after commit"
 * is not zero marks it, as the WAL format documents), so they are in the
 * file before anyone can look for them. Everything else that needs the
 * file as written writes the gathered bytes out first: a read (this
 * connection's checkpoint, its own spilled pages), a sync, the file's
 * size, a truncation, closing it, a write that does not follow on, and a
 * full buffer. A rewrite (below where the log's writes have reached:
 * SQLite writing a frame of the same transaction again in place, or
 * redoing frame headers' checksums after its commit frame) goes out at
 * once, so a commit is all in the kernel when SQLite returns from it,
 * and a process that dies then loses nothing under synchronous=normal.
 * A write that fails is reported by the call that made it go out: the
 * commit frame's write or the sync, as SQLite would have reported the
 * frame's own (SQLITE_FULL on a full disk).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

#define WAL_VFS_NAME     "nudge-wal"
#define WAL_FRAME_HEADER 24
/* Bytes gathered before they go out anyway: under 128 KiB, because the
 * unix VFS writes at most 0x1ffff bytes a call (seekAndWrite masks the
 * count) and answers SQLITE_FULL to anything longer. */
#define WAL_GATHER_MAX (120 * 1024)

typedef struct wal_file {
    sqlite3_file base;  /* pMethods: wal_io */
    sqlite3_file *real; /* the default VFS's file, after this struct */
    unsigned char *buf;
    size_t len, cap;
    sqlite3_int64 at; /* the file offset of buf[0] */
    sqlite3_int64 hi; /* where this log's writes have reached: below it, a write is a rewrite */
    int commit;       /* the last write was a commit frame's header */
} wal_file;

static sqlite3_vfs *wal_base; /* the VFS this one wraps */
static sqlite3_vfs wal_vfs;
static _Atomic long wal_calls; /* writes that reached the base VFS */
static _Atomic long wal_syncs; /* syncs of a WAL file asked of the base VFS */

static int wal_flush(wal_file *w)
{
    if (w->len == 0)
        return SQLITE_OK;
    int rc = w->real->pMethods->xWrite(w->real, w->buf, (int)w->len, w->at);
    w->len = 0;
    atomic_fetch_add_explicit(&wal_calls, 1, memory_order_relaxed);
    return rc;
}

/* Room in buf for n more bytes: 0, or -1 (no memory: write directly). */
static int wal_room(wal_file *w, size_t n)
{
    if (w->len + n <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 16 * 1024;
    while (cap < w->len + n)
        cap *= 2;
    unsigned char *b = realloc(w->buf, cap);
    if (!b)
        return -1;
    w->buf = b;
    w->cap = cap;
    return 0;
}

static int wal_close(sqlite3_file *f)
{
    wal_file *w = (wal_file *)f;
    int rc = wal_flush(w);
    int rc2 = w->real->pMethods->xClose(w->real);
    free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wal_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    wal_file *w = (wal_file *)f;
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, p, n, off);
}

static int wal_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    wal_file *w = (wal_file *)f;
    int rc;
    if (off == 0) /* the log's header: SQLite starts the log again */
        w->hi = 0;
    /* A rewrite (a frame of this transaction written again in place, the
     * frame headers whose checksums SQLite then redoes) goes out at once,
     * in order after the bytes gathered before it: the last of those
     * headers is the commit frame's, and nothing may follow it before the
     * next transaction. */
    if (off < w->hi) {
        if ((rc = wal_flush(w)) != SQLITE_OK)
            return rc;
        atomic_fetch_add_explicit(&wal_calls, 1, memory_order_relaxed);
        return w->real->pMethods->xWrite(w->real, p, n, off);
    }
    if (off + n > w->hi)
        w->hi = off + n;
    /* After a commit frame's header, its page: the transaction's last
     * write, which must be in the file however the bytes before it went. */
    int last = n != WAL_FRAME_HEADER && w->commit;
    if (n == WAL_FRAME_HEADER) {
        const unsigned char *h = p; /* bytes 4-7: the database's size after a commit, else 0 */
        w->commit = (h[4] | h[5] | h[6] | h[7]) != 0;
    } else {
        w->commit = 0;
    }
    if (w->len && (off != w->at + (sqlite3_int64)w->len || w->len + (size_t)n > WAL_GATHER_MAX) &&
        (rc = wal_flush(w)) != SQLITE_OK)
        return rc;
    if ((size_t)n > WAL_GATHER_MAX || wal_room(w, (size_t)n) < 0) {
        if ((rc = wal_flush(w)) != SQLITE_OK) /* as SQLite would have written it */
            return rc;
        atomic_fetch_add_explicit(&wal_calls, 1, memory_order_relaxed);
        return w->real->pMethods->xWrite(w->real, p, n, off);
    }
    if (w->len == 0)
        w->at = off;
    memcpy(w->buf + w->len, p, (size_t)n);
    w->len += (size_t)n;
    return last ? wal_flush(w) : SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    wal_file *w = (wal_file *)f;
    int rc = wal_flush(w);
    if (w->hi > size)
        w->hi = size;
    return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
    wal_file *w = (wal_file *)f;
    int rc = wal_flush(w);
    atomic_fetch_add_explicit(&wal_syncs, 1, memory_order_relaxed);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wal_size(sqlite3_file *f, sqlite3_int64 *size)
{
    wal_file *w = (wal_file *)f;
    int rc = wal_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

/* The rest is the base VFS's, unchanged. */
static int wal_lock(sqlite3_file *f, int l)
{
    return ((wal_file *)f)->real->pMethods->xLock(((wal_file *)f)->real, l);
}

static int wal_unlock(sqlite3_file *f, int l)
{
    return ((wal_file *)f)->real->pMethods->xUnlock(((wal_file *)f)->real, l);
}

static int wal_reserved(sqlite3_file *f, int *out)
{
    return ((wal_file *)f)->real->pMethods->xCheckReservedLock(((wal_file *)f)->real, out);
}

static int wal_control(sqlite3_file *f, int op, void *arg)
{
    return ((wal_file *)f)->real->pMethods->xFileControl(((wal_file *)f)->real, op, arg);
}

static int wal_sector(sqlite3_file *f)
{
    return ((wal_file *)f)->real->pMethods->xSectorSize(((wal_file *)f)->real);
}

static int wal_device(sqlite3_file *f)
{
    return ((wal_file *)f)->real->pMethods->xDeviceCharacteristics(((wal_file *)f)->real);
}

/* Version 1: a WAL file is never memory-mapped and has no wal-index of
 * its own (the database file has), so SQLite asks it for neither. */
static const sqlite3_io_methods wal_io = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_reserved,
    .xFileControl = wal_control,
    .xSectorSize = wal_sector,
    .xDeviceCharacteristics = wal_device,
};

/* A WAL file is wrapped; any other (the database, a journal, a temporary
 * file) is the base VFS's own file, opened in the space SQLite gave. */
static int wal_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL))
        return wal_base->xOpen(wal_base, name, f, flags, out);
    wal_file *w = (wal_file *)f;
    memset(w, 0, sizeof *w);
    w->real = (sqlite3_file *)(w + 1);
    int rc = wal_base->xOpen(wal_base, name, w->real, flags, out);
    if (rc != SQLITE_OK) {
        if (w->real->pMethods)
            w->real->pMethods->xClose(w->real);
        w->base.pMethods = NULL;
        return rc;
    }
    w->base.pMethods = &wal_io;
    return SQLITE_OK;
}

static int wal_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    return wal_base->xDelete(wal_base, name, sync);
}

static int wal_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return wal_base->xAccess(wal_base, name, flags, out);
}

static int wal_full(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return wal_base->xFullPathname(wal_base, name, n, out);
}

static void *wal_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return wal_base->xDlOpen(wal_base, name);
}

static void wal_dlerror(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    wal_base->xDlError(wal_base, n, out);
}

static void (*wal_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return wal_base->xDlSym(wal_base, h, sym);
}

static void wal_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    wal_base->xDlClose(wal_base, h);
}

static int wal_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return wal_base->xRandomness(wal_base, n, out);
}

static int wal_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return wal_base->xSleep(wal_base, us);
}

static int wal_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return wal_base->xCurrentTime(wal_base, out);
}

static int wal_lasterr(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return wal_base->xGetLastError ? wal_base->xGetLastError(wal_base, n, out) : 0;
}

static int wal_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return wal_base->xCurrentTimeInt64(wal_base, out);
}

static void wal_register(void)
{
    wal_base = sqlite3_vfs_find(NULL);
    if (!wal_base || wal_base->iVersion < 2)
        return; /* no VFS to wrap: connections use the default */
    wal_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(wal_file) + wal_base->szOsFile,
        .mxPathname = wal_base->mxPathname,
        .zName = WAL_VFS_NAME,
        .xOpen = wal_open,
        .xDelete = wal_delete,
        .xAccess = wal_access,
        .xFullPathname = wal_full,
        .xDlOpen = wal_dlopen,
        .xDlError = wal_dlerror,
        .xDlSym = wal_dlsym,
        .xDlClose = wal_dlclose,
        .xRandomness = wal_random,
        .xSleep = wal_sleep,
        .xCurrentTime = wal_time,
        .xGetLastError = wal_lasterr,
        .xCurrentTimeInt64 = wal_time64,
    };
    if (sqlite3_vfs_register(&wal_vfs, 0) != SQLITE_OK)
        wal_base = NULL;
}

const char *sqlite_wal_vfs(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, wal_register);
    return wal_base ? WAL_VFS_NAME : NULL;
}

long sqlite_wal_calls(void)
{
    return atomic_load_explicit(&wal_calls, memory_order_relaxed);
}

long sqlite_wal_syncs(void)
{
    return atomic_load_explicit(&wal_syncs, memory_order_relaxed);
}
