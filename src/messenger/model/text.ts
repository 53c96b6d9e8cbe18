/** Message text rules: non-blank, at most {@link MAX_TEXT_CODE_POINTS} code points, well-formed. */
import { MAX_TEXT_CODE_POINTS } from './constants.js'
import { InvalidTextError } from './errors.js'

// With the `u` flag a surrogate range only matches unpaired surrogates.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/** Number of Unicode code points in `s` (an astral emoji counts 1, not 2). */
export function countCodePoints (s: string): number {
  let n = 0
  for (let i = 0; i < s.length; n++) i += (s.codePointAt(i) ?? 0) > 0xffff ? 2 : 1
  return n
}

/**
 * Returns `text` if it is valid message text; throws {@link InvalidTextError}
 * when it is empty or only white space, has more than `maxCodePoints` code
 * points, or contains an unpaired surrogate (it could not survive UTF-8).
 */
export function validateText (text: unknown, maxCodePoints: number = MAX_TEXT_CODE_POINTS): string {
  if (typeof text !== 'string') throw new InvalidTextError(`text must be a string, got ${typeof text}`)
  if (text.trim() === '') throw new InvalidTextError('text is empty')
  // Cheap bound first: a code point is at least one UTF-16 unit.
  if (text.length > maxCodePoints) {
    const n = countCodePoints(text)
    if (n > maxCodePoints) throw new InvalidTextError(`text has ${n} code points, at most ${maxCodePoints} allowed`)
  }
  if (LONE_SURROGATE.test(text)) throw new InvalidTextError('text contains an unpaired surrogate')
  return text
}
