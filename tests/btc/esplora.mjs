// A small Esplora-compatible regtest node: the test peer of
// `kashguard wallet balance|send --chain btc` (tests/e2e/test_wallet_btc_send.sh).
//
// No real Bitcoin node can be installed on the test machines (DESIGN.md), so
// this stands in for bitcoind + electrs. It serves the subset of the Esplora
// REST API (github.com/Blockstream/esplora/blob/master/API.md) that wallets
// use, over a UTXO set it is given at start, and it accepts transactions the
// way a node's mempool does, using an implementation we did not write
// (@scure/btc-signer for parsing and sighashes, @noble/curves for ECDSA and
// BIP340 verification):
//   - the raw tx must parse (scure), with no trailing bytes, version 1..3,
//     locktime not in the future;
//   - every input spends a known output that nothing else spends (confirmed
//     UTXO set or an output of a mempool tx: chained mempool spends work), no
//     input twice; replacement (BIP125 RBF) is NOT implemented: a conflict is
//     refused with txn-mempool-conflict;
//   - every input's script is satisfied: P2WPKH and P2SH-P2WPKH (BIP143
//     sighash, strict DER, low-S ECDSA, key hashes to the program), P2PKH
//     (legacy sighash), P2TR key path (BIP341 sighash over all prevouts,
//     BIP340 signature against the output key); anything else is refused;
//   - every output is standard and not dust (Bitcoin Core's thresholds at
//     3 sat/vB), and sum(in) >= sum(out) + min relay fee (1 sat/vB default)
//     over the vsize (BIP141 weight / 4, rounded up);
// then the inputs are marked spent and the outputs become (mempool) UTXOs.
// Errors are HTTP 400 with bitcoind's text, as electrs relays them:
//   sendrawtransaction RPC error: {"code":-26,"message":"min relay fee not met, 100 < 141"}
//
// Usage: node esplora.mjs [--network regtest|testnet|signet|mainnet] [--port N]
//          [--fee-estimates JSON] [--min-relay SAT_PER_VB] [--fund ADDRESS:SATS]...
// Prints one JSON line once listening: {"url":"http://127.0.0.1:PORT/api",
// "funded":[{address,txid,vout,value}]}; each --fund is one confirmed
// transaction (height 100) paying SATS to ADDRESS. Runs until killed.
//
// Endpoints (below /api): GET /address/:a, /address/:a/utxo, /fee-estimates,
// /tx/:txid, /tx/:txid/hex, /tx/:txid/status, /mempool, /mempool/txids,
// /blocks/tip/height; POST /tx. Test hooks that Esplora does not have:
// POST /regtest/mine (confirms the mempool in one block) and GET
// /regtest/stats ({posts, accepted, rejected}).
import http from 'node:http';
import * as btc from '@scure/btc-signer';
import { hex } from '@scure/base';
import { secp256k1, schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ripemd160 } from '@noble/hashes/legacy.js';

const NETS = {
    mainnet: btc.NETWORK,
    testnet: btc.TEST_NETWORK,
    signet: btc.TEST_NETWORK,
    regtest: { ...btc.TEST_NETWORK, bech32: 'bcrt' },
};
const opts = { network: 'regtest', port: 0, fees: { 1: 5.0, 3: 3.0, 6: 2.0, 144: 1.0 }, minRelay: 1, fund: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--network' && NETS[v]) opts.network = v;
    else if (argv[i] === '--port') opts.port = Number(v);
    else if (argv[i] === '--fee-estimates') opts.fees = JSON.parse(v);
    else if (argv[i] === '--min-relay') opts.minRelay = Number(v);
    else if (argv[i] === '--fund' && /^[A-Za-z0-9]+:[0-9]+$/.test(v || '')) opts.fund.push(v.split(':'));
    else {
        process.stderr.write(`esplora.mjs: bad argument ${argv[i]}\n`);
        process.exit(2);
    }
    i++;
}
const NET = NETS[opts.network];
const ADDR = btc.Address(NET);
const hash160 = (b) => ripemd160(sha256(b));
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const key = (txid, vout) => `${txid}:${vout}`;

