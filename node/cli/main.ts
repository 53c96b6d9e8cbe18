/**
 * `starling`: the command-line interface. Parses the command line, runs one
 * command, and turns every failure into one line on stderr with exit code 2
 * (usage) or 1 (anything else).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ConfigError, UsageError } from '../errors.js'
import { RemoteError } from '../api/client.js'
import { Output } from './command.js'
import { jsonLine, visible } from './terminal-text.js'
import type { Command, CommandArgs, OptionsConfig } from './command.js'
import { commands } from './commands/index.js'
import { keepRunningOnUnhandledRejection } from '../unhandled.js'

const GLOBAL_OPTIONS: OptionsConfig = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
}

/** Exit codes. */
export const Exit = { ok: 0, failure: 1, usage: 2 } as const

/**
 * Errors the daemon throws for what the user typed (a malformed handle, id,
 * text or emoji, an ambiguous id prefix): usage errors, exit 2, as the
 * README promises, though the daemon is the one that noticed.
 */
const REMOTE_USAGE_ERRORS = new Set(['InvalidHandleError', 'InvalidTextError', 'InvalidEmojiError', 'AmbiguousMessageIdError', 'InvalidMessageIdError'])

/** The project's version, from package.json (read only when asked). */
export function version (): string {
  // node/cli/ in the sources, .build/node/cli/ when compiled.
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'starling' && pkg.version != null) return pkg.version
    } catch {
      // not this level: try the next one up
    }
  }
  return 'unknown'
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main (argv: string[]): Promise<number> {
  // Output piped into `head` and the like: stop quietly when the reader goes away.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(Exit.ok)
    throw err
  })
  const json = argv.includes('--json')
  try {
    return await dispatch(argv)
  } catch (err) {
    const e = err as Error
    const usage = e instanceof UsageError || e instanceof ConfigError || (e instanceof RemoteError && REMOTE_USAGE_ERRORS.has(e.remoteName))
    // Error texts may quote what a peer or the daemon sent: shown visibly, like results.
    const message = oneLine(e.message)
    if (json) {
      process.stderr.write(jsonLine({ event: 'error', error: e.name, message }) + '\n')
    } else {
      process.stderr.write(visible(`starling: ${message}${usage ? ` (see ${helpPointer(argv)})` : ''}`) + '\n')
    }
    if (process.env.STARLING_DEBUG_STACK === '1') process.stderr.write(String(e.stack).split('\n').map(visible).join('\n') + '\n')
    return usage ? Exit.usage : Exit.failure
  }
}

async function dispatch (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  const json = argv.includes('--json')
  if (name == null || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined
    process.stdout.write(topic != null ? commandHelp(findCommand(topic)) : overallHelp())
    return Exit.ok
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(json ? jsonLine({ event: 'version', version: version() }) + '\n' : `starling ${version()}\n`)
    return Exit.ok
  }
  if (name.startsWith('-')) throw new UsageError(`expected a command before ${name}`)
  const command = findCommand(name)
  let parsed
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true
    })
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify.*$/s, '')
    const unknown = /^Unknown option '--([^']+)'/.exec(message)?.[1]
    const near = unknown != null ? nearest(unknown, Object.keys({ ...GLOBAL_OPTIONS, ...command.options })) : undefined
    throw new UsageError(`${command.name}: ${message}${near != null ? `; did you mean --${near}?` : ''}`)
  }
  if (parsed.values.help === true) {
    process.stdout.write(commandHelp(command))
    return Exit.ok
  }
  const expected = command.positionals ?? []
  const required = expected.filter(p => p.required).length
  if (parsed.positionals.length < required) {
    throw new UsageError(`${command.name}: missing ${expected[parsed.positionals.length].name} (usage: ${command.usage})`)
  }
  if (parsed.positionals.length > expected.length && expected.at(-1)?.name.endsWith('...') !== true) {
    throw new UsageError(`${command.name}: unexpected argument '${parsed.positionals[expected.length]}' (usage: ${command.usage})`)
  }
  const out = new Output(parsed.values.json === true)
  // A daemon or a relay serves others: one unhandled rejection must not stop it (node/unhandled.ts).
  if (command.name === 'daemon' || command.name === 'relay') keepRunningOnUnhandledRejection(line => { process.stderr.write(line + '\n') })
  const stopped = new Promise<void>(resolve => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  const code = await command.run({ args: { values: parsed.values as CommandArgs['values'], positionals: parsed.positionals }, out, stopped })
  return code ?? Exit.ok
}

function findCommand (name: string): Command {
  const command = commands.find(c => c.name === name)
  if (command != null) return command
  const near = nearest(name, commands.map(c => c.name))
  throw new UsageError(`unknown command '${name}'${near != null ? `; did you mean '${near}'?` : ''}`)
}

/** Where a usage error points: the command's own help when the command exists. */
function helpPointer (argv: string[]): string {
  const name = argv[0]
  return name != null && commands.some(c => c.name === name) ? `starling ${name} --help` : 'starling --help'
}

/**
 * The candidate closest to `word` by edit distance (at most 2, and less
 * than half the word), or one that starts with it; undefined when none is
 * close: a guess that is far off helps nobody.
 */
export function nearest (word: string, candidates: string[]): string | undefined {
  let best: { name: string, d: number } | undefined
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c)
    if (best == null || d < best.d) best = { name: c, d }
  }
  if (best != null && best.d <= Math.min(2, Math.floor(word.length / 2))) return best.name
  const prefixed = candidates.filter(c => word.length >= 2 && c.startsWith(word.toLowerCase()))
  return prefixed.length === 1 ? prefixed[0] : undefined
}

/** Damerau-Levenshtein distance (optimal string alignment): a swap of neighbours counts one. */
function distance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

function oneLine (message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim()
}

function overallHelp (): string {
  const width = Math.max(...commands.map(c => c.name.length))
  const lines = [
    'starling: a serverless, end-to-end encrypted messenger',
    '',
    'Usage: starling COMMAND [OPTIONS]',
    '',
    'Commands:',
    ...commands.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Examples:',
    ...commands.flatMap(c => c.examples.map(e => `  ${e}`)),
    '',
    'Every command takes --json (one JSON object per line) and --help.',
    'Client commands find the daemon through the data directory: --data DIR,',
    'else $STARLING_DATA, else ~/.starling.',
    'Exit codes: 0 success, 1 failure, 2 usage error.',
    ''
  ]
  return lines.join('\n')
}

function commandHelp (command: Command): string {
  const names = Object.keys(command.options)
  const width = Math.max(10, ...names.map(n => n.length + 2))
  const lines = [
    `starling ${command.name}: ${command.summary}`,
    '',
    `Usage: ${command.usage}`,
    '',
    'Options:',
    ...names.map(n => `  --${n.padEnd(width)}${command.help[n] ?? ''}`),
    `  --${'json'.padEnd(width)}one JSON object per line`,
    '',
    ...(command.notes != null ? [...command.notes, ''] : []),
    'Examples:',
    ...command.examples.map(e => `  ${e}`),
    ''
  ]
  return lines.join('\n')
}
