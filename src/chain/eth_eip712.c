/* EIP-712 typed structured data hashing, over a plain C value tree.
 *
 * EIP-712 "Specification":
 *   encodeType(T)   = "T(type1 name1,type2 name2,...)" followed by the same
 *                     for every struct type T references (directly or not),
 *                     those sorted by name;
 *   typeHash(T)     = keccak256(encodeType(T));
 *   hashStruct(T,v) = keccak256(typeHash(T) || encodeData(v));
 *   encodeData      = one 32-byte word per member, in declaration order:
 *                     atomic types as their ABI word; string and bytes as
 *                     keccak256 of the content; a struct as its hashStruct;
 *                     an array as keccak256 of its elements' words, each
 *                     encoded by the same rules;
 *   digest          = keccak256(0x19 0x01 || hashStruct(EIP712Domain, domain)
 *                     || hashStruct(primaryType, message)), the last part left
 *                     out when the primary type is EIP712Domain itself.
 * Everything streams into Keccak contexts on the stack: no allocation, so
 * the firmware can hash typed data it displays. The value tree's atomic
 * words are checked against their declared type (uint8 fits 8 bits, an
 * address 160, bool is 0/1, intN is sign-extended, bytesN is zero-padded)
 * so a front end cannot make a value that means one thing on screen and
 * hashes as another. The JSON front end is eth_eip712_json.c. */
#include "eth_int.h"

#include <stdlib.h>
#include <string.h>

typedef const kg_chain_eth_eip712_types types_t;
typedef const kg_chain_eth_eip712_value value_t;

static const kg_chain_eth_eip712_struct *find_struct(types_t *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->n_structs; i++)
        if (strlen(t->structs[i].name) == len && memcmp(t->structs[i].name, name, len) == 0)
            return &t->structs[i];
    return NULL;
}

/* Length of the base name of a type ("Person" of "Person[][2]"). */
static size_t base_len(const char *type)
{
    const char *b = strchr(type, '[');
    return b ? (size_t)(b - type) : strlen(type);
}

/* ------------------------------------------------------------ encodeType */

/* Collect the struct types reachable from s (not s itself) into deps. */
static kg_err collect_deps(types_t *t, const kg_chain_eth_eip712_struct *s, const kg_chain_eth_eip712_struct **deps,
                           size_t *n, unsigned depth)
{
    if (depth > KG_CHAIN_ETH_EIP712_MAX_DEPTH)
        return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 types nest deeper than %d", KG_CHAIN_ETH_EIP712_MAX_DEPTH);
    for (size_t f = 0; f < s->n_fields; f++) {
        const char *ty = s->fields[f].type;
        const kg_chain_eth_eip712_struct *d = find_struct(t, ty, base_len(ty));
        if (d == NULL)
            continue;
        bool seen = false;
        for (size_t i = 0; i < *n; i++)
            seen |= deps[i] == d;
        if (seen)
            continue;
        if (*n == KG_CHAIN_ETH_EIP712_MAX_TYPES)
            return kg_err_set(KG_ERR_BAD_INPUT, "more than %d EIP-712 types", KG_CHAIN_ETH_EIP712_MAX_TYPES);
        deps[(*n)++] = d;
        kg_err err = collect_deps(t, d, deps, n, depth + 1);
        if (err != KG_OK)
            return err;
    }
    return KG_OK;
}

static void put_str(kg_crypto_keccak_ctx *k, const char *s)
{
    kg_crypto_keccak256_update(k, (const uint8_t *)s, strlen(s));
}

static void encode_one_type(kg_crypto_keccak_ctx *k, const kg_chain_eth_eip712_struct *s)
{
    put_str(k, s->name);
    put_str(k, "(");
    for (size_t f = 0; f < s->n_fields; f++) {
        if (f > 0)
            put_str(k, ",");
        put_str(k, s->fields[f].type);
        put_str(k, " ");
        put_str(k, s->fields[f].name);
    }
    put_str(k, ")");
}

static int cmp_struct(const void *a, const void *b)
{
    const kg_chain_eth_eip712_struct *x = *(const kg_chain_eth_eip712_struct *const *)a;
    const kg_chain_eth_eip712_struct *y = *(const kg_chain_eth_eip712_struct *const *)b;
    return strcmp(x->name, y->name);
}

