#!/usr/bin/env node
// keystore.mjs: Web3 Secret Storage (keystore v3) files with ethers v6, to
// check KashGuard's keystore import/export both ways.
//
// Usage:
//   node keystore.mjs encrypt PRIVHEX PASSWORD [--scrypt-n N] [--scrypt-r R] [--scrypt-p P]
//       prints the keystore JSON itself (save it to a file). Default scrypt
//       N=1024 r=8 p=1: light, for tests (real wallets use N=131072 or more).
//   node keystore.mjs decrypt JSONFILE|- PASSWORD
//       prints {"address", "private_key"}; exit 1 on a wrong password or a
//       damaged file. Reads scrypt and pbkdf2 keystores.
import { argOrStdin, ethers, fail, hexBytes, out, parseArgs, readFileArg, run, usage } from "./common.mjs";

const USAGE = "encrypt PRIVHEX PASSWORD [--scrypt-n N] [--scrypt-r R] [--scrypt-p P] | decrypt JSONFILE|- PASSWORD";
const { pos, opts } = parseArgs(process.argv.slice(2), ["scrypt-n", "scrypt-r", "scrypt-p"], [], USAGE);
if (pos.length !== 3 || !["encrypt", "decrypt"].includes(pos[0])) usage(USAGE);

await run(async () => {
  if (pos[0] === "encrypt") {
    const key = hexBytes(argOrStdin(pos[1]).trim(), "PRIVHEX");
    const wallet = new ethers.Wallet(key);
    const scrypt = {
      N: Number(opts["scrypt-n"] ?? 1024),
      r: Number(opts["scrypt-r"] ?? 8),
      p: Number(opts["scrypt-p"] ?? 1),
    };
    const json = await ethers.encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, pos[2], { scrypt });
    process.stdout.write(json + "\n");
    return;
  }
  const text = readFileArg(pos[1]);
  if (!ethers.isKeystoreJson(text)) fail("not a keystore v3 JSON file");
  let acct;
  try {
    acct = await ethers.decryptKeystoreJson(text, pos[2]);
  } catch (e) {
    fail(`cannot decrypt: ${e.shortMessage ?? e.message}`);
  }
  out({ address: acct.address, private_key: acct.privateKey });
});
