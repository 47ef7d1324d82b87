/* Coin selection and size estimates.
 *
 * Sizes are kept in weight units (BIP141: non-witness bytes x4, witness
 * bytes x1) so that a P2TR input's 57.5 vbytes stays exact. Estimates
 * assume the worst-case 72-byte ECDSA signature (71-byte DER + sighash
 * byte; low-S, high-R) and 33-byte keys, so fees never come out short.
 *
 * Selection, in the order Bitcoin Core tries them:
 *  1. Branch and bound (Murch, "An Evaluation of Coin Selection
 *     Strategies", 2016): a depth-first search over UTXOs sorted by
 *     effective value (value minus the fee of spending it) for a set whose
 *     total lands in [target, target + cost of a change output]. Such a
 *     set needs no change output: less fee now and no small change coin.
 *  2. Largest first, with a change output; change that would be dust goes
 *     to the fee instead.
 * UTXOs that cost more to spend than they hold are never chosen.
 * Dust follows Core's GetDustThreshold at the 3 sat/vB dust relay fee. */
#include <stdlib.h>

#include "btc_int.h"

#define BNB_MAX_TRIES 100000

size_t kg_chain_btc_input_weight(kg_chain_btc_script_type type)
{
    switch (type) {
    case KG_CHAIN_BTC_P2PKH:       /* 41 + scriptSig 107 (push 72-byte sig, push 33-byte key) */
        return (41 + 107) * 4;
    case KG_CHAIN_BTC_P2WPKH:      /* 41 x4 + witness: count, 1+72, 1+33 */
        return 41 * 4 + 1 + 73 + 34;
    case KG_CHAIN_BTC_P2SH_P2WPKH: /* (41 + 23-byte scriptSig) x4 + the P2WPKH witness */
        return (41 + 23) * 4 + 1 + 73 + 34;
    case KG_CHAIN_BTC_P2TR:        /* 41 x4 + witness: count, 1+64 (SIGHASH_DEFAULT) */
        return 41 * 4 + 1 + 65;
    default:
        return 0;
    }
}

static size_t varint_len(uint64_t n)
{
    return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffffu ? 5 : 9;
}

size_t kg_chain_btc_output_weight(size_t spk_len)
{
    return (8 + varint_len(spk_len) + spk_len) * 4;
}

uint64_t kg_chain_btc_dust_limit(size_t spk_len, bool segwit_spk)
{
    size_t size = 8 + varint_len(spk_len) + spk_len;
    size += segwit_spk ? (32 + 4 + 1 + 107 / 4 + 4) : (32 + 4 + 1 + 107 + 4);
    return (uint64_t)size * 3000 / 1000;
}

static uint64_t fee_for_weight(size_t weight, uint64_t rate_kvb)
{
    uint64_t vsize = (weight + 3) / 4;
    return (vsize * rate_kvb + 999) / 1000;
}

static bool is_segwit_input(kg_chain_btc_script_type t)
{
    return t == KG_CHAIN_BTC_P2WPKH || t == KG_CHAIN_BTC_P2SH_P2WPKH || t == KG_CHAIN_BTC_P2TR;
}

/* Weight of the whole transaction for the chosen inputs and the outputs. */
static size_t tx_weight(const kg_chain_btc_coin_select_params *p, const size_t *sel, size_t nsel, bool change)
{
    size_t nout = p->output_count + (change ? 1 : 0);
    size_t w = (4 + 4 + varint_len(nsel) + varint_len(nout)) * 4;
    bool segwit = false;
    for (size_t i = 0; i < nsel; i++) {
        kg_chain_btc_script_type t = p->utxos[sel[i]].type;
        w += kg_chain_btc_input_weight(t);
        segwit |= is_segwit_input(t);
    }
    if (segwit) {  /* marker + flag, and an empty stack (one byte) per non-witness input */
        w += 2;
        for (size_t i = 0; i < nsel; i++)
            w += !is_segwit_input(p->utxos[sel[i]].type);
    }
    for (size_t i = 0; i < p->output_count; i++)
        w += kg_chain_btc_output_weight(p->outputs[i].script.len);
    if (change)
        w += kg_chain_btc_output_weight(p->change_script_len);
    return w;
}

typedef struct {
    uint64_t eff;       /* effective value: value minus the fee of spending it */
    size_t idx;         /* index into params->utxos */
} candidate;

static int cmp_eff(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->eff != y->eff)
        return x->eff < y->eff ? 1 : -1;   /* largest first */
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* stable order for equal values */
}

