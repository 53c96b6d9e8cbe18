/** `starling relay`: run a relay for the community. */
import { multiaddr } from '@multiformats/multiaddr'
import { UsageError } from '../../errors.js'
import { relayDataDir } from '../../data-dir.js'
import { DEFAULT_RELAY_LISTEN } from '../../defaults.js'
import { RELAY_DATA_LIMIT_BYTES, RELAY_DURATION_LIMIT_MS } from '../../../src/net/constants.js'
import type { Command } from '../command.js'

/** Parses each value as a multiaddr, or throws a UsageError naming the option. */
export function parseMultiaddrs (option: string, values: string[]): string[] {
  for (const value of values) {
    try {
      multiaddr(value)
    } catch {
      throw new UsageError(`--${option} ${value} is not a multiaddr (e.g. /ip4/127.0.0.1/tcp/4001)`)
    }
  }
  return values
}

export const relayCommand: Command = {
  name: 'relay',
  summary: 'run a relay: bootstrap, DHT server, circuit relay, mailbox gossip',
  usage: 'starling relay [--listen MULTIADDR]... [--announce MULTIADDR]... [--peer MULTIADDR]... [--data DIR]',
  examples: [
    'starling relay --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/tcp/4002/ws --announce /dns4/relay.example.org/tcp/4001',
    'starling relay --peer /dns4/other-relay.example.org/tcp/4001/p2p/12D3KooW...'
  ],
  options: {
    listen: { type: 'string', multiple: true },
    announce: { type: 'string', multiple: true },
    peer: { type: 'string', multiple: true },
    data: { type: 'string' }
  },
  help: {
    listen: `address to listen on (repeatable; default ${DEFAULT_RELAY_LISTEN.join(' and ')})`,
    announce: 'address to tell peers instead of the listen addresses (repeatable)',
    peer: 'another relay to connect to, ending in /p2p/<peer id>: relays share the DHT and hold each other\'s envelopes (repeatable)',
    data: 'data directory (default $STARLING_RELAY_DATA or ~/.starling-relay)'
  },
  async run ({ args, out, stopped }) {
    const listen = parseMultiaddrs('listen', (args.values.listen as string[] | undefined) ?? DEFAULT_RELAY_LISTEN)
    const announce = parseMultiaddrs('announce', (args.values.announce as string[] | undefined) ?? [])
    const dataDir = relayDataDir(args.values.data as string | undefined)
    const { startRelay } = await import('../../relay.js')
    const peers = parseMultiaddrs('peer', (args.values.peer as string[] | undefined) ?? [])
    const relay = await startRelay({ dataDir, listen, announce, peers })
    const addrs = relay.node.getMultiaddrs().map(String)
    out.print({
      event: 'ready',
      role: 'relay',
      peerId: relay.node.peerId.toString(),
      multiaddrs: addrs,
      dataDir,
      limits: { durationMs: RELAY_DURATION_LIMIT_MS, dataBytes: Number(RELAY_DATA_LIMIT_BYTES) }
    }, [
      `relay ${relay.node.peerId.toString()} listening on:`,
      ...addrs.map(a => `  ${a}`),
      `daemons connect with: starling daemon --bootstrap ${addrs[0] ?? '<address>'}`
    ])
    await stopped
    await relay.stop()
    out.print({ event: 'stopped' }, 'relay stopped')
  }
}
