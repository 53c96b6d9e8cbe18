/**
 * Runs Starling as separate processes for end-to-end tests: relays, daemons
 * and one-shot CLI commands, each `node node/bin/starling.js ...` with the
 * same Node that runs the tests. Every process started here is killed by
 * {@link Processes.stopAll}.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { KEPT_RUNNING } from '../../node/unhandled.js'

/** The CLI entry point. */
export const STARLING_BIN = resolve(import.meta.dirname, '../../node/bin/starling.js')

/** How long a process may take to print its ready event. */
const READY_TIMEOUT_MS = 30_000

/** A long-running Starling process that printed `{"event":"ready",...}`. */
export interface Running {
  proc: ChildProcess
  ready: Record<string, unknown>
  /** Every JSON line printed so far. */
  events: Array<Record<string, unknown>>
  stderr: string[]
}

/** Result of a one-shot command. */
export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON lines (when --json was given). */
  json: Array<Record<string, unknown>>
}

/** A process's report of the rejections nobody handled that it logged and outlived (node/unhandled.ts), if any. */
export function keptRunning (what: string, stderr: string[]): string[] {
  const lines = stderr.filter(line => line.includes(KEPT_RUNNING))
  return lines.length === 0 ? [] : [`${what} logged ${lines.length} unhandled rejection(s), which would have ended it: ${lines.slice(0, 3).join('\n')}`]
}

/** A set of processes and temporary directories that a test suite owns. */
export class Processes {
  private readonly running = new Set<ChildProcess>()
  private readonly dirs: string[] = []

  /** A fresh temporary directory, removed by stopAll. */
  async tempDir (prefix = 'starling-test-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    this.dirs.push(dir)
    return dir
  }

