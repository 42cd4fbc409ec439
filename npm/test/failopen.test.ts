/** Fail-open: with Headroom down, answering an error, or refusing our token, the request still goes out
 * (uncompressed) to the (mock) upstream, with one warning per outage and never an exception. */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";

import Anthropic from "@anthropic-ai/sdk";
import { createAnthropic } from "@ai-sdk/anthropic";
import { generateText, wrapLanguageModel } from "ai";

import { type Figures, headroomMiddleware, withHeadroom } from "../src/index.js";
import { freePort, pytestLog, type Recorded, type Running, startMockUpstream, startProxy, startRecorder } from "./helpers.js";

let mock: Running;
let recorder: Running & { requests: Recorded[] };
const LOG = pytestLog(600);
const PARAMS = {
  model: "claude-sonnet-4-5", max_tokens: 64,
  messages: [
    { role: "user" as const, content: "Which test failed?" },
    { role: "assistant" as const, content: [{ type: "tool_use" as const, id: "toolu_1", name: "Bash", input: { command: "pytest" } }] },
    { role: "user" as const, content: [{ type: "tool_result" as const, tool_use_id: "toolu_1", content: LOG }] },
  ],
};

before(async () => {
  mock = await startMockUpstream();
  recorder = await startRecorder(mock.url);
});

after(async () => {
  await recorder?.stop();
  await mock?.stop();
});

function lastBody(): string {
  return recorder.requests[recorder.requests.length - 1]!.body;
}

async function twoRequests(options: { url: string; token?: string }): Promise<{ warnings: string[]; figures: Figures[]; bodies: string[] }> {
  const warnings: string[] = [];
  const figures: Figures[] = [];
  const client = withHeadroom(new Anthropic({ apiKey: "sk-ant-test", baseURL: recorder.url, maxRetries: 0 }),
    { ...options, warn: (w) => warnings.push(w), onCompress: (f) => figures.push(f) });
  const bodies: string[] = [];
  for (let i = 0; i < 2; i++) {
    const reply = await client.messages.create(PARAMS);
    assert.equal(reply.content[0]?.type, "text");
    bodies.push(lastBody());
  }
  return { warnings, figures, bodies };
}

test("Headroom not running: sent uncompressed, one warning for both requests", async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const { warnings, figures, bodies } = await twoRequests({ url });
  assert.deepEqual(figures, []);
  for (const body of bodies) assert.ok(body.includes(JSON.stringify(LOG)), "the whole log went out");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, new RegExp(`^headroom: not reachable at ${url}; requests go out uncompressed`));
});

test("Headroom answering an error: sent uncompressed, one warning naming it", async () => {
  // The mock upstream is no Headroom: it answers 404 to /headroom/v1/compress.
  const { warnings, figures, bodies } = await twoRequests({ url: mock.url });
  assert.deepEqual(figures, []);
  assert.ok(bodies.every((b) => b.includes(JSON.stringify(LOG))));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /answered 404/);
});

test("the middleware fails open too", async () => {
  const warnings: string[] = [];
  const model = wrapLanguageModel({ model: createAnthropic({ apiKey: "k", baseURL: `${recorder.url}/v1` })("claude-sonnet-4-5"),
    middleware: headroomMiddleware({ url: `http://127.0.0.1:${await freePort()}`, warn: (w) => warnings.push(w) }) });
  const messages = [
    { role: "assistant" as const, content: [{ type: "tool-call" as const, toolCallId: "t1", toolName: "Bash", input: {} }] },
    { role: "tool" as const, content: [{ type: "tool-result" as const, toolCallId: "t1", toolName: "Bash", output: { type: "text" as const, value: LOG } }] },
  ];
  for (let i = 0; i < 2; i++) {
    const { text } = await generateText({ model, messages, maxRetries: 0 });
    assert.match(text, /headroom marker: no/);
  }
  assert.equal(warnings.length, 1);
});

test("a proxy with a token: refused without it (fail-open), compressed with it", async () => {
  const proxy = await startProxy(mock.url, { HEADROOM_TOKEN: "npm-test-Token" });
  try {
    const refused = await twoRequests({ url: proxy.url, token: "wrong" });
    assert.equal(refused.warnings.length, 1);
    assert.match(refused.warnings[0]!, /answered 401: headroom: a wrong x-headroom-token header/);
    const accepted = await twoRequests({ url: proxy.url, token: "npm-test-Token" });
    assert.deepEqual(accepted.warnings, []);
    assert.equal(accepted.figures.length, 2);
    assert.ok(accepted.bodies.every((b) => b.length < LOG.length / 4));
  } finally {
    await proxy.stop();
  }
});

test("Headroom too slow: the request goes after timeoutMs, uncompressed", async () => {
  const slow = createServer(() => {}); // never answers
  await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const warnings: string[] = [];
    const client = withHeadroom(new Anthropic({ apiKey: "sk-ant-test", baseURL: recorder.url, maxRetries: 0 }),
      { url, timeoutMs: 300, warn: (w) => warnings.push(w) });
    const reply = await client.messages.create(PARAMS);
    assert.equal(reply.content[0]?.type, "text");
    assert.ok(lastBody().includes(JSON.stringify(LOG)));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^headroom: no answer from http:\/\/127\.0\.0\.1:\d+ within 300 ms; requests go out uncompressed/);
  } finally {
    slow.closeAllConnections();
    slow.close();
  }
});

test("a prompt the middleware cannot write as JSON goes as it was, with one warning", async () => {
  const warnings: string[] = [];
  const middleware = headroomMiddleware({ url: mock.url, warn: (w) => warnings.push(w) });
  const params = { prompt: [
    { role: "assistant", content: [{ type: "tool-call", toolCallId: "t1", toolName: "Bash", input: { n: 1n } }] },
    { role: "tool", content: [{ type: "tool-result", toolCallId: "t1", toolName: "Bash", output: { type: "text", value: LOG } }] },
  ] };
  assert.equal(await middleware.transformParams({ params }), params);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /could not compress this prompt \(.*BigInt/);
});
