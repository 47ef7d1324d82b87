/* PSBT and the transaction it describes: the creator (BIP174 "Creator",
 * BIP370 "Creator"), the version-independent view of the transaction's
 * fields, v0 <-> v2 conversion and the extractor (BIP174 "Transaction
 * Extractor").
 *
 * Why a scanner of our own instead of kg_chain_btc_tx_parse: a PSBT's
 * unsigned transaction may have no inputs and no outputs (BIP174 test
 * vectors), which a network transaction parser rightly refuses, and it must
 * be in the legacy serialization with empty scriptSigs. kg_psbt_tx_scan
 * only walks the bytes (bounded, strict, no copies); the signer builds a
 * kg_chain_btc_tx from this view when it needs the sighash algorithms.
 *
 * v2 locktime follows BIP370 "Determining Lock Time": without any
 * required locktime the fallback (default 0); otherwise the maximum of the
 * required height locktimes if every input that sets one sets a height,
 * else of the time locktimes if every one sets a time. */
#include "psbt_int.h"

#include <string.h>
#include <kashguard/crypto.h>

/* Skip one input / output, returning the scriptSig / script view. */
static bool rd_txin(kg_psbt_rd *r, kg_chain_psbt_in *in, const uint8_t **ss, size_t *ss_len)
{
    const uint8_t *txid = NULL;
    uint64_t len = 0;
    if (!kg_psbt_rd_bytes(r, &txid, 32) || !kg_psbt_rd_u32(r, &in->vout) || !kg_psbt_rd_cs(r, &len) ||
        len > r->len || !kg_psbt_rd_bytes(r, ss, (size_t)len) || !kg_psbt_rd_u32(r, &in->sequence))
        return false;
    memcpy(in->txid, txid, 32);
    *ss_len = (size_t)len;
    return true;
}

static bool rd_txout(kg_psbt_rd *r, kg_chain_psbt_out *out)
{
    uint64_t len = 0;
    if (!kg_psbt_rd_u64(r, &out->amount) || !kg_psbt_rd_cs(r, &len) || len > r->len ||
        !kg_psbt_rd_bytes(r, &out->script, (size_t)len))
        return false;
    out->script_len = (size_t)len;
    return true;
}

/* Witness part: one stack per input. */
static bool rd_witnesses(kg_psbt_rd *r, size_t n_in, bool *nonempty)
{
    for (size_t i = 0; i < n_in; i++) {
        uint64_t cnt = 0, len = 0;
        const uint8_t *b = NULL;
        if (!kg_psbt_rd_cs(r, &cnt) || cnt > r->len)
            return false;
        *nonempty |= cnt > 0;
        for (uint64_t k = 0; k < cnt; k++)
            if (!kg_psbt_rd_cs(r, &len) || len > r->len || !kg_psbt_rd_bytes(r, &b, (size_t)len))
                return false;
    }
    return true;
}

static kg_err scan_body(kg_psbt_txinfo *info, kg_psbt_rd *rp, const uint8_t *tx, size_t tx_len, bool witness_ok,
                        bool has_witness, const char *what);

kg_err kg_psbt_tx_scan(kg_psbt_txinfo *info, const uint8_t *tx, size_t tx_len, bool witness_ok, bool *has_witness)
{
    kg_psbt_rd r = { tx, tx_len, 0 };
    const char *what = witness_ok ? "previous transaction" : "unsigned transaction";
    memset(info, 0, sizeof *info);
    *has_witness = false;
    if (!kg_psbt_rd_u32(&r, &info->version))
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s is truncated", what);
    /* An unsigned tx is always read in the legacy form (as Bitcoin Core
     * does): 00 01 there is "no inputs, one output", not a segwit marker. */
    bool marker = tx_len - r.pos >= 2 && tx[r.pos] == 0x00 && tx[r.pos + 1] == 0x01;
    if (witness_ok && marker) {
        *has_witness = true;
        r.pos += 2;
    }
    kg_err e = scan_body(info, &r, tx, tx_len, witness_ok, *has_witness, what);
    if (e != KG_OK && !witness_ok && marker)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s uses the witness serialization; BIP174 requires the "
                          "legacy form with empty scriptSigs and witnesses", what);
    return e;
}

