/**
 * Handle names: `[a-z0-9_]{3,30}`, optionally followed by `~tag` (see
 * tag.ts). The input must be plain ASCII BEFORE any case folding: only the
 * ASCII letters A-Z are folded to a-z. Anything that could make two handles
 * look the same on screen (letters from other scripts, compatibility forms,
 * the Kelvin sign, invisible or bidi characters) is refused with an
 * {@link InvalidHandleError} that says why in plain words.
 *
 * Why "ASCII before folding": `"\u212A".toLowerCase()` is `"k"`, so folding
 * first would let the Kelvin sign through as a second spelling of "k".
 */
import { InvalidHandleError } from './errors.js'
import type { HandleErrorReason } from './errors.js'

/** Fewest characters in a handle name. */
export const HANDLE_NAME_MIN_LENGTH = 3
/** Most characters in a handle name. */
export const HANDLE_NAME_MAX_LENGTH = 30
/** Characters in a tag (base32, 5 bits each: 50 bits). */
export const HANDLE_TAG_LENGTH = 10
/** Separates the name from the tag in the canonical form `name~tag`. */
export const HANDLE_TAG_SEPARATOR = '~'

/** Inputs longer than this are refused before looking at each character. */
const MAX_INPUT_LENGTH = 256

/** A parsed handle: a canonical (lower-case) name and, if given, its tag. */
export interface Handle {
  name: string
  tag?: string
}

// Bidi controls: embeddings/overrides U+202A-202E, isolates U+2066-2069,
// LRM/RLM U+200E/U+200F, Arabic letter mark U+061C (Unicode UAX #9).
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u
// Zero-width space/joiner/non-joiner, word joiner, BOM, soft hyphen, variation
// selectors, Hangul fillers...: everything Unicode marks as ignorable.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u
const WHITE_SPACE = /\p{White_Space}/u
const CONTROL = /\p{Cc}/u
const MARK = /\p{M}/gu
const ASCII_WORD = /^[A-Za-z0-9_]+$/
const NAME_CHAR = /^[A-Za-z0-9_]$/
const TAG_CHARS = /^[a-z2-7]+$/

/**
 * The letters of other scripts most often passed off as Latin ones (a small
 * subset of Unicode's confusables.txt; NFKC covers fullwidth, mathematical and
 * other compatibility forms).
 */
const CONFUSABLES: Record<string, string> = {
  // Cyrillic
  а: 'a', в: 'b', е: 'e', о: 'o', р: 'p', с: 'c', у: 'y', х: 'x', і: 'i', ј: 'j', ѕ: 's', ԁ: 'd', һ: 'h', ԛ: 'q', ԝ: 'w', ӏ: 'l', ь: 'b', п: 'n', т: 't', к: 'k', м: 'm', н: 'h',
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', Х: 'X', І: 'I', Ј: 'J', Ѕ: 'S', У: 'Y', Ү: 'Y', Ԁ: 'D', Ԛ: 'Q', Ԝ: 'W',
  // Greek
  α: 'a', ο: 'o', ν: 'v', ρ: 'p', ι: 'i', κ: 'k', υ: 'u', χ: 'x', ε: 'e', γ: 'y', τ: 't',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
  // Latin letters that are not ASCII and do not decompose to it
  ı: 'i', ȷ: 'j', ɑ: 'a', ɡ: 'g', ɩ: 'i', ʏ: 'y', ᴀ: 'A', ᴄ: 'C', ᴅ: 'D', ᴇ: 'E', ᴋ: 'K', ᴍ: 'M', ᴏ: 'O', ᴘ: 'P', ᴛ: 'T', ᴜ: 'U', ᴠ: 'V', ᴡ: 'W', ᴢ: 'Z', ø: 'o'
}

const NAMED: Record<number, string> = {
  0x212a: 'the Kelvin sign',
  0x212b: 'the Angstrom sign',
  0x0131: 'the dotless i'
}

const SCRIPTS = ['Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Coptic'] as const
const SCRIPT_RE = SCRIPTS.map(s => [s, new RegExp(`\\p{Script=${s}}`, 'u')] as const)

