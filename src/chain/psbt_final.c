/* PSBT combiner and input finalizer (BIP174 "Combiner", "Input Finalizer").
 *
 * Combiner: the union of the key-value maps of PSBTs over the same
 * transaction; a key present in both keeps the first PSBT's value. New
 * keys are inserted in key order, so combining the BIP's two PSBTs with
 * unknown keys gives its lexicographically sorted result. The arena space
 * needed is measured first: a combine either happens completely or not at
 * all.
 *
 * Finalizer: builds the final scriptSig and scriptWitness of the standard
 * templates from the partial signatures -- P2PKH, P2WPKH, P2SH-P2WPKH,
 * m-of-n CHECKMULTISIG bare/P2SH/P2WSH/P2SH-P2WSH (signatures in the
 * order of the keys in the script, with the leading OP_0 that the
 * CHECKMULTISIG bug consumes), and the Taproot key path -- then removes
 * everything but the UTXOs, the final fields, unknown/proprietary keys and
 * the v2 transaction fields, as the BIP says. */
#include "psbt_int.h"

#include <stdio.h>
#include <string.h>
#include <kashguard/crypto.h>
#include <kashguard/chain/bitcoin.h>

/* ------------------------------------------------------------- combiner */

static kg_err same_tx(const kg_chain_psbt *a, const kg_chain_psbt *b)
{
    if (a->version != b->version || a->n_in != b->n_in || a->n_out != b->n_out)
        return kg_err_set(KG_ERR_BAD_INPUT, "cannot combine PSBTs of different versions or input/output counts");
    for (size_t i = 0; i < a->n_in; i++) {
        kg_chain_psbt_in x, y;
        if (kg_chain_psbt_tx_input(&x, a, i) != KG_OK || kg_chain_psbt_tx_input(&y, b, i) != KG_OK ||
            memcmp(&x, &y, sizeof x) != 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "cannot combine: the PSBTs spend different outpoints (input %zu)",
                              i);
    }
    for (size_t i = 0; i < a->n_out; i++) {
        kg_chain_psbt_out x, y;
        if (kg_chain_psbt_tx_output(&x, a, i) != KG_OK || kg_chain_psbt_tx_output(&y, b, i) != KG_OK ||
            x.amount != y.amount || x.script_len != y.script_len ||
            (x.script_len && memcmp(x.script, y.script, x.script_len) != 0))
            return kg_err_set(KG_ERR_BAD_INPUT, "cannot combine: the PSBTs have different outputs (output %zu)", i);
    }
    uint32_t la = 0, lb = 0;
    if (kg_chain_psbt_tx_locktime(&la, a) != KG_OK || kg_chain_psbt_tx_locktime(&lb, b) != KG_OK || la != lb)
        return kg_err_set(KG_ERR_BAD_INPUT, "cannot combine: the PSBTs have different locktimes");
    return KG_OK;
}

/* Arena bytes needed to add src's missing entries to dst (generous: each
 * allocation is padded to the arena alignment). */
static size_t merge_need(const kg_chain_psbt_map *dst, const kg_chain_psbt_map *src)
{
    const size_t a = _Alignof(max_align_t);
    size_t need = 0;
    for (const kg_chain_psbt_kv *e = src->head; e != NULL; e = e->next)
        if (kg_chain_psbt_map_get(dst, e->key, e->key_len) == NULL)
            need += sizeof(kg_chain_psbt_kv) + e->key_len + e->val_len + 1 + 2 * a;
    return need;
}

static kg_err merge(kg_chain_psbt *p, kg_chain_psbt_map *dst, const kg_chain_psbt_map *src)
{
    kg_err e = KG_OK;
    for (const kg_chain_psbt_kv *x = src->head; x != NULL && e == KG_OK; x = x->next)
        if (kg_chain_psbt_map_get(dst, x->key, x->key_len) == NULL)
            e = kg_chain_psbt_map_put(p, dst, x->key, x->key_len, x->val, x->val_len);
    return e;
}