static kg_err scan_body(kg_psbt_txinfo *info, kg_psbt_rd *rp, const uint8_t *tx, size_t tx_len, bool witness_ok,
                        bool has_witness, const char *what)
{
    kg_psbt_rd r = *rp;
    uint64_t n = 0;
    if (!kg_psbt_rd_cs(&r, &n) || n > tx_len / 41)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s has a bad input count", what);
    info->n_in = (size_t)n;
    info->in_off = r.pos;
    for (size_t i = 0; i < info->n_in; i++) {
        kg_chain_psbt_in in;
        const uint8_t *ss = NULL;
        size_t ss_len = 0;
        if (!rd_txin(&r, &in, &ss, &ss_len))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s: input %zu is truncated", what, i);
        if (!witness_ok && ss_len != 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT unsigned transaction: input %zu has a scriptSig; "
                              "BIP174 requires empty scriptSigs (put signatures in the input map)", i);
    }
    if (!kg_psbt_rd_cs(&r, &n) || n > tx_len / 9)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s has a bad output count", what);
    info->n_out = (size_t)n;
    info->out_off = r.pos;
    for (size_t i = 0; i < info->n_out; i++) {
        kg_chain_psbt_out out;
        if (!rd_txout(&r, &out))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s: output %zu is truncated", what, i);
    }
    bool nonempty = false;
    if (has_witness && (!rd_witnesses(&r, info->n_in, &nonempty) || !nonempty))
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s has a malformed witness section", what);
    if (!kg_psbt_rd_u32(&r, &info->locktime) || r.pos != tx_len)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s: its length does not match its contents", what);
    if (info->n_in > KG_CHAIN_PSBT_MAX_IO || info->n_out > KG_CHAIN_PSBT_MAX_IO)
        return kg_err_set(KG_ERR_TOO_LARGE, "PSBT %s has more than %u inputs or outputs", what,
                          KG_CHAIN_PSBT_MAX_IO);
    return KG_OK;
}

bool kg_psbt_tx_in_at(kg_chain_psbt_in *in, const uint8_t **script_sig, size_t *script_sig_len,
                      const uint8_t *tx, size_t tx_len, const kg_psbt_txinfo *info, size_t i)
{
    kg_psbt_rd r = { tx, tx_len, info->in_off };
    if (i >= info->n_in)
        return false;
    for (size_t k = 0; k <= i; k++)
        if (!rd_txin(&r, in, script_sig, script_sig_len))
            return false;
    return true;
}

bool kg_psbt_tx_out_at(kg_chain_psbt_out *out, const uint8_t *tx, size_t tx_len, const kg_psbt_txinfo *info,
                       size_t i)
{
    kg_psbt_rd r = { tx, tx_len, info->out_off };
    if (i >= info->n_out)
        return false;
    for (size_t k = 0; k <= i; k++)
        if (!rd_txout(&r, out))
            return false;
    return true;
}

kg_err kg_psbt_txid(uint8_t txid[static 32], const uint8_t *tx, size_t tx_len)
{
    kg_psbt_txinfo ti;
    bool wit = false;
    kg_err e = kg_psbt_tx_scan(&ti, tx, tx_len, true, &wit);
    if (e != KG_OK)
        return e;
    /* The txid commits to the legacy form: version, inputs, outputs, locktime. */
    size_t body = ti.in_off - kg_psbt_cs_len(ti.n_in);
    kg_psbt_rd r = { tx, tx_len, ti.out_off };
    kg_chain_psbt_out o;
    for (size_t i = 0; i < ti.n_out; i++)
        if (!rd_txout(&r, &o))
            return kg_err_set(KG_ERR_INTERNAL, "txid: rescan failed");
    uint8_t h[32];
    kg_crypto_sha256_ctx c;
    kg_crypto_sha256_init(&c);
    kg_crypto_sha256_update(&c, tx, 4);
    kg_crypto_sha256_update(&c, tx + body, r.pos - body);
    kg_crypto_sha256_update(&c, tx + tx_len - 4, 4);
    kg_crypto_sha256_final(h, &c);
    kg_crypto_sha256(txid, h, 32);
    return KG_OK;
}

