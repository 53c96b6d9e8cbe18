/**
 * Serves the web app (web/dist) and its configuration (`/config.json`: the
 * relays a page starts with) over HTTP on 127.0.0.1. Only files inside the
 * app's directory are served; every response carries a Content Security
 * Policy that lets the page load nothing from anywhere but this server
 * (scripts, styles, fonts, images) and connect only to WebSockets (its
 * relays). The page itself is the Starling node: this server sees nothing
 * of what it does. A request naming another host is refused: a page of
 * another site whose name was rebound to 127.0.0.1 reads nothing here.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { existsSync } from 'node:fs'
import { readFile, realpath, stat } from 'node:fs/promises'
import { dirname, extname, join, normalize, resolve, sep } from 'node:path'

/** The project's directory (the first one up from here with a package.json: this file may run from .build/). */
export function projectRoot (from: string = import.meta.dirname): string {
  let dir = resolve(from)
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error(`no package.json above ${from}`)
    dir = up
  }
  return dir
}

/** Where `npm run build:web` puts the app. */
export function webDistDir (): string {
  return join(projectRoot(), 'web', 'dist')
}

/** Content types of the files the app is built into. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2'
}

/** What a page is allowed: everything from here, WebSockets to relays, blobs for attachments. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "media-src 'self' blob:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'"
].join('; ')

/** Options of {@link startWebServer}. */
export interface WebServerInit {
  /** The built app (web/dist). */
  root: string
  host: string
  /** 0: any free port. */
  port: number
  /** What `/config.json` answers. */
  config: Record<string, unknown>
}

/** A running web server. */
export interface WebServer {
  server: Server
  port: number
  url: string
  stop(): Promise<void>
}

/** Starts serving the app; resolves once listening. */
export async function startWebServer (init: WebServerInit): Promise<WebServer> {
  // The real path: files are checked against it after their links are followed.
  const root = await realpath(resolve(init.root))
  const config = JSON.stringify(init.config)
  const hosts = new Set([...LOOPBACK_NAMES, init.host.toLowerCase()])
  const server = createServer((req, res) => { handle(root, config, hosts, req, res).catch(() => { fail(res, 500) }) })
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => { resolveListen() })
  })
  const address = server.address()
  const port = typeof address === 'object' && address != null ? address.port : init.port
  return {
    server,
    port,
    url: `http://${init.host}:${port}/`,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>(r => { server.close(() => { r() }) })
    }
  }
}

/** Host names a page of this server is opened under (any other is a rebound name). */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]']

/** The host name of a Host header, without its port, lower case ('' when absent). */
function hostName (header: string | undefined): string {
  const host = (header ?? '').trim().toLowerCase()
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]
}

/** The decoded path of a request, or undefined when it is malformed (bad escapes, a NUL). */
function requestPath (url: string | undefined): string | undefined {
  try {
    const path = decodeURIComponent(new URL(url ?? '/', 'http://localhost').pathname)
    return path.includes('\0') ? undefined : path
  } catch {
    return undefined
  }
}

function headers (type: string): Record<string, string> {
  return {
    'content-type': type,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-cache'
  }
}

function fail (res: ServerResponse, status: number): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(status, headers('text/plain; charset=utf-8'))
  res.end(status === 404 ? 'not found\n' : status === 421 ? 'wrong host\n' : 'error\n')
}

async function handle (root: string, config: string, hosts: Set<string>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hosts.has(hostName(req.headers.host))) {
    fail(res, 421)
    return
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    fail(res, 405)
    return
  }
  const path = requestPath(req.url)
  if (path == null) {
    fail(res, 400)
    return
  }
  if (path === '/config.json') {
    res.writeHead(200, headers(TYPES['.json']))
    res.end(req.method === 'HEAD' ? undefined : config)
    return
  }
  const asked = resolve(join(root, normalize(path === '/' ? '/index.html' : path)))
  // Nothing outside the app's directory, however the path is spelled, nor where a link inside it leads.
  const file = await realpath(asked).catch(() => undefined)
  if (file == null || !file.startsWith(root + sep)) {
    fail(res, 404)
    return
  }
  const type = TYPES[extname(file)]
  const info = await stat(file).catch(() => undefined)
  if (type == null || info == null || !info.isFile()) {
    fail(res, 404)
    return
  }
  const body = await readFile(file)
  res.writeHead(200, { ...headers(type), 'content-length': String(body.length) })
  res.end(req.method === 'HEAD' ? undefined : body)
}
