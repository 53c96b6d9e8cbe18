/**
 * The ports `npm start` serves on, kept in the relay's data directory
 * (`web.json`): chosen free the first time, the same ones at every start
 * after, because a page's origin (and so its IndexedDB, its identity and
 * history) is its scheme, host AND port.
 */
import { join } from 'node:path'
import { readOptional, writePrivateFile } from './data-dir.js'

/** The file in the relay's data directory. */
export const WEB_PORTS_FILE = 'web.json'

/** Ports of the page's server, and of the relay's TCP and WebSocket listeners (0: not chosen yet). */
export interface WebPorts {
  http: number
  tcp: number
  ws: number
}

function port (v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536 ? v : 0
}

/** The kept ports, or zeros the first time (a damaged file counts as none). */
export async function readWebPorts (relayDir: string): Promise<WebPorts> {
  const bytes = await readOptional(join(relayDir, WEB_PORTS_FILE))
  if (bytes == null) return { http: 0, tcp: 0, ws: 0 }
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
    return { http: port(json.http), tcp: port(json.tcp), ws: port(json.ws) }
  } catch {
    return { http: 0, tcp: 0, ws: 0 }
  }
}

/** Keeps the ports for the next start. */
export async function writeWebPorts (relayDir: string, ports: WebPorts): Promise<void> {
  await writePrivateFile(join(relayDir, WEB_PORTS_FILE), new TextEncoder().encode(JSON.stringify(ports) + '\n'))
}

/** The TCP port of a multiaddr, and whether it is a WebSocket one. */
export function portOf (addr: string): { port: number, ws: boolean } {
  return { port: Number(/\/tcp\/(\d+)/.exec(addr)?.[1] ?? 0), ws: /\/ws(\/|$)/.test(addr) }
}
