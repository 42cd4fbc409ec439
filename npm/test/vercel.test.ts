/** headroomMiddleware with the real Vercel AI SDK (`ai` + `@ai-sdk/anthropic`): the prompt's tool results
 * reach the (mock) upstream compressed; the rest of the prompt as the SDK sends it without Headroom. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { createAnthropic } from "@ai-sdk/anthropic";
import { generateText, type ModelMessage, streamText, wrapLanguageModel } from "ai";

import { type Figures, headroomMiddleware } from "../src/index.js";
import { FAILED_LINE, MARKER, pytestLog, type Recorded, type Running, startMockUpstream, startProxy, startRecorder } from "./helpers.js";

let mock: Running;
let recorder: Running & { requests: Recorded[] };
let proxy: Running;
const LOG = pytestLog();
const ROWS = Array.from({ length: 400 }, (_, i) => ({ id: i, sku: `sku-${1000 + i}`, stock: i % 9, warehouse: "north", status: "ok" }));

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

const MESSAGES: ModelMessage[] = [
  { role: "user", content: "Which test failed, and which SKU is out of stock?" },
  { role: "assistant", content: [
    { type: "tool-call", toolCallId: "toolu_1", toolName: "Bash", input: { command: "pytest -v" } },
    { type: "tool-call", toolCallId: "toolu_2", toolName: "Stock", input: {} },
  ] },
  { role: "tool", content: [
    { type: "tool-result", toolCallId: "toolu_1", toolName: "Bash", output: { type: "text", value: LOG } },
    { type: "tool-result", toolCallId: "toolu_2", toolName: "Stock", output: { type: "json", value: ROWS } },
  ] },
];

function toolResults(request: Recorded): Map<string, string> {
  const found = new Map<string, string>();
  for (const message of JSON.parse(request.body).messages) {
    for (const block of Array.isArray(message.content) ? message.content : []) {
      if (block.type === "tool_result") {
        found.set(block.tool_use_id, typeof block.content === "string" ? block.content
          : block.content.map((b: { text: string }) => b.text).join("\n"));
      }
    }
  }
  return found;
}

function sent(): Recorded {
  const found = recorder.requests.filter((r) => r.path.startsWith("/v1/messages"));
  return found[found.length - 1]!;
}

test("generateText and streamText send the tool results compressed, the rest of the prompt as it was", async () => {
  const anthropic = createAnthropic({ apiKey: "sk-ant-test", baseURL: `${recorder.url}/v1` });
  const figures: Figures[] = [];
  const model = wrapLanguageModel({ model: anthropic("claude-sonnet-4-5"),
    middleware: headroomMiddleware({ url: proxy.url, onCompress: (f) => figures.push(f) }) });

  await generateText({ model: anthropic("claude-sonnet-4-5"), system: "You are a careful engineer.", messages: MESSAGES, maxRetries: 0 });
  const plain = JSON.parse(sent().body);
  const plainResults = toolResults(sent());
  assert.equal(plainResults.get("toolu_1"), LOG);

  const { text } = await generateText({ model, system: "You are a careful engineer.", messages: MESSAGES, maxRetries: 0 });
  assert.match(text, /^MOCK-FINAL: 2 tool_results .*headroom marker: yes/);
  const results = toolResults(sent());
  const log = results.get("toolu_1")!;
  assert.ok(log.length < LOG.length / 4 && log.includes(FAILED_LINE) && log.match(MARKER) !== null, log.slice(0, 500));
  const rows = results.get("toolu_2")!;
  assert.ok(rows.length < plainResults.get("toolu_2")!.length, "the JSON output is compressed too");
  assert.ok(rows.includes("sku-1000"));
  // Nothing but the tool results changed.
  const compressed = JSON.parse(sent().body);
  for (const message of [plain, compressed]) {
    for (const m of message.messages) for (const b of m.content) if (b.type === "tool_result") b.content = "";
  }
  assert.deepEqual(compressed, plain);
  assert.equal(figures.length, 1);
  assert.equal(figures[0]!.toolOutputs, 2);
  assert.ok(figures[0]!.tokensAfter < figures[0]!.tokensBefore / 3);
  assert.deepEqual(MESSAGES[2]!.content[0], { type: "tool-result", toolCallId: "toolu_1", toolName: "Bash", output: { type: "text", value: LOG } },
    "the caller's messages are left alone");

  const stream = streamText({ model, system: "You are a careful engineer.", messages: MESSAGES, maxRetries: 0 });
  assert.match(await stream.text, /headroom marker: yes/);
  assert.equal(toolResults(sent()).get("toolu_1"), log, "the same request, the same bytes");
});

test("a prompt without tool results is not sent to Headroom", async () => {
  const figures: Figures[] = [];
  const model = wrapLanguageModel({ model: createAnthropic({ apiKey: "k", baseURL: `${recorder.url}/v1` })("claude-sonnet-4-5"),
    middleware: headroomMiddleware({ url: proxy.url, onCompress: (f) => figures.push(f) }) });
  const { text } = await generateText({ model, prompt: "hello", maxRetries: 0 });
  assert.match(text, /MOCK-FINAL/);
  assert.equal(figures.length, 0);
});
