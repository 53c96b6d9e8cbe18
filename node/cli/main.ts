/**
 * `starling`: the command-line interface. Parses the command line, runs one
 * command, and turns every failure into one line on stderr with exit code 2
 * (usage) or 1 (anything else).
 */
import { parseArgs } from 'node:util'
import { UsageError } from '../errors.js'
import { Output } from './command.js'
import { jsonLine, visible } from './terminal-text.js'
import type { Command, CommandArgs, OptionsConfig } from './command.js'
import { commands } from './commands/index.js'

const GLOBAL_OPTIONS: OptionsConfig = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
}

/** Exit codes. */
export const Exit = { ok: 0, failure: 1, usage: 2 } as const

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
    const usage = e instanceof UsageError
    // Error texts may quote what a peer or the daemon sent: shown visibly, like results.
    const message = oneLine(e.message)
    if (json) {
      process.stderr.write(jsonLine({ event: 'error', error: e.name, message }) + '\n')
    } else {
      process.stderr.write(visible(`starling: ${message}${usage ? ' (see starling --help)' : ''}`) + '\n')
    }
    if (process.env.STARLING_DEBUG_STACK === '1') process.stderr.write(String(e.stack).split('\n').map(visible).join('\n') + '\n')
    return usage ? Exit.usage : Exit.failure
  }
}

async function dispatch (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name == null || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined
    process.stdout.write(topic != null ? commandHelp(findCommand(topic)) : overallHelp())
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
    throw new UsageError(`${command.name}: ${(err as Error).message.replace(/\. To specify.*$/s, '')}`)
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
  const stopped = new Promise<void>(resolve => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  const code = await command.run({ args: { values: parsed.values as CommandArgs['values'], positionals: parsed.positionals }, out, stopped })
  return code ?? Exit.ok
}

function findCommand (name: string): Command {
  const command = commands.find(c => c.name === name)
  if (command == null) throw new UsageError(`unknown command '${name}'`)
  return command
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
    'Examples:',
    ...command.examples.map(e => `  ${e}`),
    ''
  ]
  return lines.join('\n')
}
