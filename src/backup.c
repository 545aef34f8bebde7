/*
 * backup.c: database backups (issue 9 item 5), run by `nudge backup`, the
 * C API and the "backup" task (task.c). SQLite: the engine's online backup
 * API (the store's `backup` operation) into dir/nudge-YYYYMMDDTHHMMSSZ.db,
 * written under a temporary name and renamed, so a half-written backup is
 * never mistaken for one; the newest `keep` are kept. PostgreSQL has no
 * such operation here: pg_dump is the tool (docs/OPERATIONS.md), and the
 * call says so rather than pretending.
 *
 * Encrypted backups are AES-256-GCM (OpenSSL libcrypto, already linked)
 * under the backup_key setting (64 hex digits, from the environment or a
 * _FILE): "NUDGEBK1", a random 12-byte IV, the ciphertext, the 16-byte
 * tag; the magic is authenticated too. A restore decrypts into a
 * temporary file and only uses it when the tag matches, so a wrong key
 * or one changed byte is refused before anything is written.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core.h"
#include "util.h"

#define BACKUP_MAGIC "NUDGEBK1"
#define BACKUP_MAGIC_LEN 8
#define BACKUP_IV_LEN 12
#define BACKUP_TAG_LEN 16
#define BACKUP_CHUNK 65536
#define BACKUP_MAX_KEEP 10000

static int backup_refuse_engine(nudge *n, nudge_err *err)
{
    return err_set(err, NUDGE_EINVAL, "db",
                   "nudge backup copies SQLite databases; this store is %s: back it up with "
                   "pg_dump --format=custom and restore with pg_restore (docs/OPERATIONS.md, "
                   "Backups)",
                   store_engine(n->db));
}

static int backup_key(nudge *n, unsigned char key[32], nudge_err *err)
{
    const char *k = n->backup_key;
    if (!k || !*k)
        return err_set(err, NUDGE_EINVAL, "backup_key",
                       "an encrypted backup needs NUDGE_BACKUP_KEY (or NUDGE_BACKUP_KEY_FILE): 64 "
                       "hex digits, e.g. from `openssl rand -hex 32`");
    size_t l = strlen(k);
    while (l && (k[l - 1] == '\n' || k[l - 1] == '\r' || k[l - 1] == ' '))
        l--;
    if (l != 64)
        return err_set(err, NUDGE_EINVAL, "backup_key", "the backup key is 64 hex digits (got %zu "
                                                        "characters)", l);
    for (int i = 0; i < 32; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = k[2 * i + j];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) {
                OPENSSL_cleanse(key, 32);
                return err_set(err, NUDGE_EINVAL, "backup_key", "the backup key is 64 hex digits");
            }
            v = v * 16 + (unsigned)d;
        }
        key[i] = (unsigned char)v;
    }
    return 0;
}

static int backup_io(nudge_err *err, const char *what, const char *path)
{
    return err_set(err, NUDGE_EIO, "", "%s %s: %s", what, path, strerror(errno));
}

/* Writes and syncs a whole buffer. */
static int backup_write(FILE *f, const void *p, size_t l)
{
    return l && fwrite(p, 1, l, f) != l ? -1 : 0;
}

static int backup_close(FILE *f)
{
    int rc = fflush(f) != 0 || fsync(fileno(f)) != 0 ? -1 : 0;
    return fclose(f) != 0 ? -1 : rc;
}

