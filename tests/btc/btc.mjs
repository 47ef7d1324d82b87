// Independent Bitcoin reference for tests/e2e/test_wallet_btc.sh.
//
// @scure/bip39 + @scure/bip32 derive the keys of a BIP39 mnemonic and
// @scure/btc-signer builds, verifies, finalizes and extracts PSBTs, so that
// KashGuard's addresses (BIP44/49/84/86) and PSBT signatures (BIP174/371,
// BIP143 and BIP341 sighashes) are checked against code we did not write.
//
// Usage (one JSON object on stdout; exit 0 ok, 1 check failed, 2 usage):
//   node btc.mjs addresses MNEMONIC_FILE [INDEX]
//       -> {fingerprint, index, mainnet:{p2wpkh,p2tr,"p2sh-p2wpkh",p2pkh}, testnet:{...}, regtest:{...}}
//   node btc.mjs make-psbt MNEMONIC_FILE NETWORK(mainnet|testnet|signet|regtest)
//       -> {psbt (base64), fingerprint, inputs:[{type,path,address,amount}], fee}
//          a PSBT v0 spending fake UTXOs of the wallet: P2WPKH (m/84'/c'/0'/0/0),
//          P2TR key path (m/86'/c'/0'/0/1, tapInternalKey + tapBip32Derivation),
//          P2SH-P2WPKH (m/49'/c'/0'/0/2, redeemScript) and P2PKH (m/44'/c'/0'/0/3,
//          nonWitnessUtxo), each with its bip32Derivation (master fingerprint + path)
//   node btc.mjs finalize PSBT_B64|-
//       -> {verified:[type...], txid, hex}: verifies every signature against
//          scure's own sighash (ECDSA: BIP143 / legacy; Schnorr: BIP341), then
//          finalizes and extracts; exit 1 if any input is unsigned or invalid
//   node btc.mjs extract PSBT_B64 -> {txid, hex} of an already finalized PSBT
//       (exit 1 if any input is not final)
//   node btc.mjs verify-tx RAWHEX PSBT_B64
//       -> {verified:[type...], txid}: a final network tx (e.g. what `psbt sign
//          --extract` printed) spends the PSBT's inputs with valid signatures
//          in its scriptSigs/witnesses, pays the PSBT's outputs, same txid
//   node btc.mjs fingerprint MNEMONIC_FILE -> {fingerprint} (8 hex digits)
// The mnemonic's BIP39 passphrase is "" unless $BTC_BIP39_PASSPHRASE is set.
import { readFileSync } from 'node:fs';
import { mnemonicToSeedSync } from '@scure/bip39';
import { HDKey } from '@scure/bip32';
import * as btc from '@scure/btc-signer';
import { hex } from '@scure/base';
import { secp256k1, schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ripemd160 } from '@noble/hashes/legacy.js';

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const die = (code, msg, extra = {}) => {
    process.stderr.write(msg + '\n');
    out({ error: msg, ...extra });
    process.exit(code);
};
const usage = () => die(2, 'usage: btc.mjs addresses FILE [INDEX] | make-psbt FILE NETWORK | finalize PSBT_B64|- | extract PSBT_B64 | verify-tx RAWHEX PSBT_B64 | fingerprint FILE');

function root(file) {
    const words = readFileSync(file, 'utf8').trim().split(/\s+/).join(' ');
    return HDKey.fromMasterSeed(mnemonicToSeedSync(words, process.env.BTC_BIP39_PASSPHRASE || ''));
}
const fp8 = (n) => n.toString(16).padStart(8, '0');
// Bitcoin Core's regtest: testnet's version bytes with the "bcrt" HRP.
const REGTEST = { ...btc.TEST_NETWORK, bech32: 'bcrt' };
const netOf = (name) => {
    if (name === 'mainnet') return btc.NETWORK;
    if (name === 'testnet' || name === 'signet') return btc.TEST_NETWORK;
    if (name === 'regtest') return REGTEST;
    return usage();
};
const coin = (name) => (name === 'mainnet' ? 0 : 1);
const H = 0x80000000;
const pathArr = (purpose, c, index) => [purpose + H, c + H, H, 0, index];
const pathStr = (a) => 'm/' + a.map((x) => (x >= H ? `${x - H}'` : `${x}`)).join('/');

