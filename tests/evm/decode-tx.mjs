#!/usr/bin/env node
// decode-tx.mjs: decodes a raw Ethereum transaction with ethers v6 (legacy
// with or without EIP-155, EIP-2930 type 1, EIP-1559 type 2) and checks its
// signature by recovering the sender — an independent check of KashGuard's
// RLP encoder and signer.
//
// Usage: node decode-tx.mjs RAWHEX|- [--expect-from ADDRESS] [--allow-unsigned]
// Prints {"type", "chain_id", "nonce", "to", "value", "data", "gas_limit",
//   "gas_price", "max_fee_per_gas", "max_priority_fee_per_gas", "access_list",
//   "from", "hash", "unsigned_hash", "unsigned", "signature": {r, s, v,
//   y_parity, network_v} | null, "signed", "low_s", "canonical",
//   "signature_valid"} — numbers as decimal strings except type/nonce.
//   canonical: ethers re-encodes the same bytes (so the input RLP is minimal).
// Exit 0 when it decodes, is signed (unless --allow-unsigned), the sender is
// recovered, s is low (EIP-2), the encoding is canonical, and the sender equals
// --expect-from when given; otherwise exit 1 (the JSON still printed when
// decoding worked, with "error" saying which check failed).
import { argOrStdin, ethers, hexBytes, out, parseArgs, txJson, usage, fail } from "./common.mjs";

const USAGE = "RAWHEX|- [--expect-from ADDRESS] [--allow-unsigned]";
const { pos, opts } = parseArgs(process.argv.slice(2), ["expect-from"], ["allow-unsigned"], USAGE);
if (pos.length !== 1) usage(USAGE);

const raw = hexBytes(argOrStdin(pos[0]).trim(), "RAWHEX");
let tx;
try {
  tx = ethers.Transaction.from(raw);
} catch (e) {
  fail(`cannot decode the transaction: ${e.shortMessage ?? e.message}`);
}

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const res = { ...txJson(tx), signed: tx.isSigned(), low_s: null, canonical: null, signature_valid: false };
let error = null;
try {
  if (res.signed) {
    res.low_s = BigInt(tx.signature.s) <= N / 2n;
    res.from = tx.from; // recovers the sender
    res.canonical = tx.serialized === raw;
    res.signature_valid = ethers.isAddress(res.from) && res.low_s;
  } else {
    res.canonical = tx.unsignedSerialized === raw;
  }
} catch (e) {
  error = `signature does not recover a sender: ${e.shortMessage ?? e.message}`;
}
if (!error && !res.signed && !opts["allow-unsigned"]) error = "the transaction is not signed";
if (!error && res.signed && !res.low_s) error = "signature s is high (EIP-2 requires s <= n/2)";
if (!error && !res.canonical) error = "ethers re-encodes different bytes: the input is not canonical RLP";
if (!error && opts["expect-from"] && res.from !== ethers.getAddress(opts["expect-from"]))
  error = `sender ${res.from} is not the expected ${ethers.getAddress(opts["expect-from"])}`;
if (error) fail(error, res);
out(res);
