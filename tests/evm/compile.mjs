#!/usr/bin/env node
// compile.mjs: compiles contracts/*.sol with solc-js (the npm `solc` package,
// pinned in package.json) through the Solidity standard-JSON interface, and
// writes one artifact per contract to tests/evm/build/<Name>.json:
//   {contractName, sourceName, abi, bytecode, deployedBytecode, compiler}
// (bytecode as 0x-hex). No compiler is downloaded: solc-js is the compiler.
//
// Usage: node compile.mjs [--out DIR] [--force]
// Prints {"compiled": [names], "out": DIR, "cached": bool} on stdout; exit 0,
// or 1 with solc's messages on stderr. The output is reused when the sources
// and the compiler have not changed (a hash in DIR/.stamp), so many tests can
// call it cheaply.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const here = path.dirname(fileURLToPath(import.meta.url));
const srcDir = path.resolve(here, "../../contracts");

// Tests may compile in parallel: write to a private name, then rename.
function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function die(msg) {
  process.stderr.write(`compile.mjs: ${msg}\n`);
  process.exit(1);
}

let outDir = path.join(here, "build");
let force = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--out" && i + 1 < argv.length) outDir = path.resolve(argv[++i]);
  else if (argv[i] === "--force") force = true;
  else die(`unknown argument '${argv[i]}'; usage: compile.mjs [--out DIR] [--force]`);
}

const files = fs.readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort();
if (files.length === 0) die(`no .sol files in ${srcDir}`);

const sources = {};
const hash = createHash("sha256").update(solc.version());
for (const f of files) {
  const content = fs.readFileSync(path.join(srcDir, f), "utf8");
  sources[f] = { content };
  hash.update(f).update("\0").update(content).update("\0");
}
// The settings below are part of the stamp too.
const settings = {
  // paris: no PUSH0/MCOPY, so the bytecode runs on any post-merge EVM node.
  evmVersion: "paris",
  optimizer: { enabled: true, runs: 200 },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
};
hash.update(JSON.stringify(settings));
const stamp = hash.digest("hex");
const stampFile = path.join(outDir, ".stamp");

if (!force && fs.existsSync(stampFile) && fs.readFileSync(stampFile, "utf8") === stamp) {
  const names = fs.readdirSync(outDir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
  console.log(JSON.stringify({ compiled: names, out: outDir, cached: true }));
  process.exit(0);
}

const input = { language: "Solidity", sources, settings };
const output = JSON.parse(solc.compile(JSON.stringify(input)));

let failed = false;
for (const e of output.errors ?? []) {
  process.stderr.write(e.formattedMessage ?? `${e.severity}: ${e.message}\n`);
  if (e.severity === "error") failed = true;
}
if (failed) die("solc reported errors (above); fix the contract sources in contracts/");

fs.mkdirSync(outDir, { recursive: true });
const names = [];
for (const [sourceName, contracts] of Object.entries(output.contracts ?? {})) {
  for (const [contractName, c] of Object.entries(contracts)) {
    const bytecode = c.evm.bytecode.object;
    if (!bytecode) continue; // interfaces and abstract contracts have no code
    const artifact = {
      contractName,
      sourceName: `contracts/${sourceName}`,
      abi: c.abi,
      bytecode: `0x${bytecode}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
      compiler: { name: "solc-js", version: solc.version(), settings: { evmVersion: settings.evmVersion, optimizer: settings.optimizer } },
    };
    writeAtomic(path.join(outDir, `${contractName}.json`), JSON.stringify(artifact, null, 2) + "\n");
    names.push(contractName);
  }
}
writeAtomic(stampFile, stamp);
console.log(JSON.stringify({ compiled: names.sort(), out: outDir, cached: false }));