// State. outs: every output ever created (spent ones too, for address
// stats); txs: every accepted tx; mempool: txids not yet mined.
let height = 100;
const outs = new Map();  // "txid:vout" -> {txid, vout, value (bigint), script, height|null, spentBy|null}
const txs = new Map();   // txid -> {hex, tx, height|null, fee, vsize, inputs:[keys]}
const mempool = [];
const stats = { posts: 0, accepted: 0, rejected: 0 };

function addrScript(a) {
    return btc.OutScript.encode(ADDR.decode(a)); // throws on a bad or foreign address
}
function scriptAddr(s) {
    try { return ADDR.encode(btc.OutScript.decode(s)); } catch { return undefined; }
}

// Funding: one confirmed tx per --fund, spending a fake coinbase outpoint.
const funded = [];
opts.fund.forEach(([address, sats], n) => {
    const script = addrScript(address);
    const raw = btc.RawTx.encode({
        version: 2, segwitFlag: false, lockTime: 0, witnesses: [],
        inputs: [{ txid: new Uint8Array(32).fill(n + 1), index: 0, finalScriptSig: new Uint8Array([0x51]), sequence: 0xffffffff }],
        outputs: [{ amount: BigInt(sats), script }],
    });
    const tx = btc.Transaction.fromRaw(raw, { allowUnknownInputs: true, allowUnknownOutputs: true, disableScriptCheck: true });
    const txid = tx.id;
    txs.set(txid, { hex: hex.encode(raw), tx, height: 100, fee: 0n, vsize: raw.length, inputs: [] });
    outs.set(key(txid, 0), { txid, vout: 0, value: BigInt(sats), script, height: 100, spentBy: null });
    funded.push({ address, txid, vout: 0, value: Number(sats) });
});
height = 101;

class Reject extends Error {
    constructor(code, message) { super(message); this.code = code; }
}
const reject = (code, message) => { throw new Reject(code, message); };

// Bitcoin Core's dust threshold (3 sat/vB dust relay fee, GetDustThreshold).
function dustLimit(script) {
    const t = btc.OutScript.decode(script).type;
    if (t === 'unknown' && script[0] === 0x6a) return 0n; // OP_RETURN
    const spendSize = ['wpkh', 'wsh', 'tr'].includes(t) ? 32 + 4 + 1 + 26 + 4 : 32 + 4 + 1 + 107 + 4;
    const outSize = 8 + 1 + script.length;
    return BigInt(3 * (outSize + spendSize));
}

function checkEcdsa(tx, idx, sigH, pub, msgOf) {
    if (sigH.length < 9 || pub.length !== 33 || (pub[0] !== 2 && pub[0] !== 3))
        reject(-26, `mandatory-script-verify-flag-failed (input ${idx}: bad signature or non-compressed key)`);
    const hashType = sigH[sigH.length - 1];
    const msg = msgOf(hashType);
    let ok = false;
    try {
        ok = secp256k1.verify(sigH.subarray(0, -1), msg, pub, { prehash: false, format: 'der', lowS: true });
    } catch { ok = false; }
    if (!ok) reject(-26, `mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation) (input ${idx})`);
}