function hex (cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`
}

/** What a non-ASCII character is, and which ASCII it imitates, if any. */
function describeLookalike (ch: string, cp: number): { what: string, latin: string } | undefined {
  const nfkc = ch.normalize('NFKC')
  const stripped = ch.normalize('NFKD').replace(MARK, '')
  let latin: string | undefined
  let what: string | undefined
  if (ASCII_WORD.test(nfkc)) {
    latin = nfkc
    if (cp >= 0xff00 && cp <= 0xffef) what = 'a fullwidth character'
    else if (cp >= 0x1d400 && cp <= 0x1d7ff) what = 'a mathematical symbol'
    else what = 'a compatibility character'
  } else if (ASCII_WORD.test(stripped)) {
    latin = stripped
    what = 'a letter with an accent or other mark'
  } else if (CONFUSABLES[ch] != null) {
    latin = CONFUSABLES[ch]
  }
  if (latin == null) return undefined
  what = NAMED[cp] ?? what
  if (what == null) {
    const script = SCRIPT_RE.find(([, re]) => re.test(ch))?.[0]
    what = script != null ? `a ${script} letter` : 'a letter that is not plain ASCII'
  }
  return { what, latin }
}

function fail (reason: HandleErrorReason, message: string, codePoint?: number): never {
  throw new InvalidHandleError(reason, message, codePoint)
}

const ALLOWED_TEXT = 'handles use only the ASCII letters a-z, the digits 0-9 and "_"'

/**
 * Refuses any character that is not ASCII A-Z, a-z, 0-9 or "_", saying why.
 * `part` names the part of the handle in the message ("name" or "tag").
 */
function checkCharacters (input: string, part: string): void {
  let position = 0
  for (const ch of input) {
    position++
    const cp = ch.codePointAt(0) ?? 0
    const at = `character ${position} of the ${part} (${hex(cp)})`
    if (BIDI_CONTROL.test(ch)) {
      fail('bidi-control', `${at} is a right-to-left or other text-direction control, which can make a handle display as something else; ${ALLOWED_TEXT}`, cp)
    }
    if (WHITE_SPACE.test(ch)) {
      fail('whitespace', `${at} is white space; ${ALLOWED_TEXT}`, cp)
    }
    if (INVISIBLE.test(ch)) {
      fail('invisible', `${at} is an invisible character (zero-width, joiner, soft hyphen or similar); ${ALLOWED_TEXT}`, cp)
    }
    if (cp > 0x7f) {
      const look = describeLookalike(ch, cp)
      if (look != null) {
        const letters = look.latin.length === 1 ? `the Latin letter "${look.latin}"` : `the Latin letters "${look.latin}"`
        fail('lookalike', `${at} is ${look.what}, which looks like ${letters} but is not it; ${ALLOWED_TEXT}`, cp)
      }
      fail('non-ascii', `${at} is not plain ASCII; ${ALLOWED_TEXT}`, cp)
    }
    if (CONTROL.test(ch)) {
      fail('invalid-character', `${at} is a control character; ${ALLOWED_TEXT}`, cp)
    }
    if (!NAME_CHAR.test(ch)) {
      fail('invalid-character', `${at} is "${ch}", which is not allowed; ${ALLOWED_TEXT}`, cp)
    }
  }
}

/**
 * Checks a handle name and returns its canonical (lower-case) form.
 *
 * @throws {InvalidHandleError} with a `reason` and a plain-words message
 */
export function validateHandleName (input: string): string {
  if (input.length > MAX_INPUT_LENGTH) {
    fail('too-long', `a handle name has at most ${HANDLE_NAME_MAX_LENGTH} characters`)
  }
  checkCharacters(input, 'name')
  if (input.length < HANDLE_NAME_MIN_LENGTH) {
    fail('too-short', `a handle name has at least ${HANDLE_NAME_MIN_LENGTH} characters, this one has ${input.length}`)
  }
  if (input.length > HANDLE_NAME_MAX_LENGTH) {
    fail('too-long', `a handle name has at most ${HANDLE_NAME_MAX_LENGTH} characters, this one has ${input.length}`)
  }
  // Safe: every character is ASCII here, so only A-Z change.
  return input.toLowerCase()
}

/**
 * Checks a tag (10 characters of lower-case base32, `[a-z2-7]`; ASCII upper
 * case is folded) and returns its canonical form.
 *
 * @throws {InvalidHandleError}
 */
export function validateHandleTag (input: string): string {
  if (input.length > MAX_INPUT_LENGTH) {
    fail('invalid-tag', `a tag has exactly ${HANDLE_TAG_LENGTH} characters`)
  }
  checkCharacters(input, 'tag')
  const tag = input.toLowerCase()
  if (tag.length !== HANDLE_TAG_LENGTH) {
    fail('invalid-tag', `a tag has exactly ${HANDLE_TAG_LENGTH} characters, this one has ${tag.length}`)
  }
  if (!TAG_CHARS.test(tag)) {
    fail('invalid-tag', 'a tag uses only the letters a-z and the digits 2-7')
  }
  return tag
}

/**
 * Parses `name` or `name~tag` into its canonical parts.
 *
 * @example
 * ```ts
 * parseHandle('Alice~abcdefgh23') // { name: 'alice', tag: 'abcdefgh23' }
 * ```
 * @throws {InvalidHandleError}
 */
export function parseHandle (input: string): Handle {
  const at = input.indexOf(HANDLE_TAG_SEPARATOR)
  if (at === -1) return { name: validateHandleName(input) }
  const name = validateHandleName(input.slice(0, at))
  const tag = validateHandleTag(input.slice(at + 1))
  return { name, tag }
}

/**
 * The canonical text of a handle: `name~tag`, or `name` alone when no tag is given.
 *
 * @throws {InvalidHandleError} if either part is invalid
 */
export function formatHandle (name: string, tag?: string): string {
  const canonical = validateHandleName(name)
  if (tag == null) return canonical
  return `${canonical}${HANDLE_TAG_SEPARATOR}${validateHandleTag(tag)}`
}

/** True if `input` is a valid handle name or `name~tag`. */
export function isValidHandle (input: string): boolean {
  try {
    parseHandle(input)
    return true
  } catch (err) {
    if (err instanceof InvalidHandleError) return false
    throw err
  }
}
