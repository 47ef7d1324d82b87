#!/usr/bin/env node
// balances.mjs: reads what an address holds on the node.
//
// Usage: node balances.mjs RPC ADDRESS [TOKEN [NFT [NFT_ID]]]
//   RPC may be "-" for $EVM_RPC; TOKEN / NFT may be "-" to skip them.
// Prints {"address", "eth_wei", "nonce", "token", "token_balance", "nft",
//         "nft_balance", "nft_id", "nft_owner"} — amounts as decimal strings,
//         token fields null when skipped; nft_owner is the checksummed owner
//         of NFT_ID (null when no NFT_ID, "none" when the id does not exist).
import { ethers, out, parseArgs, provider, rpcUrl, run, usage } from "./common.mjs";

const USAGE = "RPC ADDRESS [TOKEN [NFT [NFT_ID]]]";
const { pos } = parseArgs(process.argv.slice(2), [], [], USAGE);
if (pos.length < 2 || pos.length > 5) usage(USAGE);

const ERC20 = ["function balanceOf(address) view returns (uint256)"];
const ERC721 = [
  "function balanceOf(address) view returns (uint256)",
  "function ownerOf(uint256) view returns (address)",
];

await run(async () => {
  const p = provider(rpcUrl(pos[0] === "-" ? undefined : pos[0]));
  const address = ethers.getAddress(pos[1]);
  const token = pos[2] && pos[2] !== "-" ? ethers.getAddress(pos[2]) : null;
  const nft = pos[3] && pos[3] !== "-" ? ethers.getAddress(pos[3]) : null;
  const nftId = pos[4] !== undefined ? BigInt(pos[4]) : null;
  const res = {
    address,
    eth_wei: await p.getBalance(address),
    nonce: await p.getTransactionCount(address, "latest"),
    token,
    token_balance: null,
    nft,
    nft_balance: null,
    nft_id: nftId,
    nft_owner: null,
  };
  if (token) res.token_balance = await new ethers.Contract(token, ERC20, p).balanceOf(address);
  if (nft) {
    const c = new ethers.Contract(nft, ERC721, p);
    res.nft_balance = await c.balanceOf(address);
    if (nftId !== null) {
      try {
        res.nft_owner = await c.ownerOf(nftId);
      } catch (e) {
        if (e.code !== "CALL_EXCEPTION") throw e;
        res.nft_owner = "none";
      }
    }
  }
  out(res);
});
