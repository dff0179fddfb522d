import { describe, expect, it, test } from "vitest";
import { segmentViews, splitTags, trajectoryHtml, type Piece } from "./trajectory-view.js";
import type { Trajectory } from "../rollout/types.js";

const short = (ps: Piece[]) => ps.map((p) => (p.type === "tag" ? `[${p.close ? "/" : ""}${p.name}]` : `${p.in ?? "-"}:${p.text}`));

describe("splitTags", () => {
  test.each([
    ["<think>a</think>", ["[think]", "think:a", "[/think]"]],
    ["x <search>q</search> y", ["-:x ", "[search]", "search:q", "[/search]", "-: y"]],
    ["<answer>\\boxed{v}</answer><eos>", ["[answer]", "answer:\\boxed{v}", "[/answer]", "-:<eos>"]],
    ["<think>a <answer>b</think> c", ["[think]", "think:a ", "[answer]", "answer:b", "[/think]", "-: c"]],
    ["plain", ["-:plain"]],
    ["</result> stray", ["[/result]", "-: stray"]],
  ])("%s", (text, want) => {
    expect(short(splitTags([text])[0])).toEqual(want);
  });

  it("carries the open tag across segments", () => {
    const [a, b] = splitTags(["<think>start", " more</think>"]);
    expect(short(a)).toEqual(["[think]", "think:start"]);
    expect(short(b)).toEqual(["think: more", "[/think]"]);
  });
});

describe("segmentViews and trajectoryHtml", () => {
  const t: Pick<Trajectory, "segments" | "lossMask" | "prompt"> = {
    prompt: "Q <x>",
    segments: [
      { kind: "policy", text: "<think>t</think><search>q</search>", tokenIds: [1, 2, 3] },
      { kind: "tool", text: "<result>\np & <b>\n</result>", tokenIds: [4, 5] },
      { kind: "policy", text: "<answer>\\boxed{v}</answer>", tokenIds: [6, 7] },
    ],
    lossMask: [1, 1, 1, 0, 0, 1, 0],
  };

  it("reads the loss mask per segment (aligned with the concatenated ids)", () => {
    const v = segmentViews(t);
    expect(v.map((s) => [s.kind, s.trained, s.tokens, s.trainedTokens])).toEqual([
      ["policy", "yes", 3, 3],
      ["tool", "no", 2, 0],
      ["policy", "mixed", 2, 1],
    ]);
  });

  it("falls back to the segment kind without token ids", () => {
    const v = segmentViews({ segments: [{ kind: "policy", text: "a" }, { kind: "tool", text: "<result>r</result>" }] });
    expect(v.map((s) => s.trained)).toEqual(["yes", "no"]);
  });

  it("renders coloured tags, a collapsible result, mask classes, and escapes text", () => {
    const html = trajectoryHtml(t, { prompt: true });
    expect(html).toContain('<span class="tag tag-search">&lt;search&gt;</span>');
    expect(html).toContain('<span class="tag tag-answer">&lt;answer&gt;</span>');
    expect(html).toMatch(/<details class="seg seg-tool mask-no"[^>]*><summary><span class="tag tag-result">/);
    expect(html).toContain("p &amp; &lt;b&gt;");
    expect(html).toContain("mask-mixed");
    expect(html).toContain("<pre>Q &lt;x&gt;</pre>");
    expect(html).not.toContain("<b>");
  });
});
