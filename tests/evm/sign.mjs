#!/usr/bin/env node
// sign.mjs: reference signatures made by ethers v6, to compare with
// KashGuard's. ethers (noble-curves) and libsecp256k1 both use RFC 6979
// deterministic nonces with low s, so the same key and digest give the same
// bytes: tests can compare signatures exactly, not just verify them.
//
// Usage:
//   node sign.mjs tx      PRIVHEX TX_JSON|-       -> {"raw", "hash", "unsigned", "unsigned_hash", "from", ...tx fields}
//   node sign.mjs message PRIVHEX MESSAGE|- [--hex] -> {"signature", "address", "digest"}
//   node sign.mjs typed   PRIVHEX TYPED_JSON_FILE|- -> {"signature", "address", "digest"}
//   node sign.mjs digest  PRIVHEX HASH32HEX       -> {"signature", "r", "s", "v", "y_parity", "address"}
// TX_JSON keys (snake_case or camelCase): type, chain_id, nonce, to, value,
// data, gas_limit, gas_price, max_fee_per_gas, max_priority_fee_per_gas,
// access_list; numbers as JSON numbers or decimal/0x strings.
import { argOrStdin, ethers, hexBytes, loadTyped, out, parseArgs, readFileArg, run, txFromJson, txJson, usage } from "./common.mjs";

const USAGE = "tx PRIVHEX TX_JSON|- | message PRIVHEX MESSAGE|- [--hex] | typed PRIVHEX FILE|- | digest PRIVHEX HASH32";
const { pos, opts } = parseArgs(process.argv.slice(2), [], ["hex"], USAGE);
if (pos.length !== 3) usage(USAGE);

await run(async () => {
  const wallet = new ethers.Wallet(hexBytes(pos[1], "PRIVHEX"));
  switch (pos[0]) {
    case "tx": {
      const tx = txFromJson(argOrStdin(pos[2]));
      tx.signature = wallet.signingKey.sign(tx.unsignedHash);
      out({ raw: tx.serialized, ...txJson(tx) });
      break;
    }
    case "message": {
      const text = argOrStdin(pos[2]);
      const msg = opts.hex ? ethers.getBytes(hexBytes(text.trim(), "MESSAGE")) : text;
      out({ signature: await wallet.signMessage(msg), address: wallet.address, digest: ethers.hashMessage(msg) });
      break;
    }
    case "typed": {
      const { domain, types, message } = loadTyped(readFileArg(pos[2]));
      out({
        signature: await wallet.signTypedData(domain, types, message),
        address: wallet.address,
        digest: ethers.TypedDataEncoder.hash(domain, types, message),
      });
      break;
    }
    case "digest": {
      const d = hexBytes(pos[2], "HASH32");
      if (ethers.dataLength(d) !== 32) throw new Error("HASH32 must be 32 bytes");
      const sig = wallet.signingKey.sign(d);
      out({ signature: sig.serialized, r: sig.r, s: sig.s, v: sig.v, y_parity: sig.yParity, address: wallet.address });
      break;
    }
    default:
      usage(USAGE);
  }
});
