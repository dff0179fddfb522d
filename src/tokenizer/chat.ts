/**
 * @module tokenizer/chat — chat messages and the one chat renderer: a Jinja chat template (@huggingface/jinja; the
 * model's tokenizer_config.json `chat_template`, else ChatML) compiled once per template string and reused. The
 * rollout prompts, the evaluation prompts, `research generate` and the OpenAI-compatible server all render with it.
 */
import { Template } from "@huggingface/jinja";
import { UserError } from "../util/errors.js";
import type { Tokenizer } from "./types.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** ChatML (Qwen2/2.5 family) used when a chat template is needed and the model ships none. */
export const CHATML_TEMPLATE =
  "{%- for message in messages %}{{ '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";

export interface ChatRenderOptions {
  /** Jinja source of the chat template (default: ChatML). */
  chatTemplate?: string;
  /** `bos_token` / `eos_token` as the template sees them (default ""). */
  bosToken?: string;
  eosToken?: string;
  /** End with the assistant turn's opening (default true). */
  addGenerationPrompt?: boolean;
}

const compiled = new Map<string, Template>();

/** The template compiled once per source string; a template that does not parse is a UserError. */
function compile(src: string): Template {
  let tpl = compiled.get(src);
  if (!tpl) {
    try {
      tpl = new Template(src);
    } catch (e) {
      throw new UserError(`chat template does not parse: ${(e as Error).message}`);
    }
    compiled.set(src, tpl);
  }
  return tpl;
}

/** Render messages (any role the template accepts, e.g. "tool" from a chat-completions request) to prompt text. */
export function renderChat(messages: readonly { role: string; content: string }[], opts: ChatRenderOptions = {}): string {
  return compile(opts.chatTemplate ?? CHATML_TEMPLATE).render({
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? true,
    bos_token: opts.bosToken ?? "",
    eos_token: opts.eosToken ?? "",
  });
}

/** The render options of a tokenizer's own chat template, with its config's BOS/EOS texts; a tokenizer without a
 * chat template is a UserError (use a plain prompt). */
export function tokenizerChatOptions(tokenizer: Tokenizer): ChatRenderOptions {
  const src = tokenizer.chatTemplate;
  if (!src) throw new UserError("this model has no chat template (tokenizer_config.json chat_template); use a plain prompt");
  const cfg = (tokenizer as Tokenizer & { files?: { tokenizerConfig: Record<string, unknown> } }).files?.tokenizerConfig ?? {};
  const tokText = (v: unknown) => (typeof v === "string" ? v : ((v as { content?: string } | null)?.content ?? ""));
  return { chatTemplate: src, bosToken: tokText(cfg.bos_token), eosToken: tokText(cfg.eos_token) };
}

/** Generated text without its trailing EOS text (unchanged when it does not end with it, or `eosText` is ""). */
export function stripEos(text: string, eosText: string): string {
  return eosText && text.endsWith(eosText) ? text.slice(0, -eosText.length) : text;
}