/* ------------------------------------------------------------- creator */

static kg_err alloc_maps(kg_chain_psbt *p, size_t n_in, size_t n_out)
{
    if (n_in > KG_CHAIN_PSBT_MAX_IO || n_out > KG_CHAIN_PSBT_MAX_IO)
        return kg_err_set(KG_ERR_TOO_LARGE, "a PSBT may have at most %u inputs and outputs", KG_CHAIN_PSBT_MAX_IO);
    p->in = kg_psbt_arena(p, (n_in ? n_in : 1) * sizeof *p->in);
    p->out = kg_psbt_arena(p, (n_out ? n_out : 1) * sizeof *p->out);
    if (p->in == NULL || p->out == NULL)
        return kg_err_set(KG_ERR_TOO_LARGE, "the PSBT arena (%zu bytes) is full; give it a larger arena",
                          p->arena_cap);
    memset(p->in, 0, (n_in ? n_in : 1) * sizeof *p->in);
    memset(p->out, 0, (n_out ? n_out : 1) * sizeof *p->out);
    p->n_in = n_in;
    p->n_out = n_out;
    return KG_OK;
}

kg_err kg_chain_psbt_create_v0(kg_chain_psbt *p, const uint8_t *unsigned_tx, size_t tx_len)
{
    kg_psbt_txinfo ti;
    bool wit = false;
    kg_chain_psbt_reset(p);
    kg_err e = kg_psbt_tx_scan(&ti, unsigned_tx, tx_len, false, &wit);
    if (e == KG_OK)
        e = kg_psbt_put(p, &p->global, KG_PSBT_GLOBAL_UNSIGNED_TX, NULL, 0, unsigned_tx, tx_len);
    if (e == KG_OK)
        e = alloc_maps(p, ti.n_in, ti.n_out);
    if (e != KG_OK)
        kg_chain_psbt_reset(p);
    return e;
}

static void le32(uint8_t b[4], uint32_t v)
{
    b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24);
}

static kg_err put_u32(kg_chain_psbt *p, kg_chain_psbt_map *m, uint8_t type, uint32_t v)
{
    uint8_t b[4];
    le32(b, v);
    return kg_psbt_put(p, m, type, NULL, 0, b, 4);
}

static kg_err put_cs(kg_chain_psbt *p, kg_chain_psbt_map *m, uint8_t type, uint64_t v)
{
    uint8_t b[9];
    kg_psbt_wr w = { b, sizeof b, 0 };
    kg_psbt_wr_cs(&w, v);
    return kg_psbt_put(p, m, type, NULL, 0, b, w.len);
}

/* The v2 per-input / per-output fields. */
static kg_err put_v2_in(kg_chain_psbt *p, size_t i, const kg_chain_psbt_in *in)
{
    kg_err e = kg_psbt_put(p, &p->in[i], KG_PSBT_IN_PREVIOUS_TXID, NULL, 0, in->txid, 32);
    if (e == KG_OK)
        e = put_u32(p, &p->in[i], KG_PSBT_IN_OUTPUT_INDEX, in->vout);
    if (e == KG_OK && in->sequence != 0xffffffffu)
        e = put_u32(p, &p->in[i], KG_PSBT_IN_SEQUENCE, in->sequence);
    return e;
}

