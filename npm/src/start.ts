/**
 * Opt-in: start `headroom proxy` when nothing answers on a loopback URL. The proxy started here is
 * stopped when this process exits; it does not keep the process alive meanwhile.
 */
import { spawn } from "node:child_process";

const WAIT_MS = 30_000;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** null once it answers /headroom/health; else why it could not be started. */
export async function startHeadroom(url: string, command?: string, token?: string): Promise<string | null> {
  const { hostname, port } = new URL(url);
  if (!LOOPBACK.has(hostname) || !port) {
    return `start needs a loopback URL with a port, not ${url}`;
  }
  const bin = command ?? globalThis.process?.env?.HEADROOM_BIN ?? "headroom";
  const child = spawn(bin, ["proxy", "--port", port], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let exited: string | null = null;
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => { stderr = (stderr + chunk).slice(-2000); });
  child.on("error", (error) => { exited = `${bin}: ${error.message}`; });
  child.on("exit", (code) => { exited ??= `${bin} proxy exited (${code}): ${lastLine(stderr)}`; });
  child.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  process.once("exit", () => child.kill());
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (exited) return exited;
    if (await healthy(url, token)) return null;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  child.kill();
  return `${bin} proxy did not answer within ${WAIT_MS / 1000} s`;
}

async function healthy(url: string, token?: string): Promise<boolean> {
  try {
    const headers: Record<string, string> = token ? { "x-headroom-token": token } : {};
    const response = await fetch(`${url}/headroom/health`, { headers, signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop()?.slice(0, 300) ?? "";
}
