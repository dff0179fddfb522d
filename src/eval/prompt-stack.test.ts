/**
 * The one prompt stack (tokenizer/chat.ts renders every chat; retrieval/corpus.ts splits every passage) renders
 * byte for byte what the three stacks it replaced rendered: testdata/prompt-renderings.json was written by the old
 * rollout/prompts.ts, eval/prompts.ts and model/chat.ts for each rollout and evaluation template, with no chat
 * template (ChatML), ChatML named, and a template using bos/eos and a default system turn.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import * as R from "../rollout/prompts.js";
import { renderChat, tokenizerChatOptions } from "../tokenizer/chat.js";
import type { Tokenizer } from "../tokenizer/types.js";
import * as E from "./prompts.js";

const golden = JSON.parse(readFileSync(new URL("./testdata/prompt-renderings.json", import.meta.url), "utf8")) as Record<string, string>;
const QWENISH = "{{ bos_token }}{%- if messages[0].role != 'system' %}{{ '<|im_start|>system\\nYou are helpful.<|im_end|>\\n' }}{%- endif %}{%- for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content | trim + '<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- else %}{{ eos_token }}{%- endif %}";
const chatTemplates: Record<string, string | undefined> = { default: undefined, chatml: R.CHATML_TEMPLATE, qwenish: QWENISH };
const questions = ["Who founded the company that made Blue Harbor?", "  spaced  {question} {reference} é 𝒳 "];
const hits = [{ contents: '"Quoted Title"\nFirst line of text.\nSecond line.' }, { contents: "Plain Title\nText with {idx} braces." }, { contents: "  no newline title only  " }];

describe("one prompt stack renders as the three before it", () => {
  const seen = new Set<string>();
  const check = (key: string, value: string) => {
    expect(golden[key], key).toBeDefined();
    expect(value, key).toBe(golden[key]);
    seen.add(key);
  };

  test("rollout templates: prompt text, chat messages and spliced results", () => {
    for (const name of R.TEMPLATE_NAMES) for (const [tn, tpl] of Object.entries(chatTemplates)) questions.forEach((q, qi) => {
      const b = R.buildPrompt(R.getTemplate(name), q, { chatTemplate: tpl, bosToken: tn === "qwenish" ? "<s>" : undefined, eosToken: "</s>" });
      check(`rollout/${name}/${tn}/q${qi}`, b.text);
      check(`rollout/${name}/${tn}/q${qi}/messages`, JSON.stringify(b.messages ?? null));
      check(`rollout/${name}/result`, R.getTemplate(name).formatResult(hits.map((h, i) => ({ id: String(i), ...h }))));
    });
  });

  test("evaluation templates (FlashRAG): plain and chat, with and without IRCoT's earlier thoughts", () => {
    const evalTemplates = { NAIVE_GEN: E.NAIVE_GEN_PROMPT, NAIVE_RAG: E.NAIVE_RAG_PROMPT, IRCOT: E.IRCOT_PROMPT };
    for (const [name, t] of Object.entries(evalTemplates)) for (const [tn, tpl] of Object.entries({ plain: null, ...chatTemplates })) questions.forEach((q, qi) => {
      for (const prev of [undefined, " ", " Thought one."]) {
        const chat = tpl === null ? undefined : (m: E.ChatMessage[]) => renderChat(m, { chatTemplate: tpl, eosToken: "</s>" });
        const b = E.buildPrompt(t, { question: q, hits, previousGen: prev }, chat);
        const k = `eval/${name}/${tn}/q${qi}/prev${JSON.stringify(prev ?? null)}`;
        check(k, b.text);
        check(`${k}/messages`, JSON.stringify(b.messages ?? null));
      }
    });
  });

  test("the server's path: the tokenizer's template and its config's BOS/EOS, any role, with and without the generation prompt", () => {
    const tok = { chatTemplate: QWENISH, files: { tokenizerConfig: { bos_token: { content: "<s>" }, eos_token: "</s>" } } } as unknown as Tokenizer;
    const msgs = [{ role: "system", content: "sys" }, { role: "user", content: "hi" }, { role: "tool", content: "result" }, { role: "assistant", content: "partial" }];
    check("model/qwenish/gen", renderChat(msgs, tokenizerChatOptions(tok)));
    check("model/qwenish/continue", renderChat(msgs, { ...tokenizerChatOptions(tok), addGenerationPrompt: false }));
    expect(() => tokenizerChatOptions({} as Tokenizer)).toThrow(/no chat template/);
    expect(() => renderChat(msgs, { chatTemplate: "{% for %}" })).toThrow(/chat template does not parse/);
  });

  test("every stored rendering was checked", () => {
    expect([...Object.keys(golden)].filter((k) => !seen.has(k))).toEqual([]);
  });
});