// The four standard scripts of index `index` on network `name`.
function payments(r, name, index) {
    const net = netOf(name), c = coin(name);
    const k84 = r.derive(pathStr(pathArr(84, c, index)));
    const k86 = r.derive(pathStr(pathArr(86, c, index)));
    const k49 = r.derive(pathStr(pathArr(49, c, index)));
    const k44 = r.derive(pathStr(pathArr(44, c, index)));
    return {
        p2wpkh: { key: k84, path: pathArr(84, c, index), pay: btc.p2wpkh(k84.publicKey, net) },
        p2tr: { key: k86, path: pathArr(86, c, index), pay: btc.p2tr(k86.publicKey.subarray(1), undefined, net) },
        'p2sh-p2wpkh': { key: k49, path: pathArr(49, c, index), pay: btc.p2sh(btc.p2wpkh(k49.publicKey, net), net) },
        p2pkh: { key: k44, path: pathArr(44, c, index), pay: btc.p2pkh(k44.publicKey, net) },
    };
}

function cmdAddresses(file, index) {
    const r = root(file);
    const res = { fingerprint: fp8(r.fingerprint), index };
    for (const n of ['mainnet', 'testnet', 'regtest']) {
        const p = payments(r, n, index);
        res[n] = Object.fromEntries(Object.entries(p).map(([t, v]) => [t, v.pay.address]));
    }
    out(res);
}

// A previous transaction paying `amount` to `script`, for a nonWitnessUtxo.
function fakePrevTx(script, amount, seedByte) {
    return btc.RawTx.encode({
        version: 2, segwitFlag: false, lockTime: 0, witnesses: [],
        inputs: [{ txid: new Uint8Array(32).fill(seedByte), index: 0, finalScriptSig: new Uint8Array(0), sequence: 0xffffffff }],
        outputs: [{ amount, script }],
    });
}

function cmdMakePsbt(file, name) {
    const r = root(file), net = netOf(name);
    const fp = r.fingerprint;
    const tx = new btc.Transaction({ version: 2 });
    const inputs = [];
    const spend = [
        ['p2wpkh', 0, 50_000n], ['p2tr', 1, 70_000n], ['p2sh-p2wpkh', 2, 30_000n], ['p2pkh', 3, 20_000n],
    ];
    spend.forEach(([type, index, amount], n) => {
        const p = payments(r, name, index)[type];
        const fakeTxid = new Uint8Array(32).fill(0x11 * (n + 1));
        const inp = { index: n, sequence: 0xfffffffd };
        if (type === 'p2pkh') {
            const prev = fakePrevTx(p.pay.script, amount, 0xa0 + n);
            inp.nonWitnessUtxo = prev;
            inp.txid = btc.Transaction.fromRaw(prev).id;
            inp.index = 0;
        } else {
            inp.txid = fakeTxid;
            inp.witnessUtxo = { script: p.pay.script, amount };
        }
        if (type === 'p2tr') {
            const x = p.key.publicKey.subarray(1);
            inp.tapInternalKey = x;
            inp.tapBip32Derivation = [[x, { hashes: [], der: { fingerprint: fp, path: p.path } }]];
        } else {
            inp.bip32Derivation = [[p.key.publicKey, { fingerprint: fp, path: p.path }]];
        }
        if (type === 'p2sh-p2wpkh') inp.redeemScript = p.pay.redeemScript;
        tx.addInput(inp);
        inputs.push({ type, path: pathStr(p.path), address: p.pay.address, amount: amount.toString() });
    });
    // Pay an outside address (index 100 of BIP84) and change back to ours.
    const ext = payments(r, name, 100).p2wpkh.pay.address;
    const change = payments(r, name, 5).p2tr.pay.address;
    tx.addOutputAddress(ext, 120_000n, net);
    tx.addOutputAddress(change, 48_000n, net);
    out({
        psbt: Buffer.from(tx.toPSBT(0)).toString('base64'),
        fingerprint: fp8(fp),
        inputs,
        outputs: [{ address: ext, amount: '120000' }, { address: change, amount: '48000' }],
        fee: (tx.fee).toString(),
    });
}

