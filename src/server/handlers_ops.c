/* Handlers of the cryptographic operations: encrypt, decrypt, re-encrypt,
 * data-key, sign, verify, mac, verify-mac, random — and the batch form of
 * encrypt, decrypt and sign.
 *
 * Each operation is written once as an "item" function over one JSON
 * object, used for the single form (the body itself) and for each element
 * of {"batch":[...]}. A batch holds at most KG_BATCH_MAX items and always
 * answers 200 with one result or one {"error":{"code","message"}} per item,
 * in order, so one bad item never hides the others' results. It is audited
 * as one request (the items' key ids are the same key in practice).
 *
 * Binary fields are base64 with fixed upper bounds checked before decoding
 * (plaintexts and messages 64 KiB, ciphertexts 64 KiB + overhead,
 * signatures and MACs 8 KiB). Decoded plaintexts are wiped as soon as the
 * KMS has them; plaintexts going out are in kg_secret until rendered and
 * the rendered reply is wiped after sending (routes flagged SECRET_OUT).
 *
 * verify and verify-mac answer 200 {"valid":false} for a wrong signature:
 * a negative answer is a result, not a failure of the request. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KG_BATCH_MAX 1000
#define KG_MAX_PLAINTEXT (64 * 1024)
#define KG_MAX_CIPHERTEXT (KG_MAX_PLAINTEXT + 4096)
#define KG_MAX_SIG (8 * 1024)

typedef kg_err (*item_fn)(kg_req *r, const json_t *item, json_t **out);

static void bytes_wipe_free(kg_bytes *b)
{
    if (b->data != NULL)
        kg_wipe(b->data, b->len);
    kg_bytes_free(b);
}

/* info + field = base64(data); consumes info. */
static kg_err with_b64(json_t **out, json_t *info, const char *field, const uint8_t *d, size_t n)
{
    *out = kg_info_with(info, field, kg_json_b64(d, n));
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

static json_t *item_error(kg_err e)
{
    return json_pack("{s:{s:s,s:s}}", "error", "code", kg_err_code(e), "message", kg_err_detail(e));
}

/* Run fn on the body, or on each element of its "batch" array. */
static kg_err run_op(kg_req *r, json_t **out, item_fn fn)
{
    json_t *batch = json_object_get(r->json, "batch");
    if (batch == NULL)
        return fn(r, r->json, out);
    if (json_object_size(r->json) != 1)
        return kg_err_set(KG_ERR_BAD_INPUT, "a batch request has the single field 'batch'; put the other "
                          "fields in each item");
    size_t n = json_array_size(batch);
    if (!json_is_array(batch) || n == 0 || n > KG_BATCH_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'batch' must be an array of 1 to %d items", KG_BATCH_MAX);
    json_t *results = json_array();
    for (size_t i = 0; results != NULL && i < n; i++) {
        json_t *item = json_array_get(batch, i), *res = NULL;
        kg_err_clear();
        kg_err e = json_is_object(item) ? fn(r, item, &res)
                                        : kg_err_set(KG_ERR_BAD_INPUT, "batch item %zu must be an object", i);
        if (e != KG_OK)
            res = item_error(e);
        if (res == NULL || json_array_append_new(results, res) != 0) {
            json_decref(results);
            results = NULL;
        }
    }
    *out = results ? json_pack("{s:o}", "batch", results) : NULL;
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

static kg_err encrypt_item(kg_req *r, const json_t *item, json_t **out)
{
    static const char *const fields[] = { "plaintext", "context", NULL };
    kg_bytes pt = { 0 }, ct = { 0 };
    const json_t *ctx = NULL;
    json_t *info = NULL;
    kg_err e = kg_json_check_fields(item, fields);
    if (e == KG_OK)
        e = kg_req_context(&ctx, item, "context");
    if (e == KG_OK)
        e = kg_json_get_b64(&pt, item, "plaintext", true, KG_MAX_PLAINTEXT);
    if (e == KG_OK)
        e = kg_kms_encrypt(r->srv->kms, r->caller, &ct, &info, r->target.param, ctx, pt.data, pt.len);
    bytes_wipe_free(&pt);
    if (e == KG_OK) {
        kg_req_note_key(r, info);
        e = with_b64(out, info, "ciphertext", ct.data, ct.len);
    }
    kg_bytes_free(&ct);
    return e;
}

static kg_err decrypt_item(kg_req *r, const json_t *item, json_t **out)
{
    static const char *const fields[] = { "ciphertext", "context", NULL };
    kg_bytes ct = { 0 };
    kg_secret *pt = NULL;
    const json_t *ctx = NULL;
    json_t *info = NULL;
    kg_err e = kg_json_check_fields(item, fields);
    if (e == KG_OK)
        e = kg_req_context(&ctx, item, "context");
    if (e == KG_OK)
        e = kg_json_get_b64(&ct, item, "ciphertext", true, KG_MAX_CIPHERTEXT);
    if (e == KG_OK)
        e = kg_kms_decrypt(r->srv->kms, r->caller, &pt, &info, r->target.param, ctx, ct.data, ct.len);
    kg_bytes_free(&ct);
    if (e == KG_OK) {
        r->sensitive = true;
        kg_req_note_key(r, info);
        e = with_b64(out, info, "plaintext", kg_secret_cdata(pt), kg_secret_len(pt));
    }
    kg_secret_free(pt);
    return e;
}

kg_err kg_h_encrypt(kg_req *r, json_t **out) { return run_op(r, out, encrypt_item); }
kg_err kg_h_decrypt(kg_req *r, json_t **out) { return run_op(r, out, decrypt_item); }

kg_err kg_h_reencrypt(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "ciphertext", "source_context", "context", NULL };
    kg_bytes src = { 0 }, ct = { 0 };
    const json_t *sctx = NULL, *dctx = NULL;
    json_t *info = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_req_context(&sctx, r->json, "source_context");
    if (e == KG_OK)
        e = kg_req_context(&dctx, r->json, "context");
    if (e == KG_OK)
        e = kg_json_get_b64(&src, r->json, "ciphertext", true, KG_MAX_CIPHERTEXT);
    if (e == KG_OK)
        e = kg_kms_reencrypt(r->srv->kms, r->caller, &ct, &info, r->target.param, sctx, dctx,
                             src.data, src.len);
    kg_bytes_free(&src);
    if (e == KG_OK) {
        kg_req_note_key(r, info);
        e = with_b64(out, info, "ciphertext", ct.data, ct.len);
    }
    kg_bytes_free(&ct);
    return e;
}

kg_err kg_h_data_key(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "context", "bytes", "plaintext", NULL };
    const json_t *ctx = NULL;
    int64_t nbytes = 32;
    bool want_pt = true;
    kg_secret *pt = NULL;
    kg_bytes ct = { 0 };
    json_t *info = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_req_context(&ctx, r->json, "context");
    if (e == KG_OK)
        e = kg_json_get_int(&nbytes, r->json, "bytes", false);
    if (e == KG_OK)
        e = kg_json_get_bool(&want_pt, r->json, "plaintext", false);
    if (e == KG_OK && (nbytes < 16 || nbytes > 64))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'bytes' must be from 16 to 64 (got %lld)", (long long)nbytes);
    if (e == KG_OK)
        e = kg_kms_data_key(r->srv->kms, r->caller, want_pt ? &pt : NULL, &ct, &info, r->target.param,
                            ctx, (size_t)nbytes);
    if (e == KG_OK) {
        kg_req_note_key(r, info);
        e = with_b64(out, info, "ciphertext", ct.data, ct.len);
    }
    if (e == KG_OK && pt != NULL) {
        r->sensitive = true;
        e = with_b64(out, *out, "plaintext", kg_secret_cdata(pt), kg_secret_len(pt));
    }
    kg_secret_free(pt);
    kg_bytes_free(&ct);
    return e;
}

/* message | digest (exactly one) and format, shared by sign and verify. */
static kg_err sign_input(const json_t *item, kg_bytes *data, kg_crypto_input *in, kg_crypto_sig_format *fmt)
{
    const char *f = NULL;
    bool has_msg = json_object_get(item, "message") != NULL, has_dig = json_object_get(item, "digest") != NULL;
    if (has_msg == has_dig)
        return kg_err_set(KG_ERR_BAD_INPUT, "give exactly one of 'message' (the data) or 'digest' (its SHA-256)");
    kg_err e = kg_json_get_str(&f, item, "format", false);
    if (e != KG_OK)
        return e;
    if (f != NULL && strcmp(f, "der") != 0 && strcmp(f, "raw") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'format' must be \"der\" or \"raw\"");
    *fmt = (f != NULL && strcmp(f, "raw") == 0) ? KG_CRYPTO_SIG_RAW : KG_CRYPTO_SIG_DER;
    *in = has_msg ? KG_CRYPTO_INPUT_MESSAGE : KG_CRYPTO_INPUT_DIGEST;
    return kg_json_get_b64(data, item, has_msg ? "message" : "digest", true, has_msg ? KG_MAX_PLAINTEXT : 64);
}

static kg_err sign_item(kg_req *r, const json_t *item, json_t **out)
{
    static const char *const fields[] = { "message", "digest", "format", NULL };
    kg_bytes data = { 0 }, sig = { 0 };
    kg_crypto_input in;
    kg_crypto_sig_format fmt;
    json_t *info = NULL;
    kg_err e = kg_json_check_fields(item, fields);
    if (e == KG_OK)
        e = sign_input(item, &data, &in, &fmt);
    if (e == KG_OK)
        e = kg_kms_sign(r->srv->kms, r->caller, &sig, &info, r->target.param, in, fmt, data.data, data.len);
    kg_bytes_free(&data);
    if (e == KG_OK) {
        kg_req_note_key(r, info);
        e = with_b64(out, info, "signature", sig.data, sig.len);
    }
    kg_bytes_free(&sig);
    return e;
}

kg_err kg_h_sign(kg_req *r, json_t **out) { return run_op(r, out, sign_item); }

/* Render a verify outcome: KG_ERR_VERIFY is the answer "valid": false. */
static kg_err verdict(kg_req *r, json_t **out, kg_err e, json_t *info)
{
    if (e != KG_OK && e != KG_ERR_VERIFY) {
        json_decref(info);
        return e;
    }
    if (info == NULL && r->target.param != NULL && strncmp(r->target.param, "k-", 2) == 0)
        info = kg_info_with(NULL, "key_id", json_string(r->target.param));
    if (info != NULL)
        kg_req_note_key(r, info);
    *out = kg_info_with(info, "valid", json_boolean(e == KG_OK));
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kg_h_verify(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "message", "digest", "signature", "format", "version", NULL };
    kg_bytes data = { 0 }, sig = { 0 };
    kg_crypto_input in;
    kg_crypto_sig_format fmt;
    int64_t version = 0;
    json_t *info = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_int(&version, r->json, "version", false);
    if (e == KG_OK && (version < 0 || version > UINT32_MAX))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'version' must be a key version (1, 2, ...)");
    if (e == KG_OK)
        e = kg_json_get_b64(&sig, r->json, "signature", true, KG_MAX_SIG);
    if (e == KG_OK)
        e = sign_input(r->json, &data, &in, &fmt);
    if (e == KG_OK) {
        e = kg_kms_verify(r->srv->kms, r->caller, &info, r->target.param, (unsigned)version,
                          in, fmt, data.data, data.len, sig.data, sig.len);
        e = verdict(r, out, e, info);
    }
    kg_bytes_free(&data);
    kg_bytes_free(&sig);
    return e;
}

kg_err kg_h_mac(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "message", NULL };
    kg_bytes msg = { 0 }, mac = { 0 };
    json_t *info = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_b64(&msg, r->json, "message", true, KG_MAX_PLAINTEXT);
    if (e == KG_OK)
        e = kg_kms_mac(r->srv->kms, r->caller, &mac, &info, r->target.param, msg.data, msg.len);
    bytes_wipe_free(&msg);
    if (e == KG_OK) {
        kg_req_note_key(r, info);
        e = with_b64(out, info, "mac", mac.data, mac.len);
    }
    kg_bytes_free(&mac);
    return e;
}

