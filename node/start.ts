/**
 * `npm start`: a local relay, the web app and this user's daemon in one
 * process, for trying Starling on one machine. Creates the daemon's
 * identity with a generated handle on first run, in the default data
 * directory. The relay listens on TCP (daemons) and WebSockets (pages); the
 * app is served on 127.0.0.1 at the same port every time (web-ports.ts).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { relayDataDir, userDataDir, readOptional, Files, makePrivate } from './data-dir.js'
import { startRelay } from './relay.js'
import { Daemon, runningDaemon } from './daemon/daemon.js'
import { DEFAULT_API } from './defaults.js'
import { createIdentity, passphraseFromEnv } from './identity-store.js'
import { nodeCrypto } from './platform.js'
import { formatHandle } from '../src/identity/index.js'
import { startWebServer, webDistDir } from './web-server.js'
import { dataFlag } from './cli/profile.js'
import type { WebServer } from './web-server.js'
import { portOf, readWebPorts, writeWebPorts, WEB_PORTS_FILE } from './web-ports.js'
import { keepRunningOnUnhandledRejection } from './unhandled.js'

/** Runs until SIGINT/SIGTERM; returns the exit code. */
export async function start (_argv: string[]): Promise<number> {
  keepRunningOnUnhandledRejection(line => { process.stderr.write(line + '\n') })
  const crypto = nodeCrypto()
  const dataDir = userDataDir()
  // A second `npm start` on the same data: one line, before anything opens (LevelDB's lock would say it with a stack).
  const running = await runningDaemon(dataDir)
  if (running != null) {
    process.stderr.write(`starling: already running for ${dataDir} (pid ${running}); use that one, or stop it first (Ctrl-C in its terminal, or kill ${running})\n`)
    return 1
  }
  const passphrase = passphraseFromEnv()
  if (await readOptional(join(dataDir, Files.identity)) == null) {
    const handle = `user_${randomBytes(4).toString('hex')}`
    const id = await createIdentity(crypto, dataDir, handle, passphrase)
    process.stdout.write(`created a new identity ${formatHandle(id.handleName, id.tag)} in ${dataDir}\n`)
  }
  const relayDir = relayDataDir()
  await makePrivate(relayDir)
  const ports = await readWebPorts(relayDir)
  const kept = `kept in ${join(relayDir, WEB_PORTS_FILE)} so that the page keeps its data; free it, or delete that file to choose new ports (the page then starts empty)`
  let relay
  try {
    relay = await startRelay({
      dataDir: relayDir,
      listen: [`/ip4/127.0.0.1/tcp/${ports.tcp}`, `/ip4/127.0.0.1/tcp/${ports.ws}/ws`],
      announce: []
    })
  } catch (err) {
    if (/Database failed to open|LOCK/i.test((err as Error).message)) {
      process.stderr.write(`starling: already running: another process holds the local relay's data in ${relayDir}; stop it first\n`)
    } else {
      process.stderr.write(`starling: the relay could not listen on ports ${ports.tcp} and ${ports.ws} (${(err as Error).message.split('\n')[0]}), ${kept}\n`)
    }
    return 1
  }
  const relayAddrs = relay.node.getMultiaddrs().map(String)
  const tcpAddr = relayAddrs.find(a => !portOf(a).ws) ?? relayAddrs[0]
  const wsAddr = relayAddrs.find(a => portOf(a).ws)
  let web: WebServer
  try {
    web = await startWebServer({ root: webDistDir(), host: '127.0.0.1', port: ports.http, config: { relays: wsAddr != null ? [wsAddr] : [] } })
  } catch (err) {
    await relay.stop()
    process.stderr.write(`starling: the web app could not be served on port ${ports.http} (${(err as Error).message}), ${kept}\n`)
    return 1
  }
  await writeWebPorts(relayDir, { http: web.port, tcp: portOf(tcpAddr).port, ws: wsAddr != null ? portOf(wsAddr).port : 0 })
  let daemon: Daemon
  try {
    daemon = await Daemon.start({
      crypto,
      dataDir,
      bootstrap: [tcpAddr],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      api: DEFAULT_API,
      passphrase
    })
  } catch (err) {
    await web.stop()
    await relay.stop()
    process.stderr.write(`starling: ${(err as Error).message}\n`)
    return 1
  }
  const me = daemon.whoami()
  process.stdout.write([
    'Starling is running.',
    '',
    `Web app: ${web.url}  (open it in a browser; each browser profile is one Starling user)`,
    '',
    'Relay:',
    ...relayAddrs.map(a => `  ${a}`),
    '',
    `You are ${String(me.handle)} (device ${String(me.peerId)})`,
    `Data:    ${dataDir}`,
    `API:     ${daemon.apiUrl}`,
    '',
    'In another terminal (after npm link once; else npx starling):',
    `  starling whoami${dataFlag(dataDir)}`,
    `  starling status${dataFlag(dataDir)}`,
    `  starling resolve NAME${dataFlag(dataDir)}`,
    `Another user on this machine: starling init --handle NAME --data ~/.starling-NAME && starling daemon --data ~/.starling-NAME --bootstrap ${tcpAddr}`,
    '',
    'Press Ctrl-C to stop.',
    ''
  ].join('\n'))
  await new Promise<void>(resolve => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await daemon.stop()
  await web.stop()
  await relay.stop()
  process.stdout.write('stopped\n')
  return 0
}
