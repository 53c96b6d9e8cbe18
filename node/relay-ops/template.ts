/**
 * `starling relay init [FILE]`: the commented default config. Every option
 * of the table is in it, set to its default or (where it has none, such as
 * TLS and TURN files) commented out with an example. Metrics and health are
 * served on 127.0.0.1: an operator opens them wider on purpose.
 */
import { DEFAULT_RELAY_LISTEN } from '../defaults.js'
import { INIT_HEALTH_ADDRESS, INIT_METRICS_ADDRESS, RELAY_OPTIONS } from './options.js'

/** Where `relay init` writes without a FILE. */
export const DEFAULT_CONFIG_FILE = 'starling-relay.jsonc'

/** The value each option is written with; undefined: commented out with `example`. */
const VALUES: Record<string, { value?: unknown, example?: unknown }> = {
  data: { example: '/var/lib/starling-relay' },
  listen: { value: DEFAULT_RELAY_LISTEN },
  announce: { value: [], example: ['/dns4/relay.example.org/tcp/4001', '/ip4/203.0.113.7/udp/4003/webrtc-direct'] },
  peer: { value: [], example: ['/dns4/other-relay.example.org/tcp/4001/p2p/12D3KooW...'] },
  'tls-cert': { example: '/etc/letsencrypt/live/relay.example.org/fullchain.pem' },
  'tls-key': { example: '/etc/letsencrypt/live/relay.example.org/privkey.pem' },
  'turn-url': { example: ['turn:relay.example.org:3478?transport=udp'] },
  'turn-secret-file': { example: '/etc/starling/turn-secret' },
  'max-storage': { value: '8GiB' },
  'max-storage-per-source': { value: '512MiB' },
  'max-storage-per-linked-relay': { example: '4GiB' },
  'mailbox-max-envelopes': { value: 10000 },
  'mailbox-max-bytes': { value: 200000000 },
  'mailbox-share-envelopes': { value: 2500 },
  'mailbox-share-bytes': { value: 50000000 },
  'rate-burst': { value: 2000 },
  'rate-per-second': { value: 500 },
  'max-reservations': { value: 1024 },
  'max-reservations-per-source': { value: 16 },
  'max-connections': { value: 4096 },
  'max-connections-per-source': { value: 64 },
  retention: { value: '30d' },
  'ping-interval': { value: '30s' },
  'ping-timeout': { value: '30s' },
  'ping-close': { value: true },
  metrics: { value: INIT_METRICS_ADDRESS },
  health: { value: INIT_HEALTH_ADDRESS },
  'log-level': { value: 'info' },
  'log-format': { value: 'json' }
}

/** Wraps help text into `//` lines of at most ~96 columns. */
function comment (text: string): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > 92 && line !== '') {
      lines.push(`  // ${line}`)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(`  // ${line}`)
  return lines
}

/** The text `starling relay init` writes. */
export function relayConfigTemplate (): string {
  const lines = [
    '// Starling relay config: JSON with comments (and trailing commas). Each key is the flag of the',
    '// same name (`starling relay --help`); a flag given on the command line overrides the key.',
    '// Check it without starting: starling relay --config FILE --check',
    '{'
  ]
  for (const option of RELAY_OPTIONS) {
    const entry = VALUES[option.name] ?? {}
    lines.push(...comment(option.help))
    if (entry.value !== undefined) lines.push(`  ${JSON.stringify(option.name)}: ${JSON.stringify(entry.value)},`)
    if (entry.example !== undefined) lines.push(`  // ${JSON.stringify(option.name)}: ${JSON.stringify(entry.example)},`)
    lines.push('')
  }
  lines.pop()
  lines.push('}', '')
  return lines.join('\n')
}