/* in -> out with AES-256-GCM; decrypt checks the tag before answering 0. */
static int backup_crypt(const unsigned char key[32], const char *in, const char *out, int decrypt,
                        nudge_err *err)
{
    int rc = -1;
    FILE *fi = fopen(in, "rb"), *fo = NULL;
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    unsigned char *buf = malloc(BACKUP_CHUNK), *obuf = malloc(BACKUP_CHUNK + 32);
    unsigned char iv[BACKUP_IV_LEN], tag[BACKUP_TAG_LEN], magic[BACKUP_MAGIC_LEN];
    if (!cx || !buf || !obuf) {
        err_set(err, NUDGE_ENOMEM, "", "out of memory");
        goto done;
    }
    if (!fi) {
        backup_io(err, "cannot read", in);
        goto done;
    }
    long total = 0;
    if (decrypt) {
        struct stat sb;
        if (fstat(fileno(fi), &sb) < 0 ||
            sb.st_size < BACKUP_MAGIC_LEN + BACKUP_IV_LEN + BACKUP_TAG_LEN ||
            fread(magic, 1, sizeof magic, fi) != sizeof magic ||
            memcmp(magic, BACKUP_MAGIC, BACKUP_MAGIC_LEN) ||
            fread(iv, 1, sizeof iv, fi) != sizeof iv) {
            err_set(err, NUDGE_EINVAL, "file", "%s is not an encrypted nudge backup", in);
            goto done;
        }
        total = (long)sb.st_size - BACKUP_MAGIC_LEN - BACKUP_IV_LEN - BACKUP_TAG_LEN;
    } else if (RAND_bytes(iv, sizeof iv) != 1) {
        err_set(err, NUDGE_EIO, "", "no random bytes for the IV");
        goto done;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || !(fo = fdopen(fd, "wb"))) {
        if (fd >= 0)
            close(fd);
        backup_io(err, "cannot write", out);
        goto done;
    }
    int l;
    if ((decrypt ? EVP_DecryptInit_ex : EVP_EncryptInit_ex)(cx, EVP_aes_256_gcm(), NULL, NULL,
                                                            NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_IVLEN, BACKUP_IV_LEN, NULL) != 1 ||
        (decrypt ? EVP_DecryptInit_ex : EVP_EncryptInit_ex)(cx, NULL, NULL, key, iv) != 1 ||
        (decrypt ? EVP_DecryptUpdate : EVP_EncryptUpdate)(cx, NULL, &l,
                                                          (const unsigned char *)BACKUP_MAGIC,
                                                          BACKUP_MAGIC_LEN) != 1) {
        err_set(err, NUDGE_EIO, "", "AES-256-GCM is not available");
        goto done;
    }
    if (!decrypt && (backup_write(fo, BACKUP_MAGIC, BACKUP_MAGIC_LEN) < 0 ||
                     backup_write(fo, iv, sizeof iv) < 0)) {
        backup_io(err, "cannot write", out);
        goto done;
    }
    for (;;) {
        size_t want = BACKUP_CHUNK;
        if (decrypt && (long)want > total)
            want = (size_t)total;
        size_t got = want ? fread(buf, 1, want, fi) : 0;
        if (decrypt)
            total -= (long)got;
        if (got == 0)
            break;
        if ((decrypt ? EVP_DecryptUpdate : EVP_EncryptUpdate)(cx, obuf, &l, buf, (int)got) != 1 ||
            backup_write(fo, obuf, (size_t)l) < 0) {
            backup_io(err, "cannot write", out);
            goto done;
        }
    }
    if (ferror(fi) || (decrypt && total != 0)) {
        backup_io(err, "cannot read", in);
        goto done;
    }
    if (decrypt) {
        if (fread(tag, 1, sizeof tag, fi) != sizeof tag ||
            EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, BACKUP_TAG_LEN, tag) != 1 ||
            EVP_DecryptFinal_ex(cx, obuf, &l) != 1) {
            err_set(err, NUDGE_EDENIED, "backup_key",
                    "%s does not open with this key: the key differs or the file was changed",
                    in);
            goto done;
        }
    } else if (EVP_EncryptFinal_ex(cx, obuf, &l) != 1 ||
               EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, BACKUP_TAG_LEN, tag) != 1 ||
               backup_write(fo, tag, sizeof tag) < 0) {
        backup_io(err, "cannot write", out);
        goto done;
    }
    rc = 0;
done:
    if (fo && backup_close(fo) < 0 && rc == 0)
        rc = backup_io(err, "cannot write", out);
    if (rc < 0 && fo)
        unlink(out);
    if (fi)
        fclose(fi);
    EVP_CIPHER_CTX_free(cx);
    if (buf)
        OPENSSL_cleanse(buf, BACKUP_CHUNK);
    if (obuf)
        OPENSSL_cleanse(obuf, BACKUP_CHUNK + 32);
    free(buf);
    free(obuf);
    return rc;
}

static int backup_name_cmp(const void *a, const void *b)
{
    return -strcmp(*(char *const *)a, *(char *const *)b);
}

static int backup_is_ours(const char *name)
{
    size_t l = strlen(name);
    return !strncmp(name, "nudge-", 6) &&
           ((l > 3 && !strcmp(name + l - 3, ".db")) || (l > 7 && !strcmp(name + l - 7, ".db.enc")));
}

