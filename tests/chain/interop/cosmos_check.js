// Compare KashGuard's Cosmos bytes (dumped by chain_test_cosmos with
// KG_COSMOS_DUMP) with @cosmjs: address, TxBody, AuthInfo, SignDoc
// (makeSignDoc/makeSignBytes), TxRaw, the signature's validity, and the
// signature cosmjs itself makes with the same key (RFC 6979: identical).
'use strict';
const fs = require('fs');
const { Registry, makeAuthInfoBytes, makeSignDoc, makeSignBytes, encodePubkey, DirectSecp256k1Wallet } =
  require('@cosmjs/proto-signing');
const { encodeSecp256k1Pubkey, pubkeyToAddress } = require('@cosmjs/amino');
const { Secp256k1, Secp256k1Signature, sha256 } = require('@cosmjs/crypto');
const { fromHex, toHex, fromBase64 } = require('@cosmjs/encoding');
const { TxRaw } = require('cosmjs-types/cosmos/tx/v1beta1/tx');

const d = {};
for (const line of fs.readFileSync(process.argv[2], 'utf8').trim().split('\n')) {
  const [k, v] = line.split(' ');
  d[k] = v;
}
let failed = 0;
function same(name, ours, theirs) {
  const ok = ours === theirs;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
  if (!ok) { console.log(`  ours   ${ours}\n  cosmjs ${theirs}`); failed++; }
}

(async () => {
  const pub = fromHex(d.pubkey);
  same('address', d.from, pubkeyToAddress(encodeSecp256k1Pubkey(pub), 'cosmos'));
  const registry = new Registry();
  const body = registry.encode({
    typeUrl: '/cosmos.tx.v1beta1.TxBody',
    value: {
      messages: [{ typeUrl: '/cosmos.bank.v1beta1.MsgSend',
                   value: { fromAddress: d.from, toAddress: d.to, amount: [{ denom: 'uatom', amount: '1234567' }] } }],
      memo: 'kashguard test',
      timeoutHeight: 12345678n,
    },
  });
  same('TxBody', d.body, toHex(body));
  const auth = makeAuthInfoBytes([{ pubkey: encodePubkey(encodeSecp256k1Pubkey(pub)), sequence: 7 }],
                                 [{ denom: 'uatom', amount: '5000' }], 200000, undefined, undefined);
  same('AuthInfo', d.auth_info, toHex(auth));
  const doc = makeSignDoc(body, auth, 'cosmoshub-4', 42);
  const signBytes = makeSignBytes(doc);
  same('SignDoc (makeSignBytes)', d.sign_doc, toHex(signBytes));
  const sig = fromHex(d.signature);
  const valid = await Secp256k1.verifySignature(Secp256k1Signature.fromFixedLength(sig), sha256(signBytes), pub);
  same('signature verifies', 'true', String(valid));
  const raw = TxRaw.encode(TxRaw.fromPartial({ bodyBytes: body, authInfoBytes: auth, signatures: [sig] })).finish();
  same('TxRaw', d.tx_raw, toHex(raw));
  const wallet = await DirectSecp256k1Wallet.fromKey(new Uint8Array(32).fill(1), 'cosmos');
  const signed = await wallet.signDirect(d.from, doc);
  same('cosmjs signature with the same key', d.signature, toHex(fromBase64(signed.signature.signature)));
  console.log(failed ? `cosmos interop: ${failed} mismatch(es)` : 'cosmos interop: 7/7 match @cosmjs');
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(1); });
