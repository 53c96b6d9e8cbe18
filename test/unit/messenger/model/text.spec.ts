import assert from 'node:assert/strict'
import fc from 'fast-check'
import { countCodePoints, MAX_TEXT_CODE_POINTS, validateText } from '../../../../src/messenger/model/index.js'

describe('messenger/model text', () => {
  it('counts code points, not UTF-16 units', () => {
    assert.equal(countCodePoints('abc'), 3)
    assert.equal(countCodePoints('🫠'), 1)
    assert.equal('🫠'.length, 2)
    assert.equal(countCodePoints('👨‍👩‍👧‍👦'), 7)
  })

  it('accepts exactly the limit in astral code points (20,000 UTF-16 units)', () => {
    const text = '😀'.repeat(MAX_TEXT_CODE_POINTS)
    assert.equal(text.length, 2 * MAX_TEXT_CODE_POINTS)
    assert.equal(validateText(text), text)
  })

  it('refuses one code point over the limit', () => {
    assert.throws(() => validateText('a'.repeat(MAX_TEXT_CODE_POINTS + 1)), { name: 'InvalidTextError', message: /10001 code points/ })
    assert.throws(() => validateText('😀'.repeat(MAX_TEXT_CODE_POINTS) + 'a'), { name: 'InvalidTextError' })
  })

  it('refuses empty and blank text', () => {
    assert.throws(() => validateText(''), { name: 'InvalidTextError', message: /empty/ })
    assert.throws(() => validateText(' \n\t'), { name: 'InvalidTextError' })
  })

  it('refuses unpaired surrogates and non-strings', () => {
    assert.throws(() => validateText('a\uD83D'), { name: 'InvalidTextError', message: /surrogate/ })
    assert.throws(() => validateText('\uDE00b'), { name: 'InvalidTextError' })
    assert.throws(() => validateText(7), { name: 'InvalidTextError' })
  })

  it('takes a custom limit', () => {
    assert.throws(() => validateText('abcd', 3), { name: 'InvalidTextError' })
    assert.equal(validateText('abc', 3), 'abc')
  })

  it('property: accepts exactly the well-formed non-blank strings within the limit', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), s => {
      const ok = s.trim() !== ''
      let accepted = true
      try { validateText(s, 30) } catch { accepted = false }
      assert.equal(accepted, ok && countCodePoints(s) <= 30)
    }))
  })
})
