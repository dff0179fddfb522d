/**
 * @module viewer/trajectory-view — a Trajectory (rollout/types) as coloured, collapsible HTML, shared by the live
 * viewer (its API returns this HTML) and the static report: `<think>`, `<search>`, `<answer>` and `<result>` tags
 * coloured, tool results in `<details>`, text the environment wrote (a training scaffold's splice) outlined, and each
 * segment marked trained (lossMask 1) or masked (lossMask 0).
 */
import { segmentAuthor, segmentTrained, type SegmentAuthor, type Trajectory } from "../rollout/types.js";

export const TAG_NAMES = ["think", "search", "result", "answer"] as const;
export type TagName = (typeof TAG_NAMES)[number];

/** A piece of segment text: a tag, or text inside the innermost open tag (null: outside every tag). */
export type Piece = { type: "tag"; name: TagName; close: boolean; text: string } | { type: "text"; text: string; in: TagName | null };

export interface SegmentView {
  /** Who wrote it: the policy, the environment (a scaffold's splice) or a tool (retrieved passages). */
  author: SegmentAuthor;
  /** Whether the loss covers this segment: from lossMask when the trajectory has token ids, else the segment's `trained`. */
  trained: "yes" | "no" | "mixed";
  /** Tokens in the segment (undefined when the backend gave no ids), and how many of them the loss mask keeps. */
  tokens?: number;
  trainedTokens?: number;
  pieces: Piece[];
}

const TAG_RE = /<(\/?)(think|search|result|answer)>/g;

/** Split texts into tag and text pieces; the open-tag context carries over from one text to the next. */
export function splitTags(texts: string[]): Piece[][] {
  const stack: TagName[] = [];
  return texts.map((text) => {
    const out: Piece[] = [];
    let last = 0;
    const pushText = (s: string) => s && out.push({ type: "text", text: s, in: stack.length ? stack[stack.length - 1] : null });
    for (const m of text.matchAll(TAG_RE)) {
      pushText(text.slice(last, m.index));
      const name = m[2] as TagName;
      const close = m[1] === "/";
      out.push({ type: "tag", name, close, text: m[0] });
      if (!close) stack.push(name);
      else {
        const at = stack.lastIndexOf(name);
        if (at >= 0) stack.splice(at);
      }
      last = m.index + m[0].length;
    }
    pushText(text.slice(last));
    return out;
  });
}

/** Segments with their tag pieces and loss-mask status (lossMask is aligned with the concatenated segment ids). */
export function segmentViews(t: Pick<Trajectory, "segments" | "lossMask">): SegmentView[] {
  const pieces = splitTags(t.segments.map((s) => s.text));
  let offset = 0;
  return t.segments.map((s, i) => {
    const n = s.tokenIds?.length;
    let trained: SegmentView["trained"] = segmentTrained(s) ? "yes" : "no";
    let trainedTokens: number | undefined;
    if (n !== undefined && t.lossMask && t.lossMask.length >= offset + n) {
      trainedTokens = t.lossMask.slice(offset, offset + n).reduce((a, b) => a + b, 0);
      trained = trainedTokens === n ? "yes" : trainedTokens === 0 ? "no" : "mixed";
    }
    offset += n ?? 0;
    return { author: segmentAuthor(s), trained, ...(n !== undefined ? { tokens: n, trainedTokens } : {}), pieces: pieces[i] };
  });
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function piecesHtml(pieces: Piece[]): string {
  return pieces
    .map((p) =>
      p.type === "tag"
        ? `<span class="tag tag-${p.name}">${escapeHtml(p.text)}</span>`
        : `<span class="in-${p.in ?? "none"}">${escapeHtml(p.text)}</span>`,
    )
    .join("");
}

const WRITER: Record<SegmentAuthor, string> = { policy: "written by the policy", env: "written by the environment (training scaffold)", tool: "tool result" };

function segmentHtml(v: SegmentView): string {
  const title =
    v.tokens !== undefined
      ? `${WRITER[v.author]}: ${v.tokens} tokens, ${v.trainedTokens} under the loss mask (lossMask=1)`
      : `${WRITER[v.author]} (no token ids): ${v.trained === "yes" ? "trained" : "not trained"}`;
  const cls = `seg seg-${v.author} mask-${v.trained}`;
  if (v.author === "tool") {
    const chars = v.pieces.filter((p) => p.type === "text").reduce((a, p) => a + p.text.trim().length, 0);
    const tok = v.tokens !== undefined ? `, ${v.tokens} tok` : "";
    return `<details class="${cls}" title="${escapeHtml(title)}"><summary><span class="tag tag-result">&lt;result&gt;</span> ${chars} chars${tok}, masked</summary>${piecesHtml(v.pieces)}</details>`;
  }
  return `<span class="${cls}" title="${escapeHtml(title)}">${piecesHtml(v.pieces)}</span>`;
}

export interface TrajectoryHtmlOptions {
  /** Show the prompt above the response (collapsed). */
  prompt?: boolean;
}

/** The response of a trajectory as HTML: one span (policy) or `<details>` (tool result) per segment. */
export function trajectoryHtml(t: Pick<Trajectory, "segments" | "lossMask" | "prompt">, opts: TrajectoryHtmlOptions = {}): string {
  const body = segmentViews(t).map(segmentHtml).join("");
  const prompt = opts.prompt ? `<details class="prompt"><summary>prompt</summary><pre>${escapeHtml(t.prompt)}</pre></details>` : "";
  return `${prompt}<div class="response">${body}</div>`;
}

/** CSS for the classes above, shared by the viewer's stylesheet and the report. */
export const TRAJECTORY_CSS = `
.response { white-space: pre-wrap; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; line-height: 1.5; }
.tag { font-weight: 600; border-radius: 3px; padding: 0 2px; }
.tag-think { color: #6b4fa0; background: #efe8fa; }
.tag-search { color: #0b6e4f; background: #dcf5ea; }
.tag-result { color: #8a5a00; background: #fff1d0; }
.tag-answer { color: #b3261e; background: #fde4e1; }
.in-think { color: #6b4fa0; }
.in-search { color: #0b6e4f; font-weight: 600; }
.in-answer { color: #b3261e; font-weight: 600; }
.in-result { color: #6b5a3a; }
.seg.mask-yes { border-bottom: 2px solid #4c78a8; }
.seg.mask-mixed { border-bottom: 2px dashed #4c78a8; }
.seg.mask-no { background: repeating-linear-gradient(135deg, #f4f4f4, #f4f4f4 4px, #e6e6e6 4px, #e6e6e6 8px); }
.seg-env { outline: 1px dashed #b3261e; outline-offset: 1px; background: #fff6f5; }
details.seg-tool { display: block; margin: 2px 0; padding: 0 4px; border-left: 3px solid #e0b44c; }
details.seg-tool summary { cursor: pointer; color: #8a5a00; }
.legend span { margin-right: 10px; }
`;
