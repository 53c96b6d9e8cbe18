/**
 * Runs Starling as separate processes for end-to-end tests: relays, daemons
 * and one-shot CLI commands, each `node node/bin/starling.js ...` with the
 * same Node that runs the tests. Every process started here is killed by
 * {@link Processes.stopAll}.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

/** The CLI entry point. */
export const STARLING_BIN = resolve(import.meta.dirname, '../../node/bin/starling.js')

/** How long a process may take to print its ready event. */
const READY_TIMEOUT_MS = 30_000

/** A long-running Starling process that printed `{"event":"ready",...}`. */
export interface Running {
  proc: ChildProcess
  ready: Record<string, unknown>
  /** Every JSON line printed so far. */
  events: Array<Record<string, unknown>>
  stderr: string[]
}

/** Result of a one-shot command. */
export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON lines (when --json was given). */
  json: Array<Record<string, unknown>>
}

/** A set of processes and temporary directories that a test suite owns. */
export class Processes {
  private readonly running = new Set<ChildProcess>()
  private readonly dirs: string[] = []

  /** A fresh temporary directory, removed by stopAll. */
  async tempDir (prefix = 'starling-test-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    this.dirs.push(dir)
    return dir
  }

  /** Runs `starling ARGS` to completion. */
  async cli (args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
    const proc = spawn(process.execPath, [STARLING_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.running.add(proc)
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    const code = await new Promise<number | null>(resolve => proc.on('close', c => resolve(c)))
    clearTimeout(timer)
    this.running.delete(proc)
    const json = stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
    return { code, stdout, stderr, json }
  }

  /** Starts a long-running command (relay, daemon) with --json and waits for its ready event. */
  async start (args: string[], env: Record<string, string> = {}): Promise<Running> {
    const proc = spawn(process.execPath, [STARLING_BIN, ...args, '--json'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.running.add(proc)
    proc.on('exit', () => this.running.delete(proc))
    const events: Array<Record<string, unknown>> = []
    const stderr: string[] = []
    createInterface({ input: proc.stderr }).on('line', line => stderr.push(line))
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${args[0]} not ready within ${READY_TIMEOUT_MS} ms: ${stderr.join(' | ')}`)), READY_TIMEOUT_MS)
      createInterface({ input: proc.stdout }).on('line', line => {
        if (!line.startsWith('{')) return
        const event = JSON.parse(line) as Record<string, unknown>
        events.push(event)
        if (event.event === 'ready') {
          clearTimeout(timer)
          resolve(event)
        }
      })
      proc.on('exit', code => {
        clearTimeout(timer)
        reject(new Error(`${args[0]} exited with ${code} before ready: ${stderr.join(' | ')}`))
      })
    })
    return { proc, ready, events, stderr }
  }

  /** Stops a process: SIGTERM (graceful) or SIGKILL; waits for it to exit. */
  async stop (running: Running | ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = 'proc' in running ? running.proc : running
    if (proc.exitCode != null || proc.signalCode != null) return
    const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()))
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }

  /** Kills everything still running and removes the temporary directories. */
  async stopAll (): Promise<void> {
    await Promise.all([...this.running].map(async p => this.stop(p)))
    await Promise.all(this.dirs.map(async d => rm(d, { recursive: true, force: true })))
    this.dirs.length = 0
  }
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T> (check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError != null ? `: ${(lastError as Error).message}` : ''}`)
}
