/* EIP-712 typed data from JSON: the eth_signTypedData_v4 document
 *   {"types": {"EIP712Domain": [{"name":..,"type":..}, ..], "Mail": [..]},
 *    "primaryType": "Mail", "domain": {..}, "message": {..}}
 * turned into the plain C types table and value tree of eth_eip712.c, then
 * hashed there.
 *
 * Conversion of JSON values, by declared type:
 *   struct        a JSON object with exactly the declared members (a member
 *                 that is not declared is an error: it would be shown to a
 *                 user but not signed);
 *   T[] / T[n]    a JSON array;
 *   string        a JSON string (its UTF-8 bytes);
 *   bytes         "0x" hex;   bytesN  "0x" hex of exactly N bytes;
 *   address       "0x" + 40 hex digits (EIP-55 checked when mixed case);
 *   bool          true / false;
 *   uintN / intN  a JSON integer, a decimal string (intN may be negative) or
 *                 a "0x" hex string; the range is checked by eth_eip712.c.
 * Every error names the member path ("message.to.wallet: ..."). The tree
 * lives in an arena freed before returning. This file uses jansson and
 * allocates, so it is not part of the firmware set. */
#include "eth_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    void **ptrs;
    size_t n, cap;
    kg_chain_eth_eip712_types types;
} ctx;

static void *arena_alloc(ctx *c, size_t size)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        void **p = realloc(c->ptrs, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        c->ptrs = p;
        c->cap = cap;
    }
    void *m = calloc(1, size ? size : 1);
    if (m != NULL)
        c->ptrs[c->n++] = m;
    return m;
}

static void arena_free(ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->ptrs[i]);
    free(c->ptrs);
}

static kg_err nomem(void)
{
    return kg_err_set(KG_ERR_NOMEM, "out of memory building EIP-712 typed data");
}

/* --------------------------------------------------------------- types */

static kg_err load_types(ctx *c, const json_t *types)
{
    const char *name;
    json_t *fields;
    if (!json_is_object(types))
        return kg_err_set(KG_ERR_BAD_INPUT, "typed data: 'types' must be an object of struct definitions");
    size_t n = json_object_size(types);
    if (n > KG_CHAIN_ETH_EIP712_MAX_TYPES)
        return kg_err_set(KG_ERR_BAD_INPUT, "typed data: more than %d types", KG_CHAIN_ETH_EIP712_MAX_TYPES);
    kg_chain_eth_eip712_struct *st = arena_alloc(c, n * sizeof *st);
    if (st == NULL)
        return nomem();
    size_t i = 0;
    json_object_foreach((json_t *)types, name, fields) {
        if (!json_is_array(fields))
            return kg_err_set(KG_ERR_BAD_INPUT, "typed data: types.%.64s must be an array of {name, type}", name);
        size_t nf = json_array_size(fields);
        kg_chain_eth_eip712_field *f = arena_alloc(c, nf * sizeof *f);
        if (f == NULL)
            return nomem();
        for (size_t j = 0; j < nf; j++) {
            const json_t *fj = json_array_get(fields, j);
            f[j].name = json_string_value(json_object_get(fj, "name"));
            f[j].type = json_string_value(json_object_get(fj, "type"));
            if (f[j].name == NULL || f[j].type == NULL || f[j].type[0] == '\0')
                return kg_err_set(KG_ERR_BAD_INPUT, "typed data: types.%.64s[%zu] needs string 'name' and 'type'",
                                  name, j);
        }
        st[i].name = name;
        st[i].fields = f;
        st[i].n_fields = nf;
        i++;
    }
    c->types.structs = st;
    c->types.n_structs = i;
    return KG_OK;
}

static const kg_chain_eth_eip712_struct *find(const ctx *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->types.n_structs; i++)
        if (strlen(c->types.structs[i].name) == len && memcmp(c->types.structs[i].name, name, len) == 0)
            return &c->types.structs[i];
    return NULL;
}

/* -------------------------------------------------------------- values */

static kg_err build(ctx *c, kg_chain_eth_eip712_value *out, const char *type, size_t tlen, const json_t *j,
                    const char *path, unsigned depth);

static kg_err bad(const char *path, const char *what)
{
    char w[256]; /* what may be this thread's current error detail */
    snprintf(w, sizeof w, "%s", what);
    return kg_err_set(KG_ERR_BAD_INPUT, "typed data: %.200s: %s", path, w);
}

