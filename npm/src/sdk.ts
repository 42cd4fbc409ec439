/**
 * withHeadroom(client) for the official Anthropic (`@anthropic-ai/sdk`) and OpenAI (`openai`) SDKs:
 * the client's fetch, wrapped, so every Messages / Chat Completions / Responses request body goes
 * through the local Headroom before it leaves, streaming or not, whatever method sent it.
 */
import { type Api, Headroom, type HeadroomOptions } from "./connection.js";

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Which wire format a request is in, by its path; null for anything Headroom does not compress. */
export function apiFor(url: string, method: string | undefined): Api | null {
  if ((method ?? "GET").toUpperCase() !== "POST" || !URL.canParse(url)) return null;
  const path = new URL(url).pathname.replace(/\/+$/, "");
  if (path.endsWith("/messages")) return "anthropic-messages";
  if (path.endsWith("/chat/completions")) return "openai-chat";
  if (path.endsWith("/responses")) return "openai-responses";
  return null;
}

/** `fetch`, compressing what it sends to an LLM API through Headroom first (fail-open). */
export function headroomFetch(base: Fetch = globalThis.fetch, options: HeadroomOptions | Headroom = {}): Fetch {
  const headroom = options instanceof Headroom ? options : new Headroom(options);
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : null;
    const api = url === null ? null : apiFor(url, init?.method);
    if (api === null || typeof init?.body !== "string") {
      return base(input, init);
    }
    const headers = new Headers(init.headers);
    const compressed = await headroom.compress(init.body, api, headers.get("anthropic-beta"), init.signal);
    if (compressed === null || compressed.body === init.body) {
      return base(input, init);
    }
    headers.delete("content-length"); // the body's length changed
    return base(input, { ...init, headers, body: compressed.body });
  };
}

/** A client as both SDKs make them: `withOptions` copies one with other options (its `fetch`, which
 * the SDKs' types keep private, is read at run time). */
export interface FetchingClient {
  withOptions(options: { fetch: Fetch }): unknown;
}

/**
 * A copy of `client` whose requests are compressed through the local Headroom; `client` itself is
 * left as it was. Works with `new Anthropic()` and `new OpenAI()` (and their Azure / Bedrock kin that
 * keep the same `fetch` and `withOptions`).
 */
export function withHeadroom<C extends FetchingClient>(client: C, options: HeadroomOptions = {}): C {
  const base = (client as unknown as { fetch?: Fetch })?.fetch;
  if (typeof client?.withOptions !== "function" || typeof base !== "function") {
    throw new TypeError("withHeadroom takes an Anthropic or OpenAI SDK client (new Anthropic(), new OpenAI())");
  }
  return client.withOptions({ fetch: headroomFetch(base, options) }) as C;
}
