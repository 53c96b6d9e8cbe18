/**
 * `starling relay`'s limit options: every per-source limit (and the totals
 * they share) is a flag, parsed here into the relay's {@link RelayLimits}.
 * Sizes take a plain number of bytes or a binary suffix (KiB, MiB, GiB, TiB).
 */
import { UsageError } from '../errors.js'
import type { RelayLimits } from '../relay.js'
import type { OptionsConfig } from './command.js'

const UNITS: Record<string, number> = { '': 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 }

interface LimitFlag {
  kind: 'bytes' | 'count'
  help: string
}

/** The flags, by name, with their meaning. */
export const LIMIT_FLAGS: Record<string, LimitFlag> = {
  'max-storage': { kind: 'bytes', help: 'storage budget of the whole relay: envelopes plus 256 bytes each (default 8GiB)' },
  'max-storage-per-source': { kind: 'bytes', help: 'what one source (an IPv4 address, an IPv6 /64, or a relayed peer) may keep on the relay, however many peer ids it uses (default 512MiB)' },
  'max-storage-per-linked-relay': { kind: 'bytes', help: 'what the gossip of one linked relay may keep here (default half of --max-storage)' },
  'mailbox-max-envelopes': { kind: 'count', help: 'envelopes one mailbox may hold (default 10000)' },
  'mailbox-max-bytes': { kind: 'bytes', help: 'envelope bytes one mailbox may hold (default 200000000)' },
  'mailbox-share-envelopes': { kind: 'count', help: 'envelopes one source may keep in one mailbox, so that no source fills someone\'s mailbox (default 2500)' },
  'mailbox-share-bytes': { kind: 'bytes', help: 'envelope bytes one source may keep in one mailbox (default 50000000)' },
  'rate-burst': { kind: 'count', help: 'store requests one source may make at once (default 2000)' },
  'rate-per-second': { kind: 'count', help: 'store requests per second one source gets back (default 500)' },
  'max-reservations': { kind: 'count', help: 'circuit relay reservations the relay holds (default 1024)' },
  'max-reservations-per-source': { kind: 'count', help: 'circuit relay reservations one source may hold; a reservation ends with its connection (default 16)' },
  'max-connections': { kind: 'count', help: 'connections the relay holds at once; beyond, new ones are refused (default 4096)' },
  'max-connections-per-source': { kind: 'count', help: 'connections one source may hold, so that no source takes every slot (default 64)' }
}

/** The option config of every limit flag. */
export function limitOptions (): OptionsConfig {
  return Object.fromEntries(Object.keys(LIMIT_FLAGS).map(name => [name, { type: 'string' as const }]))
}

/** Help text of every limit flag. */
export function limitHelp (): Record<string, string> {
  return Object.fromEntries(Object.entries(LIMIT_FLAGS).map(([name, flag]) => [name, flag.help]))
}

/**
 * A positive whole number of bytes, e.g. `1048576` or `512MiB`.
 *
 * @throws {UsageError} naming the option otherwise
 */
export function parseSize (option: string, value: string): number {
  const match = /^(\d+)\s*([a-zA-Z]*)$/.exec(value.trim())
  const unit = UNITS[match?.[2].toLowerCase() ?? 'x']
  const n = match != null && unit != null ? Number(match[1]) * unit : NaN
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${option} ${value} is not a size (bytes, or a number with KiB, MiB, GiB or TiB)`)
  return n
}

/**
 * A positive whole number.
 *
 * @throws {UsageError} naming the option otherwise
 */
export function parseCount (option: string, value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${option} ${value} is not a positive whole number`)
  return n
}

/** The relay limits the flags set (absent flags keep the defaults). */
export function parseLimits (values: Record<string, unknown>): RelayLimits {
  const read = (name: string): number | undefined => {
    const value = values[name]
    if (typeof value !== 'string') return undefined
    return LIMIT_FLAGS[name].kind === 'bytes' ? parseSize(name, value) : parseCount(name, value)
  }
  return {
    storage: {
      maxTotalBytes: read('max-storage'),
      maxBytesPerSource: read('max-storage-per-source'),
      maxBytesPerLinkedRelay: read('max-storage-per-linked-relay'),
      maxEnvelopesPerMailbox: read('mailbox-max-envelopes'),
      maxBytesPerMailbox: read('mailbox-max-bytes'),
      maxEnvelopesPerMailboxPerSource: read('mailbox-share-envelopes'),
      maxBytesPerMailboxPerSource: read('mailbox-share-bytes')
    },
    rateLimit: { burst: read('rate-burst'), perSecond: read('rate-per-second') },
    reservations: { max: read('max-reservations'), maxPerSource: read('max-reservations-per-source') },
    connections: { max: read('max-connections'), maxPerSource: read('max-connections-per-source') }
  }
}
