/** @module model/chat — render chat messages to a prompt with the tokenizer's Jinja chat template (@huggingface/jinja). */
import { Template } from "@huggingface/jinja";
import { UserError } from "../util/errors.js";
import type { Tokenizer } from "../tokenizer/types.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool" | string;
  content: string;
}

const cache = new Map<string, Template>();

/** The prompt text for `messages`, ending with the assistant turn's opening when `addGenerationPrompt` (default). */
export function renderChat(tokenizer: Tokenizer, messages: ChatMessage[], addGenerationPrompt = true): string {
  const src = tokenizer.chatTemplate;
  if (!src) throw new UserError("this model has no chat template (tokenizer_config.json chat_template); use a plain prompt");
  let tpl = cache.get(src);
  if (!tpl) {
    try {
      tpl = new Template(src);
    } catch (e) {
      throw new UserError(`chat template does not parse: ${(e as Error).message}`);
    }
    cache.set(src, tpl);
  }
  const t = tokenizer as Tokenizer & { files?: { tokenizerConfig: Record<string, unknown> } };
  const cfg = t.files?.tokenizerConfig ?? {};
  const tokText = (v: unknown) => (typeof v === "string" ? v : ((v as { content?: string } | null)?.content ?? ""));
  return tpl.render({
    messages,
    add_generation_prompt: addGenerationPrompt,
    bos_token: tokText(cfg.bos_token),
    eos_token: tokText(cfg.eos_token),
  });
}
