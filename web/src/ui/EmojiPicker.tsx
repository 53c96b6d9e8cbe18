/**
 * The full emoji picker, for reactions and the composer: every emoji by
 * group, a search by name and keyword, usable by keyboard alone (arrow keys
 * move in the grid, Enter picks, Escape closes and gives focus back). It is
 * its own chunk, loaded the first time a picker opens (LazyEmojiPicker.tsx),
 * and its data is /emoji-data.json, served by Starling (scripts/build-web.ts).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'

type Entry = [emoji: string, name: string, keywords: string, version: string]
interface Group { id: string, name: string, emoji: Entry[] }
interface EmojiData { groups: Group[] }

/** The page's emoji font first (style.css), as the grid draws them. */
const EMOJI_FONT = '24px "Starling Emoji", sans-serif'
/** Columns of the grid (arrow up and down move by this many). */
const COLUMNS = 8
/** Search results shown at most. */
const MAX_RESULTS = 120

let loading: Promise<EmojiData> | undefined

/** The picker's data, fetched once per page. */
async function emojiData (): Promise<EmojiData> {
  loading ??= fetch('/emoji-data.json').then(async (res) => {
    if (!res.ok) throw new Error(`emoji data: HTTP ${res.status}`)
    return await res.json() as EmojiData
  })
  try {
    return await loading
  } catch (err) {
    loading = undefined
    throw err
  }
}

/**
 * Unicode versions whose emoji this browser's fonts draw: the first emoji
 * of each version is drawn on a canvas; drawn in colour and one glyph wide
 * means the font has it (a missing one is a monochrome box, a missing ZWJ
 * sequence two glyphs).
 */
function drawableVersions (groups: Group[]): Set<string> {
  const samples = new Map<string, string>()
  for (const g of groups) for (const e of g.emoji) if (!samples.has(e[3])) samples.set(e[3], e[0])
  const out = new Set<string>()
  const canvas = document.createElement('canvas')
  canvas.width = canvas.height = 40
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  if (ctx == null) return new Set(samples.keys())
  ctx.font = EMOJI_FONT
  ctx.textBaseline = 'top'
  const oneGlyph = ctx.measureText('😀').width
  for (const [version, emoji] of samples) {
    ctx.clearRect(0, 0, 40, 40)
    ctx.fillText(emoji, 0, 0)
    const px = ctx.getImageData(0, 0, 40, 40).data
    let colour = false
    for (let i = 0; i < px.length && !colour; i += 4) colour = px[i + 3] > 0 && (Math.abs(px[i] - px[i + 1]) > 30 || Math.abs(px[i + 1] - px[i + 2]) > 30)
    if (colour && ctx.measureText(emoji).width < oneGlyph * 1.5) out.add(version)
  }
  return out
}

interface Props {
  /** What the picker is for, read by screen readers ("React to the message", "Add an emoji"). */
  label: string
  onPick(emoji: string): void
  onClose(): void
}

/** The picker, as a non-modal dialog. */
export function EmojiPicker ({ label, onPick, onClose }: Props) {
  const [data, setData] = useState<Group[]>()
  const [error, setError] = useState<string>()
  const [group, setGroup] = useState(0)
  const [query, setQuery] = useState('')
  const [active, setActive] = useState(0)
  const grid = useRef<HTMLDivElement>(null)
  const search = useRef<HTMLInputElement>(null)
  useEffect(() => {
    emojiData().then(async (d) => {
      // The canvas draws with the emoji font only once the page has loaded it.
      await document.fonts.load(EMOJI_FONT, '😀').catch(() => [])
      const versions = drawableVersions(d.groups)
      setData(d.groups.map(g => ({ ...g, emoji: g.emoji.filter(e => versions.has(e[3])) })))
    }).catch((err: Error) => { setError(err.message) })
    search.current?.focus()
  }, [])
  const shown = useMemo((): Entry[] => {
    if (data == null) return []
    const q = query.trim().toLowerCase()
    if (q === '') return data[group]?.emoji ?? []
    const words = q.split(/\s+/)
    const out: Entry[] = []
    for (const g of data) {
      for (const e of g.emoji) {
        const text = `${e[1]} ${e[2]}`
        if (words.every(w => text.includes(w))) out.push(e)
        if (out.length >= MAX_RESULTS) return out
      }
    }
    return out
  }, [data, group, query])
  useEffect(() => { setActive(0) }, [group, query])
  const focusCell = (i: number): void => {
    const next = Math.max(0, Math.min(shown.length - 1, i))
    setActive(next)
    const el = grid.current?.querySelectorAll<HTMLButtonElement>('button')[next]
    el?.focus()
    el?.scrollIntoView({ block: 'nearest' })
  }
  const onGridKey = (e: KeyboardEvent): void => {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS, Home: -active, End: shown.length }
    const step = moves[e.key]
    if (step === undefined) return
    e.preventDefault()
    focusCell(active + step)
  }
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.preventDefault()
      e.stopPropagation()
      onClose()
    }
  }
  return (
    <div class="emoji-picker" role="dialog" aria-label={label} onKeyDown={onKey}>
      <label class="sr-only" for="emoji-search">Search emoji</label>
      <input id="emoji-search" ref={search} type="search" placeholder="Search emoji" autoComplete="off" value={query}
        onInput={(e) => { setQuery(e.currentTarget.value) }}
        onKeyDown={(e) => { if (e.key === 'ArrowDown' && shown.length > 0) { e.preventDefault(); focusCell(0) } }} />
      {data != null && query.trim() === '' && (
        <div class="emoji-groups" role="group" aria-label="Emoji groups">
          {data.map((g, i) => (
            <button key={g.id} type="button" class="emoji-group" aria-pressed={i === group} aria-label={g.name} title={g.name} onClick={() => { setGroup(i) }}>
              {g.emoji[0]?.[0]}
            </button>
          ))}
        </div>
      )}
      {error != null && <p role="alert" class="error">Emoji could not be loaded: {error}</p>}
      {data == null && error == null && <p role="status" class="hint">Loading emoji…</p>}
      {data != null && (
        <div ref={grid} class="emoji-grid" role="group" aria-label={query.trim() === '' ? data[group]?.name : `Emoji matching ${query.trim()}`} onKeyDown={onGridKey}>
          {shown.map((e, i) => (
            <button key={e[0]} type="button" class="emoji-cell" tabIndex={i === active ? 0 : -1} aria-label={e[1]} title={e[1]} data-emoji={e[0]}
              onClick={() => { onPick(e[0]) }} onFocus={() => { setActive(i) }}>
              {e[0]}
            </button>
          ))}
          {shown.length === 0 && <p class="hint">No emoji match.</p>}
        </div>
      )}
      <button type="button" class="link emoji-close" onClick={onClose}>Close</button>
    </div>
  )
}
