/* Web3 Secret Storage (keystore v3): the JSON document around the core in
 * keystore_v3.c.
 *
 * Document (Ethereum "Web3 Secret Storage Definition"):
 *   {"version":3,"id":"<uuid>","address":"<40 hex>"?,
 *    "crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"<32 hex>"},
 *              "ciphertext":"<64 hex>","kdf":"scrypt"|"pbkdf2",
 *              "kdfparams":{"dklen":32,"salt":"<hex>","n","r","p"} | {"dklen","salt","c","prf":"hmac-sha256"},
 *              "mac":"<64 hex>"}}
 * Parsing is strict: every field has its type, size and range checked, and
 * unknown fields are refused inside "crypto", "cipherparams" and
 * "kdfparams" (a field we do not understand there could change the
 * meaning). At the top level we also accept the extensions real wallets
 * write ("x-ethers", geth's old capitalised "Crypto", "name", "meta"),
 * which carry nothing we use; "crypto.version" (pyethereum) is ignored.
 * The address may carry a 0x prefix; we write it without, as geth does. */
#include "wstore_int.h"

#include <kashguard/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KS_JSON_MAX 65536

/* A hex string field of exactly `len` bytes (len_max > len: a range). */
static kg_err get_hex(uint8_t *out, size_t *out_len, size_t len_min, size_t len_max,
                      const json_t *obj, const char *field)
{
    const char *s = NULL;
    kg_err e = kg_json_get_str(&s, obj, field, true);
    if (e != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore field '%s' is missing or not a string", field);
    size_t n = 0;
    if (strlen(s) > 2 * len_max + 2 || kg_hex_decode(out, len_max, &n, s) != KG_OK || n < len_min) {
        memset(out, 0, len_max);
        if (len_min == len_max)
            return kg_err_set(KG_ERR_BAD_INPUT, "keystore field '%s' must be %zu bytes of hex", field, len_min);
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore field '%s' must be %zu..%zu bytes of hex",
                          field, len_min, len_max);
    }
    if (out_len != NULL)
        *out_len = n;
    return KG_OK;
}

static kg_err get_uint(uint64_t *out, const json_t *obj, const char *field, uint64_t max)
{
    int64_t v = 0;
    if (kg_json_get_int(&v, obj, field, true) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore kdfparams field '%s' is missing or not an integer", field);
    if (v < 0 || (uint64_t)v > max)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore kdfparams field '%s' is out of range (%lld)",
                          field, (long long)v);
    *out = (uint64_t)v;
    return KG_OK;
}

static kg_err parse_kdfparams(wstore_keystore *ks, const json_t *kp, const char *kdf)
{
    static const char *const scrypt_fields[] = { "dklen", "salt", "n", "r", "p", NULL };
    static const char *const pbkdf2_fields[] = { "dklen", "salt", "c", "prf", NULL };
    uint64_t dklen = 0, n = 0, r = 0, p = 0, c = 0;
    kg_err e;
    if (!json_is_object(kp))
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore field 'kdfparams' must be an object");
    if (strcmp(kdf, "scrypt") == 0) {
        ks->kdf.kdf = KG_WALLET_KEYSTORE_SCRYPT;
        if ((e = kg_json_check_fields(kp, scrypt_fields)) != KG_OK ||
            (e = get_uint(&n, kp, "n", UINT64_MAX >> 8)) != KG_OK ||
            (e = get_uint(&r, kp, "r", UINT32_MAX)) != KG_OK ||
            (e = get_uint(&p, kp, "p", UINT32_MAX)) != KG_OK)
            return e;
        ks->kdf.n = n;
        ks->kdf.r = (uint32_t)r;
        ks->kdf.p = (uint32_t)p;
    } else if (strcmp(kdf, "pbkdf2") == 0) {
        ks->kdf.kdf = KG_WALLET_KEYSTORE_PBKDF2;
        const char *prf = NULL;
        if ((e = kg_json_check_fields(kp, pbkdf2_fields)) != KG_OK ||
            (e = get_uint(&c, kp, "c", UINT32_MAX)) != KG_OK)
            return e;
        if (kg_json_get_str(&prf, kp, "prf", true) != KG_OK || strcmp(prf, "hmac-sha256") != 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "keystore pbkdf2 prf must be \"hmac-sha256\"");
        ks->kdf.c = (uint32_t)c;
    } else {
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore kdf '%.32s' is not supported (use scrypt or pbkdf2)", kdf);
    }
    if ((e = get_uint(&dklen, kp, "dklen", 1024)) != KG_OK)
        return e;
    if (dklen != WSTORE_KS_DKLEN)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore kdfparams dklen must be 32 (got %llu)",
                          (unsigned long long)dklen);
    if ((e = get_hex(ks->salt, &ks->salt_len, WSTORE_KS_SALT_MIN, WSTORE_KS_SALT_MAX, kp, "salt")) != KG_OK)
        return e;
    return wstore_keystore_params_check(&ks->kdf);
}

