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
  /**
   * Picks the best of several versions of the record (the index): used when
   * kad-dht found values but failed before handing over the best one (see
   * {@link readDhtRecord}). Without it such a read counts as unanswered.
   */
  select?: (key: Uint8Array, records: Uint8Array[]) => Promise<number>
}

/**
 * The record under `key`: its bytes, or undefined when a server answered
 * without it. Throws DhtUnavailableError when no server answered any of
 * the tries, and the signal's reason once it aborts.
 *
 * kad-dht's `get` sends the best version it found to every server that
 * answered with another one, and throws if one of them does not take it
 * (content-fetching `sendCorrectionRecord`), before it yields the best
 * value: a server keeping an older version of someone's record and
 * refusing corrections turned every read of it into "none" (a claim hidden,
 * a name resolving to the other claimant only). The servers' answers came
 * with their records (validated by kad-dht): the best of them is taken.
 */
export async function readDhtRecord (dht: Pick<KadDHT, 'get'>, key: Uint8Array, options: DhtReadOptions): Promise<Uint8Array | undefined> {
  const { signal } = options
  const attempts = options.attempts ?? DHT_READ_ATTEMPTS
  let why = 'no DHT server was asked'
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await pause((options.retryMs ?? DHT_READ_RETRY_MS) * 2 ** (attempt - 1), signal)
    let answered = 0
    let failed = 0
    // The records servers answered the GET with (the answers to corrections kad-dht sends are not validated: not these).
    const answers: Uint8Array[] = []
    try {
      for await (const event of dht.get(key, { signal })) {
        if (event.name === 'VALUE') return event.value
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'GET_VALUE' && event.record != null) answers.push(event.record.value)
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
      if (answers.length > 0) {
        if (options.select != null) return await best(options.select, key, answers)
        // Records were found but none handed over: not "none".
        answered = 0
      }
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

/** The best of `records`, or undefined when none of them verifies. */
async function best (select: NonNullable<DhtReadOptions['select']>, key: Uint8Array, records: Uint8Array[]): Promise<Uint8Array | undefined> {
  try {
    return records[await select(key, records)]
  } catch (err) {
    log('none of %d answers verifies: %s', records.length, (err as Error).message)
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
