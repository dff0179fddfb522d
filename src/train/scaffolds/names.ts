/**
 * @module train/scaffolds/names — the candidates of the exploration scaffolds (follow-up-picks, answer-picks): names and numbers found in a question or in retrieved passages, by surface form only.
 */
import { parseContents } from "../../retrieval/corpus.js";
import type { SearchHit } from "../../retrieval/types.js";

/**
 * The names in a text: every run of capitalised words, except a single capitalised word that starts a sentence ("He",
 * "Born", "Who"), in order. Numbers are not names.
 */
export function textNames(text: string): string[] {
  const names: string[] = [];
  let run: string[] = [];
  let runAtStart = false;
  let sentenceStart = true;
  const close = () => {
    if (run.length > 1 || (run.length === 1 && !runAtStart)) names.push(run.join(" "));
    run = [];
  };
  for (const raw of text.split(/\s+/).filter(Boolean)) {
    const w = raw.replace(/^[("'“]+|[)"'”.,;:!?]+$/g, "");
    if (/^[A-Z][\w'-]*$/u.test(w)) {
      if (!run.length) runAtStart = sentenceStart;
      run.push(w);
    } else close();
    if (w !== raw.replace(/^[("'“]+/, "")) close(); // punctuation after the word ends the run
    sentenceStart = /[.!?]["')”]*$/.test(raw);
  }
  close();
  return names;
}

/** A passage's title and text (`parseContents`); a passage without a title line is all text. */
const passageParts = (contents: string) => (contents.includes("\n") ? parseContents(contents) : { title: "", text: contents });

/** The names in retrieved passages, the candidates of the follow-up-picks scaffold: each title, then `textNames` of
 * its text, deduplicated. */
export function resultNames(hits: SearchHit[]): string[] {
  return [...new Set(hits.flatMap((h) => {
    const { title, text } = passageParts(h.contents);
    return [...(title ? [title] : []), ...textNames(text)];
  }))];
}

/** The candidates of the answer-picks scaffold: `resultNames` and every number of the passages' text. */
export function resultMentions(hits: SearchHit[]): string[] {
  const numbers = hits.flatMap((h) => passageParts(h.contents).text.match(/\b\d+(?:\.\d+)?\b/g) ?? []);
  return [...new Set([...resultNames(hits), ...numbers])];
}