/* The spendable candidates, sorted; *n gets their count. */
static kg_err collect(candidate *c, size_t *n, const kg_chain_btc_coin_select_params *p)
{
    *n = 0;
    for (size_t i = 0; i < p->utxo_count; i++) {
        size_t w = kg_chain_btc_input_weight(p->utxos[i].type);
        if (w == 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "utxo %zu: cannot estimate the size of spending script type %d",
                              i, (int)p->utxos[i].type);
        if (p->utxos[i].value > KG_CHAIN_BTC_MAX_MONEY)
            return kg_err_set(KG_ERR_BAD_INPUT, "utxo %zu: value over 21 million BTC", i);
        uint64_t f = fee_for_weight(w, p->fee_rate_sat_kvb);
        if (p->utxos[i].value > f)
            c[(*n)++] = (candidate){ p->utxos[i].value - f, i };
    }
    qsort(c, *n, sizeof *c, cmp_eff);
    return KG_OK;
}

/* Branch and bound: true when a changeless set was found (written to sel as
 * candidate positions, *nsel its size). State arrays are n bools each. */
static bool bnb(size_t *sel, size_t *nsel, const candidate *c, size_t n, uint64_t target, uint64_t cost_of_change,
                bool *in, bool *best)
{
    uint64_t look = 0, cur = 0, best_excess = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        look += c[i].eff;
    size_t depth = 0;
    for (unsigned tries = 0; tries < BNB_MAX_TRIES; tries++) {
        bool back = cur + look < target || cur > target + cost_of_change;
        if (!back && cur >= target) {
            if (cur - target < best_excess) {
                best_excess = cur - target;
                memcpy(best, in, n * sizeof *in);
            }
            back = true;
        }
        if (back) {
            while (depth > 0 && !in[depth - 1]) {  /* step back over omitted coins */
                depth--;
                look += c[depth].eff;
            }
            if (depth == 0)
                break;                             /* the whole tree was explored */
            in[depth - 1] = false;                 /* omit the last included coin instead */
            cur -= c[depth - 1].eff;
            continue;
        }
        in[depth] = true;                          /* include the next coin */
        cur += c[depth].eff;
        look -= c[depth].eff;
        depth++;
    }
    *nsel = 0;
    if (best_excess == UINT64_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (best[i])
            sel[(*nsel)++] = c[i].idx;
    return true;
}

static kg_err check_params(uint64_t *out_total, const kg_chain_btc_coin_select_params *p)
{
    *out_total = 0;
    if (p->output_count == 0 || p->outputs == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "coin selection needs at least one output to pay");
    if (p->utxo_count > 0 && p->utxos == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "coin selection: no utxo array");
    if (p->change_script == NULL || p->change_script_len == 0 || p->change_script_len > KG_CHAIN_BTC_SPK_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "coin selection needs a change script (an address of the wallet)");
    if (p->fee_rate_sat_kvb > 100000000u)
        return kg_err_set(KG_ERR_BAD_INPUT, "fee rate of %llu sat/kvB is absurd (over 100000 sat/vB)",
                          (unsigned long long)p->fee_rate_sat_kvb);
    for (size_t i = 0; i < p->output_count; i++) {
        *out_total += p->outputs[i].value;
        if (p->outputs[i].value > KG_CHAIN_BTC_MAX_MONEY || *out_total > KG_CHAIN_BTC_MAX_MONEY)
            return kg_err_set(KG_ERR_BAD_INPUT, "outputs add up to more than 21 million BTC");
    }
    return KG_OK;
}

/* Fill out for the inputs in sel[0..nsel) (already in out->selected). */
static void finish(kg_chain_btc_coin_selection *out, const kg_chain_btc_coin_select_params *p, uint64_t out_total,
                   bool want_change, bool changeless)
{
    out->input_total = 0;
    for (size_t i = 0; i < out->selected_count; i++)
        out->input_total += p->utxos[out->selected[i]].value;
    size_t w_change = tx_weight(p, out->selected, out->selected_count, true);
    uint64_t fee_change = fee_for_weight(w_change, p->fee_rate_sat_kvb);
    bool segwit_change = p->change_script[0] == 0 || (p->change_script[0] >= 0x51 && p->change_script[0] <= 0x60);
    uint64_t dust = kg_chain_btc_dust_limit(p->change_script_len, segwit_change);
    out->change = 0;
    if (want_change && out->input_total >= out_total + fee_change + dust)
        out->change = out->input_total - out_total - fee_change;
    out->fee = out->input_total - out_total - out->change;
    out->vsize = (tx_weight(p, out->selected, out->selected_count, out->change > 0) + 3) / 4;
    out->changeless = changeless;
}

/* Largest first until the set pays target (with change, or without when the excess is too small for one). */
static bool largest_first(kg_chain_btc_coin_selection *out, const candidate *c, size_t n,
                          const kg_chain_btc_coin_select_params *p, uint64_t out_total)
{
    for (size_t k = 1; k <= n; k++) {
        out->selected[k - 1] = c[k - 1].idx;
        out->selected_count = k;
        uint64_t in_total = 0;
        for (size_t i = 0; i < k; i++)
            in_total += p->utxos[out->selected[i]].value;
        uint64_t fee = fee_for_weight(tx_weight(p, out->selected, k, false), p->fee_rate_sat_kvb);
        if (in_total >= out_total + fee)
            return true;
    }
    return false;
}

kg_err kg_chain_btc_coin_select(kg_chain_btc_coin_selection *out, const kg_chain_btc_coin_select_params *params)
{
    size_t *selected = out->selected;
    memset(out, 0, sizeof *out);
    out->selected = selected;
    const kg_chain_btc_coin_select_params *p = params;
    uint64_t out_total = 0;
    kg_err e = check_params(&out_total, p);
    if (e != KG_OK)
        return e;
    if (selected == NULL && p->utxo_count > 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "coin selection: out->selected must have room for every utxo");
    candidate *c = calloc(p->utxo_count + 1, sizeof *c);
    bool *in = calloc(2 * (p->utxo_count + 1), sizeof *in);
    size_t n = 0;
    if (c == NULL || in == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory for coin selection");
    if (e == KG_OK)
        e = collect(c, &n, p);
    if (e == KG_OK) {
        /* BnB target: payments plus the fee of everything but the inputs. */
        uint64_t fixed_fee = fee_for_weight(tx_weight(p, NULL, 0, false) + 2, p->fee_rate_sat_kvb);
        uint64_t change_out_fee = fee_for_weight(kg_chain_btc_output_weight(p->change_script_len), p->fee_rate_sat_kvb);
        uint64_t change_spend_fee = fee_for_weight(kg_chain_btc_input_weight(KG_CHAIN_BTC_P2WPKH), p->fee_rate_sat_kvb);
        size_t nsel = 0;
        if (bnb(out->selected, &nsel, c, n, out_total + fixed_fee, change_out_fee + change_spend_fee,
                in, in + p->utxo_count + 1)) {
            out->selected_count = nsel;
            finish(out, p, out_total, false, true);
        } else if (largest_first(out, c, n, p, out_total)) {
            finish(out, p, out_total, true, false);
        } else {
            uint64_t have = 0;
            for (size_t i = 0; i < p->utxo_count; i++)
                have += p->utxos[i].value;
            size_t all_w = tx_weight(p, out->selected, out->selected_count, false);
            uint64_t fee = fee_for_weight(all_w, p->fee_rate_sat_kvb);
            uint64_t need = out_total + fee;
            e = kg_err_set(KG_ERR_BAD_INPUT, "insufficient funds: need %llu sat (%llu to pay + about %llu fee at %llu sat/kvB), "
                           "have %llu sat in %zu usable of %zu utxos; short by %llu sat",
                           (unsigned long long)need, (unsigned long long)out_total, (unsigned long long)fee,
                           (unsigned long long)p->fee_rate_sat_kvb, (unsigned long long)have, n, p->utxo_count,
                           (unsigned long long)(need > have ? need - have : need - out->input_total));
        }
    }
    free(c);
    free(in);
    if (e != KG_OK) {
        memset(out, 0, sizeof *out);
        out->selected = selected;
    }
    return e;
}

kg_err kg_chain_btc_tx_from_selection(kg_chain_btc_tx *tx, const kg_chain_btc_coin_selection *sel,
                                      const kg_chain_btc_coin_select_params *params, bool rbf)
{
    tx->input_count = tx->output_count = 0;
    kg_err e = KG_OK;
    for (size_t i = 0; i < sel->selected_count && e == KG_OK; i++) {
        const kg_chain_btc_utxo *u = &params->utxos[sel->selected[i]];
        e = kg_chain_btc_tx_add_input(tx, u->txid, u->vout, rbf ? KG_CHAIN_BTC_SEQUENCE_RBF : 0xfffffffeu);
    }
    for (size_t i = 0; i < params->output_count && e == KG_OK; i++)
        e = kg_chain_btc_tx_add_output(tx, params->outputs[i].value, params->outputs[i].script.data,
                                       params->outputs[i].script.len);
    if (e == KG_OK && sel->change > 0)
        e = kg_chain_btc_tx_add_output(tx, sel->change, params->change_script, params->change_script_len);
    if (e != KG_OK)
        tx->input_count = tx->output_count = 0;
    return e;
}
