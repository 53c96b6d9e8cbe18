/**
 * A relay's certificate for secure WebSockets (`wss://`, the only WebSocket
 * a page served over https may open), read from two PEM files the operator
 * keeps up to date (e.g. certbot's `fullchain.pem` and `privkey.pem`).
 *
 * The relay terminates TLS itself, rather than behind a reverse proxy, so
 * that it sees each client's address: its per-source limits (connections,
 * reservations, storage) would otherwise count every browser as the proxy.
 *
 * Renewed files are picked up without a restart: on {@link TlsFiles.reload}
 * (the CLI calls it on SIGHUP) and every hour. Node's TLS server takes its
 * certificate once, at creation, inside `@libp2p/websockets`; the new one
 * is handed out per handshake through `SNICallback`, which Node calls for
 * every client that names the host (browsers always do for a DNS name). A
 * client that connects to a bare IP address names no host and gets the
 * certificate the relay started with.
 */
import { readFile } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'
import type { SecureContext } from 'node:tls'
import type { ServerOptions } from 'node:https'
import { CommandError } from './errors.js'

/** How often the files are read again when nobody asks. */
export const TLS_RELOAD_INTERVAL_MS = 60 * 60_000

/** What was read, and when it changed. */
interface Loaded {
  cert: Buffer
  key: Buffer
  context: SecureContext
}

/** The certificate files of a relay's secure WebSocket listeners. */
export class TlsFiles {
  private loaded?: Loaded
  private timer?: ReturnType<typeof setInterval>

  constructor (readonly certFile: string, readonly keyFile: string, private readonly reloadIntervalMs = TLS_RELOAD_INTERVAL_MS) {}

  /** Reads the files; throws CommandError naming them when they cannot be read or do not make a TLS certificate. */
  async start (): Promise<void> {
    this.loaded = await this.read()
    this.timer = setInterval(() => {
      this.reload().catch(() => {
        // Kept: the previous certificate still serves; SIGHUP reports the error.
      })
    }, this.reloadIntervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** For `webSockets({ https })`: the certificate read at start, and the current one for every client that names a host. */
  serverOptions (): ServerOptions {
    const loaded = this.current()
    return {
      cert: loaded.cert,
      key: loaded.key,
      SNICallback: (_servername, callback) => { callback(null, this.current().context) }
    }
  }

  /**
   * Reads the files again. Resolves true when the certificate changed,
   * false when it is the same; throws CommandError (and keeps serving the
   * previous one) when the new files are unreadable or do not match.
   */
  async reload (): Promise<boolean> {
    const next = await this.read()
    const previous = this.current()
    if (next.cert.equals(previous.cert) && next.key.equals(previous.key)) return false
    this.loaded = next
    return true
  }

  private current (): Loaded {
    if (this.loaded == null) throw new CommandError('TLS certificate files used before they were read')
    return this.loaded
  }

  private async read (): Promise<Loaded> {
    let cert: Buffer
    let key: Buffer
    try {
      [cert, key] = await Promise.all([readFile(this.certFile), readFile(this.keyFile)])
    } catch (err) {
      throw new CommandError(`cannot read the TLS certificate: ${(err as Error).message}`)
    }
    try {
      return { cert, key, context: createSecureContext({ cert, key }) }
    } catch (err) {
      throw new CommandError(`${this.certFile} and ${this.keyFile} do not make a TLS certificate: ${(err as Error).message}`)
    }
  }
}
