#!/usr/bin/env node
// File: tests/e2e/x402/pay_chat.mjs
// Pays a chat completion at the P402 edge with the OFFICIAL x402 clients and prints ONE JSON line
// describing what happened; the C++ tests (tests/e2e/x402_e2e_test.cc) make the assertions.
//
//   node pay_chat.mjs '<json>'      or   node pay_chat.mjs --file input.json
//   input: {edge_url, version: 1|2, private_key, token, chain_id, body (chat request object),
//           max_value (atomic units, the client's cap), stream?: bool, prefer_mode?: "cost"|...,
//           sdk?: bool, path?: "/v1/chat/completions"}
//
// v1: x402-fetch 1.2.0 `wrapFetchWithPayment(fetch, privateKeyToAccount(key), maxValue, selector)`;
// v2: @x402/fetch 2.27.0 over `new x402Client().setSpendControls({allowedAssets:[..the local
// token..]})` + registerExactEvmScheme from @x402/evm/exact/client (X402.md 3.2: the default spend
// controls only allow the real USDC addresses). prefer_mode picks the accepts entry whose
// extra.p402_mode equals it (v1: a selector; v2: a client policy); default: the library's choice.
// The chat body is first POSTed once WITHOUT payment to capture the 402 (`first`), then through the
// paying fetch. With sdk:true the paying fetch is handed to the official `openai` SDK
// (new OpenAI({apiKey:"x402", baseURL, fetch})); the SDK's dummy Authorization header is removed
// before the request leaves (a P402 key would take the request off the x402 path).
//
// Result: {version, first: {status, headers, body, payment_required (decoded PAYMENT-REQUIRED)},
//   status, headers, body (parsed JSON, or text), content (the completion text; streams: the
//   concatenated deltas), payment_response (decoded X-PAYMENT-RESPONSE / PAYMENT-RESPONSE),
//   payment_sent (decoded payment header of the paid retry), requests (fetch calls made),
//   paid_request_headers (header names of the paid retry), error (thrown message or null)}.
import OpenAI from "openai";
import { privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment as wrapFetchV1 } from "x402-fetch";
import { selectPaymentRequirements } from "x402/client";
import { x402Client, wrapFetchWithPayment as wrapFetchV2 } from "@x402/fetch";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { emit, fail, headersObject, parseInput, run, unb64json } from "./common.mjs";

const V1_NAMES = { 84532: "base-sepolia", 8453: "base" };

// fetch that records what is sent (and drops the SDK's dummy key when asked).
function recordingFetch(log, dropAuthorization) {
  return async (input, init) => {
    let request = new Request(input, init);
    if (dropAuthorization && request.headers.has("authorization")) {
      const headers = new Headers(request.headers);
      headers.delete("authorization");
      request = new Request(request, { headers });
    }
    log.push({
      url: request.url,
      headers: headersObject(request.headers),
    });
    return fetch(request);
  };
}

async function readBody(res, stream) {
  const text = await res.text();
  if (!stream || !(res.headers.get("content-type") || "").startsWith("text/event-stream")) {
    try {
      const body = JSON.parse(text);
      return { body, content: body?.choices?.[0]?.message?.content ?? null };
    } catch {
      return { body: text, content: null };
    }
  }
  let content = "";
  const events = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    try {
      const ev = JSON.parse(line.slice(6));
      events.push(ev);
      content += ev?.choices?.[0]?.delta?.content ?? "";
    } catch { /* not JSON: kept in raw */ }
  }
  return { body: { events, raw: text, done_seen: text.includes("data: [DONE]") }, content };
}

async function main() {
  const a = parseInput();
  for (const k of ["edge_url", "version", "private_key", "token", "chain_id", "body"]) {
    if (a[k] === undefined) fail(`missing ${k}`);
  }
  const version = Number(a.version);
  const chainId = Number(a.chain_id);
  const url = a.edge_url.replace(/\/$/, "") + (a.path || "/v1/chat/completions");
  const maxValue = BigInt(a.max_value ?? 100000);
  const body = { ...a.body, ...(a.stream ? { stream: true } : {}) };
  const account = privateKeyToAccount(a.private_key);
  const result = { version, error: null };

  // 1. The unpaid request: what the 402 offers.
  const first = await fetch(url, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const firstText = await first.text();
  let firstBody = firstText;
  try { firstBody = JSON.parse(firstText); } catch { /* text */ }
  result.first = {
    status: first.status, headers: headersObject(first.headers), body: firstBody,
    payment_required: unb64json(first.headers.get("payment-required")),
  };

  // 2. The paying fetch.
  const log = [];
  const base = recordingFetch(log, !!a.sdk);
  let paying;
  if (version === 1) {
    const selector = a.prefer_mode
      ? (reqs, network, scheme) =>
          reqs.find(r => r.extra?.p402_mode === a.prefer_mode) ??
          selectPaymentRequirements(reqs, network, scheme)
      : selectPaymentRequirements;
    paying = wrapFetchV1(base, account, maxValue, selector);
  } else {
    const allowed = [{ network: `eip155:${chainId}`, asset: a.token, maxAmountPerPayment: String(maxValue) }];
    if (V1_NAMES[chainId]) {
      allowed.push({ network: V1_NAMES[chainId], asset: a.token, maxAmountPerPayment: String(maxValue) });
    }
    const client = new x402Client().setSpendControls({ allowedAssets: allowed });
    registerExactEvmScheme(client, { signer: account });
    if (a.prefer_mode) {
      client.registerPolicy((v, reqs) => reqs.filter(r => r.extra?.p402_mode === a.prefer_mode));
    }
    paying = wrapFetchV2(base, client);
  }

  // 3. The paid request.
  let res = null;
  try {
    if (a.sdk) {
      const sdk = new OpenAI({ apiKey: "x402", baseURL: a.edge_url.replace(/\/$/, "") + "/v1", fetch: paying, maxRetries: 0, timeout: 60_000 });
      if (a.stream) {
        const { data: stream, response } = await sdk.chat.completions.create(body).withResponse();
        let content = "";
        const events = [];
        for await (const chunk of stream) {
          events.push(chunk);
          content += chunk?.choices?.[0]?.delta?.content ?? "";
        }
        res = response;
        Object.assign(result, { status: response.status, body: { events }, content });
      } else {
        const { data, response } = await sdk.chat.completions.create(body).withResponse();
        res = response;
        Object.assign(result, { status: response.status, body: data, content: data?.choices?.[0]?.message?.content ?? null });
      }
    } else {
      res = await paying(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      Object.assign(result, { status: res.status }, await readBody(res, !!a.stream));
    }
  } catch (e) {
    result.error = e?.message || String(e);
    if (e?.status) {
      result.status = e.status;
      result.body = e.error ?? null;
      if (e.headers) result.headers = typeof e.headers.forEach === "function" ? headersObject(e.headers) : e.headers;
    }
  }
  if (res) result.headers = headersObject(res.headers);
  const h = result.headers || {};
  result.payment_response = unb64json(h["x-payment-response"] || h["payment-response"]);
  const paid = log.find(r => r.headers["x-payment"] || r.headers["payment-signature"]);
  result.payment_sent = paid ? unb64json(paid.headers["x-payment"] || paid.headers["payment-signature"]) : null;
  result.paid_request_headers = paid ? Object.keys(paid.headers).sort() : null;
  result.requests = log.length;
  emit(result);
}

run(main);
