/**
 * What `starling receive` prints for a message from someone who is not a
 * contact. Anyone can call themselves "alice"; the line showed only
 * `from alice~<tag>`, and the tag is all that told a stranger's request from
 * the alice you know. The line now says it is a message request.
 */
import assert from 'node:assert/strict'
import { describeEvent } from '../../../node/cli/commands/messages.js'

describe('cli: receive marks message requests', () => {
  const event = { type: 'message', direction: 'in', handle: 'alice~yywx4kkg2t', kind: 'text', id: '00'.repeat(16), text: 'it is me, send the code' }

  it('a stranger calling itself alice is shown as a message request', () => {
    const line = describeEvent({ ...event, request: true })
    assert.match(line, /^from alice~yywx4kkg2t \[message request: not a contact\] text 0{32}: it is me, send the code$/)
  })

  it('a contact\'s message is shown as before', () => {
    assert.equal(describeEvent({ ...event, request: false }), `from alice~yywx4kkg2t text ${'00'.repeat(16)}: it is me, send the code`)
  })
})