/* A number for uintN/intN: integer, decimal string (maybe negative), or hex. */
static kg_err number_word(uint8_t w[static 32], const json_t *j, const char *path)
{
    uint8_t mag[32];
    bool neg = false;
    kg_err err;
    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        neg = v < 0;
        kg_chain_eth_u256_from_u64(mag, neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    } else if (json_is_string(j)) {
        const char *s = json_string_value(j);
        neg = s[0] == '-';
        if (neg)
            s++;
        err = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? kg_chain_eth_u256_from_hex(mag, s, false)
                                                            : kg_chain_eth_u256_from_dec(mag, s);
        if (err != KG_OK)
            return bad(path, kg_err_detail(err));
    } else {
        return bad(path, "a number must be an integer or a decimal/hex string");
    }
    memcpy(w, mag, 32);
    if (neg) { /* two's complement; the range check against intN is in eth_eip712.c */
        if ((mag[0] & 0x80) && !(mag[0] == 0x80 && kg_chain_eth_is_zero(mag + 1, 31)))
            return bad(path, "negative number too large");
        unsigned carry = 1;
        for (int i = 31; i >= 0; i--) {
            unsigned t = (uint8_t)~mag[i] + carry;
            w[i] = (uint8_t)t;
            carry = t >> 8;
        }
    }
    return KG_OK;
}

static kg_err hex_value(uint8_t **out, size_t *len, ctx *c, const json_t *j, const char *path)
{
    const char *s = json_string_value(j);
    if (s == NULL || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return bad(path, "bytes must be a 0x-prefixed hex string");
    size_t cap = strlen(s) / 2;
    *out = arena_alloc(c, cap);
    if (*out == NULL)
        return nomem();
    if (kg_hex_decode(*out, cap, len, s) != KG_OK)
        return bad(path, "bytes must be a 0x-prefixed hex string of whole bytes");
    return KG_OK;
}

static kg_err atomic(ctx *c, kg_chain_eth_eip712_value *out, const char *ty, const json_t *j, const char *path)
{
    out->kind = KG_CHAIN_ETH_EIP712_WORD;
    if (strcmp(ty, "string") == 0) {
        if (!json_is_string(j))
            return bad(path, "must be a string");
        out->kind = KG_CHAIN_ETH_EIP712_DYNAMIC;
        out->bytes = (const uint8_t *)json_string_value(j);
        out->len = json_string_length(j);
        return KG_OK;
    }
    if (strcmp(ty, "bytes") == 0) {
        uint8_t *b = NULL;
        out->kind = KG_CHAIN_ETH_EIP712_DYNAMIC;
        kg_err err = hex_value(&b, &out->len, c, j, path);
        out->bytes = b;
        return err;
    }
    if (strcmp(ty, "address") == 0) {
        if (!json_is_string(j) || kg_chain_eth_addr_parse(out->word + 12, json_string_value(j)) != KG_OK)
            return bad(path, json_is_string(j) ? kg_err_detail(KG_ERR_BAD_INPUT) : "address must be a string");
        return KG_OK;
    }
    if (strcmp(ty, "bool") == 0) {
        if (!json_is_boolean(j))
            return bad(path, "bool must be true or false");
        out->word[31] = json_is_true(j) ? 1 : 0;
        return KG_OK;
    }
    if (strncmp(ty, "bytes", 5) == 0) {
        uint8_t *b = NULL;
        size_t n = 0;
        kg_err err = hex_value(&b, &n, c, j, path);
        if (err != KG_OK)
            return err;
        if (n == 0 || n > 32 || (size_t)atoi(ty + 5) != n)
            return bad(path, "bytesN value must be exactly N bytes of hex");
        memcpy(out->word, b, n);
        return KG_OK;
    }
    if (strncmp(ty, "uint", 4) == 0 &&
        ((json_is_integer(j) && json_integer_value(j) < 0) || (json_is_string(j) && json_string_value(j)[0] == '-')))
        return kg_err_set(KG_ERR_BAD_INPUT, "typed data: %.200s: negative value for %.16s", path, ty);
    if (strncmp(ty, "uint", 4) == 0 || strncmp(ty, "int", 3) == 0)
        return number_word(out->word, j, path);
    return kg_err_set(KG_ERR_BAD_INPUT, "typed data: %.200s: unknown type '%.64s'", path, ty);
}

static kg_err build_struct(ctx *c, kg_chain_eth_eip712_value *out, const kg_chain_eth_eip712_struct *s,
                           const json_t *j, const char *path, unsigned depth)
{
    char sub[256];
    if (!json_is_object(j))
        return bad(path, "must be an object");
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)j, k, x) {
        bool declared = false;
        for (size_t f = 0; f < s->n_fields; f++)
            declared |= strcmp(k, s->fields[f].name) == 0;
        if (!declared)
            return kg_err_set(KG_ERR_BAD_INPUT, "typed data: %.200s.%.64s is not a member of type %.64s", path,
                              k, s->name);
    }
    kg_chain_eth_eip712_value *items = arena_alloc(c, s->n_fields * sizeof *items);
    if (items == NULL)
        return nomem();
    for (size_t f = 0; f < s->n_fields; f++) {
        const json_t *m = json_object_get(j, s->fields[f].name);
        snprintf(sub, sizeof sub, "%s.%s", path, s->fields[f].name);
        if (m == NULL)
            return bad(sub, "missing member");
        kg_err err = build(c, &items[f], s->fields[f].type, strlen(s->fields[f].type), m, sub, depth + 1);
        if (err != KG_OK)
            return err;
    }
    out->kind = KG_CHAIN_ETH_EIP712_STRUCT;
    out->items = items;
    out->n_items = s->n_fields;
    return KG_OK;
}

