/**
 * What the page is told by the server that served it (`/config.json`): the
 * relays to use until the user picks others, and ICE servers they offer.
 * And which profile this tab is: `?profile=NAME` (default `default`), so
 * that one browser can hold several identities side by side.
 */

/** The page's configuration. */
export interface PageConfig {
  /** Relay multiaddrs, each ending in `/p2p/<peer id>`. */
  relays: string[]
  /** STUN/TURN servers from the relays' operators (none by default). */
  iceServers: RTCIceServer[]
  /** Shorter mailbox and retry intervals (the test server sets them; absent: the messenger's defaults). */
  intervals?: { fetchIntervalMs?: number, retryIntervalMs?: number }
  /** A shorter ring time (the test server sets it, as the daemon's STARLING_TEST_RING_TIMEOUT_MS; absent: 60 s). */
  ringTimeoutMs?: number
}

/** Profile names: what may name a database. */
const PROFILE = /^[a-z0-9_-]{1,32}$/

/** The profile of this tab, from `?profile=`. */
export function profileName (search: string = location.search): string {
  const asked = new URLSearchParams(search).get('profile')
  return asked != null && PROFILE.test(asked) ? asked : 'default'
}

/** Loads `/config.json` (a missing or malformed one gives no relays: the user can add them in settings). */
export async function loadConfig (): Promise<PageConfig> {
  try {
    const res = await fetch('/config.json', { cache: 'no-store' })
    if (!res.ok) return { relays: [], iceServers: [] }
    const json = await res.json() as Partial<PageConfig>
    return {
      relays: Array.isArray(json.relays) ? json.relays.filter((r): r is string => typeof r === 'string') : [],
      iceServers: Array.isArray(json.iceServers) ? json.iceServers : [],
      ...(json.intervals != null && typeof json.intervals === 'object' ? { intervals: intervals(json.intervals) } : {}),
      ...(typeof json.ringTimeoutMs === 'number' && Number.isFinite(json.ringTimeoutMs) && json.ringTimeoutMs > 0 ? { ringTimeoutMs: json.ringTimeoutMs } : {})
    }
  } catch {
    return { relays: [], iceServers: [] }
  }
}

/** Only positive numbers are taken. */
function intervals (raw: Record<string, unknown>): NonNullable<PageConfig['intervals']> {
  const out: NonNullable<PageConfig['intervals']> = {}
  for (const key of ['fetchIntervalMs', 'retryIntervalMs'] as const) {
    const v = raw[key]
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) out[key] = v
  }
  return out
}
