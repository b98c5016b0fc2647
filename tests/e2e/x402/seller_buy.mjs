#!/usr/bin/env node
// File: tests/e2e/x402/seller_buy.mjs
// A third-party seller that uses P402 as its x402 FACILITATOR, bought from by the matching
// official client, in one process; prints ONE JSON line for the C++ test to check.
//
//   node seller_buy.mjs '<json>'     input: {facilitator_url (the P402 edge, e.g.
//     http://127.0.0.1:PORT; the middlewares call <url>/verify, <url>/settle, <url>/supported),
//     version: 1|2, token, chain_id, pay_to, buyer_key, price (atomic units, default "10000"),
//     token_name (default "USDC"), token_version (default "2"), max_value (default 100000)}
//
// v1: an express app with x402-express 1.2.0 paymentMiddleware(payTo, {"GET /paid": {price:
// {amount, asset:{address, decimals:6, eip712:{name, version}}}, network:"base-sepolia"}}, {url});
// paid by x402-fetch 1.2.0. v2: @x402/express 2.27.0 with an x402ResourceServer over
// HTTPFacilitatorClient({url}) and ExactEvmScheme (@x402/evm/exact/server) registered for
// eip155:<chain_id>, price {amount, asset, extra:{name, version}}; paid by @x402/fetch 2.27.0.
// Both listen on 127.0.0.1:0.
//
// Result: {version, seller_url, unpaid: {status, headers, body, payment_required},
//   paid: {status, headers, body, payment_response (decoded), error}, handler_calls (how often
//   the paid route's handler ran)}.
import express from "express";
import { privateKeyToAccount } from "viem/accounts";
import { paymentMiddleware as paymentMiddlewareV1 } from "x402-express";
import { wrapFetchWithPayment as wrapFetchV1 } from "x402-fetch";
import { paymentMiddleware as paymentMiddlewareV2, x402ResourceServer } from "@x402/express";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { ExactEvmScheme as ExactEvmServerScheme } from "@x402/evm/exact/server";
import { registerExactEvmScheme as registerClientEvm } from "@x402/evm/exact/client";
import { x402Client, wrapFetchWithPayment as wrapFetchV2 } from "@x402/fetch";
import { emit, fail, headersObject, parseInput, run, unb64json } from "./common.mjs";

const V1_NAMES = { 84532: "base-sepolia", 8453: "base" };

async function main() {
  const a = parseInput();
  for (const k of ["facilitator_url", "version", "token", "chain_id", "pay_to", "buyer_key"]) {
    if (a[k] === undefined) fail(`missing ${k}`);
  }
  const version = Number(a.version);
  const chainId = Number(a.chain_id);
  const price = String(a.price ?? "10000");
  const name = a.token_name ?? "USDC";
  const tokenVersion = a.token_version ?? "2";
  const maxValue = BigInt(a.max_value ?? 100000);
  const facilitator = { url: a.facilitator_url.replace(/\/$/, "") };
  const buyer = privateKeyToAccount(a.buyer_key);
  let handlerCalls = 0;

  const app = express();
  if (version === 1) {
    if (!V1_NAMES[chainId]) fail(`chain ${chainId} has no v1 network name`);
    app.use(paymentMiddlewareV1(a.pay_to, {
      "GET /paid": {
        price: { amount: price, asset: { address: a.token, decimals: 6, eip712: { name, version: tokenVersion } } },
        network: V1_NAMES[chainId],
        config: { description: "P402 e2e third-party seller (v1)", mimeType: "application/json" },
      },
    }, facilitator));
  } else {
    const network = `eip155:${chainId}`;
    const server = new x402ResourceServer(new HTTPFacilitatorClient(facilitator))
      .register(network, new ExactEvmServerScheme());
    app.use(paymentMiddlewareV2({
      "GET /paid": {
        accepts: {
          scheme: "exact", network, payTo: a.pay_to, maxTimeoutSeconds: 60,
          price: { amount: price, asset: a.token, extra: { name, version: tokenVersion } },
        },
        description: "P402 e2e third-party seller (v2)", mimeType: "application/json",
      },
    }, server));
  }
  app.get("/paid", (req, res) => { handlerCalls++; res.json({ paid: true, version }); });
  const listener = await new Promise(r => { const s = app.listen(0, "127.0.0.1", () => r(s)); });
  const sellerUrl = `http://127.0.0.1:${listener.address().port}/paid`;
  const result = { version, seller_url: sellerUrl };

  try {
    const unpaid = await fetch(sellerUrl);
    const text = await unpaid.text();
    let body = text;
    try { body = JSON.parse(text); } catch { /* text */ }
    result.unpaid = {
      status: unpaid.status, headers: headersObject(unpaid.headers), body,
      payment_required: unb64json(unpaid.headers.get("payment-required")),
    };

    let paying;
    if (version === 1) {
      paying = wrapFetchV1(fetch, buyer, maxValue);
    } else {
      const client = new x402Client().setSpendControls({
        allowedAssets: [{ network: `eip155:${chainId}`, asset: a.token, maxAmountPerPayment: String(maxValue) }],
      });
      registerClientEvm(client, { signer: buyer });
      paying = wrapFetchV2(fetch, client);
    }
    const paid = { error: null };
    try {
      const res = await paying(sellerUrl);
      const t = await res.text();
      let b = t;
      try { b = JSON.parse(t); } catch { /* text */ }
      const h = headersObject(res.headers);
      Object.assign(paid, {
        status: res.status, headers: h, body: b,
        payment_response: unb64json(h["x-payment-response"] || h["payment-response"]),
        payment_required: unb64json(h["payment-required"]),
      });
    } catch (e) {
      paid.error = e?.message || String(e);
    }
    result.paid = paid;
    result.handler_calls = handlerCalls;
  } finally {
    listener.close();
  }
  emit(result);
}

run(main);
