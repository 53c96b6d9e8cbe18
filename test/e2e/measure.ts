/**
 * What an attack costs a relay process, read from outside it: the bytes of
 * every file under its data directory, and its resident memory (VmRSS in
 * /proc, Linux). Tests print both before and after each attack.
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import type { TCPSocketOptions } from '@libp2p/tcp'
import type { Libp2p } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'

/** Bytes of every file under `dir`. */
export async function diskBytes (dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += await diskBytes(path)
    else if (entry.isFile()) total += (await stat(path)).size
  }
  return total
}

/** Resident memory of a process, in bytes. */
export async function rssBytes (proc: ChildProcess): Promise<number> {
  const status = await readFile(`/proc/${String(proc.pid)}/status`, 'utf8')
  const kib = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]
  if (kib == null) throw new Error(`no VmRSS for process ${String(proc.pid)}`)
  return Number(kib) * 1024
}

/** A relay's disk and memory at one moment. */
export interface Footprint {
  disk: number
  rss: number
}

export async function footprint (dataDir: string, proc: ChildProcess): Promise<Footprint> {
  return { disk: await diskBytes(dataDir), rss: await rssBytes(proc) }
}

const MIB = 1024 * 1024

/** Prints a relay's disk and memory before and after an attack. */
export function printFootprint (what: string, before: Footprint, after: Footprint): void {
  const n = (x: number): string => x.toLocaleString('en-US')
  const mib = (x: number): string => (x / MIB).toFixed(1)
  console.log(`      ${what}\n        relay disk ${n(before.disk)} -> ${n(after.disk)} bytes (${after.disk >= before.disk ? '+' : ''}${n(after.disk - before.disk)}), memory (RSS) ${mib(before.rss)} -> ${mib(after.rss)} MiB`)
}

/**
 * A bare libp2p node (TCP, Noise, yamux) whose dials leave from `host`: a
 * sybil (a fresh peer id) of the source `host` (127.0.0.2, 127.0.0.3, ...
 * are all routed to `lo` on Linux).
 */
export async function nodeFrom (host: string): Promise<Libp2p> {
  // @libp2p/tcp passes dialOpts on to net.connect, which takes localAddress; its type names only a subset.
  return await createLibp2p({
    transports: [tcp({ dialOpts: { localAddress: host } as TCPSocketOptions })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1_000 }
  })
}
