/**
 * The app's life in a tab: takes the profile's lock (or shows that another
 * tab has it, and takes it over when asked), finds the identity (none: the
 * setup screen; encrypted: the passphrase screen), creates or imports one,
 * and starts the peer (client.ts). The screens call these methods and
 * render {@link StarlingApp.state}.
 */
import { createIdentity, createStarlingPeer } from '../../../src/peer/index.js'
import { decodeKeyFile, isEncryptedKeyFile } from '../../../src/identity/index.js'
import { openBackup, restoreBackup } from '../../../src/messenger/index.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { multiaddr } from '@multiformats/multiaddr'
import { BrowserCallMedia, KeyValueTable, acquireProfileLock, browserCrypto, browserPeerPlatform, isLocalHost, persistStorage, requestProfile } from '../platform/platform.js'
import type { HeldProfileLock } from '../platform/platform.js'
import type { PeerPlatform } from '../../../src/peer/index.js'
import type { OpfsBlobStore } from '../platform/platform.js'
import { loadConfig, profileName } from './config.js'
import type { PageConfig } from './config.js'
import { DEFAULT_SETTINGS, loadSettings, saveSettings } from './settings.js'
import type { Settings } from './settings.js'
import { StateBox } from './state.js'
import { RunningPeer } from './client.js'

/** The app: state, and what moves it from one phase to the next. */
export class StarlingApp {
  readonly state: StateBox
  /** The running peer's actions (phase `running`). */
  running?: RunningPeer
  private crypto?: Crypto
  private table?: KeyValueTable
  private config: PageConfig = { relays: [], iceServers: [] }
  private lock?: HeldProfileLock
  private platform?: PeerPlatform<OpfsBlobStore>
  /** The tab's call media (the browser's RTCPeerConnection, microphone and camera). */
  private readonly callMedia = typeof RTCPeerConnection === 'undefined' ? undefined : new BrowserCallMedia()

  constructor (readonly profile: string = profileName(), private readonly navigate: (handle: string) => void = () => {}) {
    this.state = new StateBox({ phase: 'loading', profile, conversations: [], typing: [], connectivity: { relays: 0, reserved: 0 } })
  }

  /** Loads configuration and settings, takes the lock, and goes as far as it can without the user. */
  async boot (): Promise<void> {
    performance.mark('starling-boot')
    try {
      const [config, crypto, table] = await Promise.all([loadConfig(), browserCrypto(), KeyValueTable.open(`starling-${this.profile}`)])
      this.config = config
      this.crypto = crypto
      this.table = table
      this.state.set({ settings: await loadSettings(table) })
      await this.takeLock(false)
    } catch (err) {
      this.fail(err)
    }
  }

  private settings (): Settings {
    return this.state.get().settings ?? DEFAULT_SETTINGS
  }

  /** The relays this tab uses: the user's, else the page's. */
  relays (): string[] {
    const mine = this.settings().relays
    return mine.length > 0 ? mine : this.config.relays
  }

  private async takeLock (wait: boolean): Promise<void> {
    this.lock = await acquireProfileLock(this.profile, { wait, onTakeRequest: () => { this.yieldProfile().catch((err: unknown) => { this.fail(err) }) } })
    if (this.lock == null) {
      this.state.set({ phase: 'elsewhere' })
      return
    }
    performance.mark('starling-locked')
    await this.afterLock()
  }

  private async afterLock (): Promise<void> {
    const { crypto, table } = this.ready()
    this.platform = browserPeerPlatform({ profile: this.profile, crypto, table, iceServers: this.config.iceServers, hideMyIp: this.settings().hideMyIp, callMedia: this.callMedia })
    const keyFile = await this.platform.keys.read()
    if (keyFile == null) this.state.set({ phase: 'setup' })
    else if (isEncryptedKeyFile(keyFile)) this.state.set({ phase: 'locked' })
    else await this.startPeer()
  }

  private ready (): { crypto: Crypto, table: KeyValueTable } {
    if (this.crypto == null || this.table == null) throw new Error('the app has not booted')
    return { crypto: this.crypto, table: this.table }
  }

  /** "Use here": asks the tab that has the profile to let it go, then runs it here. */
  async useHere (): Promise<void> {
    this.state.set({ phase: 'loading', error: undefined })
    requestProfile(this.profile)
    await this.takeLock(true)
  }

  /** Another tab asked for the profile: stop the node, let the lock go. */
  private async yieldProfile (): Promise<void> {
    const running = this.running
    this.running = undefined
    if (running != null) await running.stop()
    this.lock?.release()
    this.lock = undefined
    delete document.documentElement.dataset.ready
    this.state.set({ phase: 'elsewhere', thread: undefined, conversations: [], me: undefined })
  }

  /** Creates an identity for `handle` (encrypted under `passphrase` if given) and starts. */
  async createIdentity (handle: string, passphrase?: string): Promise<void> {
    const { crypto } = this.ready()
    if (this.platform == null) throw new Error('the profile is not held by this tab')
    await createIdentity(crypto, this.platform.keys, handle, { passphrase: nonEmpty(passphrase) })
    await this.startPeer(nonEmpty(passphrase))
  }

