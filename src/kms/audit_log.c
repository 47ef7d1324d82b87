/* The audit log writer: a hash chain of JSON lines with group commit.
 *
 * Format (see audit_int.h): every entry gets "seq" (1, 2, …), "time"
 * (RFC 3339), "prev" (hex hash of the previous entry, 64 zeros for the
 * first) and "hash". Removing, inserting, editing or reordering a line
 * breaks the chain at that line; removing lines from the end is caught by
 * the signed checkpoints (the latest is also kept in the store by audit.c).
 *
 * Group commit (leader/follower, no extra thread). An appender, under mu,
 * takes the next seq, chains and serialises its entry into `pend`, then
 * waits until `durable` reaches its seq. If no one is writing, it becomes
 * the leader: it takes the whole pending batch, drops mu, does one write()
 * and one fdatasync(), retakes mu, advances `durable` and wakes everyone.
 * Entries that arrived meanwhile form the next batch, written by one of
 * their waiters. Order on disk is seq order because batches are taken and
 * written one at a time in the order they were built.
 *
 * Fail closed: if a write or fsync fails the log enters the failed state;
 * every waiter not yet durable and every later append gets KG_ERR_AUDIT (the
 * server then refuses the request). Only a restart (reopen) clears it.
 *
 * Crash recovery: a batch is one write(); a crash can leave a torn last line
 * (no trailing '\n'). No entry of that batch was acknowledged (fdatasync had
 * not returned), so open truncates the torn line away and logs a warning;
 * the chain continues from the last complete line.
 *
 * Checkpoints are appended through the same path, right after the entry they
 * cover, only while a signing key is set (i.e. while unsealed). */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --------------------------------------------------------------- helpers */

void audit_ckpt_message(uint8_t out[static KMS_AUDIT_CKPT_MSG_BYTES], uint64_t seq,
                        const uint8_t head[static 32])
{
    size_t n = sizeof(KMS_AUDIT_CKPT_DOMAIN) - 1;
    memcpy(out, KMS_AUDIT_CKPT_DOMAIN, n);
    for (int i = 0; i < 8; i++)
        out[n + (size_t)i] = (uint8_t)(seq >> (56 - 8 * i));
    memcpy(out + n + 8, head, 32);
}

