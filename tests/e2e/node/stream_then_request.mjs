#!/usr/bin/env node
// File: tests/e2e/node/stream_then_request.mjs
// Starts ONE streamed chat completion with the official `openai` npm SDK and, as soon as the first
// non-empty content delta arrives, performs the given HTTP requests (in order, with fetch) while
// the stream keeps being read — e.g. revoking the agent session whose token streams. Prints ONE
// JSON line describing both; the C++ test (tests/e2e/guard_layers_e2e_test.cc) asserts.
//
//   node stream_then_request.mjs --base-url URL --api-key KEY --body JSON
//                                --requests JSON [--timeout-ms N]
//
// --requests: [{"method":"DELETE","url":"http://...","authorization":"Bearer ...","body":"..."?}]
//
// Result line: {status (of the stream's HTTP response), ok (the SDK finished without throwing),
//   error: null | {status, code, type, message} (what the SDK threw), content_chars,
//   content_chunks (non-empty content deltas), content_chunks_after_requests (those read after
//   the last request answered), done_seen ("data: [DONE]" on the wire), error_event (the whole
//   last `data:` object with an `error` member, p402_metadata included, or null), p402_metadata
//   (of the last chunk that had one), requests: [{method, url, status, body (parsed JSON, else
//   text), sent_ms, answered_ms}], first_content_ms, stream_end_ms, elapsed_ms}
//   (all *_ms are milliseconds since the script started).
// Exit status: 0 when the line was printed; 2 for bad usage; 3 with a harness_error line.

import OpenAI from 'openai';

import { doneSeen, lastErrorEvent, makeRecordingFetch, newTransport, rawSettled } from './wire_record.mjs';

function usage(message) {
  process.stderr.write(`stream_then_request.mjs: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    if (!k.startsWith('--') || i + 1 >= argv.length) usage(`bad argument ${k}`);
    out[k.slice(2)] = argv[i + 1];
  }
  for (const k of ['base-url', 'api-key', 'body', 'requests']) {
    if (out[k] === undefined) usage(`--${k} is required`);
  }
  for (const k of ['body', 'requests']) {
    try {
      out[k] = JSON.parse(out[k]);
    } catch (e) {
      usage(`--${k} is not JSON: ${e.message}`);
    }
  }
  if (!Array.isArray(out.requests)) usage('--requests must be a JSON array');
  return out;
}

const started = Date.now();
const since = () => Date.now() - started;

async function perform(requests, timeoutMs) {
  const out = [];
  for (const r of requests) {
    const entry = {
      method: r.method, url: r.url, status: null, body: null, sent_ms: since(), answered_ms: null,
    };
    out.push(entry);
    try {
      const headers = { 'content-type': 'application/json' };
      if (r.authorization) headers.authorization = r.authorization;
      const res = await fetch(r.url, {
        method: r.method, headers, body: r.body, signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      entry.status = res.status;
      try {
        entry.body = JSON.parse(text);
      } catch {
        entry.body = text;
      }
    } catch (e) {
      entry.body = `fetch failed: ${e?.message ?? e}`;
    }
    entry.answered_ms = since();
  }
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const timeoutMs = Number(args['timeout-ms'] ?? 30000);
  const record = newTransport();
  const client = new OpenAI({
    baseURL: args['base-url'], apiKey: args['api-key'], maxRetries: 0, timeout: timeoutMs,
    fetch: makeRecordingFetch(record),
  });
  const r = {
    status: null, ok: false, error: null, content_chars: 0, content_chunks: 0,
    content_chunks_after_requests: 0, done_seen: false, error_event: null, p402_metadata: null,
    requests: [], first_content_ms: null, stream_end_ms: null, elapsed_ms: null,
  };
  let requestsDone = null;  // promise, started at the first content delta
  let requestsAnswered = false;
  try {
    const stream = await client.chat.completions.create({ ...args.body, stream: true });
    for await (const chunk of stream) {
      const delta = chunk?.choices?.[0]?.delta?.content;
      if (typeof delta === 'string' && delta.length > 0) {
        r.content_chars += delta.length;
        r.content_chunks += 1;
        if (requestsAnswered) r.content_chunks_after_requests += 1;
        if (requestsDone === null) {
          r.first_content_ms = since();
          // Not awaited: the stream goes on being read while the requests run.
          requestsDone = perform(args.requests, timeoutMs).then((done) => {
            requestsAnswered = true;
            return done;
          });
        }
      }
      if (chunk?.p402_metadata !== undefined) r.p402_metadata = chunk.p402_metadata;
    }
    r.ok = true;
  } catch (e) {
    const b = e?.error ?? null;
    r.error = {
      status: typeof e?.status === 'number' ? e.status : null,
      code: b?.code ?? e?.code ?? null,
      type: b?.type ?? null,
      message: b?.message ?? String(e?.message ?? e),
    };
  }
  r.stream_end_ms = since();
  await rawSettled(record);
  if (requestsDone !== null) r.requests = await requestsDone;
  r.status = record.status ?? r.error?.status ?? null;
  r.done_seen = doneSeen(record.raw);
  r.error_event = lastErrorEvent(record.raw);
  r.elapsed_ms = since();
  return r;
}

main().then(
    (result) => {
      process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
    },
    (e) => {
      process.stdout.write(JSON.stringify({ harness_error: String(e?.stack ?? e) }) + '\n',
          () => process.exit(3));
    });