static kg_err type_hash(uint8_t out[static 32], types_t *t, const kg_chain_eth_eip712_struct *s)
{
    const kg_chain_eth_eip712_struct *deps[KG_CHAIN_ETH_EIP712_MAX_TYPES + 1];
    size_t n = 0;
    deps[n++] = s; /* marks the primary as seen; sorted apart below */
    kg_err err = collect_deps(t, s, deps, &n, 0);
    if (err != KG_OK)
        return err;
    qsort(deps + 1, n - 1, sizeof deps[0], cmp_struct);
    kg_crypto_keccak_ctx k;
    kg_crypto_keccak256_init(&k);
    for (size_t i = 0; i < n; i++)
        encode_one_type(&k, deps[i]);
    kg_crypto_keccak256_final(out, &k);
    return KG_OK;
}

/* ------------------------------------------------------------ encodeData */

/* Parse the number after a prefix ("256" of "uint256"); 0 if malformed. */
static unsigned type_bits(const char *digits)
{
    unsigned v = 0;
    if (*digits == '\0' || *digits == '0')
        return 0;
    for (; *digits != '\0'; digits++) {
        if (*digits < '0' || *digits > '9' || v > 1000)
            return 0;
        v = v * 10 + (unsigned)(*digits - '0');
    }
    return v;
}

/* Check an atomic word against its type; false if type is not atomic. */
static bool atomic_check(kg_err *err, const char *type, const uint8_t w[static 32])
{
    size_t zero_hi = 0, zero_lo = 0;
    unsigned bits;
    *err = KG_OK;
    if (strcmp(type, "address") == 0) {
        zero_hi = 12;
    } else if (strcmp(type, "bool") == 0) {
        zero_hi = 31;
        if (w[31] > 1)
            *err = kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 bool value must be 0 or 1");
    } else if (strncmp(type, "uint", 4) == 0 && (bits = type_bits(type + 4)) && bits % 8 == 0 && bits <= 256) {
        zero_hi = 32 - bits / 8;
    } else if (strncmp(type, "int", 3) == 0 && (bits = type_bits(type + 3)) && bits % 8 == 0 && bits <= 256) {
        size_t hi = 32 - bits / 8;
        uint8_t fill = (w[hi] & 0x80) ? 0xff : 0x00;
        for (size_t i = 0; i < hi; i++)
            if (w[i] != fill)
                *err = kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 value does not fit in %s", type);
        return true;
    } else if (strncmp(type, "bytes", 5) == 0 && (bits = type_bits(type + 5)) && bits <= 32) {
        zero_lo = 32 - bits;
    } else {
        return false;
    }
    if (*err == KG_OK && (!kg_chain_eth_is_zero(w, zero_hi) || !kg_chain_eth_is_zero(w + 32 - zero_lo, zero_lo)))
        *err = kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 value does not fit in %s", type);
    return true;
}

static kg_err hash_struct(uint8_t out[static 32], types_t *t, const kg_chain_eth_eip712_struct *s, value_t *v,
                          unsigned depth);

/* The 32-byte word of value v of type `type` (len chars of it are the type). */
static kg_err encode_field(uint8_t w[static 32], types_t *t, const char *type, size_t tlen, value_t *v,
                           unsigned depth)
{
    char ty[128];
    if (depth > KG_CHAIN_ETH_EIP712_MAX_DEPTH)
        return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 value nests deeper than %d", KG_CHAIN_ETH_EIP712_MAX_DEPTH);
    if (tlen >= sizeof ty)
        return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 type name longer than %zu characters", sizeof ty - 1);
    memcpy(ty, type, tlen);
    ty[tlen] = '\0';
    if (tlen > 0 && ty[tlen - 1] == ']') { /* array: strip the last dimension */
        char *open = strrchr(ty, '[');
        unsigned fixed = 0;
        if (open == NULL || open == ty)
            return kg_err_set(KG_ERR_BAD_INPUT, "malformed EIP-712 array type '%s'", ty);
        ty[tlen - 1] = '\0'; /* cut the ']': open + 1 is the length, if any */
        if (open[1] != '\0' && (fixed = type_bits(open + 1)) == 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "malformed EIP-712 array length in '%.*s'", (int)tlen, type);
        if (v->kind != KG_CHAIN_ETH_EIP712_ARRAY)
            return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 value of type '%.*s' must be an array", (int)tlen, type);
        if (fixed != 0 && v->n_items != fixed)
            return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 array '%.*s' has %zu elements", (int)tlen, type, v->n_items);
        kg_crypto_keccak_ctx k;
        kg_crypto_keccak256_init(&k);
        for (size_t i = 0; i < v->n_items; i++) {
            uint8_t e[32];
            kg_err err = encode_field(e, t, type, (size_t)(open - ty), &v->items[i], depth + 1);
            if (err != KG_OK)
                return err;
            kg_crypto_keccak256_update(&k, e, 32);
        }
        kg_crypto_keccak256_final(w, &k);
        return KG_OK;
    }
    const kg_chain_eth_eip712_struct *s = find_struct(t, ty, tlen);
    if (s != NULL)
        return hash_struct(w, t, s, v, depth + 1);
    if (strcmp(ty, "string") == 0 || strcmp(ty, "bytes") == 0) {
        if (v->kind != KG_CHAIN_ETH_EIP712_DYNAMIC || (v->bytes == NULL && v->len > 0))
            return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 value of type '%s' must be a string/bytes value", ty);
        kg_crypto_keccak256(w, v->bytes, v->len);
        return KG_OK;
    }
    kg_err err = KG_OK;
    if (v->kind != KG_CHAIN_ETH_EIP712_WORD)
        return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 value of type '%s' must be an atomic value", ty);
    if (!atomic_check(&err, ty, v->word))
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown EIP-712 type '%s' (not atomic, not defined in types)", ty);
    if (err == KG_OK)
        memcpy(w, v->word, 32);
    return err;
}

