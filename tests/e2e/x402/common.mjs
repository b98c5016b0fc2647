// File: tests/e2e/x402/common.mjs
// Shared bits of the x402 test scripts: argument parsing (one JSON argument, or --key value
// flags), the one-JSON-line result protocol of tests/e2e (the C++ side reads the LAST stdout
// line; a line with `harness_error` means the script itself failed), base64 JSON helpers and the
// ganache deterministic test keys (public, never to be used anywhere real).
import { readFileSync } from "node:fs";

export const KEYS = {
  facilitator: "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d", // #0
  buyer: "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1", // #1
  seller: "0x6370fd033278c143179d81c5526140625662b8daa446c22ee2d73db3707e620c", // #2
  poor: "0x646f1ce2fdad0e6deeeb5c7e8e5543bdde65e86029e2fd9fc169899c440a7913", // #3
};

// The script's input: argv[2] is a JSON object, or "--file PATH" naming a file holding one, or
// --key value pairs (keys with dashes become underscores).
export function parseInput(argv = process.argv.slice(2)) {
  if (argv.length === 1 && argv[0].trim().startsWith("{")) return JSON.parse(argv[0]);
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || i + 1 >= argv.length) fail(`bad arguments: ${argv.join(" ")}`);
    out[argv[i].slice(2).replaceAll("-", "_")] = argv[i + 1];
  }
  if (out.file) return { ...JSON.parse(readFileSync(out.file, "utf8")), ...out };
  return out;
}

export function emit(result) {
  process.stdout.write(JSON.stringify(result, (k, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
}

export function fail(message) {
  emit({ harness_error: String(message) });
  process.exit(3);
}

// Runs main(); any exception becomes a harness_error line.
export function run(main) {
  main().then(
    () => process.exit(0),
    e => fail(e?.stack || e?.message || e),
  );
}

export const b64json = o => Buffer.from(JSON.stringify(o), "utf8").toString("base64");
export function unb64json(s) {
  if (!s) return null;
  try {
    return JSON.parse(Buffer.from(s, "base64").toString("utf8"));
  } catch (e) {
    return { undecodable: s, error: e.message };
  }
}

export function headersObject(headers) {
  const out = {};
  headers.forEach((v, k) => { out[k.toLowerCase()] = v; });
  return out;
}
