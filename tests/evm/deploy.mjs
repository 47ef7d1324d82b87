#!/usr/bin/env node
// deploy.mjs: deploys the test contracts (compiled by compile.mjs) from dev
// account 0 and mints one NFT, so a wallet test has tokens to move.
//
// Usage: node deploy.mjs [--rpc URL] [--key PRIVHEX] [--mint-to ADDRESS]
//   --rpc      defaults to $EVM_RPC; --key defaults to $EVM_KEY0 (account 0)
//   --mint-to  owner of the minted NFT (default: the deployer)
// Prints {"token", "nft", "nft_id", "receiver", "deployer", "chain_id",
//         "token_supply", "token_decimals"} (addresses checksummed, ids and
//         amounts as decimal strings). TestToken: "KashGuard Test Token" (KGT),
//         18 decimals, 1000000 KGT to the deployer. TestNFT: "KashGuard Test
//         NFT" (KGNFT), first id 1. TestNFTReceiver(true) accepts safe transfers.
import { artifact, ethers, out, parseArgs, provider, rpcUrl, run, usage, walletFor } from "./common.mjs";

const USAGE = "[--rpc URL] [--key PRIVHEX] [--mint-to ADDRESS]";
const { pos, opts } = parseArgs(process.argv.slice(2), ["rpc", "key", "mint-to"], [], USAGE);
if (pos.length !== 0) usage(USAGE);

await run(async () => {
  const url = rpcUrl(opts.rpc);
  const signer = walletFor(url, opts.key);
  const deployer = await signer.getAddress();
  const mintTo = opts["mint-to"] ? ethers.getAddress(opts["mint-to"]) : deployer;

  async function deploy(name, ...args) {
    const a = artifact(name);
    const c = await new ethers.ContractFactory(a.abi, a.bytecode, signer).deploy(...args);
    await c.waitForDeployment();
    return c;
  }

  const supply = ethers.parseUnits("1000000", 18);
  const token = await deploy("TestToken", "KashGuard Test Token", "KGT", 18, supply);
  const nft = await deploy("TestNFT", "KashGuard Test NFT", "KGNFT");
  const receiver = await deploy("TestNFTReceiver", true);

  const tx = await nft.mint(mintTo);
  const rcpt = await tx.wait();
  const ev = rcpt.logs.map((l) => nft.interface.parseLog(l)).find((l) => l?.name === "Transfer");
  const { chainId } = await provider(url).getNetwork();

  out({
    token: await token.getAddress(),
    nft: await nft.getAddress(),
    nft_id: ev.args.tokenId,
    receiver: await receiver.getAddress(),
    deployer,
    chain_id: chainId,
    token_supply: supply,
    token_decimals: 18,
  });
});
