// A Solana JSON-RPC node for the wallet's end-to-end test, on top of
// LiteSVM (npm "litesvm": the Solana SVM runtime -- bank, System Program,
// fee and rent rules, ed25519 signature verification -- compiled to a
// native Node addon; pinned to 1.4.1, the newest release with a prebuilt
// binary for every platform that also loads on Debian 12's glibc 2.36:
// 0.4.x needs glibc 2.38, 0.5-0.8 and 1.5 lack the macOS/arm64 binaries
// that `npm ci` requires in the lock file). No real validator can be installed here; this is the
// real runtime behind a small HTTP front end, NOT a fake that re-implements
// transfers: every transaction is executed by LiteSVM, which checks the
// signatures (sigverify on), the blockhash, the fee payer's funds and the
// System Program transfer itself.
//
//   node solana_node.mjs [--port N] [--fund ADDRESS=LAMPORTS ...]
//
// prints "listening on http://127.0.0.1:PORT" once it serves, and answers
// the methods a wallet needs (https://solana.com/docs/rpc/http):
//   getBalance, getLatestBlockhash, sendTransaction (base64 or base58,
//   preflight simulation first unless skipPreflight, as a real node does),
//   getSignatureStatuses, plus getSlot and getHealth.
// After each executed transaction the blockhash is expired and the slot
// advanced, so the next transaction gets a new blockhash (as on a cluster,
// where it changes every ~400 ms) and two identical transfers are two
// transactions. Errors use Solana's codes: -32002 "Transaction simulation
// failed: ...", -32003 "Transaction signature verification failure",
// -32602 bad params, -32601 unknown method.
import http from 'node:http';
import { LiteSVM, FailedTransactionMetadata } from 'litesvm';
import { address, getBase58Codec, getTransactionDecoder, getBase64Encoder } from '@solana/kit';

const b58 = getBase58Codec();
const txDecoder = getTransactionDecoder();

// TransactionErrorFieldless in litesvm's internal.d.ts, by value.
const TX_ERRORS = ['AccountInUse', 'AccountLoadedTwice', 'AccountNotFound', 'ProgramAccountNotFound',
  'InsufficientFundsForFee', 'InvalidAccountForFee', 'AlreadyProcessed', 'BlockhashNotFound', 'CallChainTooDeep',
  'MissingSignatureForFee', 'InvalidAccountIndex', 'SignatureFailure', 'InvalidProgramForExecution',
  'SanitizeFailure', 'ClusterMaintenance', 'AccountBorrowOutstanding', 'WouldExceedMaxBlockCostLimit',
  'UnsupportedVersion', 'InvalidWritableAccount', 'WouldExceedMaxAccountCostLimit',
  'WouldExceedAccountDataBlockLimit', 'TooManyAccountLocks', 'AddressLookupTableNotFound',
  'InvalidAddressLookupTableOwner', 'InvalidAddressLookupTableData', 'InvalidAddressLookupTableIndex',
  'InvalidRentPayingAccount', 'WouldExceedMaxVoteCostLimit', 'WouldExceedAccountDataTotalLimit',
  'MaxLoadedAccountsDataSizeExceeded', 'ResanitizationNeeded', 'InvalidLoadedAccountsDataSizeLimit',
  'UnbalancedTransaction', 'ProgramCacheHitMaxLimit', 'CommitCancelled'];

const args = process.argv.slice(2);
let port = 0;
const funds = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--fund') {
    const [addr, lamports] = args[++i].split('=');
    funds.push([address(addr), BigInt(lamports)]);
  } else throw new Error(`unknown argument ${args[i]}`);
}

const svm = new LiteSVM().withSigverify(true).withBlockhashCheck(true);
for (const [pk, lamports] of funds) svm.airdrop(pk, lamports);
const statuses = new Map(); // signature (base58) -> {slot, err}
let slot = 1n;
svm.warpToSlot(slot);

class RpcError extends Error {
  constructor(code, message, data) { super(message); this.code = code; this.data = data; }
}

// A TransactionError as Solana's JSON shows it: "Name" or {"InstructionError":[i, ...]}.
function txErrorJson(err) {
  if (typeof err === 'number') return TX_ERRORS[err] ?? `TransactionError${err}`;
  if (err && typeof err.index === 'number') {
    const ie = err.err();
    return { InstructionError: [err.index, typeof ie === 'number' ? `InstructionError${ie}` :
      (typeof ie?.code === 'number' ? { Custom: ie.code } : String(ie))] };
  }
  return String(err?.toString?.() ?? err);
}

