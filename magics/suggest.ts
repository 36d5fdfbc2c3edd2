// "Did you mean ...?" for misspelt verbs, options and setting names.

/** Optimal string alignment distance: like Levenshtein, with a swap of two neighbours costing 1. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: columns }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < columns; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[rows - 1][columns - 1];
}

/**
 * The candidate the user most likely meant, or undefined when none is close: a unique candidate
 * that starts with `word` (`conn` → `connect` only if nothing else starts so), else the nearest by
 * edit distance within about a third of the word's length.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const all = [...candidates];
  const exact = all.find((candidate) => candidate.toLowerCase() === lower);
  if (exact !== undefined) return exact;
  const prefixed = all.filter((candidate) => candidate.toLowerCase().startsWith(lower));
  if (lower.length >= 2 && prefixed.length === 1) return prefixed[0];
  const limit = Math.max(1, Math.floor(lower.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of all) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}
