/**
 * Reading one record from the DHT, telling "the servers asked have none"
 * from "no server answered". kad-dht's `get` ends the same way (no value)
 * whether every server it asked said it holds nothing or every request
 * failed (a stream reset, a timeout on a busy machine), and libp2p's
 * content routing turns both into NotFoundError. A resolver that took a
 * failure for "none" told the user a handle its owner had just published
 * was "nobody claims it". Here a read that no server answered is tried
 * again, a bounded number of times, and then reported as a failure.
 */
import { logger } from '@libp2p/logger'
import type { KadDHT } from '@libp2p/kad-dht'
import { DhtUnavailableError } from './errors.js'

const log = logger('starling:net:dht-read')

/** Tries of one read when no server answered. */
export const DHT_READ_ATTEMPTS = 3
/** Records of one read kept to choose from (one per server asked; kad-dht asks at most k = 20 in a query's closest set). */
export const MAX_RECORDS_KEPT = 64
/** Pause before the second try; doubled before each later one. */
export const DHT_READ_RETRY_MS = 200

export interface DhtReadOptions {
  signal: AbortSignal
  attempts?: number
  retryMs?: number
  /**
   * Picks the best of several records (the DHT's selector): used when
   * servers answered with records but kad-dht's get ended without its
   * value. It throws after finding the value when it could not correct a
   * server holding an older record (QueryError "Could not send
   * correction"): a server that missed the owner's last put, such as one
   * that was down, then made the record look absent. Without it, the first
   * record seen is taken.
   */
  select?: (records: Uint8Array[]) => Promise<number>
}

/**
 * The record under `key`: its bytes, or undefined when a server answered
 * without it. Throws DhtUnavailableError when no server answered any of
 * the tries, and the signal's reason once it aborts.
 */
export async function readDhtRecord (dht: Pick<KadDHT, 'get'>, key: Uint8Array, options: DhtReadOptions): Promise<Uint8Array | undefined> {
  const { signal } = options
  const attempts = options.attempts ?? DHT_READ_ATTEMPTS
  let why = 'no DHT server was asked'
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await pause((options.retryMs ?? DHT_READ_RETRY_MS) * 2 ** (attempt - 1), signal)
    let answered = 0
    let failed = 0
    const seen: Uint8Array[] = []
    try {
      for await (const event of dht.get(key, { signal })) {
        if (event.name === 'VALUE') return event.value
        if (event.name === 'PEER_RESPONSE') {
          answered++
          // kad-dht verified it (its validator) before reporting the response.
          if (event.record != null && seen.length < MAX_RECORDS_KEPT) seen.push(event.record.value)
        } else if (event.name === 'QUERY_ERROR') {
          failed++
          why = event.error.message
        }
      }
    } catch (err) {
      if (signal.aborted) throw err
      failed++
      why = (err as Error).message
    }
    if (seen.length > 0) {
      const best = await pick(seen, options.select)
      if (best != null) {
        log('the read found %d records but ended without its value (%s): taking the best', seen.length, why)
        return best
      }
    }
    if (answered > 0) return undefined
    // Nobody asked and nothing failed: the routing table was empty.
    if (failed === 0) why = 'no DHT server was asked'
    log('no DHT server answered a read (try %d of %d): %s', attempt + 1, attempts, why)
  }
  throw new DhtUnavailableError(`no DHT server answered a read (${attempts} tries): ${why}`)
}

/** The best record by `select`, the first without it; undefined when the selector finds none valid. */
async function pick (records: Uint8Array[], select?: (records: Uint8Array[]) => Promise<number>): Promise<Uint8Array | undefined> {
  if (select == null) return records[0]
  try {
    return records[await select(records)]
  } catch (err) {
    log('no valid record among %d: %s', records.length, (err as Error).message)
    return undefined
  }
}

async function pause (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done)
      resolve()
    }, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
