#!/usr/bin/env node
// send-raw.mjs: broadcasts a signed raw transaction (eth_sendRawTransaction)
// and waits for its receipt (the hardhat node mines it at once).
//
// Usage: node send-raw.mjs RPC RAWHEX|-      (RPC "-" = $EVM_RPC)
// Prints the receipt as receipt.mjs does; exit 1 when the node rejects the
// transaction or it reverts (status 0).
import { argOrStdin, fail, hexBytes, out, parseArgs, provider, rpcUrl, run, usage } from "./common.mjs";
import { receiptJson } from "./receipt.mjs";

const USAGE = "RPC RAWHEX|-";
const { pos } = parseArgs(process.argv.slice(2), [], [], USAGE);
if (pos.length !== 2) usage(USAGE);

await run(async () => {
  const p = provider(rpcUrl(pos[0] === "-" ? undefined : pos[0]));
  const raw = hexBytes(argOrStdin(pos[1]).trim(), "RAWHEX");
  const hash = await p.send("eth_sendRawTransaction", [raw]);
  const r = await p.waitForTransaction(hash, 1, 30000);
  if (!r) fail(`no receipt for ${hash} within 30 s`);
  const res = receiptJson(r);
  if (r.status !== 1) fail(`transaction ${hash} reverted`, res);
  out(res);
});
