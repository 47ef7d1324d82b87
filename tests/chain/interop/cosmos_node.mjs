// A Cosmos SDK node's REST API (the gRPC-gateway "LCD") for the wallet's
// end-to-end test. No real chain daemon can be installed here, so this is
// a small ledger that does what the SDK's ante handler and bank module do
// to a bank MsgSend, using the independent cosmjs implementation for every
// byte it checks:
//   - the TxRaw is decoded with @cosmjs/proto-signing (decodeTxRaw, and the
//     default Registry for /cosmos.bank.v1beta1.MsgSend);
//   - the SignDoc is rebuilt from the body and auth-info bytes with this
//     node's chain id and the sender's account number (makeSignDoc,
//     makeSignBytes), and the secp256k1 signature is verified over its
//     SHA-256 with @cosmjs/crypto, against the public key in the signer
//     info -- whose address must be the messages' sender (@cosmjs/amino);
//   - the sequence must equal the account's, the fee and then the amounts
//     must be covered by the balances.
// A transaction passes every check or changes nothing; then the fee is
// taken, the MsgSends applied, the sequence incremented and the tx stored
// in a new "block" (one per tx). Errors carry the SDK's codespace "sdk"
// codes and raw_log wording (cosmos-sdk types/errors/errors.go): 2 tx
// parse error, 4 unauthorized (bad signature), 5 insufficient funds,
// 7 invalid address, 8 invalid pubkey, 9 unknown address, 18 invalid
// request, 32 incorrect account sequence. A real node would find an
// overdraft of the MsgSend only in DeliverTx (after the fee); checking it
// at broadcast keeps the test's ledger simple and exact.
//
//   node cosmos_node.mjs [--port N] [--chain-id ID] [--hrp cosmos]
//                        [--fund ADDRESS=1000uatom,50ustake ...]
// prints "listening on http://127.0.0.1:PORT", then serves
//   GET  /cosmos/auth/v1beta1/accounts/{addr}
//   GET  /cosmos/bank/v1beta1/balances/{addr}[/by_denom?denom=D]
//   GET  /cosmos/base/tendermint/v1beta1/node_info
//   POST /cosmos/tx/v1beta1/txs            {tx_bytes, mode}
//   GET  /cosmos/tx/v1beta1/txs/{hash}
import http from 'node:http';
import { createHash } from 'node:crypto';
import { decodeTxRaw, decodePubkey, makeSignDoc, makeSignBytes, Registry } from '@cosmjs/proto-signing';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import { pubkeyToAddress } from '@cosmjs/amino';
import { fromBech32 } from '@cosmjs/encoding';

const args = process.argv.slice(2);
let port = 0, chainId = 'kashguard-test-1', hrp = 'cosmos';
const funds = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--chain-id') chainId = args[++i];
  else if (args[i] === '--hrp') hrp = args[++i];
  else if (args[i] === '--fund') funds.push(args[++i]);
  else throw new Error(`unknown argument ${args[i]}`);
}

const registry = new Registry();
const accounts = new Map(); // address -> {number, sequence, balances: Map(denom -> BigInt)}
const txs = new Map();      // HASH -> tx_response
let nextNumber = 0, height = 1;

function account(addr, create) {
  let a = accounts.get(addr);
  if (!a && create) accounts.set(addr, a = { number: nextNumber++, sequence: 0, balances: new Map() });
  return a;
}
for (const f of funds) {
  const [addr, coins] = f.split('=');
  const a = account(addr, true);
  for (const c of coins.split(',')) {
    const m = /^(\d+)([a-zA-Z][a-zA-Z0-9/:._-]{2,127})$/.exec(c);
    if (!m) throw new Error(`bad coin ${c}`);
    a.balances.set(m[2], (a.balances.get(m[2]) ?? 0n) + BigInt(m[1]));
  }
}

class SdkError extends Error {
  constructor(code, log) { super(log); this.code = code; }
}

function validAddress(a) {
  try { const d = fromBech32(a); return d.prefix === hrp && d.data.length === 20; } catch { return false; }
}