static kg_err parse_crypto(wstore_keystore *ks, const json_t *cr)
{
    static const char *const fields[] = { "cipher", "cipherparams", "ciphertext", "kdf", "kdfparams",
                                          "mac", "version", NULL };
    static const char *const cp_fields[] = { "iv", NULL };
    const char *cipher = NULL, *kdf = NULL;
    kg_err e;
    if (!json_is_object(cr))
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore field 'crypto' must be an object");
    if ((e = kg_json_check_fields(cr, fields)) != KG_OK)
        return e;
    if (kg_json_get_str(&cipher, cr, "cipher", true) != KG_OK || strcmp(cipher, "aes-128-ctr") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore cipher must be \"aes-128-ctr\"");
    const json_t *cp = json_object_get(cr, "cipherparams");
    if (!json_is_object(cp))
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore field 'cipherparams' must be an object");
    if ((e = kg_json_check_fields(cp, cp_fields)) != KG_OK ||
        (e = get_hex(ks->iv, NULL, 16, 16, cp, "iv")) != KG_OK ||
        (e = get_hex(ks->ciphertext, NULL, 32, 32, cr, "ciphertext")) != KG_OK ||
        (e = get_hex(ks->mac, NULL, 32, 32, cr, "mac")) != KG_OK)
        return e;
    if (kg_json_get_str(&kdf, cr, "kdf", true) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore field 'kdf' is missing or not a string");
    return parse_kdfparams(ks, json_object_get(cr, "kdfparams"), kdf);
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" -> 16 bytes. */
static kg_err parse_uuid(uint8_t id[static 16], const char *s)
{
    char hex[33];
    size_t n = 0, len = strlen(s);
    if (len != 36)
        goto bad;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (s[i] == '-'))
            goto bad;
        if (!dash)
            hex[n++] = s[i];
    }
    hex[n] = '\0';
    size_t out = 0;
    if (kg_hex_decode(id, 16, &out, hex) == KG_OK && out == 16)
        return KG_OK;
bad:
    memset(id, 0, 16);
    return kg_err_set(KG_ERR_BAD_INPUT, "keystore field 'id' must be a UUID (8-4-4-4-12 hex digits)");
}

