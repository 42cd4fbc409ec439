/** withHeadroom with the real Anthropic and OpenAI SDKs: what reaches the (mock) upstream is compressed,
 * byte for byte what Headroom's endpoint answers for the plain client's request; the figures arrive. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

import { type Figures, withHeadroom } from "../src/index.js";
import { endpoint, FAILED_LINE, MARKER, pytestLog, type Recorded, type Running, startMockUpstream, startProxy, startRecorder } from "./helpers.js";

let mock: Running;
let recorder: Running & { requests: Recorded[] };
let proxy: Running;
const LOG = pytestLog();

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

function lastTo(path: string): Recorded {
  const found = recorder.requests.filter((r) => r.path.startsWith(path));
  assert.ok(found.length, `nothing reached ${path}`);
  return found[found.length - 1]!;
}

async function assertCompressed(plain: Recorded, sent: Recorded, api: string, figures: Figures[]): Promise<void> {
  assert.ok(!plain.body.includes("[headroom:") && plain.body.includes(FAILED_LINE));
  assert.equal(sent.body, await endpoint(proxy.url, plain.body, api)); // the library's bytes
  assert.ok(sent.body.length < plain.body.length / 4, `${sent.body.length} vs ${plain.body.length}`);
  assert.ok(sent.body.includes(FAILED_LINE), "the failure is kept verbatim");
  const markers = [...sent.body.matchAll(MARKER)].map((m) => m[1]);
  assert.equal(figures.length, 1);
  const [f] = figures;
  assert.equal(f!.api, api);
  assert.equal(f!.toolOutputs, 1);
  assert.ok(f!.tokensAfter < f!.tokensBefore / 4 && f!.tokensBefore > 10_000, JSON.stringify(f));
  assert.deepEqual(f!.markers, [...new Set(markers)].sort());
  assert.ok(Object.keys(f!.engines).length === 1);
}

test("Anthropic messages.create: the tool result is compressed before it reaches the upstream", async () => {
  const plain = new Anthropic({ apiKey: "sk-ant-test", baseURL: recorder.url, maxRetries: 0 });
  const figures: Figures[] = [];
  const client = withHeadroom(plain, { url: proxy.url, onCompress: (f) => figures.push(f) });
  const params = {
    model: "claude-sonnet-4-5", max_tokens: 256,
    messages: [
      { role: "user" as const, content: "Which test failed?" },
      { role: "assistant" as const, content: [{ type: "tool_use" as const, id: "toolu_1", name: "Bash", input: { command: "pytest -v" } }] },
      { role: "user" as const, content: [{ type: "tool_result" as const, tool_use_id: "toolu_1", content: LOG }] },
    ],
  };
  await plain.messages.create(params); // the client given stays as it was
  const before = lastTo("/v1/messages");
  const reply = await client.messages.create(params);
  const text = reply.content[0]?.type === "text" ? reply.content[0].text : "";
  assert.match(text, /^MOCK-FINAL: 1 tool_results .*headroom marker: yes/);
  await assertCompressed(before, lastTo("/v1/messages"), "anthropic-messages", figures);

  const stream = client.messages.stream(params); // streamed: the same compressed body
  assert.match(await stream.finalText(), /headroom marker: yes/);
  assert.equal(lastTo("/v1/messages").body, await endpoint(proxy.url, before.body.replace(/}$/, ',"stream":true}'), "anthropic-messages"));
});

test("OpenAI chat.completions.create and responses.create: compressed on the way", async () => {
  const plain = new OpenAI({ apiKey: "sk-test", baseURL: `${recorder.url}/v1`, maxRetries: 0 });
  const figures: Figures[] = [];
  const client = withHeadroom(plain, { url: proxy.url, onCompress: (f) => figures.push(f) });
  const chat = await client.chat.completions.create({
    model: "gpt-4o",
    messages: [
      { role: "user", content: "Which test failed?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "Bash", arguments: '{"command":"pytest -v"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: LOG },
    ],
  });
  assert.match(chat.choices[0]?.message.content ?? "", /headroom marker: yes/);
  const sentChat = lastTo("/v1/chat/completions");
  assert.ok(sentChat.body.length < LOG.length / 4 && sentChat.body.includes(FAILED_LINE));
  assert.equal(figures[0]?.api, "openai-chat");

  const input = [
    { role: "user" as const, content: "Which test failed?" },
    { type: "function_call" as const, call_id: "call_1", name: "Bash", arguments: '{"command":"pytest -v"}' },
    { type: "function_call_output" as const, call_id: "call_1", output: LOG },
  ];
  await plain.responses.create({ model: "gpt-4o", input });
  const plainResponses = lastTo("/v1/responses");
  figures.length = 0;
  const response = await client.responses.create({ model: "gpt-4o", input });
  assert.match(response.output_text, /headroom marker: yes/);
  await assertCompressed(plainResponses, lastTo("/v1/responses"), "openai-responses", figures);
});

test("requests Headroom does not compress go out untouched, without asking it", async () => {
  const figures: Figures[] = [];
  const client = withHeadroom(new OpenAI({ apiKey: "sk-test", baseURL: `${recorder.url}/v1`, maxRetries: 0 }),
    { url: proxy.url, onCompress: (f) => figures.push(f) });
  const models = await client.models.list();
  assert.ok(models.data.length > 0);
  assert.equal(figures.length, 0);
});
