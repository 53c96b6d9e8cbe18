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
/** Pause before the second try; doubled before each later one. */
export const DHT_READ_RETRY_MS = 200

export interface DhtReadOptions {
  signal: AbortSignal
  attempts?: number
  retryMs?: number
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
    try {
      for await (const event of dht.get(key, { signal })) {
        if (event.name === 'VALUE') return event.value
        if (event.name === 'PEER_RESPONSE') answered++
        // kad-dht reports a server's answer whose record does not validate
        // (expired, say) as a QueryError in place of the answer: the server
        // did answer, with nothing we accept.
        else if (event.name === 'QUERY_ERROR' && event.error.name === 'QueryError') answered++
        else if (event.name === 'QUERY_ERROR') {
          failed++
          why = event.error.message
        }
      }
    } catch (err) {
      if (signal.aborted) throw err
      failed++
      why = (err as Error).message
    }
    if (answered > 0) return undefined
    // Nobody asked and nothing failed: the routing table was empty.
    if (failed === 0) why = 'no DHT server was asked'
    log('no DHT server answered a read (try %d of %d): %s', attempt + 1, attempts, why)
  }
  throw new DhtUnavailableError(`no DHT server answered a read (${attempts} tries): ${why}`)
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
