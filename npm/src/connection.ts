/**
 * The local Headroom: where it is, how to ask it to compress one request body, and failing open.
 * Every problem (not running, an error answer, a timeout) means "send the request as it was", said
 * once per outage through `warn`, never thrown: compression must never cost the caller a request.
 */
import { startHeadroom } from "./start.js";

/** The wire formats the endpoint takes (`?api=`), as the Python library names them. */
export type Api = "anthropic-messages" | "openai-chat" | "openai-responses";

export interface HeadroomOptions {
  /** Where Headroom listens. Default: HEADROOM_URL, else http://127.0.0.1:$HEADROOM_PORT (8787). */
  url?: string;
  /** Sent as the x-headroom-token header. Default: HEADROOM_TOKEN. */
  token?: string;
  /** Start `headroom proxy` on the URL's port when it is not running (loopback only). Default false. */
  start?: boolean;
  /** The command `start` runs. Default: HEADROOM_BIN, else `headroom` on PATH. */
  command?: string;
  /** How long one compression may take before the request goes out as it was. Default 30 s. */
  timeoutMs?: number;
  /** Where the one warning per outage goes. Default: console.warn. */
  warn?: (message: string) => void;
  /** Called with the figures of each request Headroom compressed. */
  onCompress?: (figures: Figures) => void;
}

/** What one compression did; tokens are cl100k_base counts of the whole body. */
export interface Figures {
  api: Api;
  tokensBefore: number;
  tokensAfter: number;
  toolOutputs: number;
  /** engine -> tool outputs it compressed */
  engines: Record<string, number>;
  /** CCR IDs of what was left out: `headroom retrieve ID` gives it back. */
  markers: string[];
}

export interface Compressed {
  body: string;
  figures: Figures;
}

const DEFAULT_PORT = 8787; // headroom_cli/config.py DEFAULT_PORT
export const ENDPOINT = "/headroom/v1/compress";

export class Headroom {
  readonly url: string;
  private readonly options: HeadroomOptions;
  private failing = false; // warned for the current outage
  private starting: Promise<string | null> | undefined;

  constructor(options: HeadroomOptions = {}) {
    this.options = options;
    const env = globalThis.process?.env ?? {};
    const port = env.HEADROOM_PORT || String(DEFAULT_PORT);
    this.url = (options.url ?? env.HEADROOM_URL ?? `http://127.0.0.1:${port}`).replace(/\/+$/, "");
  }

  private get token(): string | undefined {
    return this.options.token ?? globalThis.process?.env?.HEADROOM_TOKEN;
  }

  /** The body Headroom would send (byte for byte the Python library's), or null: send it as it was. */
  async compress(body: string, api: Api, beta?: string | null, signal?: AbortSignal | null): Promise<Compressed | null> {
    try {
      let response = await this.post(body, api, beta, signal);
      let why = "";
      if (response === "unreachable" && this.options.start) {
        const problem = await this.startOnce();
        if (problem === null) response = await this.post(body, api, beta, signal);
        else why = ` (could not start it: ${problem})`;
      }
      if (response === "unreachable") {
        return this.failOpen(`not reachable at ${this.url}${why}`);
      }
      if (!response.ok) {
        return this.failOpen(`answered ${response.status}: ${await errorMessage(response)}`);
      }
      const compressed = { body: await response.text(), figures: figures(api, response.headers) };
      this.failing = false;
      this.options.onCompress?.(compressed.figures);
      return compressed;
    } catch (error) {
      if (signal?.aborted) {
        return null; // the caller gave up: its own fetch reports that
      }
      const timedOut = (error as Error)?.name === "TimeoutError";
      return this.failOpen(timedOut ? `no answer from ${this.url} within ${this.options.timeoutMs ?? 30_000} ms`
        : String((error as Error)?.message ?? error));
    }
  }

  private async post(body: string, api: Api, beta?: string | null, signal?: AbortSignal | null): Promise<Response | "unreachable"> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.token) headers["x-headroom-token"] = this.token;
    if (beta) headers["anthropic-beta"] = beta;
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    try {
      return await fetch(`${this.url}${ENDPOINT}?api=${api}`, {
        method: "POST", headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (!signal?.aborted && refused(error)) return "unreachable";
      throw error;
    }
  }

  private startOnce(): Promise<string | null> {
    this.starting ??= startHeadroom(this.url, this.options.command, this.token);
    return this.starting;
  }

  /** Says why, once per outage (until a compression succeeds again); null: send it as it was. */
  failOpen(why: string): null {
    if (!this.failing) {
      this.failing = true;
      (this.options.warn ?? console.warn)(`headroom: ${why}; requests go out uncompressed until it answers`);
    }
    return null;
  }
}

function refused(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } })?.cause?.code;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EADDRNOTAVAIL";
}

async function errorMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    return String(JSON.parse(text)?.error?.message ?? text).slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}

function figures(api: Api, headers: Headers): Figures {
  const number = (name: string) => Number(headers.get(`x-headroom-${name}`) ?? 0);
  const list = (name: string) => (headers.get(`x-headroom-${name}`) ?? "").split(",").filter(Boolean);
  const engines = Object.fromEntries(list("engines").map((pair) => {
    const [name, count] = pair.split("=");
    return [name, Number(count)];
  }));
  return {
    api, tokensBefore: number("tokens-before"), tokensAfter: number("tokens-after"),
    toolOutputs: number("tool-outputs"), engines, markers: list("markers"),
  };
}
