// "Did you mean": the likely intended word for a typo, used in every message that names something unknown.

/** Edit distance (optimal string alignment: insert, delete, substitute, swap two neighbours) for "did you mean". */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The closest of `known` to `word` when it is close enough to be a likely typo; ties go to the first. */
export function closest(word: string, known: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  const lw = word.toLowerCase();
  for (const k of known) {
    const d = editDistance(lw, k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= limit && bestD < word.length ? best : undefined;
}
/** `; did you mean "x"?` when there is a close match, else the empty string. */
export function didYouMean(word: string, known: Iterable<string>): string {
  const c = closest(word, known);
  return c === undefined ? '' : `; did you mean "${c}"?`;
}
