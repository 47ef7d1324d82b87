/* Offline verification of an audit log file.
 *
 * The walk reads the file line by line and keeps only the previous hash, so
 * it runs in constant memory on any size of log. For each line, in order:
 *   1. it must be a JSON object with an integer "seq" and hex "prev"/"hash";
 *   2. its hash must match its content (else: the entry was edited);
 *   3. its seq must be the expected one (lower: duplicated, inserted or
 *      reordered; higher: entries deleted or reordered);
 *   4. its prev must be the hash of the line before (else: inserted, or a
 *      neighbour was rewritten);
 *   5. a checkpoint must cover the entry just before it (checkpoint_seq =
 *      seq - 1, head = that entry's hash), be signed by the pinned key and
 *      carry that key.
 * The first failure is reported with the seq expected at that point
 * ("first_bad_seq") and the 1-based line ("first_bad_line"). Finally the
 * store's latest checkpoint (when given) must be present in the file with
 * the same hash: a log that ends before it was truncated.
 *
 * Trust: the key is pinned by the caller, else taken from the store, else
 * from the first checkpoint in the file (the report's "key" says which; the
 * last case only proves internal consistency). A torn last line without
 * '\n' (a crash mid-write; the server drops it on restart) is not counted
 * and is reported as "partial_tail". */
#include "audit_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t expect;          /* next seq */
    uint8_t prev[32];         /* hash of the previous entry */
    uint64_t line;            /* current line, 1-based */
    uint64_t checkpoints;
    uint64_t last_ckpt_entry; /* seq of the last checkpoint entry */
    uint8_t key[32];
    bool have_key;
    const char *key_source;
    const json_t *stored;     /* the store's checkpoint or NULL */
    bool stored_seen;
    char reason[400];
} vstate;

static bool bad(vstate *v, const char *fmt, ...) KG_PRINTF(2, 3);
static bool bad(vstate *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    return false;
}

static bool hex32_ok(uint8_t out[32], const char *hex)
{
    size_t n = 0;
    return hex != NULL && strlen(hex) == 64 && kg_hex_decode(out, 32, &n, hex) == KG_OK && n == 32;
}

static bool check_sig(const uint8_t key[32], uint64_t seq, const uint8_t head[32], const char *sig_b64)
{
    uint8_t msg[KMS_AUDIT_CKPT_MSG_BYTES], spki[44];
    kg_bytes sig = { 0 };
    if (sig_b64 == NULL || kg_b64_decode(&sig, sig_b64) != KG_OK)
        return false;
    audit_ckpt_message(msg, seq, head);
    audit_pub_spki(spki, key);
    kg_err e = kg_crypto_verify(KG_CRYPTO_ED25519, spki, sizeof(spki), KG_CRYPTO_INPUT_MESSAGE,
                                KG_CRYPTO_SIG_DER, 0, msg, sizeof(msg), sig.data, sig.len);
    kg_bytes_free(&sig);
    return e == KG_OK;
}

static bool check_checkpoint(vstate *v, const json_t *j, uint64_t seq)
{
    const json_t *cs = json_object_get(j, "checkpoint_seq");
    uint8_t head[32], pub[32];
    if (!json_is_integer(cs) || (uint64_t)json_integer_value(cs) != seq - 1)
        return bad(v, "checkpoint seq %llu (line %llu) does not cover the entry just before it",
                   (unsigned long long)seq, (unsigned long long)v->line);
    if (!hex32_ok(head, json_string_value(json_object_get(j, "head"))) || memcmp(head, v->prev, 32) != 0)
        return bad(v, "checkpoint seq %llu (line %llu): its head does not match the hash of entry %llu",
                   (unsigned long long)seq, (unsigned long long)v->line, (unsigned long long)(seq - 1));
    if (audit_pub_decode(pub, json_string_value(json_object_get(j, "public_key"))) != KG_OK)
        return bad(v, "checkpoint seq %llu (line %llu) has no valid public_key",
                   (unsigned long long)seq, (unsigned long long)v->line);
    if (!v->have_key) {
        memcpy(v->key, pub, 32);
        v->have_key = true;
        v->key_source = "log";
    } else if (memcmp(pub, v->key, 32) != 0) {
        return bad(v, "checkpoint seq %llu (line %llu) carries a different public key than the %s audit key",
                   (unsigned long long)seq, (unsigned long long)v->line,
                   strcmp(v->key_source, "log") == 0 ? "log's first" : v->key_source);
    }
    if (!check_sig(v->key, seq - 1, head, json_string_value(json_object_get(j, "sig"))))
        return bad(v, "checkpoint seq %llu (line %llu) has a bad signature",
                   (unsigned long long)seq, (unsigned long long)v->line);
    v->checkpoints++;
    v->last_ckpt_entry = seq;
    return true;
}

