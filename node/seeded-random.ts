/**
 * A small seeded generator (mulberry32): the same seed gives the same
 * numbers, so a chaos run, a simulation's schedule or a daemon's injected
 * faults can be repeated from the seed they print.
 */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
