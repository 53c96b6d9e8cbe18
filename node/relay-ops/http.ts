/**
 * The relay's operator endpoints over HTTP: Prometheus metrics at
 * `/metrics` and the health check at `/health` (200 when ready, 503 when
 * not, a JSON report either way) and `/live` (200 while the process runs).
 * Metrics and health may share an address or have one each. Whoever can
 * reach the address may read them: `relay init`'s config binds 127.0.0.1.
 * Nothing is read from a request but its method and path, and every
 * connection is bounded in time and number.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { UsageError } from '../errors.js'

/** Connections one endpoint holds at once (scrapers and probes: a handful). */
export const MAX_HTTP_CONNECTIONS = 32
/** A request must arrive, headers and all, within this. */
export const HTTP_REQUEST_TIMEOUT_MS = 10_000

/** What an endpoint answers: status, content type and body. */
export interface Answer {
  status: number
  type: string
  body: string
}

/** A route: a path and what it answers. */
export type Routes = Record<string, () => Promise<Answer>>

/** A host:port an operator gave (`--metrics`, `--health`), parsed. */
export function parseHostPort (option: string, value: string): { host: string, port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(value)
  const port = Number(match?.[3])
  if (match == null || port > 65535) throw new UsageError(`--${option} ${value} is not host:port (e.g. 127.0.0.1:9464)`)
  return { host: match[1] ?? match[2], port }
}

/** A running endpoint. */
export interface Endpoint {
  /** e.g. http://127.0.0.1:9464 */
  url: string
  close(): Promise<void>
}

/** Serves `routes` on host:port (port 0: any free port; the URL names the one taken). */
export async function serveRoutes (address: { host: string, port: number }, routes: Routes): Promise<Endpoint> {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]
    const route = routes[path]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (route == null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; try ${Object.keys(routes).join(', ')}\n`)
      return
    }
    route().then(answer => {
      res.writeHead(answer.status, { 'content-type': answer.type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : answer.body)
    }, (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`)
    })
  }
  const server: Server = createServer({ requestTimeout: HTTP_REQUEST_TIMEOUT_MS, headersTimeout: HTTP_REQUEST_TIMEOUT_MS }, handle)
  server.maxConnections = MAX_HTTP_CONNECTIONS
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(address.port, address.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = server.address() as AddressInfo
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
  return {
    url: `http://${host}:${bound.port}`,
    async close () {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