// Every check of the ante handler and the bank keeper for one tx; returns
// the new state of the touched accounts (applied by the caller).
async function check(txBytes) {
  let tx;
  try { tx = decodeTxRaw(txBytes); } catch (e) { throw new SdkError(2, `tx parse error: ${e.message}`); }
  const { body, authInfo, signatures } = tx;
  if (body.messages.length === 0) throw new SdkError(18, 'must contain at least one message: invalid request');
  const msgs = body.messages.map((m) => {
    if (m.typeUrl !== '/cosmos.bank.v1beta1.MsgSend') throw new SdkError(2, `unable to resolve type URL ${m.typeUrl}: tx parse error`);
    return registry.decode(m);
  });
  if (authInfo.signerInfos.length !== 1 || signatures.length !== 1)
    throw new SdkError(4, `wrong number of signers; expected 1, got ${signatures.length}: unauthorized`);
  const si = authInfo.signerInfos[0];
  if (si.modeInfo?.single?.mode !== 1) throw new SdkError(18, 'only SIGN_MODE_DIRECT is accepted here: invalid request');
  const pk = decodePubkey(si.publicKey);
  if (pk?.type !== 'tendermint/PubKeySecp256k1') throw new SdkError(8, 'pubkey is not secp256k1: invalid pubkey');
  const signer = pubkeyToAddress(pk, hrp);
  for (const m of msgs) {
    if (!validAddress(m.fromAddress) || !validAddress(m.toAddress)) throw new SdkError(7, `invalid address: ${m.toAddress}: invalid address`);
    if (m.fromAddress !== signer) throw new SdkError(8, `pubKey does not match signer address ${m.fromAddress} with signer index: 0: invalid pubkey`);
    if (m.amount.length === 0 || m.amount.some((c) => !/^\d+$/.test(c.amount) || BigInt(c.amount) === 0n))
      throw new SdkError(10, `${JSON.stringify(m.amount)}: invalid coins`);
  }
  const from = account(signer, false);
  if (!from) throw new SdkError(9, `account ${signer} does not exist: unknown address`);
  if (BigInt(si.sequence) !== BigInt(from.sequence))
    throw new SdkError(32, `account sequence mismatch, expected ${from.sequence}, got ${si.sequence}: incorrect account sequence`);
  const signBytes = makeSignBytes(makeSignDoc(bodyBytesOf(txBytes), authInfoBytesOf(txBytes), chainId, from.number));
  const sig = signatures[0];
  // verifySignature is async in cosmjs: without the await any signature would "pass".
  const ok = sig.length === 64 && await Secp256k1.verifySignature(Secp256k1Signature.fromFixedLength(sig),
    sha256(signBytes), Buffer.from(pk.value, 'base64'));
  if (!ok) throw new SdkError(4, `signature verification failed; please verify account number (${from.number}), sequence (${from.sequence}) and chain-id (${chainId}): unauthorized`);

  // Balances after the fee, then after each MsgSend (on copies).
  const bal = new Map([[signer, new Map(from.balances)]]);
  const get = (a) => { if (!bal.has(a)) bal.set(a, new Map(account(a, false)?.balances ?? [])); return bal.get(a); };
  for (const c of authInfo.fee?.amount ?? []) {
    const have = get(signer).get(c.denom) ?? 0n;
    if (have < BigInt(c.amount))
      throw new SdkError(5, `insufficient funds to pay for fees; ${have}${c.denom} < ${c.amount}${c.denom}: insufficient funds`);
    get(signer).set(c.denom, have - BigInt(c.amount));
  }
  for (const m of msgs) {
    for (const c of m.amount) {
      const have = get(m.fromAddress).get(c.denom) ?? 0n;
      if (have < BigInt(c.amount))
        throw new SdkError(5, `spendable balance ${have}${c.denom} is smaller than ${c.amount}${c.denom}: insufficient funds`);
      get(m.fromAddress).set(c.denom, have - BigInt(c.amount));
      get(m.toAddress).set(c.denom, (get(m.toAddress).get(c.denom) ?? 0n) + BigInt(c.amount));
    }
  }
  return { signer, bal, gasWanted: Number(authInfo.fee?.gasLimit ?? 0n), memo: body.memo };
}