static kg_err put_v2_out(kg_chain_psbt *p, size_t i, const kg_chain_psbt_out *out)
{
    uint8_t b[8];
    le32(b, (uint32_t)out->amount);
    le32(b + 4, (uint32_t)(out->amount >> 32));
    kg_err e = kg_psbt_put(p, &p->out[i], KG_PSBT_OUT_AMOUNT, NULL, 0, b, 8);
    if (e == KG_OK)
        e = kg_psbt_put(p, &p->out[i], KG_PSBT_OUT_SCRIPT, NULL, 0, out->script, out->script_len);
    return e;
}

static kg_err put_v2_globals(kg_chain_psbt *p, uint32_t tx_version, uint32_t locktime)
{
    kg_err e = put_u32(p, &p->global, KG_PSBT_GLOBAL_TX_VERSION, tx_version);
    if (e == KG_OK)
        e = put_u32(p, &p->global, KG_PSBT_GLOBAL_FALLBACK_LOCKTIME, locktime);
    if (e == KG_OK)
        e = put_cs(p, &p->global, KG_PSBT_GLOBAL_INPUT_COUNT, p->n_in);
    if (e == KG_OK)
        e = put_cs(p, &p->global, KG_PSBT_GLOBAL_OUTPUT_COUNT, p->n_out);
    if (e == KG_OK)
        e = put_u32(p, &p->global, KG_PSBT_GLOBAL_VERSION, 2);
    p->version = 2;
    return e;
}

