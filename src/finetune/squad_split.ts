/**
 * A train/evaluation split of one SQuAD file by article. Only the v1.1 dev
 * file is at hand, so a run trains on its first articles and scores the
 * rest; splitting by article (not by question) keeps every paragraph, and
 * so every context the model saw in training, out of the evaluation side.
 *
 * @module
 */

import type {
  SquadDataset,
  SquadExample,
} from "../../runtime/data/squad_examples.ts";

/** One side of a split. */
export interface SquadSplitSide {
  /** The side's questions, in file order. */
  readonly examples: SquadExample[];
  /** Titles of the side's articles, in file order. */
  readonly articles: string[];
}

/** A split of a SQuAD file into training and evaluation articles. */
export interface SquadSplit {
  /** The first articles in file order. */
  readonly train: SquadSplitSide;
  /** The remaining articles. */
  readonly eval: SquadSplitSide;
}

/**
 * Splits `dataset` by article, deterministically: the first
 * round(`fraction` · articles) articles in file order train, the rest
 * evaluate. Each side keeps at least one article.
 *
 * @throws {RangeError} if `fraction` is not in (0, 1) or the file has fewer
 * than two articles.
 */
export function splitByArticle(
  dataset: SquadDataset,
  fraction: number,
): SquadSplit {
  if (!(fraction > 0 && fraction < 1)) {
    throw new RangeError(
      `The training fraction must be in (0, 1), got ${fraction}.`,
    );
  }
  const { articles, examples } = dataset;
  if (articles.length < 2) {
    throw new RangeError(
      `Splitting by article needs at least 2 articles; the file has ${articles.length}.`,
    );
  }
  const cut = Math.min(
    Math.max(Math.round(fraction * articles.length), 1),
    articles.length - 1,
  );
  const boundary = articles[cut].firstExample;
  return {
    train: {
      examples: examples.slice(0, boundary),
      articles: articles.slice(0, cut).map((a) => a.title),
    },
    eval: {
      examples: examples.slice(boundary),
      articles: articles.slice(cut).map((a) => a.title),
    },
  };
}

/** One line saying how `split` divides the file, for logs and metrics. */
export function describeSplit(split: SquadSplit): string {
  const side = (s: SquadSplitSide) =>
    `${s.articles.length} articles (${s.examples.length} questions)`;
  return `train: first ${side(split.train)}; eval: last ${side(split.eval)}`;
}