// decodeTxRaw gives the parsed body; the signature covers the exact bytes
// sent, so the SignDoc is rebuilt from TxRaw's own fields 1 and 2.
function rawFields(txBytes) {
  const out = [];
  let i = 0;
  const varint = () => { let v = 0, s = 0, b; do { b = txBytes[i++]; v += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return v; };
  while (i < txBytes.length) {
    const key = varint();
    if ((key & 7) !== 2) throw new SdkError(2, 'tx parse error');
    const n = varint();
    out.push([key >> 3, txBytes.subarray(i, i + n)]);
    i += n;
  }
  return out;
}
const bodyBytesOf = (b) => rawFields(b).find(([f]) => f === 1)?.[1] ?? new Uint8Array();
const authInfoBytesOf = (b) => rawFields(b).find(([f]) => f === 2)?.[1] ?? new Uint8Array();

function txResponse(hash, code, log, extra = {}) {
  return { height: '0', txhash: hash, codespace: code ? 'sdk' : '', code, data: '', raw_log: log, logs: [], info: '',
           gas_wanted: '0', gas_used: '0', tx: null, timestamp: '', events: [], ...extra };
}

async function broadcast(body) {
  const txBytes = Buffer.from(String(body?.tx_bytes ?? ''), 'base64');
  const hash = createHash('sha256').update(txBytes).digest('hex').toUpperCase();
  if (txBytes.length === 0) return [400, { code: 3, message: 'invalid empty tx', details: [] }];
  if (!['BROADCAST_MODE_SYNC', 'BROADCAST_MODE_ASYNC'].includes(body?.mode))
    return [400, { code: 3, message: `unsupported broadcast mode ${body?.mode}`, details: [] }];
  if (txs.has(hash)) return [200, { tx_response: txResponse(hash, 19, 'tx already exists in cache') }];
  let r;
  try { r = await check(txBytes); } catch (e) {
    if (!(e instanceof SdkError)) throw e;
    return [200, { tx_response: txResponse(hash, e.code, e.message) }];
  }
  for (const [addr, b] of r.bal) account(addr, true).balances = b;
  account(r.signer, false).sequence++;
  height++;
  const gasUsed = Math.min(r.gasWanted, 60000 + 10 * r.memo.length);
  txs.set(hash, txResponse(hash, 0, '', { height: String(height), gas_wanted: String(r.gasWanted),
    gas_used: String(gasUsed), timestamp: new Date().toISOString() }));
  return [200, { tx_response: txResponse(hash, 0, '[]') }];
}

const notFound = (what) => [404, { code: 5, message: `rpc error: code = NotFound desc = ${what}: key not found`, details: [] }];
const badAddress = (a) => [400, { code: 3, message: `invalid address ${a}: decoding bech32 failed`, details: [] }];

async function route(method, url, body) {
  const u = new URL(url, 'http://x');
  const p = u.pathname;
  let m;
  if (method === 'GET' && (m = /^\/cosmos\/auth\/v1beta1\/accounts\/([^/]+)$/.exec(p))) {
    const a = decodeURIComponent(m[1]);
    if (!validAddress(a)) return badAddress(a);
    const acc = account(a, false);
    if (!acc) return notFound(`account ${a} not found`);
    return [200, { account: { '@type': '/cosmos.auth.v1beta1.BaseAccount', address: a, pub_key: null,
                              account_number: String(acc.number), sequence: String(acc.sequence) } }];
  }
  if (method === 'GET' && (m = /^\/cosmos\/bank\/v1beta1\/balances\/([^/]+)(\/by_denom)?$/.exec(p))) {
    const a = decodeURIComponent(m[1]);
    if (!validAddress(a)) return badAddress(a);
    const b = account(a, false)?.balances ?? new Map();
    if (m[2]) {
      const d = u.searchParams.get('denom');
      if (!d) return [400, { code: 3, message: 'invalid denom', details: [] }];
      return [200, { balance: { denom: d, amount: String(b.get(d) ?? 0n) } }];
    }
    const list = [...b].filter(([, v]) => v > 0n).sort().map(([denom, v]) => ({ denom, amount: String(v) }));
    return [200, { balances: list, pagination: { next_key: null, total: String(list.length) } }];
  }
  if (method === 'GET' && p === '/cosmos/base/tendermint/v1beta1/node_info')
    return [200, { default_node_info: { network: chainId, moniker: 'kashguard-test-node', version: '0.38.0' },
                   application_version: { name: 'kashguard-test-node', app_name: 'cosmos_node.mjs' } }];
  if (method === 'POST' && p === '/cosmos/tx/v1beta1/txs') return broadcast(body);
  if (method === 'GET' && (m = /^\/cosmos\/tx\/v1beta1\/txs\/([0-9A-Fa-f]{64})$/.exec(p))) {
    const t = txs.get(m[1].toUpperCase());
    return t ? [200, { tx: {}, tx_response: t }] : notFound(`tx not found: ${m[1]}`);
  }
  return [501, { code: 12, message: 'Not Implemented', details: [] }];
}

const server = http.createServer((req, res) => {
  let data = '';
  req.on('data', (c) => { data += c; });
  req.on('end', async () => {
    let status, out;
    try {
      const body = data ? JSON.parse(data) : null;
      [status, out] = await route(req.method, req.url, body);
    } catch (e) {
      [status, out] = e instanceof SyntaxError ? [400, { code: 3, message: 'invalid JSON body', details: [] }]
        : [500, { code: 13, message: `internal: ${e.message}`, details: [] }];
      if (!(e instanceof SyntaxError)) console.error(e);
    }
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(out));
  });
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
