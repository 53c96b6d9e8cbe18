/** Commands that ask the running daemon: resolve, whoami, status. */
import { userDataDir } from '../../data-dir.js'
import { ApiClient } from '../../api/client.js'
import type { Command, CommandArgs } from '../command.js'

async function connect (args: CommandArgs): Promise<ApiClient> {
  return ApiClient.connect(userDataDir(args.values.data as string | undefined))
}

const dataOption = { data: { type: 'string' as const } }

/** libp2p errors can carry a whole stack in their message: status shows the first line. */
function firstLine (text: string): string {
  return text.split('\n')[0].trim()
}
const dataHelp = { data: 'data directory of the daemon to ask (default $STARLING_DATA or ~/.starling)' }

interface ResolveResult {
  query: string
  unique: boolean
  claims: Array<{ handle: string, fingerprint: string, devices: Array<{ peerId: string, online: boolean }> }>
}

export const resolveCommand: Command = {
  name: 'resolve',
  summary: 'look a handle up in the DHT: every account claiming a bare name (up to 1,000 devices), fingerprints, devices',
  usage: 'starling resolve HANDLE [--data DIR]',
  examples: ['starling resolve bob', 'starling resolve bob~x3k9q2mf7a'],
  options: dataOption,
  help: dataHelp,
  positionals: [{ name: 'HANDLE', required: true }],
  async run ({ args, out }) {
    const client = await connect(args)
    const r = await client.call<ResolveResult>('resolve', { handle: args.positionals[0] })
    const lines = r.unique
      ? [`${r.claims[0].handle} is unique`]
      : [`${r.query} is claimed by ${r.claims.length} accounts: use the full name~tag`]
    for (const c of r.claims) {
      lines.push(`${c.handle}`, `  fingerprint: ${c.fingerprint}`)
      for (const d of c.devices) lines.push(`  device:      ${d.peerId}${d.online ? '' : ' (no current record)'}`)
    }
    out.print({ event: 'resolved', ...r }, lines)
  }
}

export const whoamiCommand: Command = {
  name: 'whoami',
  summary: 'show your handle, device and account fingerprint',
  usage: 'starling whoami [--data DIR]',
  examples: ['starling whoami'],
  options: dataOption,
  help: dataHelp,
  async run ({ args, out }) {
    const me = await (await connect(args)).call<Record<string, string>>('whoami')
    out.print({ event: 'whoami', ...me }, [
      `handle:      ${me.handle}`,
      `device:      ${me.peerId}`,
      `fingerprint: ${me.fingerprint}`
    ])
  }
}

interface StatusResult {
  peerId: string
  connections: Array<{ peerId: string, addr: string, limited: boolean }>
  reservations: Array<{ relay: string, reserved: boolean, lastError?: string, unreachableSince?: number, failures?: number }>
  routingTableSize: number
  published: { at: number, expiresAt: number, seq: number } | null
  publishError: string | null
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show connections, relay reservations, DHT routing table size and publication state',
  usage: 'starling status [--data DIR]',
  examples: ['starling status --json'],
  options: dataOption,
  help: dataHelp,
  async run ({ args, out }) {
    const s = await (await connect(args)).call<StatusResult>('status')
    const lines = [
      `connections: ${s.connections.length}`,
      ...s.connections.map(c => `  ${c.peerId} ${c.addr}${c.limited ? ' (relayed)' : ''}`),
      `relay reservations: ${s.reservations.filter(r => r.reserved).length}/${s.reservations.length}`,
      ...s.reservations.map(r => r.reserved
        ? `  reserved ${r.relay}`
        : r.unreachableSince != null
          ? `  none     ${r.relay} (relay unreachable since ${new Date(r.unreachableSince).toISOString().slice(11, 19)}, ${r.failures ?? 0} attempts, retrying with backoff${r.lastError != null ? `: ${firstLine(r.lastError)}` : ''})`
          : `  none     ${r.relay}${r.lastError != null ? ` (${firstLine(r.lastError)})` : ''}`),
      `DHT routing table: ${s.routingTableSize} peers`,
      s.published != null
        ? `records published ${new Date(s.published.at).toISOString()}, valid until ${new Date(s.published.expiresAt).toISOString()}`
        : `records not published yet${s.publishError != null ? ` (${firstLine(s.publishError)})` : ''}`
    ]
    out.print({ event: 'status', ...s }, lines)
  }
}
