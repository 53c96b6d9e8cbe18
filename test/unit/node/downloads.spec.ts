/**
 * Received files written under the name a peer chose (node/daemon/downloads.ts):
 * that name is hostile input. No path leaves the folder, no control or bidi
 * character reaches a file name, no hidden file, no overlong name, and an
 * existing file is never overwritten.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAX_NAME_BYTES, safeFileName, saveUnderName } from '../../../node/daemon/downloads.js'

describe('node/daemon/downloads: files under their own names', () => {
  it('a hostile name becomes a plain file name', () => {
    const cases: Array<[string, string]> = [
      ['holiday.jpg', 'holiday.jpg'],
      ['../../.bashrc', 'bashrc'],
      ['/etc/passwd', 'passwd'],
      ['..\\..\\win.ini', 'win.ini'],
      ['\x1b[31mred.txt', '_[31mred.txt'],
      ['invoice\u202Egpj.exe', 'invoice_gpj.exe'],
      ['a\nb.txt', 'a_b.txt'],
      ['...', 'attachment'],
      ['', 'attachment']
    ]
    for (const [input, expected] of cases) assert.equal(safeFileName(input), expected, JSON.stringify(input))
    const long = safeFileName('é'.repeat(300) + '.pdf')
    assert.ok(new TextEncoder().encode(long).length <= MAX_NAME_BYTES)
    assert.ok(long.endsWith('.pdf'), 'the extension is kept')
  })

  it('never overwrites: name, then name (1), name (2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'starling-downloads-'))
    try {
      await writeFile(join(dir, 'notes.txt'), 'mine')
      const write = (text: string) => async (path: string) => { await writeFile(path, text, { flag: 'wx' }) }
      assert.equal(await saveUnderName(dir, 'notes.txt', write('a')), join(dir, 'notes (1).txt'))
      assert.equal(await saveUnderName(dir, '../notes.txt', write('b')), join(dir, 'notes (2).txt'))
      assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'mine', 'the existing file is untouched')
      assert.deepEqual((await readdir(dir)).sort(), ['notes (1).txt', 'notes (2).txt', 'notes.txt'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
