/** `starling init`: create this device's account and device keys. */
import { UsageError } from '../../errors.js'
import { userDataDir } from '../../data-dir.js'
import { formatHandle, validateHandleName } from '../../../src/identity/handle.js'
import type { Command } from '../command.js'
import { dataFlag, quote } from '../profile.js'

export const initCommand: Command = {
  name: 'init',
  summary: 'create the account key and device key, and choose a handle',
  usage: 'starling init --handle NAME [--data DIR]',
  examples: ['starling init --handle alice', 'STARLING_PASSPHRASE=... starling init --handle alice --data ~/.starling-work'],
  options: {
    handle: { type: 'string' },
    data: { type: 'string' }
  },
  help: {
    handle: 'the name people find you by: 3-30 of a-z, 0-9 and _',
    data: 'data directory (default $STARLING_DATA or ~/.starling); keys are encrypted at rest when STARLING_PASSPHRASE is set'
  },
  async run ({ args, out }) {
    const handle = args.values.handle as string | undefined
    if (handle == null) throw new UsageError('init: --handle NAME is required')
    try {
      validateHandleName(handle)
    } catch (err) {
      throw new UsageError(`init: ${(err as Error).message}`)
    }
    const [{ createIdentity, passphraseFromEnv }, { nodeCrypto }, { accountFingerprint }] = await Promise.all([
      import('../../identity-store.js'), import('../../platform.js'), import('../../../src/net/directory.js')
    ])
    const crypto = nodeCrypto()
    const dataDir = userDataDir(args.values.data as string | undefined)
    const passphrase = passphraseFromEnv()
    const id = await createIdentity(crypto, dataDir, handle, passphrase)
    const full = formatHandle(id.handleName, id.tag)
    out.print({
      event: 'created',
      handle: full,
      peerId: id.peerId.toString(),
      fingerprint: accountFingerprint(crypto, id.accountPublicKey),
      dataDir,
      encrypted: passphrase != null
    }, [
      `handle:  ${full}`,
      `device:  ${id.peerId.toString()}`,
      `keys in: ${dataDir}${passphrase != null ? ' (encrypted with STARLING_PASSPHRASE)' : ''}`,
      `next:    starling daemon${dataFlag(dataDir)} --bootstrap RELAY_MULTIADDR`,
      ...(dataFlag(dataDir) !== '' ? [`         (or make it the default for commands without --data: starling use ${quote(dataDir)})`] : [])
    ])
  }
}
