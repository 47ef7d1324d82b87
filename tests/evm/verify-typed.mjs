#!/usr/bin/env node
// verify-typed.mjs: checks an EIP-712 (eth_signTypedData_v4) signature with
// ethers v6, and prints the hashes so a failing C encoder can be compared.
//
// Usage: node verify-typed.mjs ADDRESS TYPED_JSON_FILE|- SIGHEX
//   TYPED_JSON_FILE: {"types": {"EIP712Domain": [...], ...}, "primaryType",
//   "domain", "message"}; SIGHEX: 65-byte r||s||v.
//   SIGHEX may be "none" to only print the hashes (then exit 0).
// Prints {"valid", "address", "recovered", "digest", "domain_separator",
//   "struct_hash", "primary_type"}; exit 0 when the signer equals ADDRESS.
import { ethers, fail, hexBytes, loadTyped, out, parseArgs, readFileArg, run, usage } from "./common.mjs";

const USAGE = "ADDRESS TYPED_JSON_FILE|- SIGHEX|none";
const { pos } = parseArgs(process.argv.slice(2), [], [], USAGE);
if (pos.length !== 3) usage(USAGE);

await run(async () => {
  const address = ethers.getAddress(pos[0]);
  const { domain, types, primaryType, message } = loadTyped(readFileArg(pos[1]));
  const enc = ethers.TypedDataEncoder.from(types);
  if (enc.primaryType !== primaryType) fail(`ethers sees primary type ${enc.primaryType}, not ${primaryType}`);
  const res = {
    valid: false,
    address,
    recovered: null,
    digest: ethers.TypedDataEncoder.hash(domain, types, message),
    domain_separator: ethers.TypedDataEncoder.hashDomain(domain),
    struct_hash: enc.hash(message),
    primary_type: primaryType,
  };
  if (pos[2] === "none") {
    out(res);
    return;
  }
  res.recovered = ethers.verifyTypedData(domain, types, message, hexBytes(pos[2], "SIGHEX"));
  res.valid = res.recovered === address;
  if (!res.valid) fail(`signature recovers ${res.recovered}, not ${address}`, res);
  out(res);
});
