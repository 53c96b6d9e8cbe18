/**
 * The relay's operator endpoints: only GET and HEAD of known paths are
 * answered, a failing route answers 500 and the server keeps serving, and
 * addresses are host:port (IPv6 in brackets) or a usage error naming the
 * option. Real HTTP on 127.0.0.1.
 */
import assert from 'node:assert/strict'
import { parseHostPort, serveRoutes } from '../../../node/relay-ops/http.js'
import type { Endpoint } from '../../../node/relay-ops/http.js'

describe('node/relay-ops: metrics and health endpoints', () => {
  let endpoint: Endpoint | undefined
  afterEach(async () => { await endpoint?.close() })

  it('answers GET and HEAD of its routes, 404 elsewhere, 405 for other methods, 500 when a route fails', async () => {
    let calls = 0
    endpoint = await serveRoutes({ host: '127.0.0.1', port: 0 }, {
      '/health': async () => {
        calls++
        return { status: 503, type: 'application/json', body: '{"ready":false}\n' }
      },
      '/broken': async () => { throw new Error('store closed') }
    })
    assert.match(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const health = await fetch(`${endpoint.url}/health?x=1`)
    assert.equal(health.status, 503)
    assert.deepEqual(await health.json(), { ready: false })
    assert.equal(health.headers.get('cache-control'), 'no-store')
    const head = await fetch(`${endpoint.url}/health`, { method: 'HEAD' })
    assert.equal(head.status, 503)
    assert.equal(await head.text(), '')
    assert.equal((await fetch(`${endpoint.url}/nope`)).status, 404)
    const post = await fetch(`${endpoint.url}/health`, { method: 'POST', body: 'x'.repeat(100_000) })
    assert.equal(post.status, 405)
    assert.equal(calls, 2, 'a refused method never reaches the route')
    const broken = await fetch(`${endpoint.url}/broken`)
    assert.equal(broken.status, 500)
    assert.equal((await fetch(`${endpoint.url}/health`)).status, 503, 'still serving')
  })

  it('parses host:port, IPv6 in brackets; anything else is a usage error naming the option', () => {
    assert.deepEqual(parseHostPort('metrics', '127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 })
    assert.deepEqual(parseHostPort('health', '[::1]:0'), { host: '::1', port: 0 })
    assert.deepEqual(parseHostPort('health', 'localhost:9465'), { host: 'localhost', port: 9465 })
    for (const bad of ['9464', '127.0.0.1', '127.0.0.1:99999', '::1:9464', 'http://127.0.0.1:9464']) {
      assert.throws(() => parseHostPort('metrics', bad), { name: 'UsageError', message: new RegExp(`^--metrics ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not host:port`) })
    }
  })
})
