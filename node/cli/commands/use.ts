/** `starling use DIR`: choose the profile (data directory) that commands without --data act as. */
import { dirname, join, resolve } from 'node:path'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { CommandError } from '../../errors.js'
import { Files, dataDirSource, profileFile, readOptional } from '../../data-dir.js'
import type { Command } from '../command.js'

const SOURCES = {
  flag: '--data',
  env: '$STARLING_DATA',
  profile: `the default profile (${profileFile()})`,
  default: 'the built-in default'
} as const

export const useCommand: Command = {
  name: 'use',
  summary: 'choose which identity (data directory) commands act as when they get no --data; without DIR: show it',
  usage: 'starling use [DIR | --reset]',
  examples: ['starling use ~/.starling-work', 'starling use', 'starling use --reset'],
  options: { reset: { type: 'boolean' } },
  help: { reset: 'forget the default profile: commands without --data use $STARLING_DATA or ~/.starling again' },
  positionals: [{ name: 'DIR', required: false }],
  async run ({ args, out }) {
    const file = profileFile()
    const [dir] = args.positionals
    if (args.values.reset === true) {
      await rm(file, { force: true })
      const now = dataDirSource()
      out.print({ event: 'profile', dataDir: now.dir, source: now.source, file }, `no default profile; commands without --data now act as ${now.dir}`)
      return
    }
    if (dir == null) {
      const now = dataDirSource()
      const exists = await readOptional(join(now.dir, Files.identity)) != null
      const who = exists ? (await handleIn(now.dir)) ?? 'the identity' : 'nobody yet (no identity)'
      out.print({ event: 'profile', dataDir: now.dir, source: now.source, file, identity: exists }, `commands without --data act as ${who} in ${now.dir}, from ${SOURCES[now.source]}`)
      return
    }
    const target = resolve(dir)
    if (await readOptional(join(target, Files.identity)) == null) {
      throw new CommandError(`no identity in ${target}; create one first: starling init --handle NAME --data ${target}`)
    }
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
    await writeFile(file, target + '\n', { mode: 0o600 })
    const env = process.env.STARLING_DATA
    const shadowed = env != null && env !== '' ? ` (but $STARLING_DATA=${env} is set in this shell and wins over it)` : ''
    out.print({ event: 'profile', dataDir: target, source: 'profile', file }, `commands without --data now act as the identity in ${target}${shadowed}`)
  }
}

/** The handle a running daemon of `dir` reports, if one runs. */
async function handleIn (dir: string): Promise<string | undefined> {
  if (await readOptional(join(dir, Files.api)) == null) return undefined
  try {
    const { ApiClient } = await import('../../api/client.js')
    const me = await (await ApiClient.connect(dir)).call<{ handle: string }>('whoami', {}, AbortSignal.timeout(2000))
    return me.handle
  } catch {
    return undefined
  }
}
