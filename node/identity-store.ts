/**
 * The device's identity on disk: `identity.key` in the data directory, mode
 * 0600, encrypted with a memory-hard KDF when STARLING_PASSPHRASE is set.
 * What an identity is and how it is created, loaded and rotated is
 * src/peer/identity.ts; this file is only where it is kept, and the CLI's
 * wording of its errors.
 */
import { join } from 'node:path'
import type { Crypto } from '../src/crypto/index.js'
import * as identity from '../src/peer/identity.js'
import type { KeyStorage, LocalIdentity } from '../src/peer/identity.js'
import { IdentityExistsError } from '../src/peer/errors.js'
import { CommandError } from './errors.js'
import { Files, createPrivateFile, ensureDir, readOptional, writePrivateFile } from './data-dir.js'

export type { LocalIdentity } from '../src/peer/identity.js'

/** The passphrase for keys at rest, if the user set one. */
export function passphraseFromEnv (): string | undefined {
  const p = process.env.STARLING_PASSPHRASE
  return p != null && p !== '' ? p : undefined
}

/** The key file of `dataDir`, as src/peer reads and writes it. */
export function fileKeyStorage (dataDir: string): KeyStorage {
  const path = join(dataDir, Files.identity)
  return {
    read: async () => await readOptional(path),
    create: async (bytes) => {
      await ensureDir(dataDir)
      try {
        await createPrivateFile(path, bytes)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new IdentityExistsError(`an identity already exists in ${dataDir}`)
        throw err
      }
    },
    replace: async (bytes) => { await writePrivateFile(path, bytes) }
  }
}

/**
 * The CLI's one line for an identity error of `dataDir` (saying what to do),
 * or the error itself when it is of another kind.
 */
export function identityCommandError (err: unknown, dataDir: string): unknown {
  switch ((err as Error).name) {
    case 'NoIdentityError': return new CommandError(`no identity in ${dataDir}: create one with starling init --handle NAME`, { cause: err })
    case 'IdentityExistsError': return new CommandError(`an identity already exists in ${dataDir}; refusing to overwrite it (use another --data directory)`, { cause: err })
    default: return err
  }
}

/** Creates a new identity in `dataDir`; refuses to overwrite an existing one. */
export async function createIdentity (crypto: Crypto, dataDir: string, handle: string, passphrase?: string): Promise<LocalIdentity> {
  try {
    return await identity.createIdentity(crypto, fileKeyStorage(dataDir), handle, { passphrase })
  } catch (err) {
    throw identityCommandError(err, dataDir)
  }
}

/** Loads the identity of `dataDir`, or throws a CommandError saying how to create one. */
export async function loadIdentity (crypto: Crypto, dataDir: string, passphrase?: string): Promise<LocalIdentity> {
  try {
    return await identity.loadIdentity(crypto, fileKeyStorage(dataDir), passphrase)
  } catch (err) {
    throw identityCommandError(err, dataDir)
  }
}