static kg_err parse_doc(wstore_keystore *ks, const json_t *doc)
{
    static const char *const fields[] = { "version", "id", "address", "crypto", "Crypto",
                                          "x-ethers", "name", "meta", NULL };
    int64_t version = 0;
    const char *id = NULL;
    kg_err e = kg_json_check_fields(doc, fields);
    if (e != KG_OK)
        return e;
    if (kg_json_get_int(&version, doc, "version", true) != KG_OK || version != 3)
        return kg_err_set(KG_ERR_BAD_INPUT, "not a keystore v3 document (\"version\" must be 3)");
    if (kg_json_get_str(&id, doc, "id", true) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "keystore field 'id' is missing or not a string");
    if ((e = parse_uuid(ks->id, id)) != KG_OK)
        return e;
    if (json_object_get(doc, "address") != NULL && !json_is_null(json_object_get(doc, "address"))) {
        if ((e = get_hex(ks->address, NULL, 20, 20, doc, "address")) != KG_OK)
            return e;
        ks->has_address = true;
    }
    const json_t *cr = json_object_get(doc, "crypto");
    const json_t *cr2 = json_object_get(doc, "Crypto");
    if ((cr == NULL) == (cr2 == NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "a keystore needs exactly one of 'crypto' and 'Crypto'");
    return parse_crypto(ks, cr ? cr : cr2);
}

kg_err wstore_keystore_parse(wstore_keystore *ks, const char *json, size_t json_len)
{
    KG_ARG_CHECK(ks != NULL && json != NULL);
    memset(ks, 0, sizeof(*ks));
    if (json_len > KS_JSON_MAX)
        return kg_err_set(KG_ERR_TOO_LARGE, "a keystore file is at most 64 KiB (got %zu bytes)", json_len);
    json_t *doc = NULL;
    kg_err e = kg_json_parse_object(&doc, json, json_len);
    if (e == KG_OK)
        e = parse_doc(ks, doc);
    json_decref(doc);
    if (e != KG_OK)
        memset(ks, 0, sizeof(*ks));
    return e;
}

kg_err kg_wallet_keystore_import(kg_secret **priv, uint8_t *address,
                                 const char *json, size_t json_len,
                                 const char *password, size_t password_len)
{
    KG_ARG_CHECK(priv != NULL && json != NULL && password != NULL);
    *priv = NULL;
    if (address != NULL)
        memset(address, 0, 20);
    wstore_keystore ks;
    uint8_t key[32], addr[20];
    kg_err e = wstore_keystore_parse(&ks, json, json_len);
    if (e == KG_OK)
        e = wstore_keystore_decrypt(key, addr, &ks, password, password_len);
    if (e == KG_OK) {
        *priv = kg_secret_from(key, sizeof(key));
        if (*priv == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory for the keystore key");
    }
    if (e == KG_OK && address != NULL)
        memcpy(address, addr, 20);
    kg_wipe(key, sizeof(key));
    return e;
}

static void format_uuid(char out[static 37], const uint8_t id[static 16])
{
    char hex[33];
    kg_hex_encode(hex, id, 16);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static json_t *render_kdfparams(const wstore_keystore *ks)
{
    char salt[2 * WSTORE_KS_SALT_MAX + 1];
    kg_hex_encode(salt, ks->salt, ks->salt_len);
    if (ks->kdf.kdf == KG_WALLET_KEYSTORE_SCRYPT)
        return json_pack("{s:i,s:s,s:I,s:i,s:i}", "dklen", WSTORE_KS_DKLEN, "salt", salt,
                         "n", (json_int_t)ks->kdf.n, "r", (int)ks->kdf.r, "p", (int)ks->kdf.p);
    return json_pack("{s:i,s:s,s:I,s:s}", "dklen", WSTORE_KS_DKLEN, "salt", salt,
                     "c", (json_int_t)ks->kdf.c, "prf", "hmac-sha256");
}

static kg_err render(char **out, const wstore_keystore *ks)
{
    char iv[33], ct[65], mac[65], addr[41], id[37];
    kg_hex_encode(iv, ks->iv, 16);
    kg_hex_encode(ct, ks->ciphertext, 32);
    kg_hex_encode(mac, ks->mac, 32);
    kg_hex_encode(addr, ks->address, 20);
    format_uuid(id, ks->id);
    json_t *kp = render_kdfparams(ks);
    json_t *doc = kp == NULL ? NULL :
        json_pack("{s:i,s:s,s:s,s:{s:s,s:{s:s},s:s,s:s,s:o,s:s}}",
                  "version", 3, "id", id, "address", addr,
                  "crypto", "cipher", "aes-128-ctr", "cipherparams", "iv", iv,
                  "ciphertext", ct, "kdf",
                  ks->kdf.kdf == KG_WALLET_KEYSTORE_SCRYPT ? "scrypt" : "pbkdf2",
                  "kdfparams", kp, "mac", mac);
    *out = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    kg_wipe(ct, sizeof(ct));
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory rendering the keystore");
}

kg_err kg_wallet_keystore_export(char **json, const kg_secret *priv,
                                 const char *password, size_t password_len,
                                 const kg_wallet_keystore_params *p)
{
    KG_ARG_CHECK(json != NULL && priv != NULL && password != NULL);
    *json = NULL;
    kg_wallet_keystore_params def;
    if (p == NULL) {
        kg_wallet_keystore_params_default(&def, KG_WALLET_KEYSTORE_SCRYPT);
        p = &def;
    }
    if (kg_secret_len(priv) != 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "a keystore holds a 32-byte secp256k1 key (got %zu bytes)",
                          kg_secret_len(priv));
    kg_err e = wstore_keystore_params_check(p);
    if (e != KG_OK)
        return e;
    wstore_keystore ks;
    e = wstore_keystore_encrypt(&ks, kg_secret_cdata(priv), password, password_len, p);
    if (e == KG_OK)
        e = render(json, &ks);
    kg_wipe(&ks, sizeof(ks));
    return e;
}
