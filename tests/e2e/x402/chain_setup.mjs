#!/usr/bin/env node
// File: tests/e2e/x402/chain_setup.mjs
// Prepares a fresh local chain (ganache, started by tests/support/local_chain.cc) for the x402
// tests: compiles contracts/TestUSDC.sol + contracts/MiniMulticall.sol with solc-js (bundled
// wasm, no download; EVM "shanghai", the newest ganache 7.9.2 runs), caching the output in
// --build-dir keyed by the sources' hash; deploys TestUSDC(name, version) from ganache key #0,
// mints --mint atomic units to key #1 (the buyer) and puts the Multicall3 stand-in at its
// canonical address (@x402/evm style failure diagnosis reads through it).
//
//   node chain_setup.mjs --rpc-url http://127.0.0.1:PORT --chain-id 84532 --build-dir DIR
//                        [--token-name USDC] [--token-version 2] [--mint 10000000]
//
// Prints ONE JSON line: {token (EIP-55), chain_id, chain_id_seen_by_contract, name, version,
// decimals, domain_separator, facilitator, buyer, seller, poor, buyer_balance, compiled_from_cache}.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { createPublicClient, createWalletClient, defineChain, getAddress, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { KEYS, emit, fail, parseInput, run } from "./common.mjs";

const require = createRequire(import.meta.url);
const MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11";
const EVM_VERSION = "shanghai"; // ganache 7.9.2 stops at shanghai; solc 0.8.37 defaults to osaka
const SOURCES = ["TestUSDC.sol", "MiniMulticall.sol"];

function compile(buildDir) {
  const sources = {};
  for (const f of SOURCES) {
    sources[f] = { content: fs.readFileSync(new URL(`./contracts/${f}`, import.meta.url), "utf8") };
  }
  const solcPkg = JSON.parse(fs.readFileSync(require.resolve("solc/package.json"), "utf8"));
  const key = createHash("sha256")
    .update(JSON.stringify({ sources, solc: solcPkg.version, evm: EVM_VERSION }))
    .digest("hex").slice(0, 16);
  const cacheFile = path.join(buildDir, `x402-contracts-${key}.json`);
  if (fs.existsSync(cacheFile)) {
    return { artifacts: JSON.parse(fs.readFileSync(cacheFile, "utf8")), cached: true };
  }
  const solc = require("solc");
  const input = {
    language: "Solidity",
    sources,
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter(e => e.severity === "error");
  if (errors.length) throw new Error(errors.map(e => e.formattedMessage).join("\n"));
  const artifacts = {};
  for (const [file, name] of [["TestUSDC.sol", "TestUSDC"], ["MiniMulticall.sol", "MiniMulticall"]]) {
    const c = out.contracts[file][name];
    artifacts[name] = {
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
  }
  fs.mkdirSync(buildDir, { recursive: true });
  // Parallel test runs may compile at the same time: write aside, then rename (atomic).
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(artifacts));
  fs.renameSync(tmp, cacheFile);
  return { artifacts, cached: false };
}

async function main() {
  const a = parseInput();
  if (!a.rpc_url || !a.build_dir) fail("--rpc-url and --build-dir are required");
  const chainId = Number(a.chain_id || 84532);
  const name = a.token_name ?? "USDC";
  const version = a.token_version ?? "2";
  const mint = BigInt(a.mint ?? "10000000");
  const { artifacts, cached } = compile(a.build_dir);
  const { abi, bytecode } = artifacts.TestUSDC;

  const chain = defineChain({
    id: chainId, name: `local-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [a.rpc_url] } },
  });
  const pub = createPublicClient({ chain, transport: http(a.rpc_url) });
  const acct = Object.fromEntries(Object.entries(KEYS).map(([k, v]) => [k, privateKeyToAccount(v)]));
  const deployer = createWalletClient({ chain, transport: http(a.rpc_url), account: acct.facilitator });

  const seenChainId = await pub.getChainId();
  if (seenChainId !== chainId) throw new Error(`chain answers eth_chainId ${seenChainId}, expected ${chainId}`);
  const hash = await deployer.deployContract({ abi, bytecode, args: [name, version] });
  const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== "success") throw new Error("token deployment reverted");
  const token = getAddress(receipt.contractAddress); // ganache answers lower-case
  if (mint > 0n) {
    const mintHash = await deployer.writeContract({
      address: token, abi, functionName: "mint", args: [acct.buyer.address, mint],
    });
    const r = await pub.waitForTransactionReceipt({ hash: mintHash, pollingInterval: 50 });
    if (r.status !== "success") throw new Error("mint reverted");
  }
  await pub.request({ method: "evm_setAccountCode", params: [MULTICALL3, artifacts.MiniMulticall.deployedBytecode] });

  const read = (functionName, args = []) => pub.readContract({ address: token, abi, functionName, args });
  const [onName, onVersion, decimals, balance, domain, separator] = await Promise.all([
    read("name"), read("version"), read("decimals"), read("balanceOf", [acct.buyer.address]),
    read("eip712Domain"), read("DOMAIN_SEPARATOR"),
  ]);
  emit({
    token, chain_id: chainId, chain_id_seen_by_contract: Number(domain[3]),
    name: onName, version: onVersion, decimals: Number(decimals), domain_separator: separator,
    facilitator: acct.facilitator.address, buyer: acct.buyer.address,
    seller: acct.seller.address, poor: acct.poor.address,
    buyer_balance: balance.toString(), compiled_from_cache: cached,
  });
}

run(main);