void audit_pub_spki(uint8_t out[static 44], const uint8_t raw[static 32])
{
    /* SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING { raw } } (RFC 8410). */
    static const uint8_t prefix[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                        0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
    memcpy(out, prefix, sizeof(prefix));
    memcpy(out + sizeof(prefix), raw, 32);
}

kg_err audit_pub_decode(uint8_t out[static 32], const char *b64)
{
    kg_bytes b = { 0 };
    if (b64 == NULL || kg_b64_decode(&b, b64) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "the audit public key must be base64");
    uint8_t spki[44];
    kg_err e = KG_OK;
    if (b.len == 32)
        memcpy(out, b.data, 32);
    else if (b.len == 44 && (audit_pub_spki(spki, b.data + 12), memcmp(spki, b.data, 12) == 0))
        memcpy(out, b.data + 12, 32);
    else
        e = kg_err_set(KG_ERR_BAD_INPUT,
                       "the audit public key must be 32 raw Ed25519 bytes or its SPKI DER, in base64");
    kg_bytes_free(&b);
    return e;
}

static kg_err hex32(uint8_t out[static 32], const char *hex)
{
    size_t n = 0;
    if (hex == NULL || strlen(hex) != 64 || kg_hex_decode(out, 32, &n, hex) != KG_OK || n != 32)
        return KG_ERR_BAD_INPUT;
    return KG_OK;
}

/* SHA-256(prev || canon) where canon is the canonical JSON (sorted keys,
 * compact) of entry without "hash". *canon_out (optional) gets that text. */
static kg_err entry_hash(uint8_t out[static 32], char **canon_out, const json_t *entry)
{
    uint8_t prev[32];
    if (!json_is_object(entry) || hex32(prev, json_string_value(json_object_get(entry, "prev"))) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "audit entry has no valid \"prev\" hash");
    /* The writer hashes entries that have no "hash" yet: no copy needed. */
    bool has_hash = json_object_get(entry, "hash") != NULL;
    json_t *copy = has_hash ? json_copy((json_t *)entry) : (json_t *)entry;
    if (copy == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory hashing an audit entry");
    if (has_hash)
        json_object_del(copy, "hash");
    char *canon = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
    if (has_hash)
        json_decref(copy);
    if (canon == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory hashing an audit entry");
    kg_crypto_sha256_ctx ctx;
    kg_crypto_sha256_init(&ctx);
    kg_crypto_sha256_update(&ctx, prev, sizeof(prev));
    kg_crypto_sha256_update(&ctx, (const uint8_t *)canon, strlen(canon));
    kg_crypto_sha256_final(out, &ctx);
    if (canon_out != NULL)
        *canon_out = canon;
    else
        free(canon);
    return KG_OK;
}

kg_err audit_entry_hash(uint8_t out[static 32], const json_t *entry)
{
    return entry_hash(out, NULL, entry);
}

/* ----------------------------------------------------------------- open */

/* Offset of the last '\n' strictly before `before`, or -1. */
static kg_err find_prev_nl(int fd, off_t before, off_t *pos)
{
    char buf[4096];
    off_t end = before;
    while (end > 0) {
        off_t start = end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0;
        ssize_t n = pread(fd, buf, (size_t)(end - start), start);
        if (n != end - start)
            return kg_err_set(KG_ERR_IO, "cannot read the audit log: %s", n < 0 ? strerror(errno) : "short read");
        for (ssize_t i = n - 1; i >= 0; i--) {
            if (buf[i] == '\n') {
                *pos = start + i;
                return KG_OK;
            }
        }
        end = start;
    }
    *pos = -1;
    return KG_OK;
}

/* Drop a torn last line; *size becomes the new length. */
static kg_err drop_torn_tail(kms_audit *a, off_t *size)
{
    char last = '\n';
    if (*size == 0 || pread(a->fd, &last, 1, *size - 1) != 1 || last == '\n')
        return KG_OK;
    off_t nl;
    kg_err e = find_prev_nl(a->fd, *size, &nl);
    if (e != KG_OK)
        return e;
    if (ftruncate(a->fd, nl + 1) != 0 || fsync(a->fd) != 0)
        return kg_err_set(KG_ERR_IO, "cannot truncate the torn last line of %s: %s", a->path, strerror(errno));
    char dropped[32];
    snprintf(dropped, sizeof(dropped), "%lld", (long long)(*size - nl - 1));
    kg_log(KG_LOG_WARN, "audit log ended in a partial line (a write torn by a crash); removed it",
           "path", a->path, "bytes_dropped", dropped, NULL);
    *size = nl + 1;
    return KG_OK;
}

/* Continue the chain from the last complete line. */
static kg_err load_tail(kms_audit *a, off_t size)
{
    off_t nl;
    kg_err e = find_prev_nl(a->fd, size - 1, &nl);
    if (e != KG_OK)
        return e;
    size_t len = (size_t)(size - 1 - (nl + 1));
    if (len > KMS_AUDIT_LINE_MAX)
        return kg_err_set(KG_ERR_AUDIT, "the last line of %s is too long to be an audit entry", a->path);
    char *line = malloc(len + 1);
    if (line == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory reading the audit log");
    ssize_t n = pread(a->fd, line, len, nl + 1);
    json_t *j = n == (ssize_t)len ? json_loadb(line, len, 0, NULL) : NULL;
    free(line);
    json_t *seq = json_object_get(j, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) <= 0 ||
        hex32(a->head, json_string_value(json_object_get(j, "hash"))) != KG_OK) {
        json_decref(j);
        return kg_err_set(KG_ERR_AUDIT, "the last line of %s is not a valid audit entry; check the log with "
                          "`kashguard audit verify %s` and move it aside to start a new one", a->path, a->path);
    }
    a->seq = (uint64_t)json_integer_value(seq);
    const char *type = json_string_value(json_object_get(j, "type"));
    a->since_ckpt = type != NULL && strcmp(type, "checkpoint") == 0 ? 0 : 1;
    json_decref(j);
    return KG_OK;
}

static kg_err recover(kms_audit *a)
{
    struct stat stt;
    if (fstat(a->fd, &stt) != 0)
        return kg_err_set(KG_ERR_IO, "cannot stat %s: %s", a->path, strerror(errno));
    off_t size = stt.st_size;
    kg_err e = drop_torn_tail(a, &size);
    if (e == KG_OK && size > 0)
        e = load_tail(a, size);
    a->durable = a->seq;
    return e;
}

kg_err audit_log_open(kms_audit **out, const char *path, bool fsync, unsigned checkpoint_every)
{
    KG_ARG_CHECK(out != NULL && path != NULL);
    *out = NULL;
    kms_audit *a = calloc(1, sizeof(*a));
    if (a == NULL || (a->path = strdup(path)) == NULL) {
        free(a);
        return kg_err_set(KG_ERR_NOMEM, "out of memory opening the audit log");
    }
    a->fsync = fsync;
    a->checkpoint_every = checkpoint_every;
    a->ckpt_time = kg_now();
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->store_mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    kg_err e = a->fd < 0 ? kg_err_set(KG_ERR_IO, "cannot open the audit log %s: %s", path, strerror(errno))
                         : recover(a);
    if (e != KG_OK) {
        audit_log_close(a);
        return e;
    }
    *out = a;
    return KG_OK;
}

void audit_log_clear_key(kms_audit *a)
{
    pthread_mutex_lock(&a->mu);
    kg_secret_free(a->seed);
    a->seed = NULL;
    kg_wipe(a->pub, sizeof(a->pub));
    pthread_mutex_unlock(&a->mu);
}

void audit_log_close(kms_audit *a)
{
    if (a == NULL)
        return;
    if (a->fd >= 0)
        close(a->fd);
    kg_secret_free(a->seed);
    free(a->pend);
    free(a->path);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->store_mu);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

kg_err audit_log_set_key(kms_audit *a, const kg_secret *seed)
{
    KG_ARG_CHECK(a != NULL && seed != NULL && kg_secret_len(seed) == 32);
    kg_bytes spki = { 0 }, raw = { 0 };
    kg_err e = kg_crypto_pub_from_priv(&spki, KG_CRYPTO_ED25519, seed);
    if (e == KG_OK)
        e = kg_crypto_pub_raw(&raw, KG_CRYPTO_ED25519, spki.data, spki.len);
    kg_secret *copy = e == KG_OK ? kg_secret_from(kg_secret_cdata(seed), 32) : NULL;
    if (e == KG_OK && (raw.len != 32 || copy == NULL))
        e = kg_err_set(KG_ERR_CRYPTO, "could not load the audit signing key");
    if (e == KG_OK) {
        pthread_mutex_lock(&a->mu);
        kg_secret_free(a->seed);
        a->seed = copy;
        copy = NULL;
        memcpy(a->pub, raw.data, 32);
        pthread_mutex_unlock(&a->mu);
    }
    kg_secret_free(copy);
    kg_bytes_free(&spki);
    kg_bytes_free(&raw);
    return e;
}

/* --------------------------------------------------------------- append */

static kg_err pend_add(kms_audit *a, const char *line, size_t len)
{
    if (a->pend_len + len + 1 > a->pend_cap) {
        size_t cap = a->pend_cap ? a->pend_cap : 4096;
        while (cap < a->pend_len + len + 1)
            cap *= 2;
        char *p = realloc(a->pend, cap);
        if (p == NULL)
            return kg_err_set(KG_ERR_AUDIT, "out of memory queueing an audit entry");
        a->pend = p;
        a->pend_cap = cap;
    }
    memcpy(a->pend + a->pend_len, line, len);
    a->pend[a->pend_len + len] = '\n';
    a->pend_len += len + 1;
    return KG_OK;
}

/* Chain, serialise and queue entry as seq a->seq + 1. Caller holds mu.
 *
 * The line written is the canonical text that was hashed with "hash"
 * appended as the last member: one serialisation per entry instead of two.
 * Verification parses the line, so where "hash" stands does not matter. */
static kg_err enqueue_locked(kms_audit *a, json_t *entry)
{
    char ts[21], prev_hex[65], hash_hex[65];
    uint8_t hash[32];
    char *canon = NULL;
    kg_time_rfc3339(ts, kg_now());
    kg_hex_encode(prev_hex, a->head, 32);
    json_object_del(entry, "hash");
    if (json_object_set_new(entry, "seq", json_integer((json_int_t)(a->seq + 1))) != 0 ||
        json_object_set_new(entry, "time", json_string(ts)) != 0 ||
        json_object_set_new(entry, "prev", json_string(prev_hex)) != 0 ||
        entry_hash(hash, &canon, entry) != KG_OK)
        return kg_err_set(KG_ERR_AUDIT, "could not build the audit entry");
    kg_hex_encode(hash_hex, hash, 32);
    json_object_set_new(entry, "hash", json_string(hash_hex));
    size_t clen = strlen(canon); /* "{...}": at least prev, seq and time */
    char *line = malloc(clen + sizeof(",\"hash\":\"\"") + 64);
    size_t len = 0;
    if (line != NULL)
        len = (size_t)sprintf(line, "%.*s,\"hash\":\"%s\"}", (int)(clen - 1), canon, hash_hex);
    free(canon);
    if (line == NULL)
        return kg_err_set(KG_ERR_AUDIT, "could not serialise the audit entry");
    kg_err e = len > KMS_AUDIT_LINE_MAX
        ? kg_err_set(KG_ERR_AUDIT, "audit entry of %zu bytes is larger than the %u-byte limit", len, KMS_AUDIT_LINE_MAX)
        : pend_add(a, line, len);
    free(line);
    if (e != KG_OK)
        return e;
    a->seq++;
    memcpy(a->head, hash, 32);
    a->since_ckpt++;
    return KG_OK;
}

/* Build, sign and queue a checkpoint over the current head. Caller holds mu
 * and has checked that a key is set. *cp gets a reference to the entry. */
static kg_err checkpoint_locked(kms_audit *a, json_t **cp)
{
    uint8_t msg[KMS_AUDIT_CKPT_MSG_BYTES];
    char head_hex[65];
    kg_bytes sig = { 0 };
    audit_ckpt_message(msg, a->seq, a->head);
    kg_hex_encode(head_hex, a->head, 32);
    kg_err e = kg_crypto_sign(&sig, KG_CRYPTO_ED25519, a->seed, KG_CRYPTO_INPUT_MESSAGE,
                              KG_CRYPTO_SIG_DER, msg, sizeof(msg));
    if (e != KG_OK) {
        kg_log(KG_LOG_ERROR, "could not sign an audit checkpoint", NULL);
        return e;
    }
    json_t *entry = json_pack("{s:s, s:I, s:s, s:o, s:o}", "type", "checkpoint",
                              "checkpoint_seq", (json_int_t)a->seq, "head", head_hex,
                              "sig", kg_json_b64(sig.data, sig.len),
                              "public_key", kg_json_b64(a->pub, 32));
    kg_bytes_free(&sig);
    e = entry ? enqueue_locked(a, entry) : kg_err_set(KG_ERR_AUDIT, "out of memory");
    if (e != KG_OK) {
        json_decref(entry);
        return e;
    }
    a->since_ckpt = 0;
    a->ckpt_time = kg_now();
    *cp = entry;
    return KG_OK;
}

static kg_err write_all(int fd, const char *buf, size_t len, bool sync)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return KG_ERR_IO;
        buf += n;
        len -= (size_t)n;
    }
    return sync && fdatasync(fd) != 0 ? KG_ERR_IO : KG_OK;
}

/* Leader/follower wait until seq is on disk. Caller holds mu. */
static kg_err wait_durable_locked(kms_audit *a, uint64_t seq)
{
    while (a->durable < seq && !a->failed) {
        if (a->writing) {
            pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
        char *buf = a->pend;
        size_t len = a->pend_len;
        uint64_t upto = a->seq;
        a->pend = NULL;
        a->pend_len = a->pend_cap = 0;
        a->writing = true;
        pthread_mutex_unlock(&a->mu);
        kg_err e = write_all(a->fd, buf, len, a->fsync);
        int err = errno;
        free(buf);
        pthread_mutex_lock(&a->mu);
        a->writing = false;
        if (e != KG_OK) {
            a->failed = true;
            kg_log(KG_LOG_ERROR, "audit log write failed; refusing all requests until restart",
                   "path", a->path, "error", strerror(err), NULL);
        } else {
            a->durable = upto;
        }
        pthread_cond_broadcast(&a->cv);
    }
    if (a->durable >= seq)
        return KG_OK;
    return kg_err_set(KG_ERR_AUDIT, "the audit log %s could not be written (disk full or I/O error); "
                      "requests are refused until it is fixed and the server restarted", a->path);
}

static kg_err failed_error(const kms_audit *a)
{
    return kg_err_set(KG_ERR_AUDIT, "the audit log %s failed earlier; requests are refused until it is "
                      "fixed and the server restarted", a->path);
}

static kg_err append(kms_audit *a, json_t *entry, json_t **checkpoint, bool wait)
{
    KG_ARG_CHECK(a != NULL && checkpoint != NULL);
    *checkpoint = NULL;
    if (!json_is_object(entry))
        return kg_err_set(KG_ERR_AUDIT, "an audit entry must be a JSON object");
    json_t *cp = NULL;
    pthread_mutex_lock(&a->mu);
    kg_err e = a->failed ? failed_error(a) : enqueue_locked(a, entry);
    /* Checkpoints ride only on durable appends: the store copy of a
     * checkpoint must never get ahead of what is on disk. */
    if (e == KG_OK && wait && a->seed != NULL && a->checkpoint_every > 0 && a->since_ckpt >= a->checkpoint_every)
        (void)checkpoint_locked(a, &cp); /* a failed signature must not fail the request */
    if (e == KG_OK && wait)
        e = wait_durable_locked(a, a->seq);
    pthread_mutex_unlock(&a->mu);
    if (e != KG_OK)
        json_decref(cp);
    else
        *checkpoint = cp;
    return e;
}

kg_err audit_log_append(kms_audit *a, json_t *entry, json_t **checkpoint)
{
    return append(a, entry, checkpoint, true);
}

kg_err audit_log_enqueue(kms_audit *a, json_t *entry, json_t **checkpoint)
{
    return append(a, entry, checkpoint, false);
}

kg_err audit_log_checkpoint(kms_audit *a, json_t **checkpoint, int64_t min_interval)
{
    KG_ARG_CHECK(a != NULL && checkpoint != NULL);
    *checkpoint = NULL;
    json_t *cp = NULL;
    kg_err e = KG_OK;
    pthread_mutex_lock(&a->mu);
    if (!a->failed && a->seed != NULL && a->since_ckpt > 0 && kg_now() - a->ckpt_time >= min_interval) {
        e = checkpoint_locked(a, &cp);
        if (e == KG_OK)
            e = wait_durable_locked(a, a->seq);
    }
    pthread_mutex_unlock(&a->mu);
    if (e != KG_OK)
        json_decref(cp);
    else
        *checkpoint = cp;
    return e;
}
