// Deterministic chance for property tests: the same seed, the same sequence, on any machine.

/** True about one time in `n`, from a linear congruential sequence started at `seed`. */
export function oneIn(n: number, seed: number): () => boolean {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) % n === 0;
}