static kg_err build(ctx *c, kg_chain_eth_eip712_value *out, const char *type, size_t tlen, const json_t *j,
                    const char *path, unsigned depth)
{
    char ty[128], sub[256];
    if (depth > KG_CHAIN_ETH_EIP712_MAX_DEPTH)
        return bad(path, "nested too deeply");
    if (tlen >= sizeof ty)
        return bad(path, "type name too long");
    memcpy(ty, type, tlen);
    ty[tlen] = '\0';
    if (tlen > 0 && ty[tlen - 1] == ']') {
        const char *open = strrchr(ty, '[');
        if (open == NULL || !json_is_array(j))
            return bad(path, "must be an array");
        size_t n = json_array_size(j);
        kg_chain_eth_eip712_value *items = arena_alloc(c, n * sizeof *items);
        if (items == NULL)
            return nomem();
        for (size_t i = 0; i < n; i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            kg_err err = build(c, &items[i], type, (size_t)(open - ty), json_array_get(j, i), sub, depth + 1);
            if (err != KG_OK)
                return err;
        }
        out->kind = KG_CHAIN_ETH_EIP712_ARRAY;
        out->items = items;
        out->n_items = n;
        return KG_OK;
    }
    const kg_chain_eth_eip712_struct *s = find(c, ty, tlen);
    if (s != NULL)
        return build_struct(c, out, s, j, path, depth);
    return atomic(c, out, ty, j, path);
}

kg_err kg_chain_eth_eip712_json_hash(uint8_t digest[static 32], uint8_t *domain_sep, const json_t *typed)
{
    ctx c = { 0 };
    kg_chain_eth_eip712_value dom = { 0 }, msg = { 0 };
    memset(digest, 0, 32);
    if (domain_sep != NULL)
        memset(domain_sep, 0, 32);
    if (!json_is_object(typed))
        return kg_err_set(KG_ERR_BAD_INPUT, "typed data must be a JSON object {types, primaryType, domain, message}");
    const char *primary = json_string_value(json_object_get(typed, "primaryType"));
    kg_err err = load_types(&c, json_object_get(typed, "types"));
    if (err == KG_OK && primary == NULL)
        err = kg_err_set(KG_ERR_BAD_INPUT, "typed data: 'primaryType' must be a string");
    if (err == KG_OK && find(&c, "EIP712Domain", 12) == NULL)
        err = kg_err_set(KG_ERR_BAD_INPUT, "typed data: types.EIP712Domain is missing");
    if (err == KG_OK && find(&c, primary, strlen(primary)) == NULL)
        err = kg_err_set(KG_ERR_BAD_INPUT, "typed data: primaryType '%.64s' is not defined in types", primary);
    if (err == KG_OK)
        err = build(&c, &dom, "EIP712Domain", 12, json_object_get(typed, "domain"), "domain", 0);
    if (err == KG_OK && strcmp(primary, "EIP712Domain") != 0)
        err = build(&c, &msg, primary, strlen(primary), json_object_get(typed, "message"), "message", 0);
    if (err == KG_OK)
        err = kg_chain_eth_eip712_hash(digest, domain_sep, &c.types, &dom, primary, &msg);
    arena_free(&c);
    return err;
}