  /** Runs `starling ARGS` to completion. */
  async cli (args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
    const proc = spawn(process.execPath, [STARLING_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.running.add(proc)
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    const code = await new Promise<number | null>(resolve => proc.on('close', c => resolve(c)))
    clearTimeout(timer)
    this.running.delete(proc)
    const json = stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
    return { code, stdout, stderr, json }
  }

  /**
   * Starts a long-running command (relay, daemon) with --json and waits for
   * its ready event; `prefix` runs it through another command (e.g. `ip
   * netns exec NAME`, which execs it: the process is the same).
   */
  async start (args: string[], env: Record<string, string> = {}, prefix: string[] = []): Promise<Running> {
    const [command, ...rest] = [...prefix, process.execPath]
    const proc = spawn(command, [...rest, STARLING_BIN, ...args, '--json'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.running.add(proc)
    proc.on('exit', () => this.running.delete(proc))
    const events: Array<Record<string, unknown>> = []
    const stderr: string[] = []
    createInterface({ input: proc.stderr }).on('line', line => stderr.push(line))
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${args[0]} not ready within ${READY_TIMEOUT_MS} ms: ${stderr.join(' | ')}`)), READY_TIMEOUT_MS)
      createInterface({ input: proc.stdout }).on('line', line => {
        if (!line.startsWith('{')) return
        const event = JSON.parse(line) as Record<string, unknown>
        events.push(event)
        if (event.event === 'ready') {
          clearTimeout(timer)
          resolve(event)
        }
      })
      proc.on('exit', code => {
        clearTimeout(timer)
        reject(new Error(`${args[0]} exited with ${code} before ready: ${stderr.join(' | ')}`))
      })
    })
    return { proc, ready, events, stderr }
  }

  /** Stops a process: SIGTERM (graceful) or SIGKILL; waits for it to exit. */
  async stop (running: Running | ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = 'proc' in running ? running.proc : running
    if (proc.exitCode != null || proc.signalCode != null) return
    const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()))
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }

  /** Kills everything still running and removes the temporary directories. */
  async stopAll (): Promise<void> {
    await Promise.all([...this.running].map(async p => this.stop(p)))
    await Promise.all(this.dirs.map(async d => rm(d, { recursive: true, force: true })))
    this.dirs.length = 0
  }
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T> (check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError != null ? `: ${(lastError as Error).message}` : ''}`)
}

/** Test hooks that make daemons read mailboxes and retry sends quickly. */
export const FAST_DAEMON_ENV: Record<string, string> = {
  STARLING_FETCH_INTERVAL_MS: '1000',
  STARLING_RETRY_INTERVAL_MS: '500'
}

/** A user created with `starling init`. */
export interface User {
  dir: string
  /** The bare name, e.g. "alice". */
  name: string
  /** name~tag. */
  handle: string
  peerId: string
  fingerprint: string
}

/** A relay process and where it listens. */
export interface RelayProcess {
  relay: Running
  addr: string
  dataDir: string
  port: number
  /** The options it was started with besides --listen and --data. */
  args: string[]
}

/** One message of `history --json` (the daemon's `history` method). */
export interface HistoryMessage {
  id: string
  author: { account: string, device: string }
  timestamp: number
  lamport: number
  kind: string
  text?: string
  edited: boolean
  deleted: boolean
  replyTo?: { id: string }
  reactions: Array<{ emoji: string, by: string[] }>
  status: string
  sendState?: string
  relays?: number
  attachmentState?: { id: string, complete: boolean, receivedChunks: number, totalChunks: number }
  /** Every file of the message, and how far each got, in the same order. */
  attachments?: Array<{ id: string, fileName: string, size: number, mimeType: string }>
  attachmentStates?: Array<{ id: string, complete: boolean, receivedChunks: number, totalChunks: number }>
}

/**
 * Relays, users and daemons for messaging tests, on top of {@link Processes}.
 * Daemons get the fast test intervals unless a test passes its own env.
 */
export class Network {
  /** Every daemon and relay started, to report the ones that crashed. */
  private readonly started: Array<{ what: string, running: Running }> = []

  constructor (readonly procs: Processes) {}

  /**
   * Processes that exited on their own with an error (not stopped or killed
   * by the test), with their stderr, and those that logged a rejection
   * nobody handled: node/unhandled.ts keeps them running, where Node would
   * have ended them, and a test asserting that nothing crashed must still see it.
   */
  crashed (): string[] {
    const exited = this.started
      .filter(s => s.running.proc.exitCode != null && s.running.proc.exitCode !== 0)
      .map(s => `${s.what} exited with ${String(s.running.proc.exitCode)}: ${s.running.stderr.slice(-20).join('\n')}`)
    return [...exited, ...this.started.flatMap(s => keptRunning(s.what, s.running.stderr))]
  }

  /** How every process started here stands (for failure messages). */
  describe (): string {
    return this.started.map(s => `${s.what}: exit ${String(s.running.proc.exitCode)} signal ${String(s.running.proc.signalCode)} ${s.running.stderr.slice(-10).join(' | ')}`).join('\n')
  }

  /**
   * Starts a relay (on a fixed port and data directory to restart one in
   * place); `extraArgs` are more `starling relay` options (`--peer`, limits).
   */
  async startRelay (dataDir?: string, port = 0, extraArgs: string[] = []): Promise<RelayProcess> {
    const dir = dataDir ?? await this.procs.tempDir('starling-relay-')
    const relay = await this.procs.start(['relay', '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--data', dir, ...extraArgs])
    this.started.push({ what: `relay ${dir}`, running: relay })
    const addr = (relay.ready.multiaddrs as string[])[0]
    return { relay, addr, dataDir: dir, port: Number(/\/tcp\/(\d+)\//.exec(addr)?.[1]), args: extraArgs }
  }

  /** Restarts a relay with its data directory, port and options (after a stop or a kill); `extraArgs` replaces the options. */
  async restartRelay (r: RelayProcess, extraArgs = r.args): Promise<RelayProcess> {
    return this.startRelay(r.dataDir, r.port, extraArgs)
  }

  /**
   * Relays linked with each other both ways, as operators link them (each
   * lists the others with `--peer`): started once to learn their addresses,
   * then restarted in place with the links.
   */
  async startLinkedRelays (count: number, extraArgs: string[] = []): Promise<RelayProcess[]> {
    const first: RelayProcess[] = []
    for (let i = 0; i < count; i++) first.push(await this.startRelay(undefined, 0, extraArgs))
    await Promise.all(first.map(async r => { await this.procs.stop(r.relay) }))
    const linked: RelayProcess[] = []
    for (const r of first) {
      const peers = first.filter(o => o !== r).flatMap(o => ['--peer', o.addr])
      linked.push(await this.restartRelay(r, [...extraArgs, ...peers]))
    }
    return linked
  }

  /** `starling init` in a fresh directory. */
  async newUser (name: string): Promise<User> {
    const dir = await this.procs.tempDir(`starling-${name}-`)
    const r = await this.procs.cli(['init', '--handle', name, '--data', dir, '--json'])
    if (r.code !== 0) throw new Error(`init ${name}: ${r.stderr}`)
    const created = r.json[0]
    return { dir, name, handle: created.handle as string, peerId: created.peerId as string, fingerprint: created.fingerprint as string }
  }

  /** Starts a user's daemon and waits until its records are published. */
  async startDaemon (user: User, relayAddrs: string[], env: Record<string, string> = FAST_DAEMON_ENV, extraArgs: string[] = []): Promise<Running> {
    const args = ['daemon', '--data', user.dir, '--listen', '/ip4/127.0.0.1/tcp/0', ...relayAddrs.flatMap(a => ['--bootstrap', a]), ...extraArgs]
    const daemon = await this.procs.start(args, env)
    this.started.push({ what: `daemon of ${user.name}`, running: daemon })
    await this.published(user)
    return daemon
  }

  /** Waits for a publication with a sequence number above `afterSeq`. */
  async published (user: User, afterSeq = 0): Promise<number> {
    return eventually(async () => {
      const s = await this.call<{ published: { seq: number } | null }>(user, 'status')
      const seq = s.published?.seq
      return seq != null && seq > afterSeq ? seq : undefined
    }, 30_000, `records of ${user.name} published`)
  }

  /**
   * Makes `a` and `b` contacts of each other (each opens the other by name,
   * confirmed), as two people who know each other are, without a message:
   * what one receives from the other is then no message request (those
   * keep at most 50 messages until accepted).
   */
  async befriend (a: User, b: User): Promise<void> {
    await this.call(a, 'open', { handle: b.name, confirm: true })
    await this.call(b, 'open', { handle: a.name, confirm: true })
  }

  /** Calls a method of a user's running daemon over its local API (api.json is read each time: daemons restart). */
  async call<T = unknown> (user: User, method: string, params: Record<string, unknown> = {}): Promise<T> {
    const { ApiClient } = await import('../../node/api/client.js')
    return (await ApiClient.connect(user.dir)).call<T>(method, params, AbortSignal.timeout(60_000))
  }

  /** A conversation as `history --json` shows it (one API call). */
  async history (user: User, peer: User): Promise<HistoryMessage[]> {
    return (await this.call<{ messages: HistoryMessage[] }>(user, 'history', { handle: peer.handle })).messages
  }
}

/** Runs `fn` over `items` with at most `limit` calls at once; results in item order. */
export async function mapLimit<T, R> (items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i], i)
    }
  }))
  return out
}