static kg_err hash_struct(uint8_t out[static 32], types_t *t, const kg_chain_eth_eip712_struct *s, value_t *v,
                          unsigned depth)
{
    uint8_t th[32];
    if (v->kind != KG_CHAIN_ETH_EIP712_STRUCT || v->n_items != s->n_fields || (v->items == NULL && v->n_items > 0))
        return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 value of type '%s' must be a struct with %zu members", s->name,
                          s->n_fields);
    kg_err err = type_hash(th, t, s);
    if (err != KG_OK)
        return err;
    kg_crypto_keccak_ctx k;
    kg_crypto_keccak256_init(&k);
    kg_crypto_keccak256_update(&k, th, 32);
    for (size_t f = 0; f < s->n_fields; f++) {
        uint8_t w[32];
        const char *ty = s->fields[f].type;
        if ((err = encode_field(w, t, ty, strlen(ty), &v->items[f], depth)) != KG_OK)
            return err;
        kg_crypto_keccak256_update(&k, w, 32);
    }
    kg_crypto_keccak256_final(out, &k);
    return KG_OK;
}

/* ------------------------------------------------------------- public */

kg_err kg_chain_eth_eip712_type_hash(uint8_t out[static 32], const kg_chain_eth_eip712_types *types, const char *name)
{
    memset(out, 0, 32);
    const kg_chain_eth_eip712_struct *s = find_struct(types, name, strlen(name));
    if (s == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 type '%s' is not defined in types", name);
    return type_hash(out, types, s);
}

kg_err kg_chain_eth_eip712_hash_struct(uint8_t out[static 32], const kg_chain_eth_eip712_types *types,
                                       const char *name, const kg_chain_eth_eip712_value *v)
{
    memset(out, 0, 32);
    const kg_chain_eth_eip712_struct *s = find_struct(types, name, strlen(name));
    if (s == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "EIP-712 type '%s' is not defined in types", name);
    kg_err err = hash_struct(out, types, s, v, 0);
    if (err != KG_OK)
        memset(out, 0, 32);
    return err;
}

kg_err kg_chain_eth_eip712_hash(uint8_t digest[static 32], uint8_t *domain_sep,
                                const kg_chain_eth_eip712_types *types, const kg_chain_eth_eip712_value *domain,
                                const char *primary, const kg_chain_eth_eip712_value *message)
{
    uint8_t ds[32], mh[32];
    memset(digest, 0, 32);
    if (domain_sep != NULL)
        memset(domain_sep, 0, 32);
    kg_err err = kg_chain_eth_eip712_hash_struct(ds, types, "EIP712Domain", domain);
    bool domain_only = strcmp(primary, "EIP712Domain") == 0;
    if (err == KG_OK && !domain_only)
        err = kg_chain_eth_eip712_hash_struct(mh, types, primary, message);
    if (err != KG_OK)
        return err;
    kg_crypto_keccak_ctx k;
    kg_crypto_keccak256_init(&k);
    kg_crypto_keccak256_update(&k, (const uint8_t *)"\x19\x01", 2);
    kg_crypto_keccak256_update(&k, ds, 32);
    if (!domain_only)
        kg_crypto_keccak256_update(&k, mh, 32);
    kg_crypto_keccak256_final(digest, &k);
    if (domain_sep != NULL)
        memcpy(domain_sep, ds, 32);
    return KG_OK;
}
