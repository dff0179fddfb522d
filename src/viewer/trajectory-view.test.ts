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
      { author: "policy", trained: true, text: "<think>t</think><search>q</search>", tokenIds: [1, 2, 3] },
      { author: "tool", trained: false, text: "<result>\np & <b>\n</result>", tokenIds: [4, 5] },
      { author: "policy", trained: true, text: "<answer>\\boxed{v}</answer>", tokenIds: [6, 7] },
      { author: "env", trained: true, text: " picked", tokenIds: [8] },
    ],
    lossMask: [1, 1, 1, 0, 0, 1, 0, 1],
  };

  it("reads the loss mask per segment (aligned with the concatenated ids)", () => {
    const v = segmentViews(t);
    expect(v.map((s) => [s.author, s.trained, s.tokens, s.trainedTokens])).toEqual([
      ["policy", "yes", 3, 3],
      ["tool", "no", 2, 0],
      ["policy", "mixed", 2, 1],
      ["env", "yes", 1, 1],
    ]);
  });

  it("falls back to the segment's trained flag without token ids, and reads old records (kind only)", () => {
    const v = segmentViews({ segments: [{ author: "env", trained: true, text: "a" }, { author: "tool", trained: false, text: "<result>r</result>" }] });
    expect(v.map((s) => [s.author, s.trained])).toEqual([["env", "yes"], ["tool", "no"]]);
    const old = segmentViews({ segments: [{ kind: "policy", text: "a" }, { kind: "tool", text: "<result>r</result>" }] as unknown as Trajectory["segments"] });
    expect(old.map((s) => [s.author, s.trained])).toEqual([["policy", "yes"], ["tool", "no"]]);
  });

  it("renders coloured tags, a collapsible result, mask classes, and escapes text", () => {
    const html = trajectoryHtml(t, { prompt: true });
    expect(html).toContain('<span class="tag tag-search">&lt;search&gt;</span>');
    expect(html).toContain('<span class="tag tag-answer">&lt;answer&gt;</span>');
    expect(html).toMatch(/<details class="seg seg-tool mask-no"[^>]*><summary><span class="tag tag-result">/);
    expect(html).toContain("p &amp; &lt;b&gt;");
    expect(html).toContain("mask-mixed");
    expect(html).toMatch(/<span class="seg seg-env mask-yes" title="written by the environment[^"]*">/); // scaffold text marked
    expect(html).toContain("<pre>Q &lt;x&gt;</pre>");
    expect(html).not.toContain("<b>");
  });
});
