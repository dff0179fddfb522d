/** @module model/generation — generation requests and results, shared by the native engine and every policy backend. */
import type { ChatMessage } from "../tokenizer/chat.js";

export interface GenerationRequest {
  /** Full context as text (remote backends use this). */
  prompt: string;
  /** Full context as token ids (native backends use this when given, so ids are never re-tokenized). */
  promptIds?: number[];
  maxTokens: number;
  /** Stop strings, e.g. ["</search>"]; matched even when they span tokens. */
  stop: string[];
  temperature: number;
  topP?: number;
  topK?: number;
  seed?: number;
  /** Keep generating past EOS until maxTokens or a stop string (benchmarks; vLLM's ignore_eos). */
  ignoreEos?: boolean;
  /**
   * Chat form of the same context (chat-completions servers): system/user messages, then the assistant's partial
   * response when there is one, which the server continues (vLLM `continue_final_message`). Text backends ignore it.
   */
  messages?: ChatMessage[];
  /** Called by the native engine after each generated token (streaming servers); ignored by other backends. */
  onToken?: (id: number, logprob: number) => void;
}

export interface GenerationResult {
  /** Generated text. When a stop string matched, it is INCLUDED at the end (backends normalise servers that drop it). */
  text: string;
  /** Generated token ids (native and llama.cpp backends). */
  tokenIds?: number[];
  /** Log-probability of each generated token under the sampling policy, aligned with tokenIds. */
  logprobs?: number[];
  /** stop: a stop string matched; eos: the model emitted EOS (text then ends with the EOS text); length: budget hit. */
  finishReason: "stop" | "eos" | "length";
  stopString?: string;
  /** Number of generated tokens as counted by the server (remote backends without token ids). */
  completionTokens?: number;
}
