/** @module rollout/render — trajectories for the terminal: tags coloured (think, search, result, answer), tool text dimmed. */
import pc from "picocolors";
import { segmentAuthor, type Segment } from "./types.js";

const TAG = /(<\/?(?:think|search|answer|result|information)>)/;
const TAG_COLOURS: Record<string, (s: string) => string> = {
  think: pc.cyan,
  search: pc.yellow,
  answer: (s) => pc.bold(pc.green(s)),
  result: pc.magenta,
  information: pc.magenta,
};

/** One segment with its tags coloured; the text of a tool segment (retrieved passages) is dimmed. */
export function colourSegment(seg: Segment): string {
  return seg.text
    .split(TAG)
    .map((part, i) => (i % 2 ? TAG_COLOURS[part.replace(/[</>]/g, "")](part) : segmentAuthor(seg) === "tool" && part ? pc.dim(part) : part))
    .join("");
}
