/**
 * The relay's log: one event per line, either for a person (text) or for a
 * log pipeline (JSON: `time`, `level`, `event`, then the event's fields).
 * Events below the configured level are dropped. JSON lines go to stdout
 * whatever their level (journald and container runtimes keep one stream in
 * order); text warnings and errors go to stderr. Everything passes through
 * the CLI's {@link Output}, which keeps peer-chosen text from driving a
 * terminal.
 */
import { jsonLine, visible } from '../cli/terminal-text.js'
import { LOG_LEVELS } from './options.js'
import type { LogLevel } from './options.js'

/** Where lines go (tests pass their own). */
export interface LogSink {
  stdout(line: string): void
  stderr(line: string): void
}

const processSink: LogSink = {
  stdout: (line) => { process.stdout.write(line + '\n') },
  stderr: (line) => { process.stderr.write(line + '\n') }
}

/** A leveled, structured log. */
export class RelayLog {
  private readonly least: number

  constructor (readonly format: 'text' | 'json', level: LogLevel = 'info', private readonly sink: LogSink = processSink, private readonly now: () => Date = () => new Date()) {
    this.least = LOG_LEVELS.indexOf(level)
  }

  /** Whether events of `level` are written. */
  enabled (level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.least
  }

  /** Writes an event: `data` (with an `event` field) as JSON, or `human` lines as text. */
  write (level: LogLevel, data: Record<string, unknown> & { event: string }, human: string | string[]): void {
    if (!this.enabled(level)) return
    if (this.format === 'json') {
      this.sink.stdout(jsonLine({ time: this.now().toISOString(), level, ...data }))
      return
    }
    const write = level === 'warn' || level === 'error' ? this.sink.stderr : this.sink.stdout
    const prefix = level === 'warn' || level === 'error' ? `${level}: ` : ''
    for (const line of Array.isArray(human) ? human : [human]) write(visible(prefix + line))
  }

  debug (data: Record<string, unknown> & { event: string }, human: string | string[]): void { this.write('debug', data, human) }
  info (data: Record<string, unknown> & { event: string }, human: string | string[]): void { this.write('info', data, human) }
  warn (data: Record<string, unknown> & { event: string }, human: string | string[]): void { this.write('warn', data, human) }
  error (data: Record<string, unknown> & { event: string }, human: string | string[]): void { this.write('error', data, human) }
}
