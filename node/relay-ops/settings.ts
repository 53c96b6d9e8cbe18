/**
 * From the relay's option values (a config file's keys with the flags over
 * them, as strings) to what the relay is started with. Each value is
 * checked by the same parser whether it came from a flag or a file; errors
 * name the option (the flag and the file's key have one name).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { UsageError } from '../errors.js'
import { relayDataDir } from '../data-dir.js'
import { DEFAULT_RELAY_LISTEN } from '../defaults.js'
import { parseLimits } from '../cli/limits.js'
import { parseMultiaddrs, parseTls, parseTurn } from '../cli/commands/relay.js'
import type { RelayLimits } from '../relay.js'
import type { ConnectionMonitorSettings } from '../../src/net/node.js'
import { RELAY_CONNECTION_MONITOR } from '../../src/peer/relay.js'
import { parseHostPort } from './http.js'
import type { LogLevel } from './options.js'

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
/** The shortest and longest retention taken. */
export const MIN_RETENTION_MS = 3_600_000
export const MAX_RETENTION_MS = 365 * 86_400_000

/** What a relay is started with. */
export interface RelaySettings {
  dataDir: string
  listen: string[]
  announce: string[]
  peers: string[]
  limits: RelayLimits
  /** Ping interval and timeout, and whether a failed ping closes (what is absent keeps the relay's default). */
  connectionMonitor: ConnectionMonitorSettings
  tls?: { certFile: string, keyFile: string }
  turn?: { urls: string[], secret: Uint8Array }
  metrics?: { host: string, port: number }
  health?: { host: string, port: number }
  logLevel: LogLevel
  logFormat: 'text' | 'json'
}

/** The bounds of the connection monitor's durations. */
export const PING_INTERVAL_BOUNDS = { min: 1000, max: 3_600_000, text: 'at least 1s, at most 1h' }
export const PING_TIMEOUT_BOUNDS = { min: 1000, max: 600_000, text: 'at least 1s, at most 10m' }

/**
 * A duration such as `30d`, `72h` or `30s`, in milliseconds, within the bounds.
 *
 * @throws {UsageError} naming the option otherwise
 */
export function parseDuration (option: string, value: string, bounds: { min: number, max: number, text: string }): number {
  const match = /^([0-9]+)(s|m|h|d)$/.exec(value.trim())
  const ms = match != null ? Number(match[1]) * UNIT_MS[match[2]] : NaN
  if (!Number.isSafeInteger(ms)) throw new UsageError(`--${option} ${value} is not a duration (a number with s, m, h or d, e.g. 30s)`)
  if (ms < bounds.min || ms > bounds.max) throw new UsageError(`--${option} ${value} is out of range (${bounds.text})`)
  return ms
}

/**
 * A retention such as `30d` or `72h`, in milliseconds.
 *
 * @throws {UsageError} naming the option when it is not a duration or is out of range
 */
export function parseRetention (value: string): number {
  return parseDuration('retention', value, { min: MIN_RETENTION_MS, max: MAX_RETENTION_MS, text: 'at least 1h, at most 365d' })
}

/**
 * The connection monitor's settings the options give (absent: the relay's defaults).
 *
 * @throws {UsageError} naming the option whose value is wrong
 */
export function parseConnectionMonitor (values: Record<string, unknown>): ConnectionMonitorSettings {
  const interval = one(values, 'ping-interval')
  const timeout = one(values, 'ping-timeout')
  const close = one(values, 'ping-close')
  if (close != null && close !== 'true' && close !== 'false') throw new UsageError(`--ping-close ${close}: true or false`)
  const intervalMs = interval != null ? parseDuration('ping-interval', interval, PING_INTERVAL_BOUNDS) : undefined
  const timeoutMs = timeout != null ? parseDuration('ping-timeout', timeout, PING_TIMEOUT_BOUNDS) : undefined
  // A ping that outlasts the interval fails at the next one (connectionMonitorInit, src/net/node.ts).
  const most = intervalMs ?? RELAY_CONNECTION_MONITOR.intervalMs
  if ((timeoutMs ?? RELAY_CONNECTION_MONITOR.timeoutMs) > most) {
    const given = `--ping-timeout ${timeout ?? `${RELAY_CONNECTION_MONITOR.timeoutMs / 1000}s (the default)`}`
    throw new UsageError(`${given} is longer than --ping-interval ${interval ?? `${RELAY_CONNECTION_MONITOR.intervalMs / 1000}s`}: libp2p pings each connection once an interval without waiting for the last, so a ping unanswered at the next fails then (a live connection closes) and on a dead one they pile up; set --ping-timeout to at most ${most / 1000}s`)
  }
  return {
    ...(intervalMs != null ? { intervalMs } : {}),
    ...(timeoutMs != null ? { timeoutMs } : {}),
    ...(close != null ? { closeOnFailure: close === 'true' } : {})
  }
}

function one (values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name]
  return typeof value === 'string' ? value : undefined
}

function many (values: Record<string, unknown>, name: string): string[] | undefined {
  const value = values[name]
  return Array.isArray(value) ? value.map(String) : undefined
}

/**
 * Checks every value and resolves the relay's settings. Reads the TURN
 * secret file when one is named.
 *
 * @throws {UsageError} naming the option whose value is wrong
 * @throws {CommandError} when the TURN secret file cannot be read or is too short
 */
export async function resolveRelaySettings (values: Record<string, unknown>, json: boolean): Promise<RelaySettings> {
  const listen = parseMultiaddrs('listen', many(values, 'listen') ?? DEFAULT_RELAY_LISTEN)
  const announce = parseMultiaddrs('announce', many(values, 'announce') ?? [])
  const peers = parseMultiaddrs('peer', many(values, 'peer') ?? [])
  for (const peer of peers) {
    if (!multiaddr(peer).getComponents().some(c => c.name === 'p2p')) throw new UsageError(`--peer ${peer} names no relay: it must end in /p2p/<peer id>`)
  }
  const limits = parseLimits(values)
  const retention = one(values, 'retention')
  if (retention != null) limits.retentionMs = parseRetention(retention)
  const metrics = one(values, 'metrics')
  const health = one(values, 'health')
  const format = one(values, 'log-format')
  if (format != null && format !== 'text' && format !== 'json') throw new UsageError(`--log-format ${format}: text or json`)
  const level = one(values, 'log-level') ?? 'info'
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`--log-level ${level}: debug, info, warn or error`)
  return {
    dataDir: relayDataDir(one(values, 'data')),
    listen,
    announce,
    peers,
    limits,
    connectionMonitor: parseConnectionMonitor(values),
    tls: parseTls(one(values, 'tls-cert'), one(values, 'tls-key'), listen),
    turn: await parseTurn(many(values, 'turn-url') ?? [], one(values, 'turn-secret-file')),
    metrics: metrics != null ? parseHostPort('metrics', metrics) : undefined,
    health: health != null ? parseHostPort('health', health) : undefined,
    logLevel: level as LogLevel,
    logFormat: json ? 'json' : (format as 'text' | 'json' | undefined) ?? 'text'
  }
}
