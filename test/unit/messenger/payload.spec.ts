import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodePayload, encodeChunkPayloadEnvelope, encodePayload, MAX_PAYLOAD_DEVICE_RECORD, withDeviceRecord } from '../../../src/messenger/payload.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('messenger: payloads', () => {
  it('carries a device record in front of a message or a chunk, and decodes what it encodes (property)', () => {
    fc.assert(fc.property(
      fc.stringMatching(/^[a-z0-9_]{0,30}$/),
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ minLength: 1, maxLength: MAX_PAYLOAD_DEVICE_RECORD }),
      fc.boolean(),
      (name, body, record, chunk) => {
        const inner = chunk ? encodeChunkPayloadEnvelope(new Uint8Array([1, ...body])) : encodePayload(name, body)
        const plain = decodePayload(inner)
        const carried = decodePayload(withDeviceRecord(inner, record))
        assert.equal(plain.deviceRecord, undefined)
        assert.equal(hex(carried.deviceRecord ?? new Uint8Array()), hex(record))
        assert.deepEqual({ ...carried, deviceRecord: undefined }, { ...plain, deviceRecord: undefined })
      }), { numRuns: 200 })
  })

  it('refuses a record length beyond the bytes or the limit, an empty record and two records', () => {
    const message = encodePayload('alice', new Uint8Array([1, 2, 3]))
    const carried = withDeviceRecord(message, new Uint8Array(100).fill(7))
    for (const bad of [
      carried.subarray(0, 50), // the record is cut short
      new Uint8Array([0x03, 0x00]), // no length
      new Uint8Array([0x03, 0x00, 0x00, ...message]), // an empty record
      new Uint8Array([0x03, 0xff, 0xff, ...new Uint8Array(70_000)]), // longer than the limit
      withDeviceRecord(carried, new Uint8Array(10).fill(1)) // two records
    ]) {
      assert.throws(() => decodePayload(bad), { name: 'InvalidMessageError' })
    }
    assert.throws(() => withDeviceRecord(message, new Uint8Array(MAX_PAYLOAD_DEVICE_RECORD + 1)), RangeError)
  })
})
