// common.mjs: shared plumbing for the tests/evm helper scripts.
//
// Conventions of every helper: arguments on the command line, where an
// argument may be "-" to read it from stdin; one JSON object on stdout
// (bigints as decimal strings, bytes as 0x-hex, snake_case keys); exit 0 when
// the operation or check succeeded, 1 when it failed (then {"error": "..."} on
// stdout and the message on stderr), 2 for a usage error.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ethers } from "ethers";

export { ethers };

export const HERE = path.dirname(fileURLToPath(import.meta.url));

// hardhat's default dev account 0 (mnemonic "test test ... junk").
export const DEV_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

function replacer(_key, value) {
  return typeof value === "bigint" ? value.toString() : value;
}

export function out(obj) {
  process.stdout.write(JSON.stringify(obj, replacer) + "\n");
}

// Print {"error": msg, ...extra} and exit 1.
export function fail(msg, extra = {}) {
  process.stderr.write(`${path.basename(process.argv[1])}: ${msg}\n`);
  out({ error: msg, ...extra });
  process.exit(1);
}

export function usage(text) {
  process.stderr.write(`usage: ${path.basename(process.argv[1])} ${text}\n`);
  process.exit(2);
}

// Split argv into positionals and --flag[=value] / --flag value options.
// `flags` lists the options that take a value; others are booleans.
export function parseArgs(argv, valueFlags = [], boolFlags = [], usageText = "") {
  const pos = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--") && a.length > 2) {
      const eq = a.indexOf("=");
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (valueFlags.includes(name)) {
        if (eq > 0) opts[name] = a.slice(eq + 1);
        else if (i + 1 < argv.length) opts[name] = argv[++i];
        else usage(usageText);
      } else if (boolFlags.includes(name) && eq < 0) {
        opts[name] = true;
      } else {
        usage(usageText);
      }
    } else {
      pos.push(a);
    }
  }
  return { pos, opts };
}

// "-" means: read all of stdin (trailing newline trimmed).
export function argOrStdin(a) {
  if (a !== "-") return a;
  return fs.readFileSync(0, "utf8").replace(/\r?\n$/, "");
}

// A file name, or "-" for stdin.
export function readFileArg(f) {
  return f === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(f, "utf8");
}

export function rpcUrl(opt) {
  const url = opt ?? process.env.EVM_RPC;
  if (!url) fail("no RPC URL: pass --rpc URL or set EVM_RPC (evm_start exports it)");
  return url;
}

export function provider(url) {
  // Fast polling: the hardhat node mines each transaction at once.
  return new ethers.JsonRpcProvider(url, undefined, { pollingInterval: 50, staticNetwork: true, cacheTimeout: -1 });
}

export function walletFor(url, key) {
  return new ethers.NonceManager(new ethers.Wallet(key ?? process.env.EVM_KEY0 ?? DEV_KEY0, provider(url)));
}

export function artifact(name) {
  const f = path.join(HERE, "build", `${name}.json`);
  if (!fs.existsSync(f)) fail(`no artifact ${f}; run: node ${path.join(HERE, "compile.mjs")}`);
  return JSON.parse(fs.readFileSync(f, "utf8"));
}

export function hexBytes(s, what) {
  if (!ethers.isHexString(s)) fail(`${what} is not 0x-prefixed hex: '${s}'`);
  return s.toLowerCase();
}

// Run main(), turning an exception into {"error": ...} and exit 1.
export async function run(main) {
  try {
    await main();
  } catch (e) {
    fail(e?.shortMessage ?? e?.message ?? String(e));
  }
}

// EIP-712 typed data in the eth_signTypedData_v4 JSON shape:
//   {"types": {"EIP712Domain": [...], ...}, "primaryType", "domain", "message"}
// ethers wants the types without EIP712Domain and picks the primary type
// itself, so keep only the types reachable from primaryType. ethers encodes
// the domain with the EIP-712 field order (name, version, chainId,
// verifyingContract, salt); a JSON EIP712Domain in another order is refused
// rather than silently hashed differently.
const DOMAIN_ORDER = ["name", "version", "chainId", "verifyingContract", "salt"];

export function loadTyped(text) {
  let j;
  try {
    j = JSON.parse(text);
  } catch (e) {
    fail(`typed data is not JSON: ${e.message}`);
  }
  const { types, primaryType, domain, message } = j ?? {};
  if (!types || typeof types !== "object") fail("typed data has no 'types' object");
  if (typeof primaryType !== "string" || !types[primaryType]) fail("typed data's 'primaryType' names no type in 'types'");
  if (!domain || typeof domain !== "object") fail("typed data has no 'domain' object");
  if (!message || typeof message !== "object") fail("typed data has no 'message' object");
  if (types.EIP712Domain) {
    const names = types.EIP712Domain.map((f) => f.name);
    const want = DOMAIN_ORDER.filter((n) => names.includes(n));
    if (names.join(",") !== want.join(",")) fail(`EIP712Domain fields [${names}] are not in EIP-712 order [${want}]`);
  }
  const keep = {};
  const todo = [primaryType];
  while (todo.length) {
    const t = todo.pop();
    if (keep[t] || !types[t]) continue;
    keep[t] = types[t];
    for (const f of types[t]) todo.push(f.type.replace(/(\[\d*\])+$/, ""));
  }
  return { domain, types: keep, primaryType, message };
}

// A transaction request from JSON; snake_case and camelCase keys both work:
// type, chain_id, nonce, to, value, data, gas_limit, gas_price,
// max_fee_per_gas, max_priority_fee_per_gas, access_list.
export function txFromJson(text) {
  let j;
  try {
    j = JSON.parse(text);
  } catch (e) {
    fail(`transaction is not JSON: ${e.message}`);
  }
  const camel = {};
  for (const [k, v] of Object.entries(j ?? {})) camel[k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = v;
  return ethers.Transaction.from(camel);
}

// The fields of a decoded or built transaction, as JSON.
export function txJson(tx) {
  const sig = tx.signature;
  return {
    type: tx.type,
    chain_id: tx.chainId,
    nonce: tx.nonce,
    to: tx.to,
    value: tx.value,
    data: tx.data,
    gas_limit: tx.gasLimit,
    gas_price: tx.gasPrice,
    max_fee_per_gas: tx.maxFeePerGas,
    max_priority_fee_per_gas: tx.maxPriorityFeePerGas,
    access_list: tx.accessList,
    from: sig ? tx.from : null,
    hash: sig ? tx.hash : null,
    unsigned_hash: tx.unsignedHash,
    unsigned: tx.unsignedSerialized,
    signature: sig ? { r: sig.r, s: sig.s, v: sig.v, y_parity: sig.yParity, network_v: sig.networkV } : null,
  };
}
