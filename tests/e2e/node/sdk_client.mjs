#!/usr/bin/env node
// File: tests/e2e/node/sdk_client.mjs
// Drives an OpenAI-compatible endpoint (the P402 edge, or the mock provider directly) with the
// OFFICIAL `openai` npm SDK and prints ONE JSON line on stdout describing what the SDK saw. The
// C++ end-to-end tests (tests/e2e/harness.h RunSdk) make all the assertions.
//
//   node sdk_client.mjs --base-url http://127.0.0.1:PORT/v1 --api-key KEY --scenario NAME
//                       [--body JSON | --body-file PATH] [--headers JSON] [--timeout-ms N]
//
// Scenarios (the request body is --body when given, else a small default for the scenario):
//   chat    non-streaming chat.completions.create
//   stream  streaming; adds stream:true and stream_options.include_usage unless --body sets them
//   tools   like chat, with a default get_weather tool; reports the tool calls
//   error   like chat, for requests that should fail; reports the SDK's APIError
//   models  models.list()
//
// Result line (always these keys; scenario keys below):
//   scenario, ok (no exception), status (HTTP status, null if no response), headers (lowercased
//   response headers), raw (response body text as received, capped at 1 MiB), elapsed_ms,
//   error: null | {name, status, message, type, code, param, sdk_message, body}
//       message/type/code/param come from the response's `error` object (OpenAI shape);
//       body is that object verbatim; sdk_message is the SDK's own Error.message.
//   chat/error/tools: response (the parsed object exactly as the SDK returned it, unknown fields
//       such as p402_metadata included), tool_calls, finish_reason, content
//   stream: chunks, content, tool_calls (accumulated from deltas), finish_reason, usage,
//       usage_chunk, final_chunk, p402_metadata (of the final chunk, else of the last chunk that
//       had one), done_seen ("data: [DONE]" was on the wire), ended_cleanly (no error and
//       done_seen), first_chunk_ms, error_event (the whole last `data:` object that carried an
//       `error` member -- a gateway's mid-stream error event with its p402_metadata -- or null)
//   models: models (array of model objects), ids
//
// Exit status: 0 whenever a result line was printed (even for failed requests); 2 for bad usage
// (message on stderr, no line); 3 for a bug in this script (a line with harness_error).
// maxRetries is 0 so the tests see the gateway's own statuses.

import { readFileSync } from 'node:fs';

import OpenAI from 'openai';

import { doneSeen, lastErrorEvent, makeRecordingFetch, newTransport, rawSettled } from './wire_record.mjs';

function usage(message) {
  process.stderr.write(`sdk_client.mjs: ${message}\n` +
      'usage: sdk_client.mjs --base-url URL --api-key KEY --scenario ' +
      'chat|stream|tools|error|models [--body JSON | --body-file PATH] [--headers JSON] ' +
      '[--timeout-ms N]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (!arg.startsWith('--')) usage(`unexpected argument ${arg}`);
    arg = arg.slice(2);
    let value;
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else {
      if (i + 1 >= argv.length) usage(`--${arg} needs a value`);
      value = argv[++i];
    }
    out[arg] = value;
  }
  for (const k of Object.keys(out)) {
    if (!['base-url', 'api-key', 'scenario', 'body', 'body-file', 'headers', 'timeout-ms']
        .includes(k)) {
      usage(`unknown flag --${k}`);
    }
  }
  if (!out['base-url']) usage('--base-url is required');
  if (out['api-key'] === undefined) usage('--api-key is required');
  if (!out.scenario) usage('--scenario is required');
  if (out['body-file'] !== undefined) {
    if (out.body !== undefined) usage('--body and --body-file exclude each other');
    try {
      out.body = readFileSync(out['body-file'], 'utf8');
    } catch (e) {
      usage(`cannot read --body-file: ${e.message}`);
    }
  }
  for (const k of ['body', 'headers']) {
    if (out[k] !== undefined) {
      try {
        out[k] = JSON.parse(out[k]);
      } catch (e) {
        usage(`--${k} is not JSON: ${e.message}`);
      }
    }
  }
  return out;
}

const kDefaultModel = 'gpt-4o-mini';
const kWeatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  },
};

function defaultBody(scenario) {
  const body = {
    model: kDefaultModel,
    messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
  };
  if (scenario === 'tools') {
    body.messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
    body.tools = [kWeatherTool];
  }
  return body;
}

function describeError(e) {
  const body = e?.error ?? null;  // APIError: the response's `error` object
  const pick = (k) => (body && typeof body === 'object' && body[k] !== undefined ? body[k] : null);
  return {
    name: e?.constructor?.name ?? typeof e,
    status: typeof e?.status === 'number' ? e.status : null,
    message: pick('message') ?? (e?.message ?? String(e)),
    type: pick('type') ?? e?.type ?? null,
    code: pick('code') ?? e?.code ?? null,
    param: pick('param') ?? e?.param ?? null,
    sdk_message: e?.message ?? String(e),
    body,
  };
}

