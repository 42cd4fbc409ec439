/**
 * headroomMiddleware() for the Vercel AI SDK: `wrapLanguageModel({ model, middleware: headroomMiddleware() })`.
 *
 * The AI SDK hands middleware its own provider-neutral prompt, so `transformParams` writes it as an
 * Anthropic Messages body (tool calls as tool_use, tool results as tool_result: the format Headroom
 * reads best), has it compressed, and takes back only the tool results' new text, matched by tool
 * call id. Everything else in the prompt stays as it was; any failure leaves the prompt unchanged.
 */
import { Headroom, type HeadroomOptions } from "./connection.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Part { type: string; [key: string]: unknown }
interface Message { role: string; content: unknown; [key: string]: unknown }
interface Output { type: string; value?: unknown; [key: string]: unknown }
interface ToolResult extends Part { toolCallId: string; toolName?: string; output: Output }

export type HeadroomMiddlewareOptions = HeadroomOptions;

/** Structurally a LanguageModelV3Middleware (ai 6); ai 5 and ai 7 take it as well. */
export interface HeadroomMiddleware {
  readonly specificationVersion: "v3";
  transformParams<P extends { prompt: readonly unknown[]; abortSignal?: AbortSignal }>(
    options: { params: P; type?: string; model?: { modelId?: string } }): Promise<P>;
}

export function headroomMiddleware(options: HeadroomMiddlewareOptions = {}): HeadroomMiddleware {
  const headroom = new Headroom(options);
  return {
    specificationVersion: "v3",
    async transformParams({ params, model }) {
      const prompt = params.prompt as readonly Message[];
      if (!prompt.some((m) => m.role === "tool")) return params;
      try {
        const system = prompt.filter((m) => m.role === "system").map((m) => String(m.content)).join("\n\n");
        const body = JSON.stringify({ model: model?.modelId ?? "unknown", ...(system ? { system } : {}),
          messages: anthropicMessages(prompt) });
        const compressed = await headroom.compress(body, "anthropic-messages", null, params.abortSignal);
        if (compressed === null || compressed.body === body) return params;
        const texts = resultTexts(JSON.parse(compressed.body)?.messages);
        return { ...params, prompt: prompt.map((m) => (m.role === "tool" ? withTexts(m, texts) : m)) };
      } catch (error) { // a prompt we could not write as JSON (a cycle, a BigInt): it goes as it was
        headroom.failOpen(`could not compress this prompt (${String((error as Error)?.message ?? error)})`);
        return params;
      }
    },
  };
}

/** The texts a tool result carries, as Anthropic tool_result content; null: nothing to compress. */
function textsOf(output: Output): string[] | null {
  switch (output?.type) {
    case "text":
    case "error-text":
      return typeof output.value === "string" ? [output.value] : null;
    case "json":
    case "error-json":
      return [JSON.stringify(output.value)]; // as the providers send it
    case "content":
      return Array.isArray(output.value)
        ? output.value.filter((p: Part) => p?.type === "text").map((p: Part) => String(p.text)) : null;
    default:
      return null;
  }
}

function anthropicMessages(prompt: readonly Message[]): Json[] {
  const messages: Json[] = [];
  for (const message of prompt) {
    const parts = Array.isArray(message.content) ? (message.content as Part[]) : [];
    if (message.role === "user" && typeof message.content === "string") {
      messages.push({ role: "user", content: String(message.content) });
    } else if (message.role === "user" || message.role === "assistant") {
      const blocks = parts.flatMap((p): Json[] => p.type === "text" ? [{ type: "text", text: String(p.text) }]
        : p.type === "tool-call" ? [{ type: "tool_use", id: String(p.toolCallId), name: String(p.toolName),
          input: (p.input ?? {}) as Json }] : []);
      if (blocks.length) messages.push({ role: message.role, content: blocks });
    } else if (message.role === "tool") {
      const blocks = parts.flatMap((p): Json[] => {
        const texts = p.type === "tool-result" ? textsOf((p as ToolResult).output) : null;
        if (texts === null) return [];
        const content = (p as ToolResult).output.type === "content" ? texts.map((text) => ({ type: "text", text })) : texts[0];
        return [{ type: "tool_result", tool_use_id: String(p.toolCallId), content }];
      });
      if (blocks.length) messages.push({ role: "user", content: blocks });
    }
  }
  return messages;
}

/** tool_use_id -> the texts of each tool_result with that id, in order. */
function resultTexts(messages: unknown): Map<string, string[][]> {
  const found = new Map<string, string[][]>();
  for (const message of Array.isArray(messages) ? messages : []) {
    for (const block of Array.isArray(message?.content) ? message.content : []) {
      if (block?.type !== "tool_result") continue;
      const texts = typeof block.content === "string" ? [block.content]
        : (block.content ?? []).filter((b: Part) => b?.type === "text").map((b: Part) => String(b.text));
      found.set(block.tool_use_id, [...(found.get(block.tool_use_id) ?? []), texts]);
    }
  }
  return found;
}

function withTexts(message: Message, compressed: Map<string, string[][]>): Message {
  const content = (message.content as Part[]).map((part) => {
    const original = part.type === "tool-result" ? textsOf((part as ToolResult).output) : null;
    if (original === null) return part;
    const texts = compressed.get(String(part.toolCallId))?.shift();
    if (!texts || texts.length !== original.length || texts.every((t, i) => t === original[i])) return part;
    return { ...part, output: newOutput((part as ToolResult).output, texts) };
  });
  return { ...message, content };
}

function newOutput(output: Output, texts: string[]): Output {
  if (output.type === "content") {
    let next = 0;
    return { ...output, value: (output.value as Part[]).map((p) => (p?.type === "text" ? { ...p, text: texts[next++] } : p)) };
  }
  // JSON compressed is text now (with markers in it): sent as text, as the provider would have sent the JSON.
  const type = output.type === "json" ? "text" : output.type === "error-json" ? "error-text" : output.type;
  return { ...output, type, value: texts[0] };
}