function errorText(e) {
  if (e?.InstructionError) {
    const [i, ie] = e.InstructionError;
    return `Error processing Instruction ${i}: ${ie.Custom !== undefined ?
      `custom program error: 0x${ie.Custom.toString(16)}` : ie}`;
  }
  return String(e);
}

const ctx = () => ({ slot: Number(slot), apiVersion: '2.1.0' });
function commitmentOk(cfg) {
  if (cfg?.commitment && !['processed', 'confirmed', 'finalized'].includes(cfg.commitment))
    throw new RpcError(-32602, `Invalid params: unknown commitment ${cfg.commitment}`);
}
function pubkey(s) {
  try { return address(String(s)); } catch { throw new RpcError(-32602, 'Invalid param: Invalid'); }
}

function sendTransaction([data, cfg = {}]) {
  const enc = cfg.encoding ?? 'base58';
  let raw;
  let tx;
  try {
    if (enc === 'base64') raw = getBase64Encoder().encode(String(data));
    else if (enc === 'base58') raw = b58.encode(String(data));
    else throw new RpcError(-32602, `Invalid params: unsupported encoding: ${enc}`);
    tx = txDecoder.decode(raw);
  } catch (e) {
    if (e instanceof RpcError) throw e;
    throw new RpcError(-32602, `invalid transaction: failed to deserialize VersionedTransaction: ${e.message}`);
  }
  if (!cfg.skipPreflight) {
    const sim = svm.simulateTransaction(tx);
    if (sim instanceof FailedTransactionMetadata) {
      const err = txErrorJson(sim.err());
      if (err === 'SignatureFailure') throw new RpcError(-32003, 'Transaction signature verification failure');
      throw new RpcError(-32002, `Transaction simulation failed: ${errorText(err)}`,
        { err, logs: sim.meta().logs(), accounts: null, unitsConsumed: 0 });
    }
  }
  const r = svm.sendTransaction(tx);
  const first = Object.values(tx.signatures)[0];
  if (!first) throw new RpcError(-32602, 'invalid transaction: no signature');
  const sig = b58.decode(first);
  if (r instanceof FailedTransactionMetadata) {
    const err = txErrorJson(r.err());
    // Rejected before execution (nothing recorded), as a validator's banking stage does.
    if (typeof r.err() === 'number') throw new RpcError(-32002, `Transaction failed: ${errorText(err)}`, { err });
    statuses.set(sig, { slot, err }); // executed, failed: fee paid
  } else {
    statuses.set(sig, { slot, err: null });
  }
  slot += 1n;
  svm.warpToSlot(slot);
  svm.expireBlockhash();
  return sig;
}

const methods = {
  getHealth: () => 'ok',
  getSlot: () => Number(slot),
  getBalance([addr, cfg]) {
    commitmentOk(cfg);
    return { context: ctx(), value: Number(svm.getBalance(pubkey(addr)) ?? 0n) };
  },
  getLatestBlockhash([cfg] = []) {
    commitmentOk(cfg);
    return { context: ctx(), value: { blockhash: svm.latestBlockhash(), lastValidBlockHeight: Number(slot) + 150 } };
  },
  sendTransaction: (params) => sendTransaction(params),
  getSignatureStatuses([sigs]) {
    if (!Array.isArray(sigs) || sigs.length > 256) throw new RpcError(-32602, 'Invalid params: expected signatures');
    return {
      context: ctx(),
      value: sigs.map((s) => {
        const st = statuses.get(s);
        if (!st) return null;
        return { slot: Number(st.slot), confirmations: null, err: st.err,
                 status: st.err ? { Err: st.err } : { Ok: null }, confirmationStatus: 'finalized' };
      }),
    };
  },
};

function handle(req) {
  const { id = null, method, params = [] } = req ?? {};
  try {
    if (req?.jsonrpc !== '2.0' || typeof method !== 'string') throw new RpcError(-32600, 'Invalid request');
    const fn = methods[method];
    if (!fn) throw new RpcError(-32601, 'Method not found');
    return { jsonrpc: '2.0', id, result: fn(params) };
  } catch (e) {
    const error = e instanceof RpcError ? { code: e.code, message: e.message, data: e.data }
      : { code: -32603, message: `Internal error: ${e.message}` };
    return { jsonrpc: '2.0', id, error };
  }
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    let reply;
    try {
      const j = JSON.parse(body);
      reply = Array.isArray(j) ? j.map(handle) : handle(j);
    } catch {
      reply = { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } };
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(reply));
  });
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
