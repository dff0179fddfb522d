/** @module retrieval/types — passages and the retriever interface every search backend implements. */
export interface Passage {
  id: string;
  /** FlashRAG form: first line is the title (often in quotes), then the text. */
  contents: string;
}
export interface SearchHit extends Passage {
  score: number;
}
export interface Retriever {
  /** One ranked hit list per query, best first, at most `topN` each. Never throws on odd query text. */
  search(queries: string[], topN: number): Promise<SearchHit[][]>;
  close?(): Promise<void>;
}
