/** The README's TypeScript snippets, compiled and run as a user would (their `from "headroom-sdk"` is
 * this package, by self-reference), against a real proxy and the (mock) upstream. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { FAILED_LINE, MARKER, pytestLog, type Recorded, type Running, startMockUpstream, startProxy, startRecorder, tempDir } from "./helpers.js";

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL("../..", import.meta.url));
const SNIPPETS = [...readFileSync(join(PACKAGE, "README.md"), "utf8").matchAll(/```ts\n(.*?)```/gs)].map((m) => m[1]!);
const LOG = pytestLog();
// The main README's TypeScript section: its snippet only wraps (no request), so it must run cleanly.
const MAIN = readFileSync(join(PACKAGE, "..", "README.md"), "utf8").split("### TypeScript")[1]?.split("\n## ")[0] ?? "";
const MAIN_SNIPPETS = [...MAIN.matchAll(/```ts\n(.*?)```/gs)].map((m) => m[1]!);

let mock: Running;
let recorder: Running & { requests: Recorded[] };
let proxy: Running;

before(async () => {
  mock = await startMockUpstream();
  recorder = await startRecorder(mock.url);
  proxy = await startProxy(mock.url);
});

after(async () => {
  await proxy?.stop();
  await recorder?.stop();
  await mock?.stop();
});

test("the READMEs have their snippets", () => {
  assert.equal(SNIPPETS.length, 2);
  assert.equal(MAIN_SNIPPETS.length, 1);
});

async function compile(name: string, snippet: string): Promise<string> {
  const dir = join(PACKAGE, "build", "readme");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.ts`), snippet);
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ files: [`${name}.ts`], compilerOptions: {
    module: "nodenext", target: "es2022", strict: true, skipLibCheck: true, types: ["node"], outDir: "." } }));
  await run(join(PACKAGE, "node_modules", ".bin", "tsc"), ["-p", dir], { cwd: PACKAGE });
  return join(dir, `${name}.js`);
}

test("the main README's snippet compiles and runs", async () => {
  const script = await compile("main", MAIN_SNIPPETS[0]!);
  const { stdout, stderr } = await run(process.execPath, [script], { env: { ...process.env, ANTHROPIC_API_KEY: "sk-ant-test" } });
  assert.equal(stdout + stderr, "");
});

for (const [i, snippet] of SNIPPETS.entries()) {
  test(`README snippet ${i + 1} runs and its tool output reaches the upstream compressed`, async () => {
    const script = await compile(`snippet${i + 1}`, snippet);
    const cwd = tempDir("readme");
    writeFileSync(join(cwd, "pytest.log"), LOG);
    // @ai-sdk/anthropic's base URL ends in /v1, the Anthropic SDK's does not.
    const base = snippet.includes("@ai-sdk/anthropic") ? `${recorder.url}/v1` : recorder.url;
    const seen = recorder.requests.length;
    const { stdout } = await run(process.execPath, [script], { cwd, timeout: 120_000,
      env: { ...process.env, HEADROOM_URL: proxy.url, ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: base } });
    assert.match(stdout, /MOCK-FINAL: 1 tool_results .*headroom marker: yes/);
    const sent = recorder.requests.slice(seen).filter((r) => r.path.includes("/messages"));
    assert.equal(sent.length, 1);
    const body = sent[0]!.body;
    assert.ok(body.length < LOG.length / 4 && body.includes(FAILED_LINE) && body.match(MARKER) !== null);
    if (i === 0) assert.match(stdout, /^headroom: \d+ -> \d+ tokens$/m);
  });
}