/** The fields both sides of a conversation must agree on. */
export function sharedView (messages: HistoryMessage[]): Array<Record<string, unknown>> {
  return messages.map(m => ({
    id: m.id,
    author: m.author.account,
    lamport: m.lamport,
    kind: m.kind,
    text: m.text,
    edited: m.edited,
    deleted: m.deleted,
    replyTo: m.replyTo?.id,
    reactions: m.reactions.map(r => ({ emoji: r.emoji, by: [...r.by].sort() }))
  }))
}

/**
 * An in-process libp2p node on loopback TCP, as a stranger (or a gossip
 * observer) would run it. `extraServices` adds e.g. gossipsub.
 */
export async function startTestNode (extraServices: Record<string, unknown> = {}): Promise<StarlingLibp2p> {
  const [{ createStarlingNode }, { starlingDhtValidators }, { nodeCrypto }, { tcp }, { generateKeyPair }] = await Promise.all([
    import('../../src/net/node.js'), import('../../src/identity/index.js'), import('../../node/platform.js'), import('@libp2p/tcp'), import('@libp2p/crypto/keys')
  ])
  const { validators, selectors } = starlingDhtValidators(nodeCrypto(), { now: Date.now })
  return createStarlingNode({
    privateKey: await generateKeyPair('Ed25519'),
    role: 'user',
    transports: [tcp()],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    validators,
    selectors,
    loopback: true,
    extraServices
  })
}

/** The direct TCP address of a daemon, from `whoami`. */
export function directAddr (multiaddrs: string[]): string {
  const addr = multiaddrs.find(a => a.includes('/tcp/') && !a.includes('p2p-circuit'))
  if (addr == null) throw new Error(`no direct TCP address in ${multiaddrs.join(' ')}`)
  return addr
}
