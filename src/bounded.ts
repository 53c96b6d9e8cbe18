/**
 * Bounded caches: a Map iterates in insertion order, so its first key is the
 * one put in longest ago. Every in-memory cache of the project (DH results,
 * peer ids, message states, ephemeral keys, record sequence numbers) stays
 * within its bound through this one function.
 */

/** Puts `key` → `value` into `map` as its newest entry, first dropping the oldest so that at most `max` entries remain. */
export function setNewest<K, V> (map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key)
  for (const oldest of map.keys()) {
    if (map.size < max) break
    map.delete(oldest)
  }
  map.set(key, value)
}
