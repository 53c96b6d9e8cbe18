/** `starling relay`: run a relay for the community. */
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { checkTurnUrl, MAX_TURN_URLS } from '../../../src/protocols/turn/index.js'
import { CommandError, UsageError } from '../../errors.js'
import type { Command } from '../command.js'
import { relayFlagHelp, relayFlagOptions } from '../../relay-ops/options.js'

/**
 * Throws unless `text` is a well-formed peer id: a base58btc multihash
 * (`12D3KooW...`, `Qm...`) whose length matches its header, or a CID.
 * Checked with multiformats alone: @libp2p/peer-id would load the key
 * codecs (~0.1 s) into every command's start.
 */
function checkPeerId (text: string): void {
  if (text.startsWith('1') || text.startsWith('Q')) Digest.decode(base58btc.decode(`z${text}`))
  else CID.parse(text)
}

/** Parses each value as a multiaddr, or throws a UsageError naming the option. */
export function parseMultiaddrs (option: string, values: string[]): string[] {
  for (const value of values) {
    let ma
    try {
      ma = multiaddr(value)
    } catch {
      throw new UsageError(`--${option} ${value} is not a multiaddr (e.g. /ip4/127.0.0.1/tcp/4001)`)
    }
    // A peer id with a typo parses as a multiaddr; libp2p would later say only "Incorrect length".
    for (const c of ma.getComponents()) {
      if (c.name !== 'p2p' || c.value == null) continue
      try {
        checkPeerId(c.value)
      } catch {
        throw new UsageError(`--${option} ${value}: ${c.value} is not a peer id (copy the whole address the relay printed; peer ids look like 12D3KooW followed by 44 more characters)`)
      }
    }
  }
  return values
}

/** `--tls-cert` and `--tls-key` go together, and with a listener that takes TLS (which needs them). */
export function parseTls (certFile: string | undefined, keyFile: string | undefined, listen: string[]): { certFile: string, keyFile: string } | undefined {
  const secure = listen.find(a => multiaddr(a).getComponents().some(c => c.name === 'tls' || c.name === 'wss'))
  if (certFile == null && keyFile == null) {
    if (secure != null) throw new UsageError(`--listen ${secure} takes TLS: give its certificate with --tls-cert and --tls-key`)
    return undefined
  }
  if (certFile == null || keyFile == null) throw new UsageError('--tls-cert and --tls-key go together')
  if (secure == null) throw new UsageError('--tls-cert needs a listener that takes TLS, e.g. --listen /ip4/0.0.0.0/tcp/443/tls/ws')
  return { certFile, keyFile }
}

/** The least secret length taken (coturn's `static-auth-secret` is a string; a short one could be guessed offline from one credential). */
const MIN_TURN_SECRET_BYTES = 16

/**
 * `--turn-url` (repeatable) and `--turn-secret-file` go together: the TURN
 * server beside the relay and the secret it shares with it (the file's
 * contents, trimmed, as coturn's `static-auth-secret` reads it).
 */
export async function parseTurn (urls: string[], secretFile: string | undefined): Promise<{ urls: string[], secret: Uint8Array } | undefined> {
  if (urls.length === 0 && secretFile == null) return undefined
  if (urls.length === 0 || secretFile == null) throw new UsageError('--turn-url and --turn-secret-file go together')
  if (urls.length > MAX_TURN_URLS) throw new UsageError(`at most ${MAX_TURN_URLS} --turn-url`)
  for (const url of urls) {
    try {
      checkTurnUrl(url)
    } catch {
      throw new UsageError(`--turn-url ${url} is not a TURN URL (e.g. turn:relay.example.org:3478?transport=udp)`)
    }
  }
  let text: string
  try {
    text = (await readFile(secretFile, 'utf8')).trim()
  } catch (err) {
    throw new CommandError(`--turn-secret-file ${secretFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const secret = new TextEncoder().encode(text)
  if (secret.byteLength < MIN_TURN_SECRET_BYTES) throw new CommandError(`--turn-secret-file ${secretFile}: the secret must be at least ${MIN_TURN_SECRET_BYTES} bytes (e.g. openssl rand -hex 32)`)
  return { urls, secret }
}

export const relayCommand: Command = {
  name: 'relay',
  summary: 'run a relay: bootstrap, DHT server, circuit relay, mailbox gossip; relay init writes a config, relay status asks a running one',
  usage: 'starling relay [--config FILE] [--check] [--listen MULTIADDR]... [--announce MULTIADDR]... [--peer MULTIADDR]... [--data DIR] [--tls-cert FILE --tls-key FILE] [--turn-url URL... --turn-secret-file FILE] [--metrics HOST:PORT] [--health HOST:PORT] [LIMIT OPTIONS] | starling relay init [FILE] | starling relay status [--config FILE | --health HOST:PORT]',
  examples: [
    'starling relay init /etc/starling/relay.jsonc && starling relay --config /etc/starling/relay.jsonc',
    'starling relay status --health 127.0.0.1:9465',
    'starling relay --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/tcp/4002/ws --announce /dns4/relay.example.org/tcp/4001',
    'starling relay --listen /ip4/0.0.0.0/udp/4003/webrtc-direct --announce /ip4/203.0.113.7/udp/4003/webrtc-direct',
    'starling relay --listen /ip4/0.0.0.0/tcp/443/tls/ws --tls-cert /etc/letsencrypt/live/relay.example.org/fullchain.pem --tls-key /etc/letsencrypt/live/relay.example.org/privkey.pem --announce /dns4/relay.example.org/tcp/443/tls/ws',
    'starling relay --peer /dns4/other-relay.example.org/tcp/4001/p2p/12D3KooW...',
    'starling relay --turn-url turn:relay.example.org:3478?transport=udp --turn-secret-file /etc/starling/turn-secret',
    'starling relay --max-storage 100GiB --max-storage-per-source 1GiB --max-reservations-per-source 32 --retention 14d'
  ],
  positionals: [{ name: 'init|status', required: false }, { name: 'FILE', required: false }],
  options: { ...relayFlagOptions(), check: { type: 'boolean' } },
  help: { ...relayFlagHelp(), check: 'check the config and the flags, print what the relay would use, and exit' },
  notes: [
    'starling relay init [FILE]: write a commented default config (default ./starling-relay.jsonc; never over an existing file).',
    'starling relay status: ask a running relay\'s health endpoint; exits 0 when it is ready, 1 otherwise.'
  ],
  async run ({ args, out, stopped }) {
    const [sub, file] = args.positionals
    if (sub === 'init') {
      const { writeRelayConfig } = await import('../../relay-ops/run.js')
      const path = await writeRelayConfig(file)
      out.print({ event: 'config-written', path }, [`wrote ${path}`, `check it with: starling relay --config ${path} --check`, `run it with:   starling relay --config ${path}`])
      return
    }
    if (sub === 'status') {
      if (file != null) throw new UsageError(`relay status: unexpected argument '${file}'`)
      const { relayStatus } = await import('../../relay-ops/run.js')
      return await relayStatus(args.values, out)
    }
    if (sub != null) throw new UsageError(`relay: unknown subcommand '${sub}' (init or status)`)
    const { runRelay } = await import('../../relay-ops/run.js')
    return await runRelay(args.values, out, stopped)
  }
}
