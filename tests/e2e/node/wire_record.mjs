// File: tests/e2e/node/wire_record.mjs
// What crossed the wire under the official openai SDK, shared by the e2e node scripts
// (sdk_client.mjs, concurrent_streams.mjs, stream_then_request.mjs): a fetch that tees the body so
// the SDK still streams it while the raw text is kept, and readers of that text. The SDK throws on
// an SSE error event and keeps only its `error` member; the raw text gives the whole event back
// (with its p402_metadata).

const kRawCap = 1 << 20;

// A transport record: { status, headers, raw, rawDone, rawError }.
export function newTransport() {
  return { status: null, headers: {}, raw: '', rawDone: null, rawError: null };
}

// fetch for `new OpenAI({ fetch })` that fills `transport` (raw capped at 1 MiB).
export function makeRecordingFetch(transport) {
  return async (url, init) => {
    const res = await fetch(url, init);
    transport.status = res.status;
    transport.headers = Object.fromEntries([...res.headers.entries()]);
    if (!res.body) return res;
    const [forSdk, forUs] = res.body.tee();
    transport.rawDone = (async () => {
      const reader = forUs.getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (transport.raw.length < kRawCap) transport.raw += decoder.decode(value, { stream: true });
        }
      } catch (e) {
        transport.rawError = String(e?.message ?? e);
      }
    })();
    return new Response(forSdk, {
      status: res.status, statusText: res.statusText, headers: res.headers,
    });
  };
}

// Waits (at most 2 s) for the teed copy to end; the SDK's copy has already finished.
export async function rawSettled(transport) {
  if (transport.rawDone) {
    await Promise.race([transport.rawDone, new Promise((r) => setTimeout(r, 2000))]);
  }
}

// "data: [DONE]" was on the wire.
export function doneSeen(raw) {
  return /(^|\n)data: ?\[DONE\]/.test(raw);
}

// The last `data:` object that carried an `error` member, or null.
export function lastErrorEvent(raw) {
  let found = null;
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data:')) continue;
    try {
      const v = JSON.parse(line.slice(5).trim());
      if (v && typeof v === 'object' && v.error !== undefined) found = v;
    } catch {
      // [DONE] or a partial line of a cut stream
    }
  }
  return found;
}