  /**
   * Restores a backup (made by the CLI or another tab) into this empty
   * profile, then starts: the store first, then the files (read from the
   * backup a piece at a time), the key file last, so that a restore cut
   * short leaves no identity and can be run again.
   */
  async importBackup (file: Blob, backupPassphrase: string, identityPassphrase?: string): Promise<void> {
    const { crypto } = this.ready()
    const platform = this.platform
    if (platform == null) throw new Error('the profile is not held by this tab')
    const opened = await openBackup(crypto, blobPieces(file), backupPassphrase)
    const contents = opened.contents
    let secret: Uint8Array | undefined
    if (isEncryptedKeyFile(contents.keyFile)) {
      if (nonEmpty(identityPassphrase) == null) throw new Error("this backup's identity has a passphrase: enter it too")
      secret = (await decodeKeyFile(crypto, contents.keyFile, { passphrase: identityPassphrase })).deviceIdentitySecretKey
    }
    const store = await platform.openStore(secret)
    try {
      await restoreBackup(store, contents)
    } finally {
      await store.close()
    }
    await opened.restoreFiles(await platform.openBlobs(secret))
    await platform.keys.create(contents.keyFile)
    await this.startPeer(nonEmpty(identityPassphrase))
  }

  /** Opens the encrypted key file with `passphrase` and starts. */
  async unlock (passphrase: string): Promise<void> {
    await this.startPeer(passphrase)
  }

  private async startPeer (passphrase?: string): Promise<void> {
    const platform = this.platform
    if (platform == null) throw new Error('the profile is not held by this tab')
    this.state.set({ phase: 'starting', error: undefined })
    const relays = this.relays()
    let peer
    try {
      peer = await createStarlingPeer(platform, {
        bootstrap: relays,
        // Listening on WebRTC: other peers that reach us through a relay may upgrade to a direct connection
        // (not with "hide my IP": then the device record lists relay addresses only).
        listen: this.settings().hideMyIp ? [] : ['/webrtc'],
        passphrase,
        loopback: relays.length > 0 && relays.every(isLocalRelay),
        messenger: this.config.intervals ?? {},
        // ICE servers come from our relays' TURN (src/peer/calls.ts); hide my IP sends all call media through it.
        calls: { hideMyIp: this.settings().hideMyIp, loopbackOnly: relays.length > 0 && relays.every(isLoopbackRelay), ringTimeoutMs: this.config.ringTimeoutMs }
      })
    } catch (err) {
      // A wrong passphrase leaves the tab on the passphrase screen, with the reason.
      this.state.set({ phase: isEncrypted(err) ? 'locked' : 'error', error: (err as Error).message })
      return
    }
    performance.mark('starling-peer-created')
    const running = new RunningPeer(peer, this.state, () => this.settings(), this.navigate, this.callMedia)
    await running.start()
    performance.mark('starling-peer-started')
    this.running = running
    this.state.set({ phase: 'running' })
    this.state.set({ persisted: await persistStorage() })
  }

  /** Stores new settings (relays and hide-my-IP take effect at the next start). */
  async saveSettings (settings: Settings): Promise<void> {
    await saveSettings(this.ready().table, settings)
    this.state.set({ settings })
  }

  /** Changes some settings (the others as they are now). */
  async updateSettings (patch: Partial<Settings>): Promise<void> {
    await this.saveSettings({ ...this.settings(), ...patch })
  }

  /** Mutes or unmutes the conversation with `account` (hex). */
  async setMuted (account: string, muted: boolean): Promise<void> {
    const others = this.settings().muted.filter(a => a !== account)
    await this.updateSettings({ muted: muted ? [...others, account] : others })
  }

  /** Marks `account`'s safety number `digits` as compared (or, with none, no longer verified). */
  async setVerified (account: string, digits?: string): Promise<void> {
    const verified = { ...this.settings().verified }
    if (digits == null) delete verified[account]
    else verified[account] = digits
    await this.updateSettings({ verified })
  }

  /**
   * Accepts a contact's new keys: sending resumes, and a verification made
   * before the change no longer holds (compare the safety number again).
   */
  async acceptNewKeys (handle: string, account: string): Promise<void> {
    if (this.running == null) throw new Error('Starling is not running in this tab')
    await this.running.trust(handle)
    await this.setVerified(account)
  }

  private fail (err: unknown): void {
    this.state.set({ phase: 'error', error: (err as Error).message })
  }
}

function nonEmpty (s: string | undefined): string | undefined {
  return s == null || s === '' ? undefined : s
}

function isEncrypted (err: unknown): boolean {
  const name = (err as Error).name
  return name === 'WrongPassphraseError' || name === 'PassphraseRequiredError'
}

/** Whether a relay address is on this machine (then calls use loopback candidates only, as the daemon's do). */
function isLoopbackRelay (addr: string): boolean {
  try {
    const host = multiaddr(addr).getComponents().find(c => ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name))?.value
    return host != null && (/^127\./.test(host) || host === '::1' || host === 'localhost')
  } catch {
    return false
  }
}

/** Whether a relay address is on this machine or a private network (DHT answers then keep such addresses). */
function isLocalRelay (addr: string): boolean {
  try {
    const host = multiaddr(addr).getComponents().find(c => ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name))?.value
    return host != null && isLocalHost(host)
  } catch {
    return false
  }
}

/** A file's bytes a slice at a time (a backup with its files may be larger than memory should hold). */
async function * blobPieces (file: Blob, size = 1024 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < file.size; at += size) yield new Uint8Array(await file.slice(at, at + size).arrayBuffer())
}
