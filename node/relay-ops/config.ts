/**
 * `starling relay --config FILE`: a JSON file with comments (`//` and
 * `/* *\/`, and trailing commas), whose keys are the relay's flag names
 * (options.ts). Read with nothing but JSON.parse, checked against a JSON
 * schema built from the option table (ajv), so every error names the file
 * and the field. Flags given on the command line override the file's keys
 * (a repeatable flag replaces the file's whole list).
 */
import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import type { ErrorObject } from 'ajv'
import { multiaddr } from '@multiformats/multiaddr'
import { checkTurnUrl } from '../../src/protocols/turn/index.js'
import { ConfigError } from '../errors.js'
import { nearest } from '../cli/main.js'
import { parseMultiaddrs } from '../cli/commands/relay.js'
import { RELAY_OPTIONS } from './options.js'

/** What a config file sets: each option by name, as parseArgs gives a flag's value (strings). */
export type RelayConfigValues = Record<string, string | string[]>

/** The largest config file read (a config is a few KiB; anything bigger is a mistake). */
export const MAX_CONFIG_BYTES = 1024 * 1024

/**
 * Blanks comments and drops trailing commas outside strings, keeping every
 * line and column where it was, so JSON.parse's positions point into the
 * file as the operator wrote it.
 */
export function stripJsonComments (text: string): string {
  const out = text.split('')
  let inString = false
  for (let i = 0; i < out.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') {
      inString = true
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') out[i++] = ' '
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end === -1 ? text.length : end + 2
      for (; i < stop; i++) if (text[i] !== '\n') out[i] = ' '
      i--
    } else if (c === ',') {
      let j = i + 1
      // A comment after the comma is blanked later in the scan: look past it too.
      while (j < text.length) {
        if (/\s/.test(text[j])) j++
        else if (text[j] === '/' && text[j + 1] === '/') j = text.indexOf('\n', j) === -1 ? text.length : text.indexOf('\n', j)
        else if (text[j] === '/' && text[j + 1] === '*') j = text.indexOf('*/', j + 2) === -1 ? text.length : text.indexOf('*/', j + 2) + 2
        else break
      }
      if (text[j] === '}' || text[j] === ']') out[i] = ' '
    }
  }
  return out.join('')
}

function formatCheck (check: (value: string) => void): (value: string) => boolean {
  return (value) => {
    try {
      check(value)
      return true
    } catch {
      return false
    }
  }
}

let validate: ReturnType<Ajv['compile']> | undefined

/** The schema: an object of the options' keys, nothing else. */
export function relayConfigSchema (): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(RELAY_OPTIONS.map(o => [o.name, o.schema]))
  }
}

function validator (): ReturnType<Ajv['compile']> {
  if (validate != null) return validate
  const ajv = new Ajv({ allErrors: false, strict: true })
  ajv.addFormat('multiaddr', formatCheck(v => parseMultiaddrs('x', [v])))
  ajv.addFormat('relay-multiaddr', formatCheck(v => {
    parseMultiaddrs('x', [v])
    if (!multiaddr(v).getComponents().some(c => c.name === 'p2p')) throw new Error('no peer id')
  }))
  ajv.addFormat('turn-url', formatCheck(checkTurnUrl))
  validate = ajv.compile(relayConfigSchema())
  return validate
}

/** One line for a schema error: the field, what it holds, and what it must be. */
function describe (file: string, err: ErrorObject, data: Record<string, unknown>): string {
  const field = err.instancePath.slice(1).split('/')
  const name = field[0]
  const where = err.instancePath === '' ? file : `${file}: ${field.map((f, i) => i === 0 ? f : `[${f}]`).join('')}`
  const option = RELAY_OPTIONS.find(o => o.name === name)
  if (err.keyword === 'additionalProperties') {
    const unknown = String(err.params.additionalProperty)
    const near = nearest(unknown, RELAY_OPTIONS.map(o => o.name))
    return `${file}: unknown field "${unknown}"${near != null ? `; did you mean "${near}"?` : ''}`
  }
  let value: unknown = data
  for (const f of field) value = (value as Record<string, unknown> | undefined)?.[f]
  const shown = JSON.stringify(value)
  if (err.keyword === 'type' && err.instancePath === '') return `${file}: must be a JSON object of options`
  if (err.keyword === 'format') {
    const what = err.params.format === 'turn-url' ? 'a TURN URL (e.g. turn:relay.example.org:3478?transport=udp)'
      : err.params.format === 'relay-multiaddr' ? 'a relay\'s multiaddr ending in /p2p/<peer id>'
        : 'a multiaddr (e.g. /ip4/0.0.0.0/tcp/4001)'
    return `${where}: ${shown} is not ${what}`
  }
  if (err.keyword === 'maxItems') return `${where}: at most ${String(err.params.limit)} entries`
  if (err.keyword === 'type' && option?.multiple === true && field.length === 1) return `${where}: must be a list, e.g. ["..."]`
  return `${where}: ${shown} is not valid (${option?.help ?? err.message ?? ''})`
}

/**
 * Parses and checks a config file's text.
 *
 * @throws {ConfigError} naming the file and the field (or the line and column of a syntax error)
 */
export function parseRelayConfig (file: string, text: string): RelayConfigValues {
  let data: unknown
  try {
    data = JSON.parse(stripJsonComments(text))
  } catch (err) {
    throw new ConfigError(`${file}: not JSON with comments: ${(err as Error).message}`)
  }
  const check = validator()
  if (!check(data)) {
    const first = (check.errors ?? [])[0]
    throw new ConfigError(first != null ? describe(file, first, data as Record<string, unknown>) : `${file}: invalid`)
  }
  const values: RelayConfigValues = {}
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    values[key] = Array.isArray(value) ? value.map(String) : String(value)
  }
  return values
}

/**
 * Reads and checks a config file.
 *
 * @throws {ConfigError} when it cannot be read, is too large, or is not valid
 */
export async function loadRelayConfig (file: string): Promise<RelayConfigValues> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (bytes.byteLength > MAX_CONFIG_BYTES) throw new ConfigError(`${file}: ${bytes.byteLength} bytes is too large for a config file (at most ${MAX_CONFIG_BYTES})`)
  return parseRelayConfig(file, bytes.toString('utf8'))
}

/** The file's values with the flags given on the command line over them. */
export function mergeFlags (file: RelayConfigValues, flags: Record<string, unknown>): RelayConfigValues {
  const merged: RelayConfigValues = { ...file }
  for (const option of RELAY_OPTIONS) {
    const flag = flags[option.name]
    if (typeof flag === 'string' || Array.isArray(flag)) merged[option.name] = flag as string | string[]
  }
  return merged
}
