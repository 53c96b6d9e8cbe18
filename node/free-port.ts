/**
 * A free TCP port on 127.0.0.1, found by listening on port 0 and closing
 * again: the caller (a simulation's coordinator, the chaos run) has a
 * process listen on it moments later. Another process may take it in
 * between; on loopback, in a test's own run, that has not been seen.
 */
import { createServer } from 'node:net'

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address != null ? address.port : 0) })
    })
  })
}
