/** The shape of one CLI command, and what every command receives. */
import type { ParseArgsConfig } from 'node:util'
import { jsonLine, visible } from './terminal-text.js'

/**
 * Prints results: human-readable lines, or one JSON object per line with
 * `--json`. Every line passes through {@link visible} (or {@link jsonLine}):
 * results carry text that peers chose, and this is the one place that
 * keeps it from driving the terminal.
 */
export class Output {
  constructor (readonly json: boolean) {}

  /**
   * Prints a result or event: `human` text, or `data` as one JSON line. Each
   * element of `human` is one line; a line break inside one is shown as ⏎.
   */
  print (data: Record<string, unknown>, human: string | string[]): void {
    if (this.json) {
      process.stdout.write(jsonLine(data) + '\n')
      return
    }
    const lines = Array.isArray(human) ? human : [human]
    for (const line of lines) process.stdout.write(visible(line) + '\n')
  }
}

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>

/** Parsed values of a command's options, plus positionals. */
export interface CommandArgs {
  values: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
}

export interface CommandContext {
  args: CommandArgs
  out: Output
  /** Resolves when the user asks the process to stop (SIGINT/SIGTERM). */
  stopped: Promise<void>
}

export interface Command {
  name: string
  summary: string
  usage: string
  /** Lines like `starling init --handle alice`. */
  examples: string[]
  options: OptionsConfig
  /** Names and meanings of positionals, for help. */
  positionals?: Array<{ name: string, required: boolean }>
  /** Help text per option. */
  help: Record<string, string>
  /** Lines help prints after the options (what an argument accepts). */
  notes?: string[]
  /** Returns the exit code (0 when omitted). */
  run(ctx: CommandContext): Promise<number | void>
}
