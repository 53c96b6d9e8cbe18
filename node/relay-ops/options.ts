/**
 * Every option of `starling relay`, once: its flag, its key in a config
 * file (the same name, as coturn's config file takes its flags' names), the
 * JSON schema of that key, and its help. The command's flags, the config
 * file's schema and `starling relay init`'s template all come from this
 * table, so a new option cannot be settable one way and not the other.
 */
import type { OptionsConfig } from '../cli/command.js'
import { LIMIT_FLAGS } from '../cli/limits.js'
import { DEFAULT_RELAY_LISTEN } from '../defaults.js'

/** The JSON schema of one key (a subset: what the table uses). */
export type KeySchema = Record<string, unknown>

/** One relay option. */
export interface RelayOption {
  /** Flag and config key. */
  name: string
  /** Repeatable flag; an array in the file. */
  multiple: boolean
  schema: KeySchema
  help: string
}

/** A size: bytes, or a number with a binary suffix (as the limit flags take). */
const SIZE_PATTERN = '^[0-9]+\\s*([kKmMgGtT][iI][bB])?$'
/** A duration: a number with s, m, h or d. */
export const DURATION_PATTERN = '^[0-9]+(s|m|h|d)$'
/** host:port, with an IPv6 host in brackets. */
export const HOST_PORT_PATTERN = '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$'

const multiaddrs: KeySchema = { type: 'array', items: { type: 'string', format: 'multiaddr' }, maxItems: 64 }
const path: KeySchema = { type: 'string', minLength: 1 }

/** The log levels, most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/** Where `relay init`'s config serves metrics and health (loopback: an operator opens them on purpose). */
export const INIT_METRICS_ADDRESS = '127.0.0.1:9464'
export const INIT_HEALTH_ADDRESS = '127.0.0.1:9465'

/** The options, in the order help and the template list them. */
export const RELAY_OPTIONS: RelayOption[] = [
  { name: 'data', multiple: false, schema: path, help: 'data directory: the relay\'s key, envelopes and DHT records (default $STARLING_RELAY_DATA or ~/.starling-relay)' },
  {
    name: 'listen',
    multiple: true,
    schema: multiaddrs,
    help: `address to listen on (repeatable; default ${DEFAULT_RELAY_LISTEN.join(', ')}); a /udp/PORT/webrtc-direct address lets pages connect without a TLS certificate (its certificate is kept in the data directory), a /tcp/PORT/tls/ws one takes wss:// with --tls-cert`
  },
  { name: 'announce', multiple: true, schema: multiaddrs, help: 'address to tell peers instead of the listen addresses (repeatable)' },
  {
    name: 'peer',
    multiple: true,
    schema: { ...multiaddrs, items: { type: 'string', format: 'relay-multiaddr' } },
    help: 'a relay to link with, ending in /p2p/<peer id>: linked relays share the DHT and hold each other\'s envelopes; gossip is taken only from them, so its operator lists this relay too (repeatable)'
  },
  { name: 'tls-cert', multiple: false, schema: path, help: 'PEM certificate chain for /tls/ws (wss://) listeners, e.g. certbot\'s fullchain.pem; read again on SIGHUP and every hour' },
  { name: 'tls-key', multiple: false, schema: path, help: 'PEM private key of --tls-cert' },
  {
    name: 'turn-url',
    multiple: true,
    schema: { type: 'array', items: { type: 'string', format: 'turn-url' }, maxItems: 8 },
    help: 'a URL of the TURN server run beside this relay (coturn, README "TURN"), handed to the peers this relay serves with short-lived credentials (repeatable)'
  },
  { name: 'turn-secret-file', multiple: false, schema: path, help: 'file holding the secret shared with that TURN server (coturn\'s static-auth-secret); readable by the operator alone' },
  ...Object.entries(LIMIT_FLAGS).map(([name, flag]) => ({
    name,
    multiple: false,
    schema: flag.kind === 'bytes'
      ? { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: SIZE_PATTERN }] }
      : { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^[0-9]+$' }] },
    help: flag.help
  })),
  { name: 'retention', multiple: false, schema: { type: 'string', pattern: DURATION_PATTERN }, help: 'how long an envelope is kept for its owner, e.g. 30d, 72h (default 30d; at least 1h, at most 365d)' },
  { name: 'ping-interval', multiple: false, schema: { type: 'string', pattern: DURATION_PATTERN }, help: 'how often the relay pings each connection to find dead ones, e.g. 30s (default 30s; at least 1s, at most 1h)' },
  { name: 'ping-timeout', multiple: false, schema: { type: 'string', pattern: DURATION_PATTERN }, help: 'how long a ping may go unanswered before it fails, e.g. 30s; short timeouts drop live users whenever the relay is busy (default 30s; at least 1s, at most 10m, and at most --ping-interval: libp2p starts a ping at every interval without waiting for the last)' },
  { name: 'ping-close', multiple: false, schema: { anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['true', 'false'] }] }, help: 'whether a failed ping closes the connection, and with it the user\'s reservation: true or false (default true; false keeps a dead connection until TCP gives up, minutes)' },
  { name: 'metrics', multiple: false, schema: { type: 'string', pattern: HOST_PORT_PATTERN }, help: `host:port to serve Prometheus metrics on, at /metrics (off unless given; relay init's config: ${INIT_METRICS_ADDRESS})` },
  { name: 'health', multiple: false, schema: { type: 'string', pattern: HOST_PORT_PATTERN }, help: `host:port to serve the health check on, at /health (200 when ready, else 503) and /live (off unless given; relay init's config: ${INIT_HEALTH_ADDRESS})` },
  { name: 'log-level', multiple: false, schema: { type: 'string', enum: [...LOG_LEVELS] }, help: 'the least level logged: debug, info, warn or error (default info)' },
  { name: 'log-format', multiple: false, schema: { type: 'string', enum: ['text', 'json'] }, help: 'text, or json: one JSON object per line with time, level and event (--json is the same)' }
]

/** The relay's flags (parseArgs), beside --config. */
export function relayFlagOptions (): OptionsConfig {
  return {
    config: { type: 'string' },
    ...Object.fromEntries(RELAY_OPTIONS.map(o => [o.name, { type: 'string' as const, multiple: o.multiple }]))
  }
}

/** Help of every flag. */
export function relayFlagHelp (): Record<string, string> {
  return {
    config: 'a config file (JSON with comments; `starling relay init` writes one): every option below by name; flags given as well override it',
    ...Object.fromEntries(RELAY_OPTIONS.map(o => [o.name, o.help]))
  }
}
