/**
 * Run inside a network namespace (`ip netns exec NAME node netns-forward.ts
 * SOCKET HOST PORT`): forwards each connection on the Unix socket SOCKET to
 * HOST:PORT in that namespace, so a test in another namespace reaches a
 * daemon's local API there (paths on disk are not per namespace; ports
 * are). Plain Node (types stripped): no imports but node:*.
 */
import { createConnection, createServer } from 'node:net'

const [socketPath, host, port] = process.argv.slice(2)
if (socketPath == null || host == null || port == null) {
  process.stderr.write('usage: netns-forward.ts SOCKET HOST PORT\n')
  process.exit(2)
}
const server = createServer((client) => {
  const upstream = createConnection({ host, port: Number(port) })
  client.pipe(upstream).pipe(client)
  client.on('error', () => { upstream.destroy() })
  upstream.on('error', () => { client.destroy() })
})
server.listen(socketPath, () => { process.stdout.write('ready\n') })
process.on('SIGTERM', () => { server.close(); process.exit(0) })
