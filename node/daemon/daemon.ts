/**
 * `starling daemon`: the user's node. Connects to its relays, holds a
 * reservation on each (and gets it back after a relay restarts), publishes
 * its device record and handle claim and republishes them before they
 * expire, and serves the local API that the other commands use.
 */
import { join } from 'node:path'
import type { Crypto } from '../../src/crypto/index.js'
import { createStarlingPeer } from '../../src/peer/index.js'
import type { StarlingPeer, WhoAmI } from '../../src/peer/index.js'
import { MESSENGER_EVENT_TYPES } from '../../src/messenger/index.js'
import { messagingMethods } from './messaging-api.js'
import { exportBackup } from '../backup-files.js'
import type { FileBlobStore } from '../blob-store.js'
import { faultyTransport } from './faults.js'
import { AutoSavedFiles, DOWNLOADS_DIR, saveUnderName } from './downloads.js'
import { RelayUnreachableError, cutOff, describeUnreachable, unreachableRelays } from './relay-health.js'
import { fromHex } from '../../src/messenger/bytes.js'
import { logger } from '@libp2p/logger'
import { ApiServer } from '../api/server.js'
import type { ApiInfo } from '../api/client.js'
import { Files, makePrivate, readOptional, removeIfExists, writePrivateFile } from '../data-dir.js'
import { CommandError } from '../errors.js'
import { identityCommandError } from '../identity-store.js'
import { allLocal, nodePeerPlatform } from '../platform.js'
import { DaemonCalls } from './calls.js'
import type { DaemonCallOptions } from './calls.js'

const log = logger('starling:daemon')

export interface DaemonInit {
  crypto: Crypto
  dataDir: string
  bootstrap: string[]
  listen: string[]
  api: { host: string, port: number }
  passphrase?: string
  /** Lifetime of published records (tests shorten it). */
  recordLifetimeMs?: number
  /** Serve DHT records for others too. */
  dhtServer?: boolean
  /** How often mailboxes are read, and failed sends retried (tests shorten them). */
  fetchIntervalMs?: number
  retryIntervalMs?: number
  /** Audio calls with @roamhq/wrtc: auto-answer, what to send and where to record. */
  calls?: DaemonCallOptions
  /** Where received files are written under their names (default DATA/downloads). */
  downloads?: string
  /** Hide my IP from the start (the `settings` API method changes it while the daemon runs). */
  hideIp?: boolean
  /** Calls from people who are not contacts: ring as a request (default) or not at all. */
  strangerCalls?: 'request' | 'refuse'
}

/** What the `settings` API method reads and changes. */
export interface DaemonSettings {
  hideIp: boolean
  strangerCalls: 'request' | 'refuse'
}

