/**
 * The client side of the daemon's local API, used by every CLI command but
 * `init`, `relay` and `daemon`. It finds the daemon through `api.json` in the
 * data directory.
 */
import { join } from 'node:path'
import { Files, readOptional } from '../data-dir.js'
import { DaemonNotRunningError } from '../errors.js'

/** What the daemon writes to `api.json` while it runs. */
export interface ApiInfo {
  url: string
  token: string
  pid: number
}

/** An error a daemon method threw, with its original name. */
export class RemoteError extends Error {
  constructor (message: string, readonly remoteName: string) {
    super(message)
    this.name = remoteName
  }
}

/** A connection to a running daemon. */
export class ApiClient {
  private nextId = 1
  constructor (readonly info: ApiInfo, readonly dataDir: string) {}

  /** Finds the daemon of a data directory, or throws DaemonNotRunningError. */
  static async connect (dataDir: string): Promise<ApiClient> {
    const raw = await readOptional(join(dataDir, Files.api))
    if (raw == null) throw new DaemonNotRunningError(`no daemon is running for ${dataDir} (start one with: starling daemon --data ${dataDir} --bootstrap MULTIADDR)`)
    let info: ApiInfo
    try {
      info = JSON.parse(raw.toString('utf8'))
    } catch {
      throw new DaemonNotRunningError(`${join(dataDir, Files.api)} is not valid JSON: is a daemon running for ${dataDir}?`)
    }
    return new ApiClient(info, dataDir)
  }

  /** Calls one method; throws RemoteError with the daemon's error name on failure. */
  async call<T = unknown> (method: string, params: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    const res = await this.fetch('/rpc', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }),
      signal
    })
    if (res.status === 401) throw new DaemonNotRunningError(`the daemon for ${this.dataDir} refused the API token (was it restarted with another data directory?)`)
    const reply = await res.json() as { result?: T, error?: { message: string, data?: { name?: string } } }
    if (reply.error != null) throw new RemoteError(reply.error.message, reply.error.data?.name ?? 'Error')
    return reply.result as T
  }

  /**
   * Streams the daemon's events until the signal aborts or the daemon stops.
   * `onOpen` runs once the daemon holds the subscription (it registers a
   * listener before it answers): every event emitted after that is delivered.
   */
  async * events (signal?: AbortSignal, onOpen?: () => void): AsyncGenerator<Record<string, unknown>> {
    const res = await this.fetch('/events', { method: 'GET', signal })
    onOpen?.()
    if (res.body == null) return
    const decoder = new TextDecoder()
    let buffered = ''
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true })
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (line.trim() !== '') yield JSON.parse(line)
      }
    }
  }

  private async fetch (path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(this.info.url + path, {
        ...init,
        headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${this.info.token}` }
      })
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err
      throw new DaemonNotRunningError(`no daemon answers at ${this.info.url} for ${this.dataDir} (it may have stopped; start it with: starling daemon --data ${this.dataDir} --bootstrap MULTIADDR)`, { cause: err })
    }
  }
}
