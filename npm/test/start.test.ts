/** The opt-in start: `headroom proxy` started on the URL's port when nothing answers there, and
 * stopped when the process that started it exits. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { Headroom } from "../src/index.js";
import { freePort, HEADROOM_BIN, pytestLog, tempDir } from "./helpers.js";

const INDEX = fileURLToPath(new URL("../src/index.js", import.meta.url));
const BODY = JSON.stringify({ model: "claude-sonnet-4-5", messages: [
  { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Bash", input: { command: "pytest" } }] },
  { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: pytestLog(600) }] },
] });

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/headroom/health`);
    return true;
  } catch {
    return false;
  }
}

test("start: true starts headroom proxy, compresses through it, and stops it on exit", async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  // A separate process, so its exit (which must stop the proxy it started) can be watched.
  const script = `
    import { Headroom } from ${JSON.stringify(INDEX)};
    const warnings = [];
    const headroom = new Headroom({ url: ${JSON.stringify(url)}, start: true, warn: (w) => warnings.push(w) });
    const result = await headroom.compress(process.env.BODY, "anthropic-messages");
    console.log(JSON.stringify({ figures: result?.figures ?? null, warnings }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, BODY, HEADROOM_BIN, HEADROOM_HOME: tempDir("start") }, timeout: 120_000,
  });
  const { figures, warnings } = JSON.parse(stdout);
  assert.deepEqual(warnings, []);
  assert.ok(figures && figures.tokensAfter < figures.tokensBefore / 4, stdout);
  const deadline = Date.now() + 30_000;
  while ((await answers(url)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await answers(url), false, "the proxy it started is stopped when it exits");
});

test("start with a command that is not there: one warning saying so, and the body goes as it was", async () => {
  const warnings: string[] = [];
  const headroom = new Headroom({ url: `http://127.0.0.1:${await freePort()}`, start: true,
    command: "/nonexistent/headroom", warn: (w) => warnings.push(w) });
  assert.equal(await headroom.compress(BODY, "anthropic-messages"), null);
  assert.equal(await headroom.compress(BODY, "anthropic-messages"), null);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /could not start it: \/nonexistent\/headroom: spawn \/nonexistent\/headroom ENOENT/);
});
