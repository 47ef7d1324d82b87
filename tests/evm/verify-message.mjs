#!/usr/bin/env node
// verify-message.mjs: checks an EIP-191 personal_sign signature
// ("\x19Ethereum Signed Message:\n" + length + message) with ethers v6.
//
// Usage: node verify-message.mjs ADDRESS MESSAGE|- SIGHEX [--hex]
//   MESSAGE is UTF-8 text; with --hex it is 0x-hex bytes. "-" reads stdin.
//   SIGHEX is the 65-byte r||s||v signature (v 27/28 or 0/1).
// Prints {"valid", "address", "recovered", "digest"}; exit 0 when the
// recovered signer equals ADDRESS, else 1.
import { argOrStdin, ethers, fail, hexBytes, out, parseArgs, run, usage } from "./common.mjs";

const USAGE = "ADDRESS MESSAGE|- SIGHEX [--hex]";
const { pos, opts } = parseArgs(process.argv.slice(2), [], ["hex"], USAGE);
if (pos.length !== 3) usage(USAGE);

await run(async () => {
  const address = ethers.getAddress(pos[0]);
  const text = argOrStdin(pos[1]);
  const msg = opts.hex ? ethers.getBytes(hexBytes(text.trim(), "MESSAGE")) : text;
  const sig = hexBytes(pos[2], "SIGHEX");
  const recovered = ethers.verifyMessage(msg, sig);
  const res = { valid: recovered === address, address, recovered, digest: ethers.hashMessage(msg) };
  if (!res.valid) fail(`signature recovers ${recovered}, not ${address}`, res);
  out(res);
});