// Script checks of input idx spending prev (BIP143 / legacy / BIP341).
function verifyInput(tx, idx, prev, prevs) {
    const inp = tx.getInput(idx);
    const wit = inp.finalScriptWitness || [];
    const ss = inp.finalScriptSig || new Uint8Array(0);
    const t = btc.OutScript.decode(prev.script);
    const p2pkhOf = (pub) => btc.OutScript.encode({ type: 'pkh', hash: hash160(pub) });
    if (t.type === 'wpkh' || t.type === 'sh') {
        let program = t.hash;
        if (t.type === 'sh') {
            const items = btc.Script.decode(ss);
            const redeem = items.length === 1 && items[0] instanceof Uint8Array ? items[0] : null;
            if (!redeem || !eq(hash160(redeem), t.hash) || redeem.length !== 22 || redeem[0] !== 0 || redeem[1] !== 20)
                reject(-26, `mandatory-script-verify-flag-failed (input ${idx}: P2SH scriptSig is not the P2WPKH redeem script)`);
            program = redeem.subarray(2);
        } else if (ss.length) reject(-26, `non-mandatory-script-verify-flag (input ${idx}: P2WPKH with a scriptSig)`);
        if (wit.length !== 2) reject(-26, `mandatory-script-verify-flag-failed (input ${idx}: witness has ${wit.length} items, P2WPKH needs 2)`);
        if (!eq(hash160(wit[1]), program)) reject(-26, `mandatory-script-verify-flag-failed (input ${idx}: Witness program hash mismatch)`);
        checkEcdsa(tx, idx, wit[0], wit[1], (ht) => tx.preimageWitnessV0(idx, p2pkhOf(wit[1]), ht, prev.value));
        return t.type === 'sh' ? 'p2sh-p2wpkh' : 'p2wpkh';
    }
    if (t.type === 'pkh') {
        if (wit.length) reject(-26, `non-mandatory-script-verify-flag (input ${idx}: P2PKH with a witness)`);
        const items = btc.Script.decode(ss);
        if (items.length !== 2 || !(items[0] instanceof Uint8Array) || !(items[1] instanceof Uint8Array))
            reject(-26, `mandatory-script-verify-flag-failed (input ${idx}: P2PKH scriptSig must push <sig> <pubkey>)`);
        if (!eq(hash160(items[1]), t.hash)) reject(-26, `mandatory-script-verify-flag-failed (input ${idx}: Script failed an OP_EQUALVERIFY operation)`);
        checkEcdsa(tx, idx, items[0], items[1], (ht) => tx.preimageLegacy(idx, prev.script, ht));
        return 'p2pkh';
    }
    if (t.type === 'tr') {
        if (ss.length) reject(-26, `non-mandatory-script-verify-flag (input ${idx}: P2TR with a scriptSig)`);
        if (wit.length !== 1) reject(-26, `mandatory-script-verify-flag-failed (input ${idx}: only key-path spends (one witness item) are accepted here)`);
        const sig = wit[0];
        if (sig.length !== 64 && !(sig.length === 65 && sig[64] !== 0))
            reject(-26, `mandatory-script-verify-flag-failed (input ${idx}: Invalid Schnorr signature size)`);
        const ht = sig.length === 65 ? sig[64] : 0;
        let ok = false;
        try {
            const msg = tx.preimageWitnessV1(idx, prevs.map((p) => p.script), ht, prevs.map((p) => p.value));
            ok = schnorr.verify(sig.subarray(0, 64), msg, t.pubkey);
        } catch { ok = false; }
        if (!ok) reject(-26, `mandatory-script-verify-flag-failed (Invalid Schnorr signature) (input ${idx})`);
        return 'p2tr';
    }
    return reject(-26, `input ${idx} spends a ${t.type} output, which this test node does not verify`);
}