/* The checks 1-4 of the file comment plus the store's checkpoint hash. */
static bool check_line(vstate *v, const char *buf, size_t len)
{
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *js = json_object_get(j, "seq");
    uint8_t hash[32], claimed[32], prev[32];
    bool ok = false;
    if (!json_is_object(j) || !json_is_integer(js) || json_integer_value(js) <= 0 ||
        !hex32_ok(claimed, json_string_value(json_object_get(j, "hash"))) ||
        !hex32_ok(prev, json_string_value(json_object_get(j, "prev"))) || audit_entry_hash(hash, j) != KG_OK) {
        bad(v, "line %llu is not a valid audit entry (unparseable or missing seq/prev/hash)",
            (unsigned long long)v->line);
        goto out;
    }
    uint64_t seq = (uint64_t)json_integer_value(js);
    if (memcmp(hash, claimed, 32) != 0) {
        bad(v, "entry seq %llu (line %llu) was modified: its hash does not match its content",
            (unsigned long long)seq, (unsigned long long)v->line);
    } else if (seq < v->expect) {
        bad(v, "line %llu holds seq %llu where seq %llu was expected: an entry was duplicated, inserted "
            "or moved", (unsigned long long)v->line, (unsigned long long)seq, (unsigned long long)v->expect);
    } else if (seq > v->expect) {
        bad(v, "entry seq %llu is missing at line %llu (the line holds seq %llu): entries were deleted or "
            "moved", (unsigned long long)v->expect, (unsigned long long)v->line, (unsigned long long)seq);
    } else if (memcmp(prev, v->prev, 32) != 0) {
        bad(v, "entry seq %llu (line %llu) does not follow the entry before it (prev hash mismatch): an "
            "entry was inserted or rewritten", (unsigned long long)seq, (unsigned long long)v->line);
    } else {
        const char *type = json_string_value(json_object_get(j, "type"));
        ok = type == NULL || strcmp(type, "checkpoint") != 0 || check_checkpoint(v, j, seq);
        if (ok && v->stored != NULL &&
            (uint64_t)json_integer_value(json_object_get(v->stored, "seq")) == seq) {
            uint8_t sh[32];
            ok = hex32_ok(sh, json_string_value(json_object_get(v->stored, "hash"))) &&
                 memcmp(sh, hash, 32) == 0;
            if (!ok)
                bad(v, "entry seq %llu (line %llu) differs from the checkpoint kept in the store: the log "
                    "was rewritten", (unsigned long long)seq, (unsigned long long)v->line);
            v->stored_seen = true;
        }
        if (ok) {
            memcpy(v->prev, hash, 32);
            v->expect++;
        }
    }
out:
    json_decref(j);
    return ok;
}

/* The store's checkpoint must itself be well signed by the trusted key. */
static bool check_stored(vstate *v)
{
    const json_t *s = v->stored;
    uint8_t head[32];
    const json_t *cs = json_object_get(s, "checkpoint_seq");
    if (!json_is_integer(cs) || !hex32_ok(head, json_string_value(json_object_get(s, "head"))) ||
        !json_is_integer(json_object_get(s, "seq")))
        return bad(v, "the store's audit checkpoint is malformed");
    if (v->have_key && !check_sig(v->key, (uint64_t)json_integer_value(cs), head,
                                  json_string_value(json_object_get(s, "sig"))))
        return bad(v, "the store's audit checkpoint has a bad signature");
    return true;
}

static json_t *make_report(const vstate *v, bool ok, bool partial)
{
    uint64_t last = v->expect - 1;
    return json_pack("{s:b, s:I, s:I, s:I, s:o, s:o, s:s, s:s, s:I, s:b}", "ok", ok,
                     "entries", (json_int_t)last, "checkpoints", (json_int_t)v->checkpoints,
                     "last_seq", (json_int_t)last,
                     "first_bad_seq", ok ? json_null() : json_integer((json_int_t)v->expect),
                     "first_bad_line", ok ? json_null() : json_integer((json_int_t)v->line),
                     "reason", ok ? "the audit log is intact" : v->reason,
                     "key", v->have_key ? v->key_source : "none",
                     "unsigned_tail", (json_int_t)(last - (v->last_ckpt_entry ? v->last_ckpt_entry : 0)),
                     "partial_tail", partial);
}

/* Walk the file; returns false at the first bad line. */
static bool walk(vstate *v, FILE *f, bool *partial)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    bool ok = true;
    while (ok && (n = getline(&buf, &cap, f)) > 0) {
        v->line++;
        if (buf[n - 1] != '\n') {
            *partial = true;
            v->line--;
            break;
        }
        if ((size_t)n > KMS_AUDIT_LINE_MAX + 1)
            ok = bad(v, "line %llu is longer than any audit entry", (unsigned long long)v->line);
        else
            ok = check_line(v, buf, (size_t)n - 1);
    }
    free(buf);
    return ok;
}

kg_err audit_verify_file(json_t **report, const char *path, const uint8_t *pinned,
                         const char *key_source, const json_t *stored_cp)
{
    KG_ARG_CHECK(report != NULL && path != NULL);
    *report = NULL;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return kg_err_set(KG_ERR_IO, "cannot open the audit log %s: %s", path, strerror(errno));
    vstate v = { .expect = 1, .key_source = key_source ? key_source : "pinned", .stored = stored_cp };
    if (pinned != NULL) {
        memcpy(v.key, pinned, 32);
        v.have_key = true;
    }
    bool partial = false;
    bool ok = stored_cp == NULL || check_stored(&v);
    if (ok)
        ok = walk(&v, f, &partial);
    else
        v.line = 0;
    bool io_error = ferror(f);
    fclose(f);
    if (io_error)
        return kg_err_set(KG_ERR_IO, "error reading the audit log %s", path);
    if (ok && stored_cp != NULL && !v.stored_seen) {
        ok = bad(&v, "the log ends at seq %llu but the store's checkpoint shows seq %llu was written: "
                 "entries were removed from the end", (unsigned long long)(v.expect - 1),
                 (unsigned long long)json_integer_value(json_object_get(stored_cp, "seq")));
        v.line++;
    }
    *report = make_report(&v, ok, partial);
    if (*report == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory building the audit report");
    if (!ok)
        return kg_err_set(KG_ERR_AUDIT_TAMPERED, "%s", v.reason);
    return KG_OK;
}
