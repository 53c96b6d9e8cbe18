import assert from 'node:assert/strict'
import fc from 'fast-check'
import { LINE_BREAK_MARK, jsonLine, visible } from '../../../node/cli/terminal-text.js'

/**
 * What a terminal interprets, written out here independently of the module:
 * C0 except TAB, DEL, C1, ALM, LRM/RLM, LINE/PARAGRAPH SEPARATOR, the bidi
 * embeddings/overrides and isolates.
 */
function isControl (cp: number): boolean {
  return (cp < 0x20 && cp !== 0x09) || (cp >= 0x7f && cp <= 0x9f) || cp === 0x061c || cp === 0x200e || cp === 0x200f ||
    cp === 0x2028 || cp === 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)
}

function controls (s: string): number[] {
  return [...s].map(ch => ch.codePointAt(0) ?? 0).filter(isControl)
}

/** Strings that favour the characters in question, mixed with any other code point. */
const hostile = fc.array(fc.oneof(
  fc.integer({ min: 0, max: 0x9f }).map(cp => String.fromCodePoint(cp)),
  fc.constantFrom('\u061c', '\u200d', '\u200e', '\u200f', '\u2028', '\u2029', '\u202a', '\u202e', '\u2066', '\u2069', '\r\n', '\x1b[2J', '\x1b]52;c;', '\ufe0f'),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' })
)).map(parts => parts.join(''))

describe('node/cli: terminal text', () => {
  it('shows each kind of control character visibly', () => {
    assert.equal(visible('\x1b[2K\rfake'), '^[[2K^Mfake')
    assert.equal(visible('\x1b]52;c;ZXZpbA==\x07'), '^[]52;c;ZXZpbA==^G')
    assert.equal(visible('\x00\x7f'), '^@^?')
    assert.equal(visible('\x9b31m\x85'), '<U+009B>31m<U+0085>')
    assert.equal(visible('a\u202eb\u202cc\u2066d\u2069\u200e\u200f\u061c'), 'a<U+202E>b<U+202C>c<U+2066>d<U+2069><U+200E><U+200F><U+061C>')
    assert.equal(visible('one\ntwo\r\nthree\u2028four'), `one${LINE_BREAK_MARK}two${LINE_BREAK_MARK}three<U+2028>four`)
  })

  it('leaves ordinary text alone: emoji with ZWJ and skin tones, flags with tag characters, CJK, accents, tabs', () => {
    const ordinary = 'héllo\tworld 👨‍👩‍👧‍👦 👍🏽 🏴󠁧󠁢󠁳󠁣󠁴󠁿 🇫🇷 你好 مرحبا ✓'
    assert.equal(visible(ordinary), ordinary)
  })

  it('property: the result never holds a control character, and text without one is unchanged', () => {
    fc.assert(fc.property(hostile, s => {
      const shown = visible(s)
      assert.deepEqual(controls(shown), [])
      if (controls(s).length === 0) assert.equal(shown, s)
    }), { numRuns: 2000 })
  })

  it('property: a JSON line parses back to exactly the data and holds no raw control character', () => {
    fc.assert(fc.property(hostile, hostile, (text, key) => {
      const line = jsonLine({ text, [key]: [text] })
      assert.deepEqual(controls(line), [])
      assert.deepEqual(JSON.parse(line), { text, [key]: [text] })
    }), { numRuns: 2000 })
  })
})