kg_err kg_chain_psbt_combine(kg_chain_psbt *dst, const kg_chain_psbt *src)
{
    kg_err e = same_tx(dst, src);
    if (e != KG_OK)
        return e;
    size_t need = merge_need(&dst->global, &src->global);
    for (size_t i = 0; i < dst->n_in; i++)
        need += merge_need(&dst->in[i], &src->in[i]);
    for (size_t i = 0; i < dst->n_out; i++)
        need += merge_need(&dst->out[i], &src->out[i]);
    if (need > dst->arena_cap - dst->arena_used)
        return kg_err_set(KG_ERR_TOO_LARGE, "combining needs about %zu more arena bytes; the PSBT has %zu free",
                          need, dst->arena_cap - dst->arena_used);
    e = merge(dst, &dst->global, &src->global);
    for (size_t i = 0; i < dst->n_in && e == KG_OK; i++)
        e = merge(dst, &dst->in[i], &src->in[i]);
    for (size_t i = 0; i < dst->n_out && e == KG_OK; i++)
        e = merge(dst, &dst->out[i], &src->out[i]);
    return e;
}

/* ------------------------------------------------------------ finalizer */

static void push(kg_psbt_wr *w, const uint8_t *d, size_t n)
{
    uint8_t h[3];
    size_t hl = 1;
    if (n < 0x4c) {
        h[0] = (uint8_t)n;
    } else if (n <= 0xff) {
        h[0] = 0x4c;
        h[1] = (uint8_t)n;
        hl = 2;
    } else {
        h[0] = 0x4d;
        h[1] = (uint8_t)n;
        h[2] = (uint8_t)(n >> 8);
        hl = 3;
    }
    kg_psbt_wr_bytes(w, h, hl);
    kg_psbt_wr_bytes(w, d, n);
}

static void item(kg_psbt_wr *w, const uint8_t *d, size_t n)
{
    kg_psbt_wr_cs(w, n);
    kg_psbt_wr_bytes(w, d, n);
}

/* The partial signature of the key whose HASH160 is h160. */
static const kg_chain_psbt_kv *sig_for_hash(const kg_chain_psbt_map *m, const uint8_t h160[static 20])
{
    for (const kg_chain_psbt_kv *e = m->head; e != NULL; e = e->next) {
        uint8_t h[20];
        if (e->key[0] != KG_PSBT_IN_PARTIAL_SIG)
            continue;
        kg_crypto_hash160(h, e->key + 1, e->key_len - 1);
        if (memcmp(h, h160, 20) == 0)
            return e;
    }
    return NULL;
}

/* Parse OP_m <keys> OP_n OP_CHECKMULTISIG and write the m signatures (in
 * key order) as pushes (witness == false) or stack items. */
static bool multisig(kg_psbt_wr *w, size_t *n_items, const kg_chain_psbt_map *m, const uint8_t *s, size_t n,
                     bool witness)
{
    if (n < 3 || s[n - 1] != 0xae || s[0] < 0x51 || s[0] > 0x60 || s[n - 2] < 0x51 || s[n - 2] > 0x60)
        return false;
    size_t need = (size_t)(s[0] - 0x50), total = (size_t)(s[n - 2] - 0x50), got = 0, keys = 0, pos = 1;
    while (pos < n - 2) {
        size_t kl = s[pos];
        if ((kl != 33 && kl != 65) || pos + 1 + kl > n - 2)
            return false;
        const kg_chain_psbt_kv *sig = kg_psbt_get(m, KG_PSBT_IN_PARTIAL_SIG, s + pos + 1, kl);
        if (sig != NULL && got < need) {
            if (witness)
                item(w, sig->val, sig->val_len);
            else
                push(w, sig->val, sig->val_len);
            got++;
        }
        keys++;
        pos += 1 + kl;
    }
    *n_items += got;
    return keys == total && need <= total && got == need;
}

/* Write scriptSig (ss) and witness stack (wit, without its count; *n_wit
 * items) for plan pl. false when signatures are missing or the script is
 * not a template we finalize. */