/** Relays all on 127.0.0.0/8 or ::1 (tests on one machine): calls then use loopback candidates only. */
function allLoopback (addrs: string[]): boolean {
  return addrs.length > 0 && addrs.every(a => /^\/ip4\/127\.|^\/ip6\/::1\/|^\/dns4?\/localhost\//.test(a))
}

/**
 * A running daemon: the user's peer (src/peer, assembled from Node's
 * pieces) and the local API over it.
 */
export class Daemon {
  private constructor (
    readonly peer: StarlingPeer<FileBlobStore>,
    private readonly api: ApiServer,
    private readonly dataDir: string,
    readonly apiUrl: string,
    private readonly calls: DaemonCalls,
    /** Where received files are written under their names. */
    readonly downloads: string
  ) {}

  /** Loads the identity and starts everything; writes api.json last. */
  static async start (init: DaemonInit): Promise<Daemon> {
    const { crypto, dataDir } = init
    // Everything in the data directory is the user's alone, including what is written from now on.
    await makePrivate(dataDir)
    await refuseIfRunning(dataDir)
    const hooks = testHooks(process.env)
    const calls = new DaemonCalls(init.calls ?? {})
    const loopback = allLocal(init.bootstrap)
    let peer: StarlingPeer<FileBlobStore>
    try {
      peer = await createStarlingPeer(nodePeerPlatform(crypto, dataDir, { createPeerConnection: calls.factory() }), {
        bootstrap: init.bootstrap,
        listen: init.listen,
        passphrase: init.passphrase,
        loopback,
        // With the relays on loopback, so are calls (tests): no other interface's candidates.
        // Relays on a private network (10.x, a LAN) are not loopback: calls use that network.
        calls: { loopbackOnly: allLoopback(init.bootstrap), ringTimeoutMs: hooks.ringTimeoutMs, strangers: init.strangerCalls },
        hideIp: init.hideIp,
        dhtServer: init.dhtServer,
        recordLifetimeMs: init.recordLifetimeMs,
        messenger: {
          now: hooks.now,
          fetchIntervalMs: init.fetchIntervalMs ?? hooks.fetchIntervalMs,
          retryIntervalMs: init.retryIntervalMs ?? hooks.retryIntervalMs
        },
        wrapTransport: (transport) => faultyTransport(transport, process.env.STARLING_TEST_FAULTS)
      })
    } catch (err) {
      throw identityCommandError(err, dataDir)
    }
    const downloads = init.downloads ?? join(dataDir, DOWNLOADS_DIR)
    const api = new ApiServer({
      host: init.api.host,
      port: init.api.port,
      methods: {
        whoami: async () => peer.whoami(),
        status: async () => peer.status(),
        resolve: async (params) => {
          if (typeof params.handle !== 'string') throw new TypeError('resolve needs a handle')
          return await resolveOrSayWhy(peer, params.handle)
        },
        ...messagingMethods(peer, async (path, passphrase, files) => exportBackup(await peer.backup(passphrase, { files }), path), downloads),
        ...calls.methods(),
        settings: async (params) => await settings(peer, params)
      }
    })
    if (peer.calls != null) calls.attach(peer.calls, (event) => { api.emit(event) })
    const autoSaved = new AutoSavedFiles(dataDir)
    // Encrypted at rest (perhaps since this start): no plaintext copy of ours stays in the data directory.
    if (peer.blobs.encrypted) {
      const removed = await autoSaved.takeBack()
      if (removed > 0) log('removed %d plaintext copies of received files: attachments are encrypted at rest now', removed)
    }
    saveReceivedFiles(peer, downloads, autoSaved)
    // Every messenger event reaches the API's subscribers as it is (plain JSON).
    for (const type of MESSENGER_EVENT_TYPES) peer.messenger.on(type, (event) => { api.emit(event) })
    let apiUrl: string
    try {
      apiUrl = await api.start()
      await peer.start()
    } catch (err) {
      await api.stop().catch(() => {})
      await peer.stop().catch(() => {})
      throw err
    }
    const info: ApiInfo = { url: apiUrl, token: api.token, pid: process.pid }
    await writePrivateFile(join(dataDir, Files.api), JSON.stringify(info))
    return new Daemon(peer, api, dataDir, apiUrl, calls, downloads)
  }

  /** Who this device is. */
  whoami (): WhoAmI {
    return this.peer.whoami()
  }

  async stop (): Promise<void> {
    await removeIfExists(join(this.dataDir, Files.api))
    await this.api.stop()
    await this.peer.stop()
    this.calls.stop()
  }
}

/**
 * Resolves a handle; with every relay away (no reservation, no DHT peer) a
 * failed lookup says so, instead of "unknown handle", which would be a guess.
 */
async function resolveOrSayWhy (peer: StarlingPeer<FileBlobStore>, handle: string): Promise<unknown> {
  try {
    return await peer.resolve(handle)
  } catch (err) {
    const status = peer.status()
    if (!cutOff(status)) throw err
    const why = unreachableRelays(status).map(describeUnreachable).join('; ')
    throw new RelayUnreachableError(`cannot tell whether ${handle} is claimed: ${why}`, { cause: err })
  }
}

/**
 * Writes each received file, once complete, into the downloads folder under
 * its own (sanitised, de-duplicated) name, as a browser does. Not when
 * attachments are encrypted at rest: a plaintext copy would undo that, so
 * the user writes a file out when they ask (`starling attachment ID --save-to`).
 */
function saveReceivedFiles (peer: StarlingPeer<FileBlobStore>, downloads: string, autoSaved: AutoSavedFiles): void {
  if (peer.blobs.encrypted) return
  const saved = new Set<string>()
  peer.messenger.on('attachment', (e) => {
    if (!e.complete || saved.has(e.id)) return
    saved.add(e.id)
    const id = fromHex(e.id)
    saveUnderName(downloads, e.fileName, async path => peer.blobs.saveTo(id, path)).then(async path => autoSaved.add(path)).catch((err: unknown) => {
      saved.delete(e.id)
      log.error('could not write %s to %s: %s', e.fileName, downloads, (err as Error).message)
    })
  })
}

/**
 * The `settings` method: with no parameters, reads them; `hideIp` (boolean)
 * and `strangerCalls` ('request' or 'refuse') change them until the daemon
 * stops. Both are checked before either is applied.
 */
async function settings (peer: StarlingPeer<FileBlobStore>, params: Record<string, unknown>): Promise<DaemonSettings> {
  const { hideIp, strangerCalls } = params
  if (hideIp != null && typeof hideIp !== 'boolean') throw new TypeError('hideIp must be true or false')
  if (strangerCalls != null && strangerCalls !== 'request' && strangerCalls !== 'refuse') throw new TypeError('strangerCalls must be "request" or "refuse"')
  if (strangerCalls != null && peer.calls == null) throw new TypeError('this daemon makes no calls')
  if (strangerCalls != null) peer.calls?.setStrangers(strangerCalls)
  if (hideIp != null) await peer.setHideIp(hideIp)
  return { hideIp: peer.hideIp, strangerCalls: peer.calls?.strangers ?? 'refuse' }
}

/**
 * Test hooks read from the environment, never set in production:
 * STARLING_FETCH_INTERVAL_MS and STARLING_RETRY_INTERVAL_MS shorten how often
 * mailboxes are read and failed sends retried; STARLING_TEST_CLOCK_SKEW_MS
 * shifts the messenger's clock (message timestamps, outbox times) by that
 * many milliseconds, as a device with a wrong clock would;
 * STARLING_TEST_RING_TIMEOUT_MS makes calls ring that long instead of 60 s.
 */
function testHooks (env: NodeJS.ProcessEnv): { fetchIntervalMs?: number, retryIntervalMs?: number, now?: () => number, ringTimeoutMs?: number } {
  const number = (name: string): number | undefined => {
    const raw = env[name]
    if (raw == null || raw === '') return undefined
    const n = Number(raw)
    if (!Number.isFinite(n)) throw new CommandError(`${name} must be a number, got ${raw}`)
    return n
  }
  const positive = (name: string): number | undefined => {
    const n = number(name)
    if (n != null && n <= 0) throw new CommandError(`${name} must be > 0, got ${n}`)
    return n
  }
  const skew = number('STARLING_TEST_CLOCK_SKEW_MS')
  return {
    fetchIntervalMs: positive('STARLING_FETCH_INTERVAL_MS'),
    retryIntervalMs: positive('STARLING_RETRY_INTERVAL_MS'),
    ringTimeoutMs: positive('STARLING_TEST_RING_TIMEOUT_MS'),
    now: skew != null && skew !== 0 ? () => Date.now() + skew : undefined
  }
}

async function refuseIfRunning (dataDir: string): Promise<void> {
  const pid = await runningDaemon(dataDir)
  if (pid != null) throw new CommandError(`a daemon is already running for ${dataDir} (pid ${pid})`)
}

/** The pid of another live process serving `dataDir`'s API (from api.json), if any. */
export async function runningDaemon (dataDir: string): Promise<number | undefined> {
  const raw = await readOptional(join(dataDir, Files.api))
  if (raw == null) return undefined
  let pid: number | undefined
  try {
    pid = (JSON.parse(raw.toString('utf8')) as ApiInfo).pid
  } catch {
    return undefined
  }
  return typeof pid === 'number' && pid !== process.pid && isAlive(pid) ? pid : undefined
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
