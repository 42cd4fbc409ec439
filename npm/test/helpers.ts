/**
 * The real parts the tests run against: Headroom's mock upstream (a Python process, recording nothing
 * the tests can read across processes, so a small recording relay stands in front of it) and a real
 * `headroom proxy` (HEADROOM_BIN, else `headroom` on PATH) whose upstream is the mock.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";

export const HEADROOM_BIN = process.env.HEADROOM_BIN ?? "headroom";
// The mock upstream is a module of the same Python install: the venv's python beside the command.
const PYTHON = process.env.HEADROOM_PYTHON
  ?? (existsSync(join(dirname(HEADROOM_BIN), "python")) ? join(dirname(HEADROOM_BIN), "python") : "python3");

export interface Recorded { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string }

export interface Running { url: string; stop(): Promise<void> }

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `headroom-npm-${prefix}-`));
}

async function waitFor(what: string, child: ChildProcess, ready: () => Promise<boolean>, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${stderr().slice(-2000)}`);
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${what} did not start within 60 s: ${stderr().slice(-2000)}`);
}

function spawnLogged(command: string, args: string[], env: Record<string, string>): { child: ChildProcess; stderr: () => string } {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => { err = (err + chunk).slice(-20_000); });
  return { child, stderr: () => err };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}

/** Headroom's mock of the Anthropic and OpenAI APIs. */
export async function startMockUpstream(): Promise<Running> {
  const portFile = join(tempDir("mock"), "port");
  const { child, stderr } = spawnLogged(PYTHON, ["-m", "headroom_cli.mock_upstream", "--port-file", portFile], {});
  await waitFor("the mock upstream", child, async () => existsSync(portFile), stderr);
  const port = readFileSync(portFile, "utf8").trim();
  return { url: `http://127.0.0.1:${port}`, stop: () => stopChild(child, "SIGTERM") };
}

/** `headroom proxy` on a free port in front of `upstream`, with its own HEADROOM_HOME. */
export async function startProxy(upstream: string, env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const { child, stderr } = spawnLogged(HEADROOM_BIN, ["proxy", "--port", String(port), "--anthropic-upstream", upstream,
    "--openai-upstream", upstream], { HEADROOM_HOME: tempDir("home"), HEADROOM_PART_BUDGET_MS: "10000", ...env });
  const url = `http://127.0.0.1:${port}`;
  await waitFor("headroom proxy", child, async () => {
    try {
      return (await fetch(`${url}/headroom/health`, { headers: env.HEADROOM_TOKEN ? { "x-headroom-token": env.HEADROOM_TOKEN } : {} })).status < 500;
    } catch {
      return false;
    }
  }, stderr);
  return { url, stop: () => stopChild(child, "SIGINT") };
}

/** A relay in front of `upstream` that keeps every request's bytes: what the upstream received. */
export async function startRecorder(upstream: string): Promise<Running & { requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body });
    const headers = Object.fromEntries(Object.entries(req.headers)
      .filter(([k]) => !["host", "content-length", "connection"].includes(k)).map(([k, v]) => [k, String(v)]));
    const answer = await fetch(`${upstream}${req.url}`, { method: req.method, headers, body: chunks.length ? body : undefined });
    res.writeHead(answer.status, Object.fromEntries([...answer.headers].filter(([k]) => !["content-length", "transfer-encoding", "connection", "content-encoding"].includes(k))));
    if (answer.body) Readable.fromWeb(answer.body as never).pipe(res);
    else res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, requests,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export const FAILED_LINE = "tests/test_orders.py::test_refund_restores_stock[sku-1042] FAILED";

/** A verbose pytest run, `passing` tests and one failure: a tool output Headroom compresses well. */
export function pytestLog(passing = 1500): string {
  const modules = ["orders", "cart", "users", "payments", "search"];
  const lines = ["============================= test session starts ==============================",
    "platform linux -- Python 3.11.7, pytest-8.3.4, pluggy-1.5.0", "rootdir: /srv/app", `collected ${passing + 1} items`, ""];
  for (let i = 0; i <= passing; i++) {
    const pct = `[${String(Math.floor((i * 100) / (passing + 1))).padStart(3)}%]`;
    lines.push(i === passing >> 1 ? `${FAILED_LINE} ${pct}` : `tests/test_${modules[i % 5]}.py::test_case_${String(i).padStart(4, "0")} PASSED`.padEnd(72) + pct);
  }
  lines.push("", "=========================== short test summary info ============================",
    `FAILED tests/test_orders.py::test_refund_restores_stock[sku-1042] - AssertionError: stock must be 7, got 6`,
    `================== 1 failed, ${passing} passed in 12.34s ==================`);
  return lines.join("\n") + "\n";
}

export const MARKER = /\[headroom: [^\]\n]*? · retrieve (hr_[0-9a-f]{16})(?: --lines \d+-\d+)?\]/g;

/** The compressed body Headroom answers for `body`, asked directly. */
export async function endpoint(url: string, body: string, api: string): Promise<string> {
  const response = await fetch(`${url}/headroom/v1/compress?api=${api}`, { method: "POST", body, headers: { "content-type": "application/json" } });
  if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
  return response.text();
}