static bool build_final(kg_psbt_wr *ss, kg_psbt_wr *wit, size_t *n_wit, const kg_chain_psbt *p, size_t i,
                        const kg_psbt_plan *pl)
{
    const kg_chain_psbt_map *m = &p->in[i];
    const kg_chain_psbt_kv *sig = NULL;
    *n_wit = 0;
    switch (pl->kind) {
    case KG_PSBT_PKH:
    case KG_PSBT_WPKH:
        if ((sig = sig_for_hash(m, pl->prog)) == NULL)
            return false;
        if (pl->kind == KG_PSBT_PKH) {
            push(ss, sig->val, sig->val_len);
            push(ss, sig->key + 1, sig->key_len - 1);
            return true;
        }
        item(wit, sig->val, sig->val_len);
        item(wit, sig->key + 1, sig->key_len - 1);
        *n_wit = 2;
        break;
    case KG_PSBT_SCRIPT:
        kg_psbt_wr_bytes(ss, "", 1); /* OP_0 for the CHECKMULTISIG extra pop */
        if (!multisig(ss, n_wit, m, pl->script_code, pl->script_code_len, false))
            return false;
        *n_wit = 0;
        if (pl->p2sh)
            push(ss, pl->redeem, pl->redeem_len);
        return true;
    case KG_PSBT_WSH:
        item(wit, NULL, 0);
        if (!multisig(wit, n_wit, m, pl->wscript, pl->wscript_len, true))
            return false;
        item(wit, pl->wscript, pl->wscript_len);
        *n_wit += 2;
        break;
    case KG_PSBT_TR:
        if ((sig = kg_psbt_get(m, KG_PSBT_IN_TAP_KEY_SIG, NULL, 0)) == NULL)
            return false;
        item(wit, sig->val, sig->val_len);
        *n_wit = 1;
        return true;
    }
    if (pl->p2sh)
        push(ss, pl->redeem, pl->redeem_len);
    return true;
}

/* Fields the finalizer drops (BIP174: all but the UTXOs and unknowns). */
static const uint8_t drop_after_final[] = { 0x02, 0x03, 0x04, 0x05, 0x06, 0x09, 0x0A, 0x0B, 0x0C, 0x0D,
                                            0x13, 0x14, 0x15, 0x16, 0x17, 0x18 };

static kg_err finalize_input(kg_chain_psbt *p, size_t i)
{
    kg_psbt_plan pl;
    kg_err e = kg_psbt_plan_input(&pl, p, i);
    if (e != KG_OK)
        return e;
    kg_psbt_wr ss = { NULL, 0, 0 }, wit = { NULL, 0, 0 };
    size_t n_wit = 0;
    if (!build_final(&ss, &wit, &n_wit, p, i, &pl))
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu cannot be finalized: signatures are missing or "
                          "its script is not a standard template", i);
    size_t wit_len = n_wit ? kg_psbt_cs_len(n_wit) + wit.len : 0, used = p->arena_used;
    uint8_t *sbuf = kg_psbt_arena(p, ss.len + 1), *wbuf = kg_psbt_arena(p, wit_len + 1);
    if (sbuf == NULL || wbuf == NULL) {
        p->arena_used = used;
        return kg_err_set(KG_ERR_TOO_LARGE, "the PSBT arena is full; give it a larger arena");
    }
    kg_psbt_wr s2 = { sbuf, ss.len, 0 }, w2 = { wbuf, wit_len, 0 };
    if (n_wit)
        kg_psbt_wr_cs(&w2, n_wit);
    (void)build_final(&s2, &w2, &n_wit, p, i, &pl);
    if (ss.len > 0)
        e = kg_psbt_put(p, &p->in[i], KG_PSBT_IN_FINAL_SCRIPTSIG, NULL, 0, sbuf, ss.len);
    if (e == KG_OK && wit_len > 0)
        e = kg_psbt_put(p, &p->in[i], KG_PSBT_IN_FINAL_SCRIPTWITNESS, NULL, 0, wbuf, wit_len);
    if (e != KG_OK) {
        kg_chain_psbt_map_remove_type(&p->in[i], KG_PSBT_IN_FINAL_SCRIPTSIG);
        kg_chain_psbt_map_remove_type(&p->in[i], KG_PSBT_IN_FINAL_SCRIPTWITNESS);
        return e;
    }
    for (size_t k = 0; k < sizeof drop_after_final; k++)
        kg_chain_psbt_map_remove_type(&p->in[i], drop_after_final[k]);
    return KG_OK;
}

kg_err kg_chain_psbt_finalize(kg_chain_psbt *p)
{
    kg_err first = KG_OK;
    char detail[256] = "";
    for (size_t i = 0; i < p->n_in; i++) {
        if (kg_psbt_input_final(p, i))
            continue;
        kg_err e = finalize_input(p, i);
        if (e != KG_OK && first == KG_OK) {
            first = e;
            snprintf(detail, sizeof detail, "%s", kg_err_detail(e));
        }
    }
    if (first != KG_OK)
        return kg_err_set(first, "%s", detail);
    return KG_OK;
}
