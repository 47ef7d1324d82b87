#!/usr/bin/env node
// calldata.mjs: ABI-encodes a contract call with ethers v6 (a reference for
// KashGuard's ABI encoder, and calldata for test transactions).
//
// Usage: node calldata.mjs SIGNATURE [ARG...]
//   SIGNATURE like "transfer(address,uint256)"; each ARG is text (numbers in
//   decimal or 0x-hex, bool as true/false, bytes as 0x-hex) or JSON for arrays
//   and tuples (e.g. '["0x..",1]').
// Prints {"data", "selector", "signature"}.
import { ethers, out, run, usage } from "./common.mjs";

const USAGE = "SIGNATURE [ARG...]";
const argv = process.argv.slice(2);
if (argv.length < 1) usage(USAGE);

await run(async () => {
  const frag = ethers.FunctionFragment.from(argv[0]);
  const args = argv.slice(1);
  if (args.length !== frag.inputs.length) throw new Error(`${frag.format()} takes ${frag.inputs.length} arguments, got ${args.length}`);
  const values = args.map((a, i) => {
    const t = frag.inputs[i];
    if (t.baseType === "array" || t.baseType === "tuple") return JSON.parse(a);
    if (t.type === "bool") {
      if (a !== "true" && a !== "false") throw new Error(`argument ${i + 1} must be true or false`);
      return a === "true";
    }
    return a;
  });
  const iface = new ethers.Interface([frag]);
  out({ data: iface.encodeFunctionData(frag, values), selector: frag.selector, signature: frag.format() });
});
