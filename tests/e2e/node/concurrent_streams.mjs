#!/usr/bin/env node
// File: tests/e2e/node/concurrent_streams.mjs
// Fires N streamed chat completions AT ONCE with the official `openai` npm SDK (one client per
// base URL; requests spread round-robin over the URLs, e.g. two edge replicas) and prints ONE JSON
// line describing each request's outcome. The C++ test (tests/e2e/guard_e2e_test.cc) asserts.
//
//   node concurrent_streams.mjs --base-urls URL[,URL...] --api-key KEY --count N --body JSON
//                               [--timeout-ms N]
//
// Result line: {"results": [ {index, base_url, status, ok, error: null | {status, code, type,
//   message}, done_seen, content_chars, content_chunks (non-empty content deltas), usage, p402_metadata (final chunk's), error_event (the
//   mid-stream error event object, with its p402_metadata, or null)} ... ], "elapsed_ms"}
// Exit status: 0 when the line was printed; 2 for bad usage.

import OpenAI from 'openai';

import { doneSeen, lastErrorEvent, makeRecordingFetch, newTransport, rawSettled } from './wire_record.mjs';

function usage(message) {
  process.stderr.write(`concurrent_streams.mjs: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    if (!k.startsWith('--') || i + 1 >= argv.length) usage(`bad argument ${k}`);
    out[k.slice(2)] = argv[i + 1];
  }
  for (const k of ['base-urls', 'api-key', 'count', 'body']) {
    if (out[k] === undefined) usage(`--${k} is required`);
  }
  return out;
}

async function one(index, baseUrl, apiKey, body, timeoutMs) {
  const record = newTransport();
  const client = new OpenAI({
    baseURL: baseUrl, apiKey, maxRetries: 0, timeout: timeoutMs, fetch: makeRecordingFetch(record),
  });
  const r = {
    index, base_url: baseUrl, status: null, ok: false, error: null, done_seen: false,
    content_chars: 0, content_chunks: 0, usage: null, p402_metadata: null, error_event: null,
  };
  try {
    const stream = await client.chat.completions.create({ ...body, stream: true,
      stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      const delta = chunk?.choices?.[0]?.delta?.content;
      if (typeof delta === 'string' && delta.length > 0) {
        r.content_chars += delta.length;
        r.content_chunks += 1;
      }
      if (chunk?.usage) r.usage = chunk.usage;
      if (chunk?.p402_metadata !== undefined) r.p402_metadata = chunk.p402_metadata;
    }
    r.ok = true;
  } catch (e) {
    const b = e?.error ?? null;
    r.error = { status: typeof e?.status === 'number' ? e.status : null, code: b?.code ?? e?.code ?? null,
      type: b?.type ?? null, message: b?.message ?? String(e?.message ?? e) };
  }
  await rawSettled(record);
  r.status = record.status ?? r.error?.status ?? null;
  r.done_seen = doneSeen(record.raw);
  r.error_event = lastErrorEvent(record.raw);
  return r;
}

const args = parseArgs(process.argv.slice(2));
const urls = args['base-urls'].split(',').filter(Boolean);
const count = Number(args.count);
if (!Number.isInteger(count) || count < 1 || count > 1000) usage('--count must be 1..1000');
let body;
try {
  body = JSON.parse(args.body);
} catch (e) {
  usage(`--body is not JSON: ${e.message}`);
}
const started = Date.now();
const jobs = [];
for (let i = 0; i < count; i++) {
  jobs.push(one(i, urls[i % urls.length], args['api-key'], body, Number(args['timeout-ms'] ?? 60000)));
}
const results = await Promise.all(jobs);
process.stdout.write(JSON.stringify({ results, elapsed_ms: Date.now() - started }) + '\n');
