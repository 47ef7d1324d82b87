// Compare KashGuard's Solana transfer (dumped by chain_test_solana with
// KG_SOLANA_DUMP) with @solana/web3.js: the message of
// SystemProgram.transfer, the signed transaction (Ed25519 is
// deterministic, so the signature must be identical) and its encodings.
'use strict';
const fs = require('fs');
const { Transaction, SystemProgram, PublicKey, Keypair } = require('@solana/web3.js');
const bs58 = require('bs58');
const b58 = bs58.default || bs58;

const d = {};
for (const line of fs.readFileSync(process.argv[2], 'utf8').trim().split('\n')) {
  const [k, v] = line.split(' ');
  d[k] = v;
}
let failed = 0;
function same(name, ours, theirs) {
  const ok = ours === theirs;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
  if (!ok) { console.log(`  ours ${ours}\n  web3 ${theirs}`); failed++; }
}
const kp = Keypair.fromSeed(Buffer.from(d.seed, 'hex'));
same('from address', d.from, kp.publicKey.toBase58());
const tx = new Transaction({ feePayer: kp.publicKey, recentBlockhash: d.blockhash }).add(
  SystemProgram.transfer({ fromPubkey: kp.publicKey, toPubkey: new PublicKey(d.to), lamports: BigInt(d.lamports) }));
same('message', d.message, tx.serializeMessage().toString('hex'));
tx.sign(kp);
const wire = tx.serialize();
same('signature', d.signature, Buffer.from(tx.signature).toString('hex'));
same('transaction', d.tx, wire.toString('hex'));
same('transaction base58', d.tx_b58, b58.encode(wire));
same('transaction base64', d.tx_b64, wire.toString('base64'));
console.log(failed ? `solana interop: ${failed} mismatch(es)` : 'solana interop: 6/6 match @solana/web3.js');
process.exit(failed ? 1 : 0);
