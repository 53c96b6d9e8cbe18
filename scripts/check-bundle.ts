/**
 * `npm run check:bundle`: everything in `src/` must bundle for a browser
 * (esbuild, `--platform=browser`): no Node built-in (`node:*`, `fs`, ...)
 * may be reached from any module of `src/`. Bundles one entry that imports
 * every module and prints how many; exits 1 with esbuild's
 * errors (which name the importing file) when something does not resolve.
 */
import { readdir } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { build } from 'esbuild'

const root = resolve(import.meta.dirname, '..')

async function modules (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await modules(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path)
  }
  return out.sort()
}

const files = await modules(join(root, 'src'))
const entry = files.map(f => `import './${relative(root, f).replace(/\.ts$/, '.js')}'`).join('\n')
try {
  const result = await build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts', sourcefile: 'every-src-module.ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent'
  })
  // No size here: an entry that only imports modules lets esbuild drop most of them (bench:web measures the app).
  if (result.outputFiles.length !== 1) throw new Error('esbuild wrote no bundle')
  console.log(`src/ bundles for the browser: ${files.length} modules, no Node built-in reached`)
} catch (err) {
  const errors = (err as { errors?: Array<{ text: string, location?: { file: string, line: number } | null }> }).errors ?? []
  console.error('src/ does not bundle for the browser:')
  for (const e of errors) console.error(`  ${e.location != null ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`)
  process.exit(1)
}