kg_err kg_h_verify_mac(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "message", "mac", NULL };
    kg_bytes msg = { 0 }, mac = { 0 };
    json_t *info = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_b64(&mac, r->json, "mac", true, KG_MAX_SIG);
    if (e == KG_OK)
        e = kg_json_get_b64(&msg, r->json, "message", true, KG_MAX_PLAINTEXT);
    if (e == KG_OK) {
        e = kg_kms_verify_mac(r->srv->kms, r->caller, &info, r->target.param, msg.data, msg.len,
                              mac.data, mac.len);
        e = verdict(r, out, e, info);
    }
    bytes_wipe_free(&msg);
    kg_bytes_free(&mac);
    return e;
}

kg_err kg_h_random(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "bytes", NULL };
    int64_t n = 32;
    kg_bytes rnd = { 0 };
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_int(&n, r->json, "bytes", false);
    if (e == KG_OK && (n < 1 || n > 1024))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'bytes' must be from 1 to 1024 (got %lld)", (long long)n);
    if (e == KG_OK)
        e = kg_kms_random(r->srv->kms, r->caller, &rnd, (size_t)n);
    if (e == KG_OK) {
        r->sensitive = true;
        e = with_b64(out, NULL, "random", rnd.data, rnd.len);
    }
    bytes_wipe_free(&rnd);
    return e;
}
