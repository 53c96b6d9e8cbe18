/**
 * The daemon's local API: JSON-RPC 2.0 over HTTP, bound to 127.0.0.1 and
 * protected by a bearer token that only readers of the data directory know.
 * `POST /rpc` takes one request; `POST /rpc/stream` takes requests as JSON
 * lines and answers each with a JSON line as soon as it is done (in
 * completion order, matched by id), so a client can keep many calls in
 * flight on one connection; `GET /events` streams events as JSON lines.
 * Every response carries `Starling-Received-At`: when the request reached
 * the API (milliseconds since the epoch, microsecond precision), for
 * measuring the daemon's own latency.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'

/** A method the API serves: takes the request's params object. */
export type ApiMethod = (params: Record<string, unknown>) => Promise<unknown>

/** Largest request body the API reads. */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024

/** Calls one `/rpc/stream` connection may have in flight; reading pauses beyond this. */
export const MAX_STREAM_IN_FLIGHT = 1024

/** JSON-RPC error codes used by the API. */
export const RpcCode = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  failed: -32000
} as const

/** A method error that should reach the client with its name (e.g. UnknownHandleError). */
export interface RpcErrorData {
  name: string
}

export interface ApiServerInit {
  host: string
  port: number
  token?: string
  methods: Record<string, ApiMethod>
}

/** The running API. */
export class ApiServer {
  readonly token: string
  private readonly server: Server
  private readonly methods: Record<string, ApiMethod>
  private readonly eventClients = new Set<ServerResponse>()
  private readonly host: string
  private readonly port: number

  constructor (init: ApiServerInit) {
    this.token = init.token ?? randomBytes(32).toString('hex')
    this.methods = init.methods
    this.host = init.host
    this.port = init.port
    this.server = createServer((req, res) => { this.handle(req, res).catch(() => res.destroy()) })
  }

  /** Listens; resolves with the URL. */
  async start (): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.port, this.host, () => { this.server.off('error', reject); resolve() })
    })
    const addr = this.server.address() as AddressInfo
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
    return `http://${host}:${addr.port}`
  }

  async stop (): Promise<void> {
    for (const res of this.eventClients) res.end()
    this.eventClients.clear()
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  /** Sends an event (one JSON line) to every `/events` listener. */
  emit (event: Record<string, unknown>): void {
    if (this.eventClients.size === 0) return
    const line = JSON.stringify(event) + '\n'
    for (const res of this.eventClients) res.write(line)
  }

  private authorised (req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? ''
    if (!header.startsWith('Bearer ')) return false
    const given = Buffer.from(header.slice('Bearer '.length))
    const expected = Buffer.from(this.token)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('starling-received-at', (performance.timeOrigin + performance.now()).toFixed(3))
    if (!this.authorised(req)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('missing or wrong API token\n')
      return
    }
    if (req.method === 'GET' && req.url === '/events') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
      res.flushHeaders()
      this.eventClients.add(res)
      req.on('close', () => this.eventClients.delete(res))
      return
    }
    if (req.method === 'POST' && req.url === '/rpc/stream') {
      this.stream(req, res)
      return
    }
    if (req.method !== 'POST' || req.url !== '/rpc') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    const body = await readBody(req)
    if (body == null) {
      res.writeHead(413, { 'content-type': 'text/plain' }).end('request too large\n')
      return
    }
    const reply = await this.call(body)
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply))
  }

  /**
   * `/rpc/stream`: one request per line in, one reply per line out as each
   * call finishes. A line that is not a request gets an error reply and the
   * stream goes on; a line longer than MAX_REQUEST_BYTES ends the stream.
   */
  private stream (req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
    res.flushHeaders()
    let buffered = ''
    // Lines read but not yet started: one chunk can hold more lines than
    // there are free slots, and pausing only stops the next chunk.
    let queued: string[] = []
    let inFlight = 0
    let ended = false
    // A client that does not read its replies: no new call starts until the
    // replies already written have drained (at most the calls in flight are
    // then still to be written), so it cannot make the daemon buffer without end.
    let blocked = false
    res.on('drain', () => {
      blocked = false
      pump()
    })
    const finish = (): void => { if (ended && inFlight === 0 && queued.length === 0 && !res.writableEnded) res.end() }
    const pump = (): void => {
      while (!blocked && inFlight < MAX_STREAM_IN_FLIGHT && queued.length > 0) run(queued.shift() as string)
      if (blocked || queued.length > 0 || inFlight >= MAX_STREAM_IN_FLIGHT) req.pause()
      else if (req.isPaused() && !ended) req.resume()
    }
    const run = (line: string): void => {
      inFlight++
      this.call(line).then(reply => {
        if (!res.destroyed && !res.write(JSON.stringify(reply) + '\n')) blocked = true
      }, () => {}).finally(() => {
        inFlight--
        pump()
        finish()
      })
    }
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      buffered += chunk
      // Look for line ends only when this chunk has one: searching the whole
      // buffer on every chunk made a long line cost quadratic time.
      let nl = chunk.includes('\n') ? buffered.indexOf('\n') : -1
      while (nl >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (line.trim() !== '') queued.push(line)
        nl = buffered.indexOf('\n')
      }
      pump()
      if (buffered.length > MAX_REQUEST_BYTES) {
        queued = []
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: RpcCode.invalidRequest, message: 'request line too large' } }) + '\n')
        req.destroy()
      }
    })
    req.on('end', () => {
      if (buffered.trim() !== '') queued.push(buffered)
      buffered = ''
      ended = true
      pump()
      finish()
    })
  }

  private async call (body: string): Promise<Record<string, unknown>> {
    let request: { id?: unknown, method?: unknown, params?: unknown }
    try {
      request = JSON.parse(body)
    } catch {
      return { jsonrpc: '2.0', id: null, error: { code: RpcCode.parse, message: 'request is not JSON' } }
    }
    if (typeof request !== 'object' || request == null || Array.isArray(request)) {
      return { jsonrpc: '2.0', id: null, error: { code: RpcCode.invalidRequest, message: 'a request is a JSON object' } }
    }
    const id = request.id ?? null
    if (typeof request.method !== 'string') {
      return { jsonrpc: '2.0', id, error: { code: RpcCode.invalidRequest, message: 'method must be a string' } }
    }
    const method = Object.hasOwn(this.methods, request.method) ? this.methods[request.method] : undefined
    if (method == null) {
      return { jsonrpc: '2.0', id, error: { code: RpcCode.methodNotFound, message: `unknown method ${request.method}` } }
    }
    const params = request.params ?? {}
    if (typeof params !== 'object' || Array.isArray(params)) {
      return { jsonrpc: '2.0', id, error: { code: RpcCode.invalidParams, message: 'params must be an object' } }
    }
    try {
      const result = await method(params as Record<string, unknown>)
      return { jsonrpc: '2.0', id, result: result ?? null }
    } catch (err) {
      const e = err as Error
      return { jsonrpc: '2.0', id, error: { code: RpcCode.failed, message: e.message, data: { name: e.name } satisfies RpcErrorData } }
    }
  }
}

async function readBody (req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_REQUEST_BYTES) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