/* Keeps the newest `keep` backups of dir: their names sort by time. */
static int backup_prune(const char *dir, int keep, nudge_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return backup_io(err, "cannot list", dir);
    char **names = NULL;
    size_t c = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (!backup_is_ours(de->d_name))
            continue;
        if (c == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *names);
            if (!nn) {
                rc = err_set(err, NUDGE_ENOMEM, "", "out of memory");
                break;
            }
            names = nn;
        }
        names[c++] = str_dup(de->d_name);
    }
    closedir(d);
    if (rc == 0)
        qsort(names, c, sizeof *names, backup_name_cmp);
    for (size_t i = 0; i < c; i++) {
        if (rc == 0 && i >= (size_t)keep) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, names[i]);
            if (unlink(p) < 0 && errno != ENOENT)
                rc = backup_io(err, "cannot remove", p);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int nudge_backup(nudge *n, const char *dir, int keep, int encrypt, char *path, size_t path_n,
                 nudge_err *err)
{
    err_clear(err);
    if (path && path_n)
        path[0] = '\0';
    if (!n->db->ops->backup)
        return backup_refuse_engine(n, err);
    if (!dir || !*dir)
        dir = n->backup_dir && *n->backup_dir ? n->backup_dir : "backups";
    if (keep <= 0)
        keep = n->backup_keep > 0 ? n->backup_keep : 7;
    if (keep > BACKUP_MAX_KEEP)
        return err_set(err, NUDGE_EINVAL, "keep", "keep at most %d backups", BACKUP_MAX_KEEP);
    unsigned char key[32];
    if (encrypt && backup_key(n, key, err) < 0)
        return -1;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return backup_io(err, "cannot make", dir);
    time_t now = (time_t)clock_now(n);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32], final[3072], tmp[4096], plain[4096];
    if (strlen(dir) > 2900)
        return err_set(err, NUDGE_EINVAL, "dir", "the backup folder's path is too long");
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    /* Two backups in one second: the second is -2, and so on. */
    for (int i = 1;; i++) {
        char sfx[16] = "";
        if (i > 1)
            snprintf(sfx, sizeof sfx, "-%d", i);
        snprintf(final, sizeof final, "%.2900s/nudge-%s%s.db%s", dir, stamp, sfx,
                 encrypt ? ".enc" : "");
        struct stat sb;
        if (stat(final, &sb) < 0)
            break;
        if (i == 100)
            return err_set(err, NUDGE_ECONFLICT, "", "too many backups at %s", stamp);
    }
    snprintf(plain, sizeof plain, "%.3072s.tmp", final);
    unlink(plain);
    char msg[256] = "";
    int rc = -1;
    /* Patients' data: readable by the owner only, from its first byte. */
    int fd0 = open(plain, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd0 < 0)
        return backup_io(err, "cannot write", plain);
    close(fd0);
    if (n->db->ops->backup(n->db, plain, 0, msg, sizeof msg) < 0) {
        err_set(err, NUDGE_ESTORE, "", "backup to %s: %s", plain, msg);
        goto done;
    }
    if (encrypt) {
        snprintf(tmp, sizeof tmp, "%.3072s.enc.tmp", final);
        unlink(tmp);
        if (backup_crypt(key, plain, tmp, 0, err) < 0)
            goto done;
        unlink(plain);
        snprintf(plain, sizeof plain, "%s", tmp);
    } else {
        int fd = open(plain, O_RDONLY);
        if (fd < 0 || fsync(fd) < 0) {
            if (fd >= 0)
                close(fd);
            backup_io(err, "cannot sync", plain);
            goto done;
        }
        close(fd);
    }
    if (rename(plain, final) < 0) {
        backup_io(err, "cannot rename to", final);
        goto done;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    if (path && path_n)
        snprintf(path, path_n, "%s", final);
    rc = backup_prune(dir, keep, err);
done:
    if (rc < 0)
        unlink(plain);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int nudge_backup_restore(nudge *n, const char *file, nudge_err *err)
{
    err_clear(err);
    if (!n->db->ops->backup)
        return backup_refuse_engine(n, err);
    if (!file || !*file)
        return err_set(err, NUDGE_EINVAL, "file", "name the backup file to restore");
    FILE *f = fopen(file, "rb");
    if (!f)
        return backup_io(err, "cannot read", file);
    char magic[BACKUP_MAGIC_LEN];
    int sealed = fread(magic, 1, sizeof magic, f) == sizeof magic &&
                 !memcmp(magic, BACKUP_MAGIC, BACKUP_MAGIC_LEN);
    fclose(f);
    char plain[4096];
    snprintf(plain, sizeof plain, "%s", file);
    if (sealed) {
        unsigned char key[32];
        if (backup_key(n, key, err) < 0)
            return -1;
        snprintf(plain, sizeof plain, "%.4000s.restore-%d.tmp", file, (int)getpid());
        unlink(plain);
        int rc = backup_crypt(key, file, plain, 1, err);
        OPENSSL_cleanse(key, sizeof key);
        if (rc < 0)
            return -1;
    }
    char msg[256] = "";
    int rc = n->db->ops->backup(n->db, plain, 1, msg, sizeof msg);
    if (rc < 0)
        err_set(err, NUDGE_EINVAL, "file", "cannot restore %s: %s", file, msg);
    if (sealed)
        unlink(plain);
    return rc;
}

/* The "backup" task: args {"dir": "...", "keep": N, "encrypt": true}, the
 * settings for what is absent. */
int backup_task(nudge *n, const nudge_task *t, int64_t now, void *ctx, nudge_err *err)
{
    (void)now;
    (void)ctx;
    json_t *a = t->args[0] ? json_loads(t->args, 0, NULL) : NULL;
    const char *dir = json_string_value(json_object_get(a, "dir"));
    json_t *k = json_object_get(a, "keep");
    int keep = json_is_integer(k) ? (int)json_integer_value(k) : 0;
    int encrypt = json_is_true(json_object_get(a, "encrypt"));
    char path[4096];
    int rc = nudge_backup(n, dir, keep, encrypt, path, sizeof path, err);
    json_decref(a);
    return rc;
}
