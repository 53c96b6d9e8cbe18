/** `starling export` and `starling import`: encrypted backups. */
import { resolve } from 'node:path'
import { UsageError } from '../../errors.js'
import { userDataDir } from '../../data-dir.js'
import { ApiClient } from '../../api/client.js'
import type { Command } from '../command.js'
import { weakBackupPassphrase } from '../../backup-passphrase.js'
import { dataFlag } from '../profile.js'
import { plural } from '../message-format.js'

function passphrase (): string {
  const p = process.env.STARLING_BACKUP_PASSPHRASE
  if (p == null || p === '') throw new UsageError('set STARLING_BACKUP_PASSPHRASE to the passphrase that encrypts the backup')
  return p
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write an encrypted backup of your identity, contacts, history and files (sent and received, whole ones), streamed to FILE',
  usage: 'STARLING_BACKUP_PASSPHRASE=... starling export FILE [--without-files] [--data DIR]',
  examples: ['STARLING_BACKUP_PASSPHRASE="long words" starling export ~/starling-backup.stbk', 'STARLING_BACKUP_PASSPHRASE="long words" starling export ~/small.stbk --without-files'],
  options: { data: { type: 'string' }, 'without-files': { type: 'boolean' } },
  help: {
    data: 'data directory of the running daemon (default $STARLING_DATA or ~/.starling)',
    'without-files': 'leave the files of attachments out (by default they are in the backup, encrypted like the rest)'
  },
  positionals: [{ name: 'FILE', required: true }],
  async run ({ args, out }) {
    const pass = passphrase()
    const weak = weakBackupPassphrase(pass)
    if (weak != null) throw new UsageError(`export: ${weak}`)
    const client = await ApiClient.connect(userDataDir(args.values.data as string | undefined))
    const withFiles = args.values['without-files'] !== true
    const r = await client.call<{ path: string, entries: number, files: number, bytes: number, from?: string }>('export', { path: resolve(args.positionals[0]), passphrase: pass, files: withFiles })
    out.print({ event: 'exported', ...r, attachments: withFiles }, [
      `backup of ${r.from ?? 'this identity'} written to ${r.path} (${r.entries} records, ${plural(r.files, 'file')}, ${r.bytes} bytes)`,
      withFiles
        ? 'files are in the backup: every whole file sent or received (files still arriving are fetched again after import)'
        : 'files are NOT in the backup (--without-files; messages and captions are): keep the ones you want from the downloads folder'
    ])
  }
}

export const importCommand: Command = {
  name: 'import',
  summary: 'restore a backup into a new data directory (this device then moves here)',
  usage: '[STARLING_PASSPHRASE=...] STARLING_BACKUP_PASSPHRASE=... starling import FILE [--data DIR]',
  examples: ['STARLING_BACKUP_PASSPHRASE="long words" starling import ~/starling-backup.stbk --data ~/.starling'],
  options: { data: { type: 'string' } },
  help: { data: 'data directory to restore into; it must not hold an identity (default $STARLING_DATA or ~/.starling)' },
  positionals: [{ name: 'FILE', required: true }],
  async run ({ args, out }) {
    const pass = passphrase()
    const dataDir = userDataDir(args.values.data as string | undefined)
    const [{ importBackup }, { nodeCrypto }, { passphraseFromEnv }] = await Promise.all([import('../../backup-files.js'), import('../../platform.js'), import('../../identity-store.js')])
    const r = await importBackup(nodeCrypto(), dataDir, resolve(args.positionals[0]), pass, passphraseFromEnv())
    out.print({ event: 'imported', dataDir, ...r }, [
      `restored ${r.entries} records and ${plural(r.files, 'file')} into ${dataDir}; ${r.unsent} undelivered messages will be encrypted again and sent`,
      `stop the daemon on the old machine, then: starling daemon${dataFlag(dataDir)} --bootstrap RELAY`
    ])
  }
}