function firstChoice(response) {
  return Array.isArray(response?.choices) && response.choices.length > 0 ? response.choices[0]
                                                                          : null;
}

async function runChat(client, body, result) {
  const { data } = await client.chat.completions.create(body).withResponse();
  result.response = data;
  const choice = firstChoice(data);
  result.content = choice?.message?.content ?? null;
  result.tool_calls = choice?.message?.tool_calls ?? null;
  result.finish_reason = choice?.finish_reason ?? null;
}

// Merges streamed tool-call deltas by index, as an SDK user would.
function accumulateToolCalls(acc, deltas) {
  for (const d of deltas) {
    const i = d.index ?? 0;
    const cur = acc[i] ?? (acc[i] = { id: null, type: 'function', function: { name: '', arguments: '' } });
    if (d.id) cur.id = d.id;
    if (d.type) cur.type = d.type;
    if (d.function?.name) cur.function.name += d.function.name;
    if (d.function?.arguments) cur.function.arguments += d.function.arguments;
  }
}

async function runStream(client, body, result, started) {
  if (body.stream === undefined) body.stream = true;
  if (body.stream_options === undefined) body.stream_options = { include_usage: true };
  result.chunks = [];
  result.content = '';
  result.tool_calls = null;
  result.finish_reason = null;
  result.usage = null;
  result.usage_chunk = null;
  result.final_chunk = null;
  result.p402_metadata = null;
  result.first_chunk_ms = null;
  const toolCalls = [];
  try {
    const { data: stream } = await client.chat.completions.create(body).withResponse();
    for await (const chunk of stream) {
      if (result.first_chunk_ms === null) result.first_chunk_ms = Date.now() - started;
      result.chunks.push(chunk);
      const choice = firstChoice(chunk);
      if (typeof choice?.delta?.content === 'string') result.content += choice.delta.content;
      if (Array.isArray(choice?.delta?.tool_calls)) accumulateToolCalls(toolCalls, choice.delta.tool_calls);
      if (choice?.finish_reason) result.finish_reason = choice.finish_reason;
      if (chunk?.usage) {
        result.usage = chunk.usage;
        result.usage_chunk = chunk;
      }
      if (chunk?.p402_metadata !== undefined) result.p402_metadata = chunk.p402_metadata;
    }
  } finally {
    if (toolCalls.length > 0) result.tool_calls = toolCalls.filter(Boolean);
    if (result.chunks.length > 0) {
      result.final_chunk = result.chunks[result.chunks.length - 1];
      if (result.final_chunk?.p402_metadata !== undefined) {
        result.p402_metadata = result.final_chunk.p402_metadata;
      }
    }
  }
}

async function runModels(client, result) {
  const { data: page } = await client.models.list().withResponse();
  const models = [];
  for await (const m of page) models.push(m);
  result.models = models;
  result.ids = models.map((m) => m?.id ?? null);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const scenario = args.scenario;
  if (!['chat', 'stream', 'tools', 'error', 'models'].includes(scenario)) {
    usage(`unknown scenario ${scenario}`);
  }
  const transport = newTransport();
  const result = { scenario, ok: false, status: null, headers: {}, raw: '', error: null };
  const started = Date.now();
  try {
    const client = new OpenAI({
      baseURL: args['base-url'],
      // The SDK refuses an empty key; bad-auth tests send a wrong key, or use raw HTTP.
      apiKey: args['api-key'] === '' ? 'empty-key' : args['api-key'],
      maxRetries: 0,
      timeout: Number(args['timeout-ms'] ?? 30000),
      defaultHeaders: args.headers ?? {},
      fetch: makeRecordingFetch(transport),
    });
    const body = args.body !== undefined ? args.body : defaultBody(scenario);
    if (scenario === 'stream') {
      await runStream(client, body, result, started);
    } else if (scenario === 'models') {
      await runModels(client, result);
    } else {
      await runChat(client, body, result);
    }
    result.ok = true;
  } catch (e) {
    result.error = describeError(e);
  }
  // The teed copy finishes with the SDK's copy; bound the wait anyway.
  await rawSettled(transport);
  result.status = transport.status ?? result.error?.status ?? null;
  result.headers = transport.headers;
  result.raw = transport.raw;
  if (transport.rawError) result.raw_error = transport.rawError;
  result.elapsed_ms = Date.now() - started;
  if (scenario === 'stream') {
    result.done_seen = doneSeen(transport.raw);
    result.ended_cleanly = result.ok && result.done_seen;
    result.error_event = lastErrorEvent(transport.raw);
  }
  return result;
}

main().then(
    (result) => {
      process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
    },
    (e) => {
      const line = { harness_error: String(e?.stack ?? e) };
      process.stdout.write(JSON.stringify(line) + '\n', () => process.exit(3));
    });
