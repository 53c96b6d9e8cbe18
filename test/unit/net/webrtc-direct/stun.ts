/**
 * STUN Binding requests as a WebRTC-direct dialer sends them first (RFC 8489
 * §5, §14; RFC 8445 §7.1.2): USERNAME `ufrag:ufrag`, PRIORITY,
 * ICE-CONTROLLING, MESSAGE-INTEGRITY keyed with the ufrag (WebRTC-direct
 * uses the ufrag as the ICE password) and FINGERPRINT. One such packet is
 * all it takes to make a relay start a handshake: tests send floods of them.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

const MAGIC_COOKIE = 0x2112a442
const FINGERPRINT_XOR = 0x5354554e

function attribute (type: number, value: Buffer): Buffer {
  const pad = (4 - value.length % 4) % 4
  const head = Buffer.alloc(4)
  head.writeUInt16BE(type, 0)
  head.writeUInt16BE(value.length, 2)
  return Buffer.concat([head, value, Buffer.alloc(pad)])
}

function header (attributesLength: number): Buffer {
  const h = Buffer.alloc(20)
  h.writeUInt16BE(0x0001, 0) // Binding request
  h.writeUInt16BE(attributesLength, 2)
  h.writeUInt32BE(MAGIC_COOKIE, 4)
  randomBytes(12).copy(h, 8)
  return h
}

/** A fresh ufrag of the form `@libp2p/webrtc` dialers use. */
export function randomUfrag (): string {
  return 'libp2p+webrtc+v1/' + randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, 'x')
}

/** One Binding request for `ufrag`. */
export function bindingRequest (ufrag: string): Buffer {
  const priority = Buffer.alloc(4)
  priority.writeUInt32BE(2130706431, 0)
  const attrs = Buffer.concat([
    attribute(0x0006, Buffer.from(`${ufrag}:${ufrag}`)),
    attribute(0x0024, priority),
    attribute(0x802a, randomBytes(8))
  ])
  // MESSAGE-INTEGRITY covers the message with a length that counts itself (24 bytes), FINGERPRINT (8) not yet.
  const h = header(attrs.length + 24)
  const mac = createHmac('sha1', ufrag).update(Buffer.concat([h, attrs])).digest()
  const withMac = Buffer.concat([h, attrs, attribute(0x0008, mac)])
  withMac.writeUInt16BE(attrs.length + 24 + 8, 2)
  const fp = Buffer.alloc(4)
  fp.writeUInt32BE((crc32(withMac) ^ FINGERPRINT_XOR) >>> 0, 0)
  return Buffer.concat([withMac, attribute(0x8028, fp)])
}
