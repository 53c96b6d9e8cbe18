/**
 * `npm start`: a local relay and this user's daemon in one process, for
 * trying Starling on one machine. Creates an identity with a generated
 * handle on first run, in the default data directory.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { relayDataDir, userDataDir, readOptional, Files } from './data-dir.js'
import { startRelay } from './relay.js'
import { Daemon } from './daemon/daemon.js'
import { DEFAULT_API } from './defaults.js'
import { createIdentity, passphraseFromEnv } from './identity-store.js'
import { nodeCrypto } from './platform.js'
import { formatHandle } from '../src/identity/index.js'

/** Runs until SIGINT/SIGTERM; returns the exit code. */
export async function start (_argv: string[]): Promise<number> {
  const crypto = nodeCrypto()
  const dataDir = userDataDir()
  const passphrase = passphraseFromEnv()
  if (await readOptional(join(dataDir, Files.identity)) == null) {
    const handle = `user_${randomBytes(4).toString('hex')}`
    const id = await createIdentity(crypto, dataDir, handle, passphrase)
    process.stdout.write(`created a new identity ${formatHandle(id.handleName, id.tag)} in ${dataDir}\n`)
  }
  const relay = await startRelay({
    dataDir: relayDataDir(),
    listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
    announce: []
  })
  const relayAddrs = relay.node.getMultiaddrs().map(String)
  let daemon: Daemon
  try {
    daemon = await Daemon.start({
      crypto,
      dataDir,
      bootstrap: [relayAddrs[0]],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      api: DEFAULT_API,
      passphrase
    })
  } catch (err) {
    await relay.stop()
    process.stderr.write(`starling: ${(err as Error).message}\n`)
    return 1
  }
  const me = daemon.whoami()
  process.stdout.write([
    'Starling is running.',
    '',
    'Relay:',
    ...relayAddrs.map(a => `  ${a}`),
    '',
    `You are ${String(me.handle)} (device ${String(me.peerId)})`,
    `Data:    ${dataDir}`,
    `API:     ${daemon.apiUrl}`,
    '',
    'In another terminal:',
    '  npx starling whoami',
    '  npx starling status',
    '  npx starling resolve NAME',
    `Another user on this machine: npx starling init --handle NAME --data /tmp/other && npx starling daemon --data /tmp/other --bootstrap ${relayAddrs[0]}`,
    '',
    'Press Ctrl-C to stop.',
    ''
  ].join('\n'))
  await new Promise<void>(resolve => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await daemon.stop()
  await relay.stop()
  process.stdout.write('stopped\n')
  return 0
}