kg_err kg_chain_psbt_create_v2(kg_chain_psbt *p, uint32_t tx_version, uint32_t fallback_locktime,
                               const kg_chain_psbt_in *ins, size_t n_in,
                               const kg_chain_psbt_out *outs, size_t n_out)
{
    kg_chain_psbt_reset(p);
    if ((n_in > 0 && ins == NULL) || (n_out > 0 && outs == NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT create: inputs or outputs missing");
    kg_err e = alloc_maps(p, n_in, n_out);
    if (e == KG_OK)
        e = put_v2_globals(p, tx_version, fallback_locktime);
    for (size_t i = 0; i < n_in && e == KG_OK; i++)
        e = put_v2_in(p, i, &ins[i]);
    for (size_t i = 0; i < n_out && e == KG_OK; i++) {
        if (outs[i].script == NULL && outs[i].script_len > 0)
            e = kg_err_set(KG_ERR_BAD_INPUT, "PSBT create: output %zu has no script", i);
        else
            e = put_v2_out(p, i, &outs[i]);
    }
    if (e != KG_OK)
        kg_chain_psbt_reset(p);
    return e;
}

/* ------------------------------------------------------------ tx view */

/* The unsigned tx of a v0 PSBT, scanned. */
static kg_err v0_tx(const kg_chain_psbt_kv **tx, kg_psbt_txinfo *ti, const kg_chain_psbt *p)
{
    bool wit = false;
    *tx = p->version == 0 ? kg_psbt_get(&p->global, KG_PSBT_GLOBAL_UNSIGNED_TX, NULL, 0) : NULL;
    if (*tx == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "the PSBT has no unsigned transaction");
    return kg_psbt_tx_scan(ti, (*tx)->val, (*tx)->val_len, false, &wit);
}

static bool map_u32(uint32_t *v, const kg_chain_psbt_map *m, uint8_t type)
{
    const kg_chain_psbt_kv *e = kg_psbt_get(m, type, NULL, 0);
    kg_psbt_rd r = { e ? e->val : NULL, e ? e->val_len : 0, 0 };
    return e != NULL && e->val_len == 4 && kg_psbt_rd_u32(&r, v);
}

kg_err kg_chain_psbt_tx_version(uint32_t *version, const kg_chain_psbt *p)
{
    *version = 0;
    if (p->version == 2)
        return map_u32(version, &p->global, KG_PSBT_GLOBAL_TX_VERSION)
                   ? KG_OK : kg_err_set(KG_ERR_BAD_INPUT, "the PSBT has no PSBT_GLOBAL_TX_VERSION");
    const kg_chain_psbt_kv *tx = NULL;
    kg_psbt_txinfo ti;
    kg_err e = v0_tx(&tx, &ti, p);
    if (e == KG_OK)
        *version = ti.version;
    return e;
}

kg_err kg_chain_psbt_tx_locktime(uint32_t *locktime, const kg_chain_psbt *p)
{
    *locktime = 0;
    if (p->version != 2) {
        const kg_chain_psbt_kv *tx = NULL;
        kg_psbt_txinfo ti;
        kg_err e = v0_tx(&tx, &ti, p);
        if (e == KG_OK)
            *locktime = ti.locktime;
        return e;
    }
    uint32_t max_h = 0, max_t = 0, v = 0;
    bool any = false, all_h = true, all_t = true;
    for (size_t i = 0; i < p->n_in; i++) {
        bool h = map_u32(&v, &p->in[i], KG_PSBT_IN_REQUIRED_HEIGHT_LOCKTIME);
        if (h && v > max_h)
            max_h = v;
        bool t = map_u32(&v, &p->in[i], KG_PSBT_IN_REQUIRED_TIME_LOCKTIME);
        if (t && v > max_t)
            max_t = v;
        if (h || t) {
            any = true;
            all_h &= h;
            all_t &= t;
        }
    }
    if (!any) {
        if (!map_u32(locktime, &p->global, KG_PSBT_GLOBAL_FALLBACK_LOCKTIME))
            *locktime = 0;
        return KG_OK;
    }
    if (all_h) {
        *locktime = max_h;
        return KG_OK;
    }
    if (all_t) {
        *locktime = max_t;
        return KG_OK;
    }
    return kg_err_set(KG_ERR_BAD_INPUT, "the PSBT's inputs require both a height and a time locktime; "
                      "no locktime satisfies them all (BIP370)");
}

kg_err kg_chain_psbt_tx_input(kg_chain_psbt_in *in, const kg_chain_psbt *p, size_t i)
{
    memset(in, 0, sizeof *in);
    if (i >= p->n_in)
        return kg_err_set(KG_ERR_BAD_INPUT, "the PSBT has no input %zu (it has %zu)", i, p->n_in);
    if (p->version == 2) {
        const kg_chain_psbt_kv *t = kg_psbt_get(&p->in[i], KG_PSBT_IN_PREVIOUS_TXID, NULL, 0);
        if (t == NULL || t->val_len != 32 || !map_u32(&in->vout, &p->in[i], KG_PSBT_IN_OUTPUT_INDEX))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu lacks its previous txid or output index", i);
        memcpy(in->txid, t->val, 32);
        if (!map_u32(&in->sequence, &p->in[i], KG_PSBT_IN_SEQUENCE))
            in->sequence = 0xffffffffu;
        return KG_OK;
    }
    const kg_chain_psbt_kv *tx = NULL;
    kg_psbt_txinfo ti;
    const uint8_t *ss = NULL;
    size_t ss_len = 0;
    kg_err e = v0_tx(&tx, &ti, p);
    if (e == KG_OK && !kg_psbt_tx_in_at(in, &ss, &ss_len, tx->val, tx->val_len, &ti, i))
        e = kg_err_set(KG_ERR_BAD_INPUT, "the PSBT's unsigned transaction has no input %zu", i);
    return e;
}

kg_err kg_chain_psbt_tx_output(kg_chain_psbt_out *out, const kg_chain_psbt *p, size_t i)
{
    memset(out, 0, sizeof *out);
    if (i >= p->n_out)
        return kg_err_set(KG_ERR_BAD_INPUT, "the PSBT has no output %zu (it has %zu)", i, p->n_out);
    if (p->version == 2) {
        const kg_chain_psbt_kv *a = kg_psbt_get(&p->out[i], KG_PSBT_OUT_AMOUNT, NULL, 0);
        const kg_chain_psbt_kv *s = kg_psbt_get(&p->out[i], KG_PSBT_OUT_SCRIPT, NULL, 0);
        kg_psbt_rd r = { a ? a->val : NULL, a ? a->val_len : 0, 0 };
        if (a == NULL || s == NULL || a->val_len != 8 || !kg_psbt_rd_u64(&r, &out->amount))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT output %zu lacks its amount or script", i);
        out->script = s->val;
        out->script_len = s->val_len;
        return KG_OK;
    }
    const kg_chain_psbt_kv *tx = NULL;
    kg_psbt_txinfo ti;
    kg_err e = v0_tx(&tx, &ti, p);
    if (e == KG_OK && !kg_psbt_tx_out_at(out, tx->val, tx->val_len, &ti, i))
        e = kg_err_set(KG_ERR_BAD_INPUT, "the PSBT's unsigned transaction has no output %zu", i);
    return e;
}

/* -------------------------------------------------- serialize the tx */

/* Write the transaction: scriptSigs and witnesses from the final fields
 * when final is set, empty otherwise (the unsigned tx). */
static kg_err write_tx(kg_psbt_wr *w, const kg_chain_psbt *p, bool final)
{
    uint32_t version = 0, locktime = 0;
    kg_err e = kg_chain_psbt_tx_version(&version, p);
    if (e == KG_OK)
        e = kg_chain_psbt_tx_locktime(&locktime, p);
    if (e != KG_OK)
        return e;
    bool wit = false;
    for (size_t i = 0; final && i < p->n_in; i++) {
        const kg_chain_psbt_kv *ss = kg_psbt_get(&p->in[i], KG_PSBT_IN_FINAL_SCRIPTSIG, NULL, 0);
        const kg_chain_psbt_kv *ws = kg_psbt_get(&p->in[i], KG_PSBT_IN_FINAL_SCRIPTWITNESS, NULL, 0);
        if (ss == NULL && ws == NULL)
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu is not finalized; run the finalizer "
                              "after every signature is present", i);
        wit |= ws != NULL;
    }
    kg_psbt_wr_u32(w, version);
    if (wit)
        kg_psbt_wr_bytes(w, "\x00\x01", 2);
    kg_psbt_wr_cs(w, p->n_in);
    for (size_t i = 0; i < p->n_in && e == KG_OK; i++) {
        kg_chain_psbt_in in;
        e = kg_chain_psbt_tx_input(&in, p, i);
        const kg_chain_psbt_kv *ss = final ? kg_psbt_get(&p->in[i], KG_PSBT_IN_FINAL_SCRIPTSIG, NULL, 0) : NULL;
        kg_psbt_wr_bytes(w, in.txid, 32);
        kg_psbt_wr_u32(w, in.vout);
        kg_psbt_wr_cs(w, ss ? ss->val_len : 0);
        if (ss)
            kg_psbt_wr_bytes(w, ss->val, ss->val_len);
        kg_psbt_wr_u32(w, in.sequence);
    }
    kg_psbt_wr_cs(w, p->n_out);
    for (size_t i = 0; i < p->n_out && e == KG_OK; i++) {
        kg_chain_psbt_out out;
        e = kg_chain_psbt_tx_output(&out, p, i);
        kg_psbt_wr_u64(w, out.amount);
        kg_psbt_wr_cs(w, out.script_len);
        kg_psbt_wr_bytes(w, out.script, out.script_len);
    }
    for (size_t i = 0; wit && i < p->n_in; i++) {
        const kg_chain_psbt_kv *ws = kg_psbt_get(&p->in[i], KG_PSBT_IN_FINAL_SCRIPTWITNESS, NULL, 0);
        if (ws)
            kg_psbt_wr_bytes(w, ws->val, ws->val_len);
        else
            kg_psbt_wr_bytes(w, "", 1);
    }
    kg_psbt_wr_u32(w, locktime);
    return e;
}

kg_err kg_chain_psbt_extract(uint8_t *out, size_t out_cap, size_t *out_len, const kg_chain_psbt *p)
{
    kg_psbt_wr w = { out, out ? out_cap : 0, 0 };
    kg_err e = write_tx(&w, p, true);
    *out_len = e == KG_OK ? w.len : 0;
    if (e == KG_OK && out != NULL && w.len > out_cap)
        e = kg_err_set(KG_ERR_TOO_LARGE, "the transaction needs %zu bytes; the buffer has %zu", w.len, out_cap);
    if (e != KG_OK && out != NULL)
        memset(out, 0, out_cap);
    return e;
}

/* ----------------------------------------------------------- convert */

static const uint8_t v2_only_global[] = { 0x02, 0x03, 0x04, 0x05, 0x06, 0xFB };
static const uint8_t v2_only_in[] = { 0x0E, 0x0F, 0x10, 0x11, 0x12 };
static const uint8_t v2_only_out[] = { 0x03, 0x04 };

static kg_err to_v0(kg_chain_psbt *p)
{
    kg_psbt_wr w = { NULL, 0, 0 };
    kg_err e = write_tx(&w, p, false);
    size_t used = p->arena_used;
    uint8_t *buf = e == KG_OK ? kg_psbt_arena(p, w.len) : NULL;
    if (e != KG_OK)
        return e;
    if (buf == NULL)
        return kg_err_set(KG_ERR_TOO_LARGE, "the PSBT arena is full; give it a larger arena");
    kg_psbt_wr w2 = { buf, w.len, 0 };
    e = write_tx(&w2, p, false);
    if (e == KG_OK)
        e = kg_psbt_put(p, &p->global, KG_PSBT_GLOBAL_UNSIGNED_TX, NULL, 0, buf, w.len);
    if (e != KG_OK) {
        p->arena_used = used;
        return e;
    }
    for (size_t k = 0; k < sizeof v2_only_global; k++)
        kg_chain_psbt_map_remove_type(&p->global, v2_only_global[k]);
    for (size_t i = 0; i < p->n_in; i++)
        for (size_t k = 0; k < sizeof v2_only_in; k++)
            kg_chain_psbt_map_remove_type(&p->in[i], v2_only_in[k]);
    for (size_t i = 0; i < p->n_out; i++)
        for (size_t k = 0; k < sizeof v2_only_out; k++)
            kg_chain_psbt_map_remove_type(&p->out[i], v2_only_out[k]);
    p->version = 0;
    return KG_OK;
}

static kg_err to_v2(kg_chain_psbt *p)
{
    uint32_t version = 0, locktime = 0;
    kg_err e = kg_chain_psbt_tx_version(&version, p);
    if (e == KG_OK)
        e = kg_chain_psbt_tx_locktime(&locktime, p);
    /* Read the view while still v0; the tx bytes stay in the arena. */
    for (size_t i = 0; i < p->n_in && e == KG_OK; i++) {
        kg_chain_psbt_in in;
        e = kg_chain_psbt_tx_input(&in, p, i);
        if (e == KG_OK)
            e = put_v2_in(p, i, &in);
    }
    for (size_t i = 0; i < p->n_out && e == KG_OK; i++) {
        kg_chain_psbt_out out;
        e = kg_chain_psbt_tx_output(&out, p, i);
        if (e == KG_OK)
            e = put_v2_out(p, i, &out);
    }
    if (e == KG_OK)
        e = put_v2_globals(p, version, locktime);
    if (e == KG_OK)
        kg_chain_psbt_map_remove_type(&p->global, KG_PSBT_GLOBAL_UNSIGNED_TX);
    return e;
}

kg_err kg_chain_psbt_convert(kg_chain_psbt *p, uint32_t to_version)
{
    if (to_version != 0 && to_version != 2)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT version %u is not supported (0 or 2)", (unsigned)to_version);
    if (p->version == to_version)
        return KG_OK;
    /* The only failures are an inconsistent v2 locktime (found before any
     * change) and a full arena; a half-converted PSBT is never returned:
     * on error p is emptied (parse it again with a larger arena). */
    kg_err e = to_version == 0 ? to_v0(p) : to_v2(p);
    if (e != KG_OK)
        kg_chain_psbt_reset(p);
    return e;
}