// Mempool acceptance (see the file comment); returns the accepted record.
function accept(body) {
    const h = body.trim();
    let raw, tx;
    try {
        if (!/^([0-9a-fA-F]{2})+$/.test(h)) throw new Error('not hex');
        raw = hex.decode(h.toLowerCase());
        tx = btc.Transaction.fromRaw(raw, { allowUnknownInputs: true, allowUnknownOutputs: true, disableScriptCheck: true });
        const again = tx.toBytes(true, tx.hasWitnesses);
        if (!eq(again, raw)) throw new Error('not canonical');
    } catch { reject(-22, 'TX decode failed'); }
    const txid = tx.id;
    if (txs.has(txid)) reject(-27, txs.get(txid).height ? 'Transaction already in block chain' : 'txn-already-in-mempool');
    if (tx.version < 1 || tx.version > 3) reject(-26, 'version');
    if (tx.lockTime >= height && tx.lockTime < 500000000) reject(-26, 'non-final');
    if (tx.inputsLength === 0 || tx.outputsLength === 0) reject(-26, 'bad-txns-vin-empty');
    const keys = [], prevs = [];
    for (let i = 0; i < tx.inputsLength; i++) {
        const inp = tx.getInput(i);
        const k = key(hex.encode(inp.txid), inp.index);
        if (keys.includes(k)) reject(-26, 'bad-txns-inputs-duplicate');
        const prev = outs.get(k);
        if (!prev) reject(-25, 'bad-txns-inputs-missingorspent');
        if (prev.spentBy) reject(-26, txs.get(prev.spentBy).height ? 'bad-txns-inputs-missingorspent' : 'txn-mempool-conflict');
        keys.push(k);
        prevs.push(prev);
    }
    const kinds = prevs.map((p, i) => verifyInput(tx, i, p, prevs));
    let sumIn = 0n, sumOut = 0n;
    for (const p of prevs) sumIn += p.value;
    for (let i = 0; i < tx.outputsLength; i++) {
        const o = tx.getOutput(i);
        const t = btc.OutScript.decode(o.script).type;
        if (t === 'unknown' && o.script[0] !== 0x6a) reject(-26, 'scriptpubkey');
        if (o.amount < dustLimit(o.script)) reject(-26, 'dust');
        sumOut += o.amount;
    }
    if (sumIn < sumOut) reject(-25, `bad-txns-in-belowout, value in (${sumIn}) < value out (${sumOut})`);
    const base = tx.toBytes(true, false).length;
    const vsize = Math.ceil((base * 3 + raw.length) / 4);
    const fee = sumIn - sumOut;
    const need = BigInt(Math.ceil(opts.minRelay * vsize));
    if (fee < need) reject(-26, `min relay fee not met, ${fee} < ${need}`);
    // accepted: spend the inputs, add the outputs
    for (const k of keys) outs.get(k).spentBy = txid;
    for (let i = 0; i < tx.outputsLength; i++) {
        const o = tx.getOutput(i);
        outs.set(key(txid, i), { txid, vout: i, value: o.amount, script: o.script, height: null, spentBy: null });
    }
    const rec = { hex: hex.encode(raw), tx, height: null, fee, vsize, inputs: keys, kinds };
    txs.set(txid, rec);
    mempool.push(txid);
    return txid;
}

// Esplora's chain_stats / mempool_stats of one scriptPubKey.
function addressStats(script) {
    const s = () => ({ funded_txo_count: 0, funded_txo_sum: 0n, spent_txo_count: 0, spent_txo_sum: 0n, txs: new Set() });
    const chain = s(), mem = s();
    for (const o of outs.values()) {
        if (!eq(o.script, script)) continue;
        const f = o.height !== null ? chain : mem;
        f.funded_txo_count++;
        f.funded_txo_sum += o.value;
        f.txs.add(o.txid);
        if (o.spentBy) {
            const g = txs.get(o.spentBy).height !== null ? chain : mem;
            g.spent_txo_count++;
            g.spent_txo_sum += o.value;
            g.txs.add(o.spentBy);
        }
    }
    const fin = ({ txs: t, ...r }) => ({ ...r, funded_txo_sum: Number(r.funded_txo_sum), spent_txo_sum: Number(r.spent_txo_sum), tx_count: t.size });
    return { chain_stats: fin(chain), mempool_stats: fin(mem) };
}

const status = (height_) => (height_ !== null
    ? { confirmed: true, block_height: height_, block_hash: hex.encode(sha256(new Uint8Array([height_ & 255, height_ >> 8]))), block_time: 1700000000 + height_ * 600 }
    : { confirmed: false });

