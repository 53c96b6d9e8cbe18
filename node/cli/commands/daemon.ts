/** `starling daemon`: run this device's node and its local API. */
import { resolve } from 'node:path'
import { UsageError } from '../../errors.js'
import { userDataDir } from '../../data-dir.js'
import { DEFAULT_API, DEFAULT_DAEMON_LISTEN } from '../../defaults.js'
import { parseMultiaddrs } from './relay.js'
import { dataFlag } from '../profile.js'
import type { Command } from '../command.js'

/** Parses `HOST:PORT` (IPv4, `localhost` or `[v6]`). */
export function parseHostPort (value: string): { host: string, port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value)
  const port = m != null ? Number(m[2]) : NaN
  if (m == null || port > 65535) throw new UsageError(`--api ${value} is not HOST:PORT (e.g. 127.0.0.1:7654)`)
  const host = m[1].replace(/^\[|\]$/g, '')
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new UsageError(`--api ${value}: the API only listens on loopback (127.0.0.1, ::1 or localhost)`)
  return { host, port }
}

export const daemonCommand: Command = {
  name: 'daemon',
  summary: 'run this device: connect to relays, publish your handle, serve the local API',
  usage: 'starling daemon --bootstrap MULTIADDR [--bootstrap MULTIADDR]... [--data DIR] [--api HOST:PORT] [--listen MULTIADDR]... [--hide-ip] [--stranger-calls request|refuse] [--auto-answer [--call-audio-in FILE.wav] [--call-record FILE.wav]]',
  examples: ['starling daemon --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...', 'starling daemon --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW... --auto-answer --call-audio-in greeting.wav --call-record last-call.wav'],
  options: {
    bootstrap: { type: 'string', multiple: true },
    data: { type: 'string' },
    api: { type: 'string' },
    listen: { type: 'string', multiple: true },
    'dht-server': { type: 'boolean' },
    downloads: { type: 'string' },
    'record-lifetime': { type: 'string' },
    'hide-ip': { type: 'boolean' },
    'stranger-calls': { type: 'string' },
    'auto-answer': { type: 'boolean' },
    'call-audio-in': { type: 'string' },
    'call-record': { type: 'string' }
  },
  help: {
    bootstrap: 'relay to connect to and hold a reservation on, ending in /p2p/<peer id> (required, repeatable)',
    data: 'data directory (default $STARLING_DATA or ~/.starling)',
    api: `where the local API listens (default ${DEFAULT_API.host}:${DEFAULT_API.port}, any free port)`,
    listen: `address to listen on for peers (repeatable; default ${DEFAULT_DAEMON_LISTEN.join(' ')})`,
    downloads: 'folder where received files are written under their own names (default DIR/downloads; with STARLING_PASSPHRASE files stay encrypted until you save one: starling attachment ID --save-to)',
    'dht-server': 'also store DHT records for others (for machines with a public address)',
    'record-lifetime': 'lifetime of published records in seconds (default 86400; republished at half)',
    'hide-ip': 'hide my IP: only relayed addresses in the device record, no direct connections but to your relays, call media through TURN',
    'stranger-calls': 'calls from people who are not contacts: request (ring as a request, the default) or refuse (never ring)',
    'auto-answer': 'accept every call from a contact at once (bots, tests); calls from others still wait as requests',
    'call-audio-in': '16-bit PCM WAV sent (looped) on calls this daemon answers; silence when absent',
    'call-record': 'WAV file each answered call\'s remote audio is written to when it ends (overwritten)'
  },
  async run ({ args, out, stopped }) {
    const bootstrap = (args.values.bootstrap as string[] | undefined) ?? []
    if (bootstrap.length === 0) throw new UsageError('daemon: at least one --bootstrap MULTIADDR is required (a relay address ending in /p2p/<peer id>)')
    parseMultiaddrs('bootstrap', bootstrap)
    for (const b of bootstrap) {
      if (!/\/p2p\/\w+$/.test(b)) throw new UsageError(`--bootstrap ${b} must end in /p2p/<relay peer id>`)
    }
    const listen = parseMultiaddrs('listen', (args.values.listen as string[] | undefined) ?? DEFAULT_DAEMON_LISTEN)
    const api = args.values.api != null ? parseHostPort(args.values.api as string) : DEFAULT_API
    let recordLifetimeMs: number | undefined
    if (args.values['record-lifetime'] != null) {
      const s = Number(args.values['record-lifetime'])
      if (!Number.isFinite(s) || s < 1) throw new UsageError('--record-lifetime must be a number of seconds >= 1')
      recordLifetimeMs = Math.round(s * 1000)
    }
    const strangerCalls = args.values['stranger-calls'] as string | undefined
    if (strangerCalls != null && strangerCalls !== 'request' && strangerCalls !== 'refuse') throw new UsageError(`--stranger-calls ${strangerCalls}: use request or refuse`)
    const dataDir = userDataDir(args.values.data as string | undefined)
    const callRecord = args.values['call-record'] != null ? resolve(args.values['call-record'] as string) : undefined
    let answerAudio: Int16Array | undefined
    if (args.values['call-audio-in'] != null) {
      const { readWav } = await import('../../calls/wav.js')
      try {
        answerAudio = await readWav(resolve(args.values['call-audio-in'] as string))
      } catch (err) {
        throw new UsageError(`--call-audio-in ${(err as Error).message}`)
      }
    }
    const [{ Daemon }, { passphraseFromEnv }, { nodeCrypto }] = await Promise.all([
      import('../../daemon/daemon.js'), import('../../identity-store.js'), import('../../platform.js')
    ])
    const daemon = await Daemon.start({
      crypto: nodeCrypto(),
      dataDir,
      bootstrap,
      listen,
      api,
      passphrase: passphraseFromEnv(),
      recordLifetimeMs,
      dhtServer: args.values['dht-server'] === true,
      hideIp: args.values['hide-ip'] === true,
      strangerCalls,
      calls: { autoAnswer: args.values['auto-answer'] === true, answerAudio, recordPath: callRecord },
      downloads: args.values.downloads != null ? resolve(args.values.downloads as string) : undefined
    })
    const me = daemon.whoami()
    out.print({ event: 'ready', role: 'daemon', ...me, api: daemon.apiUrl, dataDir, downloads: daemon.downloads }, [
      `daemon for ${String(me.handle)} running`,
      `device:  ${String(me.peerId)}`,
      `api:     ${daemon.apiUrl} (token in ${dataDir}/api.json)`,
      `files:   ${daemon.downloads}${daemon.peer.blobs.encrypted ? ' (encrypted at rest: save one with starling attachment ID --save-to)' : ''}`,
      `try:     starling whoami${dataFlag(dataDir)}`
    ])
    // Said at start: a daemon whose bootstrap relay is away reaches nobody until it is back.
    const { firstAttempts, describeUnreachable } = await import('../../daemon/relay-health.js')
    const waitStop = new AbortController()
    stopped.then(() => waitStop.abort()).catch(() => {})
    for (const r of await firstAttempts(() => daemon.peer.status(), undefined, waitStop.signal)) {
      out.print({ event: 'relay-unreachable', ...r }, `warning: ${describeUnreachable(r)}; messages wait in the outbox until a relay answers`)
    }
    await stopped
    await daemon.stop()
    out.print({ event: 'stopped' }, 'daemon stopped')
  }
}
