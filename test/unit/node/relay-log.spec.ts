/**
 * The relay's log: JSON lines with time, level and event for a log
 * pipeline, text for a person, events below the level dropped, and
 * terminal controls a peer might have chosen never reaching a terminal.
 */
import assert from 'node:assert/strict'
import { RelayLog } from '../../../node/relay-ops/log.js'
import type { LogSink } from '../../../node/relay-ops/log.js'

function sink (): LogSink & { out: string[], err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { out, err, stdout: (l) => { out.push(l) }, stderr: (l) => { err.push(l) } }
}

const AT = new Date('2026-12-06T12:00:00.000Z')

describe('node/relay-ops: the relay\'s log', () => {
  it('writes one JSON object per line with time, level and event; drops what is below the level', () => {
    const lines = sink()
    const log = new RelayLog('json', 'info', lines, () => AT)
    log.debug({ event: 'synced', envelopes: 0 }, 'quiet round')
    log.info({ event: 'ready', peerId: 'p' }, 'ready')
    log.warn({ event: 'tls-reload-failed', message: 'bad key' }, 'kept')
    assert.equal(lines.err.length, 0, 'JSON goes to one stream, in order')
    assert.deepEqual(lines.out.map(l => JSON.parse(l) as unknown), [
      { time: '2026-12-06T12:00:00.000Z', level: 'info', event: 'ready', peerId: 'p' },
      { time: '2026-12-06T12:00:00.000Z', level: 'warn', event: 'tls-reload-failed', message: 'bad key' }
    ])
  })

  it('writes text for a person: warnings and errors on stderr with their level; controls made visible', () => {
    const lines = sink()
    const log = new RelayLog('text', 'debug', lines, () => AT)
    log.debug({ event: 'synced' }, 'reconciled')
    log.error({ event: 'x' }, ['first', 'evil \u001b[2J'])
    assert.deepEqual(lines.out, ['reconciled'])
    assert.equal(lines.err[0], 'error: first')
    assert.ok(!lines.err[1].includes('\u001b'), 'no escape sequence reaches the terminal')
  })

  it('at warn, info events are dropped in both formats', () => {
    for (const format of ['text', 'json'] as const) {
      const lines = sink()
      const log = new RelayLog(format, 'warn', lines)
      log.info({ event: 'ready' }, 'ready')
      assert.equal(lines.out.length + lines.err.length, 0)
      assert.equal(log.enabled('error'), true)
    }
  })
})
