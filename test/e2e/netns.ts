/**
 * Network namespaces for tests that must tell parties apart by address (on
 * loopback everyone is 127.0.0.1, which proves nothing). One run makes a
 * bridge in a namespace of its own and a namespace per party, each with a
 * veth into the bridge and its own address in 10.77.0.0/16; the root
 * namespace is not touched (no forwarding, no routes), and everything is
 * named after the run so parallel runs do not collide. {@link Namespaces.destroy}
 * removes it all (deleting a namespace deletes the veth ends inside it).
 * Needs root and iproute2's `ip` (CI: a root VM with iproute2 installed).
 */
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createConnection, createServer } from 'node:net'
import type { Server } from 'node:net'
import { readFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { ApiClient } from '../../node/api/client.js'
import type { ApiInfo } from '../../node/api/client.js'

const run = promisify(execFile)

/** Where `ip` is (CI may put it elsewhere). */
export const IP = process.env.IP_PATH ?? 'ip'

const FORWARDER = resolve(import.meta.dirname, 'netns-forward.ts')

/** Why namespaces cannot be made here, or undefined when they can. */
export async function namespaceProblem (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return `network namespaces need root (this runs as uid ${String(process.getuid?.())}); run the suite as root, as CI does`
  try {
    await run(IP, ['-V'])
  } catch (err) {
    return `iproute2's ip is not usable (${(err as Error).message}): apt-get install iproute2`
  }
  return undefined
}

/** One party's namespace. */
export interface Party {
  /** The namespace's name. */
  ns: string
  /** Its address on the test network. */
  ip: string
  /** Runs a command inside it: `ip netns exec NAME`. */
  prefix: string[]
}

/** A bridge and one namespace per party, made for one run. */
export class Namespaces {
  readonly id = randomBytes(3).toString('hex')
  private readonly made: string[] = []
  readonly parties = new Map<string, Party>()

  /** Makes the bridge and a namespace per `{ name: ip }` (names of one letter or digit: interface names are short). */
  async create (addresses: Record<string, string>): Promise<void> {
    const bridge = await this.add('br')
    await this.ip('-n', bridge, 'link', 'add', 'br0', 'type', 'bridge')
    await this.ip('-n', bridge, 'link', 'set', 'br0', 'up')
    for (const [name, ip] of Object.entries(addresses)) {
      const ns = await this.add(name)
      const inside = `v${this.id}${name}`
      const outside = `p${this.id}${name}`
      await this.ip('link', 'add', inside, 'netns', ns, 'type', 'veth', 'peer', 'name', outside, 'netns', bridge)
      await this.ip('-n', ns, 'addr', 'add', `${ip}/16`, 'dev', inside)
      await this.ip('-n', ns, 'link', 'set', inside, 'up')
      await this.ip('-n', ns, 'link', 'set', 'lo', 'up')
      await this.ip('-n', bridge, 'link', 'set', outside, 'master', 'br0', 'up')
      this.parties.set(name, { ns, ip, prefix: [IP, 'netns', 'exec', ns] })
    }
  }

  party (name: string): Party {
    const p = this.parties.get(name)
    if (p == null) throw new Error(`no namespace ${name}`)
    return p
  }

  /** The kernel's neighbour (ARP) entries in a party's namespace, one line each ("ADDRESS dev ... STATE"). */
  async neighbours (name: string): Promise<string[]> {
    const { stdout } = await run(IP, ['-n', this.party(name).ns, 'neigh', 'show'])
    return stdout.split('\n').filter(l => l.trim() !== '')
  }

  /** Empties every party's neighbour table. */
  async flushNeighbours (): Promise<void> {
    for (const p of this.parties.values()) await this.ip('-n', p.ns, 'neigh', 'flush', 'all')
  }

  /** Deletes every namespace this run made (their veths go with them); what is left is reported, not thrown. */
  async destroy (): Promise<string[]> {
    const left: string[] = []
    for (const ns of this.made.splice(0).reverse()) {
      await this.ip('netns', 'del', ns).catch((err: Error) => { left.push(`${ns}: ${err.message}`) })
    }
    return left
  }

  /** The namespaces and links of this run that still exist (none after destroy). */
  async leftovers (): Promise<string[]> {
    const { stdout: nss } = await run(IP, ['netns', 'list'])
    const { stdout: links } = await run(IP, ['-o', 'link', 'show'])
    return [...nss.split('\n'), ...links.split('\n')].filter(l => l.includes(this.id))
  }

  private async add (name: string): Promise<string> {
    const ns = `starling-${this.id}-${name}`
    await this.ip('netns', 'add', ns)
    this.made.push(ns)
    return ns
  }

  private async ip (...args: string[]): Promise<void> {
    await run(IP, args)
  }
}

/** A daemon's local API reached from the root namespace. */
export interface ApiBridge {
  client: ApiClient
  stop(): Promise<void>
}

/**
 * Reaches the local API of the daemon in `party`'s namespace (its api.json
 * is in `dataDir`): a forwarder inside the namespace listens on a Unix
 * socket in `dir`, and a TCP listener on 127.0.0.1 here pipes to it.
 */
export async function bridgeApi (party: Party, dataDir: string, dir: string): Promise<ApiBridge> {
  const info = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8')) as ApiInfo
  const api = new URL(info.url)
  const socketPath = join(dir, `api-${basename(dataDir)}.sock`)
  const [command, ...rest] = [...party.prefix, process.execPath]
  const forwarder: ChildProcess = spawn(command, [...rest, '--no-warnings', FORWARDER, socketPath, api.hostname, api.port], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  forwarder.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the API forwarder in ${party.ns} did not start: ${stderr}`)) }, 30_000)
    createInterface({ input: forwarder.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer)
        resolve()
      }
    })
    forwarder.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the API forwarder in ${party.ns} exited with ${String(code)}: ${stderr}`))
    })
  })
  const open = new Set<{ destroy(): void }>()
  const server: Server = createServer((socket) => {
    const upstream = createConnection(socketPath)
    open.add(socket)
    open.add(upstream)
    socket.on('close', () => { open.delete(socket); open.delete(upstream) })
    socket.pipe(upstream).pipe(socket)
    socket.on('error', () => { upstream.destroy() })
    upstream.on('error', () => { socket.destroy() })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address == null || typeof address === 'string') throw new Error('no TCP address for the API bridge')
  const client = new ApiClient({ ...info, url: `http://127.0.0.1:${address.port}` }, dataDir)
  return {
    client,
    async stop () {
      server.close()
      for (const s of open) s.destroy()
      if (forwarder.exitCode == null && forwarder.signalCode == null) {
        const exited = new Promise(resolve => forwarder.once('exit', resolve))
        forwarder.kill('SIGTERM')
        await exited
      }
    }
  }
}
