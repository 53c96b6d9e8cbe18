/**
 * coturn (Debian's `turnserver`) on 127.0.0.1 for call tests, set up as the
 * README's recipe says (REST API shared secret, a realm, no TCP relay), with
 * `--allow-loopback-peers` since every party here is 127.0.0.1. Its own
 * ports, pid file and database in a temporary directory; killed by stop().
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** Where coturn is (CI may put it elsewhere). */
export const TURNSERVER = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver'

/** A running coturn. */
export interface Coturn {
  proc: ChildProcess
  port: number
  url: string
  secret: string
  /** The secret in a file, as `starling relay --turn-secret-file` takes it. */
  secretFile: string
  stop(): Promise<void>
}

/** A UDP port nobody uses right now. */
async function freeUdpPort (): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>(resolve => socket.close(() => resolve()))
  return port
}

/** Where coturn listens and relays: 127.0.0.1 by default; another address in a network namespace (`prefix`: `ip netns exec NAME`). */
export interface CoturnOptions {
  ip?: string
  prefix?: string[]
}

/** The standard TURN port: free in a namespace of its own. */
const TURN_PORT = 3478

/** Starts coturn in `dir` and waits until it serves. */
export async function startCoturn (dir: string, options: CoturnOptions = {}): Promise<Coturn> {
  const ip = options.ip ?? '127.0.0.1'
  const port = options.prefix != null ? TURN_PORT : await freeUdpPort()
  const secret = randomBytes(24).toString('hex')
  const secretFile = join(dir, 'turn-secret')
  await writeFile(secretFile, secret + '\n', { mode: 0o600 })
  // A relay port range of its own (100 ports from a random base), away from other tests' ranges.
  const minPort = 50_000 + Math.floor(Math.random() * 150) * 100
  const [command, ...rest] = [...(options.prefix ?? []), TURNSERVER]
  const proc = spawn(command, [...rest,
    '-n', `--listening-ip=${ip}`, `--listening-port=${port}`, `--relay-ip=${ip}`,
    `--min-port=${minPort}`, `--max-port=${minPort + 99}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=starling.test',
    '--no-tcp-relay', '--no-tls', '--no-dtls', '--no-cli', '--allow-loopback-peers',
    `--pidfile=${join(dir, 'turnserver.pid')}`, `--db=${join(dir, 'turndb')}`,
    '--log-file=stdout', '--simple-log'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`coturn did not start: ${lines.slice(-10).join(' | ')}`)) }, 20_000)
    createInterface({ input: proc.stdout }).on('line', (line) => {
      lines.push(line)
      if (line.includes('Total General servers')) {
        clearTimeout(timer)
        resolve()
      }
    })
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`coturn exited with ${String(code)}: ${lines.slice(-10).join(' | ')}`))
    })
  })
  return {
    proc,
    port,
    url: `turn:${ip}:${port}?transport=udp`,
    secret,
    secretFile,
    async stop () {
      if (proc.exitCode != null || proc.signalCode != null) return
      const exited = new Promise(resolve => proc.once('exit', resolve))
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
  }
}
