#!/usr/bin/env node
// receipt.mjs: the receipt of a transaction, e.g. one the wallet broadcast.
//
// Usage: node receipt.mjs RPC TXHASH      (RPC "-" = $EVM_RPC)
// Prints {"hash", "status", "block_number", "from", "to", "contract_address",
//   "gas_used", "effective_gas_price", "logs"}; exit 0 when mined with status 1,
//   1 when unknown, pending or reverted.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fail, out, parseArgs, provider, rpcUrl, run, usage } from "./common.mjs";

export function receiptJson(r) {
  return {
    hash: r.hash,
    status: r.status,
    block_number: r.blockNumber,
    from: r.from,
    to: r.to,
    contract_address: r.contractAddress,
    gas_used: r.gasUsed,
    effective_gas_price: r.gasPrice,
    logs: r.logs.map((l) => ({ address: l.address, topics: l.topics, data: l.data })),
  };
}

if (path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const USAGE = "RPC TXHASH";
  const { pos } = parseArgs(process.argv.slice(2), [], [], USAGE);
  if (pos.length !== 2) usage(USAGE);
  await run(async () => {
    const p = provider(rpcUrl(pos[0] === "-" ? undefined : pos[0]));
    const r = await p.getTransactionReceipt(pos[1]);
    if (!r) fail(`no receipt for ${pos[1]} (unknown or not mined)`);
    const res = receiptJson(r);
    if (r.status !== 1) fail(`transaction ${pos[1]} reverted`, res);
    out(res);
  });
}