function txJson(txid) {
    const r = txs.get(txid), tx = r.tx;
    const vin = [];
    for (let i = 0; i < tx.inputsLength; i++) {
        const inp = tx.getInput(i), p = outs.get(key(hex.encode(inp.txid), inp.index));
        vin.push({ txid: hex.encode(inp.txid), vout: inp.index, sequence: inp.sequence,
            prevout: p ? { scriptpubkey: hex.encode(p.script), scriptpubkey_address: scriptAddr(p.script), value: Number(p.value) } : null,
            witness: (inp.finalScriptWitness || []).map((w) => hex.encode(w)) });
    }
    const vout = [];
    for (let i = 0; i < tx.outputsLength; i++) {
        const o = tx.getOutput(i);
        vout.push({ scriptpubkey: hex.encode(o.script), scriptpubkey_address: scriptAddr(o.script), value: Number(o.amount) });
    }
    return { txid, version: tx.version, locktime: tx.lockTime, vin, vout, size: r.hex.length / 2, weight: r.vsize * 4,
        fee: Number(r.fee), status: status(r.height) };
}

function route(method, path, body) {
    let m;
    if (method === 'POST' && path === '/tx') {
        stats.posts++;
        try {
            const txid = accept(body);
            stats.accepted++;
            return [200, txid, 'text/plain'];
        } catch (e) {
            if (!(e instanceof Reject)) throw e;
            stats.rejected++;
            return [400, `sendrawtransaction RPC error: ${JSON.stringify({ code: e.code, message: e.message })}`, 'text/plain'];
        }
    }
    if (method === 'POST' && path === '/regtest/mine') {
        height++;
        for (const t of mempool.splice(0)) txs.get(t).height = height;
        for (const o of outs.values()) if (o.height === null) o.height = height;
        return [200, String(height), 'text/plain'];
    }
    if (method !== 'GET') return [405, 'Method not allowed', 'text/plain'];
    if (path === '/fee-estimates') return [200, opts.fees];
    if (path === '/blocks/tip/height') return [200, String(height), 'text/plain'];
    if (path === '/regtest/stats') return [200, { ...stats, mempool: mempool.length, height }];
    if (path === '/mempool/txids') return [200, mempool];
    if (path === '/mempool') {
        const recs = mempool.map((t) => txs.get(t));
        return [200, { count: recs.length, vsize: recs.reduce((a, r) => a + r.vsize, 0),
            total_fee: Number(recs.reduce((a, r) => a + r.fee, 0n)), fee_histogram: [] }];
    }
    if ((m = path.match(/^\/address\/([A-Za-z0-9]+)(\/utxo)?$/))) {
        let script;
        try { script = addrScript(m[1]); } catch { return [400, 'Invalid Bitcoin address', 'text/plain']; }
        if (!m[2]) return [200, { address: m[1], ...addressStats(script) }];
        const list = [...outs.values()].filter((o) => !o.spentBy && eq(o.script, script))
            .map((o) => ({ txid: o.txid, vout: o.vout, status: status(o.height), value: Number(o.value) }));
        return [200, list];
    }
    if ((m = path.match(/^\/tx\/([0-9a-f]{64})(\/status|\/hex)?$/))) {
        const r = txs.get(m[1]);
        if (!r) return [404, 'Transaction not found', 'text/plain'];
        if (m[2] === '/status') return [200, status(r.height)];
        if (m[2] === '/hex') return [200, r.hex, 'text/plain'];
        return [200, txJson(m[1])];
    }
    return [404, 'Not found', 'text/plain'];
}

const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => {
        body += d;
        if (body.length > 8_000_000) req.destroy();
    });
    req.on('end', () => {
        const url = new URL(req.url, 'http://x');
        let out;
        if (!url.pathname.startsWith('/api/')) out = [404, 'Not found (the API is under /api)', 'text/plain'];
        else {
            try { out = route(req.method, url.pathname.slice(4), body); } catch (e) { out = [500, `internal error: ${e.message}`, 'text/plain']; }
        }
        const [code, data, type] = out;
        const text = type ? data : JSON.stringify(data);
        res.writeHead(code, { 'Content-Type': type || 'application/json' });
        res.end(text);
    });
});
server.listen(opts.port, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}/api`, funded }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
