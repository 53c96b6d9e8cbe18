import assert from 'node:assert/strict'
import { ApiClient } from '../../../node/api/client.js'
import { ApiServer } from '../../../node/api/server.js'

const TOKEN = 'c'.repeat(64)

describe('api: ApiClient events', () => {
  let server: ApiServer | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })

  it('calls onOpen only once the daemon holds the subscription: an event emitted then is delivered', async () => {
    server = new ApiServer({ host: '127.0.0.1', port: 0, token: TOKEN, methods: {} })
    const url = await server.start()
    const client = new ApiClient({ url, token: TOKEN, pid: process.pid }, '/nonexistent')
    const controller = new AbortController()
    let opened = 0
    const received: Array<Record<string, unknown>> = []
    try {
      // `starling receive` prints "ready" in onOpen; anything emitted from then on must arrive.
      for await (const event of client.events(controller.signal, () => {
        opened++
        server?.emit({ type: 'message', n: 1 })
      })) {
        received.push(event)
        break
      }
    } finally {
      controller.abort()
    }
    assert.equal(opened, 1)
    assert.deepEqual(received, [{ type: 'message', n: 1 }])
  })
})
