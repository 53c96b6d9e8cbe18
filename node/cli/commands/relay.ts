/** `starling relay`: run a relay for the community. */
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { checkTurnUrl, MAX_TURN_URLS } from '../../../src/protocols/turn/index.js'
import { CommandError, UsageError } from '../../errors.js'
import { relayDataDir } from '../../data-dir.js'
import { DEFAULT_RELAY_LISTEN } from '../../defaults.js'
import { RELAY_DATA_LIMIT_BYTES, RELAY_DURATION_LIMIT_MS, RELAY_MAX_CONNECTIONS, RELAY_MAX_RESERVATIONS } from '../../../src/net/constants.js'
import type { Command } from '../command.js'
import { limitHelp, limitOptions, parseLimits } from '../limits.js'

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
function parseTls (certFile: string | undefined, keyFile: string | undefined, listen: string[]): { certFile: string, keyFile: string } | undefined {
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
  summary: 'run a relay: bootstrap, DHT server, circuit relay, mailbox gossip',
  usage: 'starling relay [--listen MULTIADDR]... [--announce MULTIADDR]... [--peer MULTIADDR]... [--data DIR] [--tls-cert FILE --tls-key FILE] [--turn-url URL... --turn-secret-file FILE] [LIMIT OPTIONS]',
  examples: [
    'starling relay --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/tcp/4002/ws --announce /dns4/relay.example.org/tcp/4001',
    'starling relay --listen /ip4/0.0.0.0/udp/4003/webrtc-direct --announce /ip4/203.0.113.7/udp/4003/webrtc-direct',
    'starling relay --listen /ip4/0.0.0.0/tcp/443/tls/ws --tls-cert /etc/letsencrypt/live/relay.example.org/fullchain.pem --tls-key /etc/letsencrypt/live/relay.example.org/privkey.pem --announce /dns4/relay.example.org/tcp/443/tls/ws',
    'starling relay --peer /dns4/other-relay.example.org/tcp/4001/p2p/12D3KooW...',
    'starling relay --turn-url turn:relay.example.org:3478?transport=udp --turn-secret-file /etc/starling/turn-secret',
    'starling relay --max-storage 100GiB --max-storage-per-source 1GiB --max-reservations-per-source 32'
  ],
  options: {
    listen: { type: 'string', multiple: true },
    announce: { type: 'string', multiple: true },
    peer: { type: 'string', multiple: true },
    data: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'turn-url': { type: 'string', multiple: true },
    'turn-secret-file': { type: 'string' },
    ...limitOptions()
  },
  help: {
    listen: `address to listen on (repeatable; default ${DEFAULT_RELAY_LISTEN.join(', ')}); a /udp/PORT/webrtc-direct address lets pages connect without a TLS certificate (its certificate is kept in the data directory), a /tcp/PORT/tls/ws one takes wss:// with --tls-cert`,
    announce: 'address to tell peers instead of the listen addresses (repeatable)',
    peer: 'a relay to link with, ending in /p2p/<peer id>: linked relays share the DHT and hold each other\'s envelopes; gossip is taken only from them, so its operator lists this relay too (repeatable)',
    data: 'data directory (default $STARLING_RELAY_DATA or ~/.starling-relay)',
    'tls-cert': 'PEM certificate chain for /tls/ws (wss://) listeners, e.g. certbot\'s fullchain.pem; read again on SIGHUP and every hour',
    'tls-key': 'PEM private key of --tls-cert',
    'turn-url': 'a URL of the TURN server run beside this relay (coturn, README "TURN"), handed to the peers this relay serves with short-lived credentials (repeatable)',
    'turn-secret-file': 'file holding the secret shared with that TURN server (coturn\'s static-auth-secret); readable by the operator alone',
    ...limitHelp()
  },
  async run ({ args, out, stopped }) {
    // Loaded here, not at the top: they bring libp2p's logger and gaters (~0.1 s) into every command's start.
    const [{ RELAY_MAX_RESERVATIONS_PER_SOURCE }, { MAX_CONNECTIONS_PER_SOURCE }] = await Promise.all([
      import('../../../src/net/reservation-limits.js'), import('../../../src/net/connection-limits.js')
    ])
    const listen = parseMultiaddrs('listen', (args.values.listen as string[] | undefined) ?? DEFAULT_RELAY_LISTEN)
    const announce = parseMultiaddrs('announce', (args.values.announce as string[] | undefined) ?? [])
    const dataDir = relayDataDir(args.values.data as string | undefined)
    const { startRelay } = await import('../../relay.js')
    const peers = parseMultiaddrs('peer', (args.values.peer as string[] | undefined) ?? [])
    for (const peer of peers) {
      if (!multiaddr(peer).getComponents().some(c => c.name === 'p2p')) throw new UsageError(`--peer ${peer} names no relay: it must end in /p2p/<peer id>`)
    }
    const limits = parseLimits(args.values)
    // A test hook, as the daemon's STARLING_FETCH_INTERVAL_MS: how often linked relays reconcile.
    const interval = Number(process.env.STARLING_RELAY_SYNC_INTERVAL_MS)
    const tls = parseTls(args.values['tls-cert'] as string | undefined, args.values['tls-key'] as string | undefined, listen)
    const turn = await parseTurn((args.values['turn-url'] as string[] | undefined) ?? [], args.values['turn-secret-file'] as string | undefined)
    const relay = await startRelay({
      dataDir,
      listen,
      announce,
      peers,
      limits,
      tls,
      turn,
      syncIntervalMs: Number.isSafeInteger(interval) && interval > 0 ? interval : undefined,
      onSync: (peer, result, stats) => {
        // Only exchanges that changed something: an operator sees catch-ups, not the quiet rounds.
        if (result.envelopes.stored + result.deletes.tombstones === 0) return
        out.print({
          event: 'synced',
          peer: peer.toString(),
          envelopes: result.envelopes.stored,
          deletes: result.deletes.tombstones,
          removed: result.deletes.removed,
          complete: result.complete,
          requests: stats.requests,
          bytes: stats.bytesIn + stats.bytesOut
        }, `reconciled with ${peer.toString()}: ${result.envelopes.stored} envelopes, ${result.deletes.tombstones} deletes${result.complete ? '' : ' (more to come)'}`)
      }
    })
    const addrs = relay.node.getMultiaddrs().map(String)
    out.print({
      event: 'ready',
      role: 'relay',
      peerId: relay.node.peerId.toString(),
      multiaddrs: addrs,
      dataDir,
      linked: relay.relaySet.linked.map(r => r.peerId.toString()),
      turn: turn?.urls ?? [],
      limits: {
        durationMs: RELAY_DURATION_LIMIT_MS,
        dataBytes: Number(RELAY_DATA_LIMIT_BYTES),
        storage: relay.mailbox.store.budgets,
        reservations: { max: limits.reservations?.max ?? RELAY_MAX_RESERVATIONS, maxPerSource: limits.reservations?.maxPerSource ?? RELAY_MAX_RESERVATIONS_PER_SOURCE },
        connections: { max: limits.connections?.max ?? RELAY_MAX_CONNECTIONS, maxPerSource: limits.connections?.maxPerSource ?? MAX_CONNECTIONS_PER_SOURCE }
      }
    }, [
      `relay ${relay.node.peerId.toString()} listening on:`,
      ...addrs.map(a => `  ${a}`),
      `daemons connect with: starling daemon --bootstrap ${addrs[0] ?? '<address>'}`,
      ...addrs.filter(a => a.includes('/webrtc-direct/')).slice(0, 1).map(a => `pages connect with: ${a}`)
    ])
    // SIGHUP (`systemctl reload`, a certbot deploy hook): take renewed certificate files without a restart.
    const onHangup = (): void => {
      relay.reloadTls().then(
        changed => { out.print({ event: 'tls-reloaded', changed }, changed ? 'TLS certificate reloaded' : 'TLS certificate unchanged') },
        (err: Error) => { out.print({ event: 'tls-reload-failed', message: err.message }, `TLS certificate kept: ${err.message}`) }
      )
    }
    process.on('SIGHUP', onHangup)
    await stopped
    process.off('SIGHUP', onHangup)
    await relay.stop()
    out.print({ event: 'stopped' }, 'relay stopped')
  }
}
