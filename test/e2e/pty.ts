/**
 * `starling` on a real pseudo-terminal (util-linux `script`, from Debian's
 * essential bsdutils package), as a user runs it: what it wrote, raw and as
 * screen text, and what we type.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { STARLING_BIN, eventually } from './harness.js'

/** How long one expected line may take to appear on the screen. */
export const SCREEN_TIMEOUT_MS = 20_000
/** How long a process may take to exit after /quit, Ctrl-D or Ctrl-C. */
const EXIT_TIMEOUT_MS = 10_000

function shellQuote (s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`
}

/** A process on a pseudo-terminal: what it printed and what we type. */
export class Pty {
  private output = ''
  readonly exited: Promise<number | null>

  constructor (private readonly proc: ChildProcess) {
    proc.stdout?.on('data', (d: Buffer) => { this.output += d.toString('utf8') })
    proc.stderr?.on('data', (d: Buffer) => { this.output += d.toString('utf8') })
    this.exited = new Promise(resolve => proc.on('close', code => resolve(code)))
  }

  /** `starling ARGS` on a new pseudo-terminal. */
  static start (args: string[]): Pty {
    // `script` runs the command with $SHELL -c (or /bin/sh): exec, so that
    // Starling itself is the terminal's foreground process, not a shell that
    // would take Ctrl+C as its own (dash waits, then exits 130).
    const command = `exec ${[process.execPath, STARLING_BIN, ...args].map(shellQuote).join(' ')}`
    const proc = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
    return new Pty(proc)
  }

  /** Everything the terminal received, byte for byte (decoded as UTF-8), escape sequences included. */
  get raw (): string {
    return this.output
  }

  /** The screen as text lines, without terminal escape sequences. */
  get text (): string {
    // eslint-disable-next-line no-control-regex
    return this.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '')
  }

  /** Types keys (a line ends with \r, as Enter sends it). */
  type (keys: string): void {
    this.proc.stdin?.write(Buffer.from(keys, 'utf8'))
  }

  /** Waits until the screen matches (searching after `from`, a position in `text`); returns the match. */
  async waitFor (pattern: RegExp, what: string, from = 0): Promise<RegExpMatchArray> {
    return eventually(async () => this.text.slice(from).match(pattern) ?? undefined, SCREEN_TIMEOUT_MS, `${what}; screen so far:\n${this.text}`)
  }

  /** Waits until the raw output contains `needle` (after `from`); returns its position. */
  async waitForRaw (needle: string, what: string, from = 0): Promise<number> {
    return eventually(async () => {
      const i = this.output.indexOf(needle, from)
      return i >= 0 ? i : undefined
    }, SCREEN_TIMEOUT_MS, `${what}; raw output so far:\n${JSON.stringify(this.output)}`)
  }

  /** Waits for the process to exit; kills it if it does not within the bound. */
  async exit (): Promise<number | null> {
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), EXIT_TIMEOUT_MS)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }

  kill (): void {
    if (this.proc.exitCode == null && this.proc.signalCode == null) this.proc.kill('SIGKILL')
  }
}