// Verify each input's signature with scure's sighash and noble's verifiers.
// sigOf(idx, type) gives {sig, pub} (pub unused for taproot) or throws.
function verifyInputs(tx, prevOuts, sigOf) {
    const verified = [];
    for (let idx = 0; idx < tx.inputsLength; idx++) {
        const prev = prevOuts[idx];
        const t = btc.OutScript.decode(prev.script);
        if (t.type === 'tr') {
            const { sig } = sigOf(idx, t.type);
            const sighash = sig.length === 65 ? sig[64] : btc.SigHash.DEFAULT;
            const msg = tx.preimageWitnessV1(idx, prevOuts.map((p) => p.script), sighash, prevOuts.map((p) => p.amount));
            if (!schnorr.verify(sig.subarray(0, 64), msg, t.pubkey)) throw new Error(`input ${idx}: BIP340 signature invalid`);
            verified.push('p2tr');
            continue;
        }
        const { sig: sigH, pub } = sigOf(idx, t.type);
        const sighash = sigH[sigH.length - 1];
        const der = sigH.subarray(0, -1);
        const pkh = btc.OutScript.encode({ type: 'pkh', hash: hash160(pub) });
        let msg, kind;
        if (t.type === 'wpkh') { msg = tx.preimageWitnessV0(idx, pkh, sighash, prev.amount); kind = 'p2wpkh'; }
        else if (t.type === 'sh') { msg = tx.preimageWitnessV0(idx, pkh, sighash, prev.amount); kind = 'p2sh-p2wpkh'; }
        else if (t.type === 'pkh') { msg = tx.preimageLegacy(idx, prev.script, sighash); kind = 'p2pkh'; }
        else throw new Error(`input ${idx}: unexpected script type ${t.type}`);
        if (sighash !== btc.SigHash.ALL) throw new Error(`input ${idx}: sighash ${sighash}, expected ALL`);
        if (!secp256k1.verify(der, msg, pub, { prehash: false, format: 'der', lowS: true }))
            throw new Error(`input ${idx}: ECDSA signature invalid (or high s)`);
        verified.push(kind);
    }
    return verified;
}
const hash160 = (b) => ripemd160(sha256(b));
function getPrev(i) {
    if (i.witnessUtxo) return i.witnessUtxo;
    const prev = i.nonWitnessUtxo instanceof Uint8Array ? btc.RawTx.decode(i.nonWitnessUtxo) : i.nonWitnessUtxo;
    return prev.outputs[i.index];
}

function cmdFinalize(arg) {
    const b64 = (arg === '-' ? readFileSync(0, 'utf8') : arg).trim();
    let tx;
    try {
        tx = btc.Transaction.fromPSBT(Buffer.from(b64, 'base64'));
    } catch (e) { die(1, 'scure cannot parse the PSBT: ' + e.message); }
    const prevOuts = Array.from({ length: tx.inputsLength }, (_, i) => getPrev(tx.getInput(i)));
    const fromPsbt = (idx, type) => {
        const inp = tx.getInput(idx);
        if (type === 'tr') {
            if (!inp.tapKeySig) throw new Error(`input ${idx}: no tapKeySig`);
            return { sig: inp.tapKeySig };
        }
        if (!inp.partialSig || inp.partialSig.length !== 1) throw new Error(`input ${idx}: expected one partial signature`);
        return { pub: inp.partialSig[0][0], sig: inp.partialSig[0][1] };
    };
    let verified;
    try { verified = verifyInputs(tx, prevOuts, fromPsbt); } catch (e) { die(1, 'signature check failed: ' + e.message); }
    try { tx.finalize(); } catch (e) { die(1, 'scure cannot finalize: ' + e.message, { verified }); }
    const raw = tx.extract();
    out({ verified, txid: tx.id, hex: hex.encode(raw) });
}

