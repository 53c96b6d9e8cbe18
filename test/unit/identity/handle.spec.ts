import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  HANDLE_NAME_MAX_LENGTH, HANDLE_NAME_MIN_LENGTH, formatHandle, isValidHandle, parseHandle,
  validateHandleName, validateHandleTag
} from '../../../src/identity/handle.js'
import type { HandleErrorReason, InvalidHandleError } from '../../../src/identity/errors.js'

const isAscii = (s: string): boolean => [...s].every(ch => (ch.codePointAt(0) ?? 0) <= 0x7f)

function refusal (fn: () => unknown): InvalidHandleError {
  try {
    fn()
  } catch (err) {
    assert.equal((err as Error).name, 'InvalidHandleError')
    return err as InvalidHandleError
  }
  assert.fail('expected an InvalidHandleError')
}

describe('identity/handle', () => {
  describe('validateHandleName accepts', () => {
    const valid: Array<[string, string]> = [
      ['alice', 'alice'],
      ['bob_42', 'bob_42'],
      ['abc', 'abc'],
      ['___', '___'],
      ['a'.repeat(30), 'a'.repeat(30)],
      ['Alice', 'alice'],
      ['BOB_SMITH', 'bob_smith'],
      ['x9Z', 'x9z']
    ]
    for (const [input, canonical] of valid) {
      it(`${JSON.stringify(input)} as ${JSON.stringify(canonical)}`, () => {
        assert.equal(validateHandleName(input), canonical)
      })
    }
  })

  describe('validateHandleName refuses', () => {
    const invalid: Array<[string, string, HandleErrorReason, RegExp]> = [
      ['the Kelvin sign', '\u212Aate', 'lookalike', /Kelvin sign.*Latin letter "K"/],
      ['a Cyrillic а', '\u0430lice', 'lookalike', /Cyrillic letter.*Latin letter "a"/],
      ['a Greek omicron', 'b\u03BFb', 'lookalike', /Greek letter.*Latin letter "o"/],
      ['fullwidth letters', '\uFF41lice', 'lookalike', /fullwidth.*Latin letter "a"/],
      ['a mathematical bold letter', '\u{1D41A}lice', 'lookalike', /mathematical.*Latin letter "a"/],
      ['an accented letter', 'jos\u00E9', 'lookalike', /accent.*Latin letter "e"/],
      ['a combining accent', 'jose\u0301', 'non-ascii', /not plain ASCII/],
      ['a CJK character', 'ali\u4E2D', 'non-ascii', /not plain ASCII/],
      ['a zero-width space', 'ali\u200Bce', 'invisible', /invisible/],
      ['a zero-width joiner', 'ali\u200Dce', 'invisible', /invisible/],
      ['a zero-width non-joiner', 'ali\u200Cce', 'invisible', /invisible/],
      ['a word joiner', 'ali\u2060ce', 'invisible', /invisible/],
      ['a byte order mark', '\uFEFFalice', 'invisible', /invisible/],
      ['a soft hyphen', 'ali\u00ADce', 'invisible', /invisible/],
      ['a right-to-left override', 'ali\u202Ece', 'bidi-control', /right-to-left/],
      ['a left-to-right mark', 'alice\u200E', 'bidi-control', /right-to-left/],
      ['a right-to-left isolate', '\u2067alice', 'bidi-control', /right-to-left/],
      ['an Arabic letter mark', 'ali\u061Cce', 'bidi-control', /right-to-left/],
      ['a space', 'ali ce', 'whitespace', /white space/],
      ['a leading space', ' alice', 'whitespace', /white space/],
      ['a tab', 'ali\tce', 'whitespace', /white space/],
      ['a no-break space', 'ali\u00A0ce', 'whitespace', /white space/],
      ['an ideographic space', 'ali\u3000ce', 'whitespace', /white space/],
      ['a hyphen', 'ali-ce', 'invalid-character', /"-"/],
      ['a dot', 'ali.ce', 'invalid-character', /"\."/],
      ['a tilde', 'ali~ce', 'invalid-character', /"~"/],
      ['a NUL', 'ali\u0000ce', 'invalid-character', /control character/],
      ['an empty string', '', 'too-short', /at least 3/],
      ['two characters', 'ab', 'too-short', /at least 3/],
      ['31 characters', 'a'.repeat(31), 'too-long', /at most 30/],
      ['a huge input', 'a'.repeat(100_000), 'too-long', /at most 30/]
    ]
    for (const [what, input, reason, message] of invalid) {
      it(`${what} (${reason})`, () => {
        const err = refusal(() => validateHandleName(input))
        assert.equal(err.reason, reason)
        assert.match(err.message, message)
      })
    }

    it('names the offending code point and its position', () => {
      const err = refusal(() => validateHandleName('ab\u0441d'))
      assert.equal(err.codePoint, 0x0441)
      assert.match(err.message, /character 3 .*U\+0441/)
    })

    it('refuses the Kelvin sign even though it lower-cases to "k"', () => {
      assert.equal('\u212A'.toLowerCase(), 'k')
      assert.equal(refusal(() => validateHandleName('\u212Aelvin')).reason, 'lookalike')
    })
  })

  describe('tags', () => {
    it('accepts 10 base32 characters and folds ASCII upper case', () => {
      assert.equal(validateHandleTag('abcdefgh23'), 'abcdefgh23')
      assert.equal(validateHandleTag('ABCDEFGH23'), 'abcdefgh23')
    })

    const bad: Array<[string, string, HandleErrorReason]> = [
      ['9 characters', 'abcdefgh2', 'invalid-tag'],
      ['11 characters', 'abcdefgh234', 'invalid-tag'],
      ['a digit outside base32', 'abcdefgh18', 'invalid-tag'],
      ['an underscore', 'abcdefgh_2', 'invalid-tag'],
      ['a Cyrillic letter', 'abcdefgh2\u0430', 'lookalike'],
      ['a zero-width space', 'abcdefgh2\u200B', 'invisible']
    ]
    for (const [what, tag, reason] of bad) {
      it(`refuses ${what}`, () => {
        assert.equal(refusal(() => validateHandleTag(tag)).reason, reason)
      })
    }
  })

  describe('parseHandle and formatHandle', () => {
    it('parses a bare name', () => {
      assert.deepEqual(parseHandle('Alice'), { name: 'alice' })
    })

    it('parses name~tag', () => {
      assert.deepEqual(parseHandle('alice~ABCDEFGH23'), { name: 'alice', tag: 'abcdefgh23' })
    })

    it('refuses a second separator, an empty tag or an empty name', () => {
      assert.equal(refusal(() => parseHandle('alice~abcdefgh23~x')).reason, 'invalid-character')
      assert.equal(refusal(() => parseHandle('alice~')).reason, 'invalid-tag')
      assert.equal(refusal(() => parseHandle('~abcdefgh23')).reason, 'too-short')
    })

    it('formats the canonical form and round-trips through parseHandle', () => {
      assert.equal(formatHandle('Alice', 'ABCDEFGH23'), 'alice~abcdefgh23')
      assert.equal(formatHandle('alice'), 'alice')
      assert.deepEqual(parseHandle(formatHandle('bob_1', 'zzzzzzzzzz')), { name: 'bob_1', tag: 'zzzzzzzzzz' })
    })

    it('isValidHandle answers without throwing', () => {
      assert.equal(isValidHandle('alice~abcdefgh23'), true)
      assert.equal(isValidHandle('\u0430lice'), false)
    })
  })

  describe('properties', () => {
    const nonAscii = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter(s => !isAscii(s))

    it('parseHandle never accepts a string with a non-ASCII character', () => {
      fc.assert(fc.property(nonAscii, (s) => {
        const err = refusal(() => parseHandle(s))
        assert.ok(err.message.length > 0)
      }))
    })

    it('parseHandle never accepts a non-ASCII character hidden inside a valid handle', () => {
      const char = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter(s => !isAscii(s))
      fc.assert(fc.property(fc.nat({ max: 5 }), char, (at, ch) => {
        const s = 'alice'.slice(0, at) + ch + 'alice'.slice(at)
        refusal(() => parseHandle(s))
      }))
    })

    it('whatever it accepts is ASCII and canonical; everything else is an InvalidHandleError', () => {
      fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (s) => {
        let parsed
        try {
          parsed = parseHandle(s)
        } catch (err) {
          assert.equal((err as Error).name, 'InvalidHandleError')
          return
        }
        assert.ok(isAscii(s))
        assert.match(parsed.name, new RegExp(`^[a-z0-9_]{${HANDLE_NAME_MIN_LENGTH},${HANDLE_NAME_MAX_LENGTH}}$`))
        if (parsed.tag != null) assert.match(parsed.tag, /^[a-z2-7]{10}$/)
        assert.equal(formatHandle(parsed.name, parsed.tag), s.toLowerCase())
      }))
    })

    it('accepts every string of [A-Za-z0-9_]{3,30}', () => {
      const name = fc.stringMatching(/^[A-Za-z0-9_]{3,30}$/)
      fc.assert(fc.property(name, (s) => {
        assert.equal(validateHandleName(s), s.toLowerCase())
      }))
    })
  })
})