function cmdExtract(b64) {
    let tx;
    try { tx = btc.Transaction.fromPSBT(Buffer.from(b64.trim(), 'base64')); } catch (e) { die(1, 'scure cannot parse the PSBT: ' + e.message); }
    if (!tx.isFinal) die(1, 'the PSBT has inputs that are not finalized');
    out({ txid: tx.id, hex: hex.encode(tx.extract()) });
}

// Signatures out of a final transaction's witnesses and scriptSigs.
function cmdVerifyTx(rawHex, b64) {
    const p = btc.Transaction.fromPSBT(Buffer.from(b64.trim(), 'base64'));
    let tx;
    try {
        tx = btc.Transaction.fromRaw(hex.decode(rawHex.trim().replace(/^0x/, '')), { allowUnknownInputs: true, allowUnknownOutputs: true });
    } catch (e) { die(1, 'scure cannot parse the raw transaction: ' + e.message); }
    if (tx.inputsLength !== p.inputsLength || tx.outputsLength !== p.outputsLength) die(1, 'input/output counts differ from the PSBT');
    for (let i = 0; i < tx.inputsLength; i++) {
        const a = tx.getInput(i), b = p.getInput(i);
        if (hex.encode(a.txid) !== hex.encode(b.txid) || a.index !== b.index || a.sequence !== b.sequence)
            die(1, `input ${i} does not spend the PSBT's outpoint`);
    }
    for (let i = 0; i < tx.outputsLength; i++) {
        const a = tx.getOutput(i), b = p.getOutput(i);
        if (hex.encode(a.script) !== hex.encode(b.script) || a.amount !== b.amount) die(1, `output ${i} differs from the PSBT`);
    }
    const prevOuts = Array.from({ length: p.inputsLength }, (_, i) => getPrev(p.getInput(i)));
    const fromTx = (idx, type) => {
        const inp = tx.getInput(idx);
        const w = inp.finalScriptWitness || [];
        if (type === 'tr') {
            if (w.length !== 1) throw new Error(`input ${idx}: key-path witness must have one element, has ${w.length}`);
            return { sig: w[0] };
        }
        if (type === 'wpkh' || type === 'sh') {
            if (w.length !== 2) throw new Error(`input ${idx}: P2WPKH witness must have two elements, has ${w.length}`);
            return { sig: w[0], pub: w[1] };
        }
        const ss = btc.Script.decode(inp.finalScriptSig || new Uint8Array(0));
        if (ss.length !== 2) throw new Error(`input ${idx}: P2PKH scriptSig must push two items`);
        return { sig: ss[0], pub: ss[1] };
    };
    let verified;
    try { verified = verifyInputs(tx, prevOuts, fromTx); } catch (e) { die(1, 'signature check failed: ' + e.message); }
    out({ verified, txid: tx.id });
}

const [cmd, ...args] = process.argv.slice(2);
try {
    if (cmd === 'addresses' && args.length >= 1) cmdAddresses(args[0], Number(args[1] || 0));
    else if (cmd === 'make-psbt' && args.length === 2) cmdMakePsbt(args[0], args[1]);
    else if (cmd === 'finalize' && args.length === 1) cmdFinalize(args[0]);
    else if (cmd === 'extract' && args.length === 1) cmdExtract(args[0]);
    else if (cmd === 'verify-tx' && args.length === 2) cmdVerifyTx(args[0], args[1]);
    else if (cmd === 'fingerprint' && args.length === 1) out({ fingerprint: fp8(root(args[0]).fingerprint) });
    else usage();
} catch (e) {
    die(1, e.message);
}
