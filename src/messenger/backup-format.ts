/**
 * The encrypted backup file (backup.ts says what it holds), with the files
 * of attachments streamed after the contents: writing and restoring hold
 * one frame (at most {@link FRAME_DATA_BYTES}) and one chunk at a time, so
 * a backup with 200 MB of files never needs 200 MB of memory.
 *
 * Format, version 3:
 *   header:   "STBK" | u8 version | u8 logN | u8 r | u8 p | 16 salt | 12 nonce
 *   contents: u32 n | AES-256-GCM(key, nonce, payload, aad = header)          (n bytes)
 *   frames:   u32 n | AES-256-GCM(fileKey, nonce = u96 frame number, frame,
 *                                  aad = header | u8 last)                     (n bytes each)
 *   frame:    u8 type | body. 1 file: its 16-byte attachment id, then the
 *             file's bytes follow; 2 data: bytes of the current file; 3 end
 *             (the last frame, and only it has last = 1): u32 number of files.
 * key = scrypt(passphrase, salt); fileKey = HKDF-SHA256(key, salt,
 * "starling backup v3 files"), a key of its own so that counter nonces
 * never meet the contents' random one. Frames are numbered and the last one
 * is marked: a frame moved, dropped, repeated or a file cut short fails.
 * Each restored file is checked against its descriptor's SHA-256.
 * Versions 1 and 2 (still read): header | AES-256-GCM(payload) to the end
 * of the file, no files.
 */
import { derivePasswordKey, DEFAULT_SCRYPT_PARAMS, checkScryptParams } from '../crypto/password-kdf.js'
import type { ScryptParams } from '../crypto/password-kdf.js'
import type { Crypto } from '../crypto/index.js'
import { chunkCount, chunkLength } from './attachments/crypto.js'
import type { BlobStore } from './attachments/index.js'
import type { AttachmentDescriptor } from './model/index.js'
import { descriptorOfEntry } from './attachment-records.js'
import { BackupError, MAX_BACKUP_BYTES, encodeBackupPayload, parseBackupPayload } from './backup.js'
import type { BackupContents } from './backup.js'
import { ByteReader, oneChunk } from './byte-reader.js'
import { concat, toHex, utf8 } from './bytes.js'

const MAGIC = [0x53, 0x54, 0x42, 0x4b] // "STBK"
/** The version written. */
export const BACKUP_VERSION = 3
const HEADER = 4 + 1 + 3 + 16 + 12
/** Most file bytes in one frame. */
export const FRAME_DATA_BYTES = 256 * 1024
/** Largest frame read: type, data, AES-GCM tag. */
const MAX_FRAME_CIPHERTEXT = 1 + FRAME_DATA_BYTES + 16
const FILES_INFO = utf8('starling backup v3 files')

const FRAME_FILE = 1
const FRAME_DATA = 2
const FRAME_END = 3

/** Options of {@link writeBackup}. */
export interface BackupWriteOptions {
  params?: ScryptParams
  /** The files to include (complete attachments, see {@link backupFileIds}) and where they are. */
  files?: { blobs: BlobStore, ids: Uint8Array[] }
}

/** The attachments of `contents` whose bytes are whole in `blobs`: what a backup with files holds. */
export async function backupFileIds (contents: BackupContents, blobs: BlobStore): Promise<Uint8Array[]> {
  const ids: Uint8Array[] = []
  for (const e of contents.entries) {
    if (e.namespace !== 'dedup') continue
    const d = descriptorOfEntry(e.key, e.value)
    if (d != null && await blobs.isComplete(d.id)) ids.push(d.id)
  }
  return ids
}

function u32 (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

function frameNonce (n: number): Uint8Array {
  const nonce = new Uint8Array(12)
  new DataView(nonce.buffer).setUint32(8, n)
  new DataView(nonce.buffer).setUint32(4, Math.floor(n / 2 ** 32))
  return nonce
}

/**
 * The backup file, piece by piece: the header and contents first, then the
 * files read from the blob store one piece at a time.
 */
export async function * writeBackup (crypto: Crypto, contents: BackupContents, passphrase: string, options: BackupWriteOptions = {}): AsyncGenerator<Uint8Array> {
  if (passphrase === '') throw new BackupError('a backup needs a passphrase')
  const params = options.params ?? DEFAULT_SCRYPT_PARAMS
  checkScryptParams(params)
  const salt = crypto.randomBytes(16)
  const nonce = crypto.randomBytes(12)
  const header = concat(new Uint8Array([...MAGIC, BACKUP_VERSION, params.logN, params.r, params.p]), salt, nonce)
  const key = await derivePasswordKey(passphrase, salt, params)
  const fileKey = crypto.hash.hkdf(key, salt, FILES_INFO, 32)
  try {
    const sealed = await crypto.aead.encrypt(key, nonce, encodeBackupPayload(contents), header)
    yield concat(header, u32(sealed.length), sealed)
    let n = 0
    const frame = async (type: number, body: Uint8Array, last = false): Promise<Uint8Array> => {
      const c = await crypto.aead.encrypt(fileKey, frameNonce(n++), concat(new Uint8Array([type]), body), concat(header, new Uint8Array([last ? 1 : 0])))
      return concat(u32(c.length), c)
    }
    const files = options.files
    for (const id of files?.ids ?? []) {
      yield await frame(FRAME_FILE, id)
      for await (const piece of files?.blobs.read(id) ?? []) {
        for (let at = 0; at < piece.length; at += FRAME_DATA_BYTES) yield await frame(FRAME_DATA, piece.subarray(at, at + FRAME_DATA_BYTES))
      }
    }
    yield await frame(FRAME_END, u32(files?.ids.length ?? 0), true)
  } finally {
    key.fill(0)
    fileKey.fill(0)
  }
}

/** A whole backup without files, in memory (small backups, tests). */
export async function encodeBackup (crypto: Crypto, contents: BackupContents, passphrase: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<Uint8Array> {
  const pieces: Uint8Array[] = []
  for await (const piece of writeBackup(crypto, contents, passphrase, { params })) pieces.push(piece)
  return concat(...pieces)
}

/** A backup opened: its contents, and its files still to read. */
export interface OpenedBackup {
  version: number
  contents: BackupContents
  /**
   * Reads the files into `blobs`, each checked against its descriptor
   * (in the contents); resolves with how many. BackupError for a damaged
   * or cut-short file. Version 1 and 2 backups hold none.
   */
  restoreFiles(blobs: BlobStore): Promise<number>
}

/** Opens a backup of version 1, 2 or 3 from its bytes in pieces; BackupError for a wrong passphrase or a damaged file. */
export async function openBackup (crypto: Crypto, source: AsyncIterable<Uint8Array>, passphrase: string): Promise<OpenedBackup> {
  const reader = new ByteReader(source)
  const header = await reader.read(HEADER)
  if (header == null || MAGIC.some((b, i) => header[i] !== b)) throw new BackupError('not a Starling backup')
  const version = header[4]
  if (version !== 1 && version !== 2 && version !== 3) throw new BackupError(`backup version ${version} is not supported`)
  const params: ScryptParams = { logN: header[5], r: header[6], p: header[7] }
  try {
    checkScryptParams(params)
  } catch (err) {
    throw new BackupError(`backup has bad KDF parameters: ${(err as Error).message}`)
  }
  let sealed: Uint8Array | undefined
  if (version === 3) {
    const length = await reader.read(4)
    const n = length == null ? 0 : new DataView(length.buffer).getUint32(0)
    sealed = n >= 16 && n <= MAX_BACKUP_BYTES ? await reader.read(n) : undefined
  } else {
    sealed = await reader.rest(MAX_BACKUP_BYTES)
  }
  if (sealed == null || sealed.length < 16) throw new BackupError('not a Starling backup, or cut short')
  const salt = header.subarray(8, 24)
  const key = await derivePasswordKey(passphrase, salt, params)
  let payload: Uint8Array
  try {
    payload = await crypto.aead.decrypt(key, header.subarray(24, 36), sealed, header)
  } catch {
    key.fill(0)
    throw new BackupError('wrong passphrase, or the backup is damaged')
  }
  const fileKey = crypto.hash.hkdf(key, salt, FILES_INFO, 32)
  key.fill(0)
  const contents = parseBackupPayload(payload, version)
  const restoreFiles = async (blobs: BlobStore): Promise<number> => {
    try {
      return version === 3 ? await readFiles(crypto, reader, header, fileKey, contents, blobs) : 0
    } finally {
      fileKey.fill(0)
    }
  }
  return { version, contents, restoreFiles }
}

/** Decrypts and parses a backup held in memory (its files, if any, are not read). */
export async function decodeBackup (crypto: Crypto, bytes: Uint8Array, passphrase: string): Promise<BackupContents> {
  return (await openBackup(crypto, oneChunk(bytes), passphrase)).contents
}

/** The file being restored: its descriptor, the chunk being filled. */
interface Current {
  d: AttachmentDescriptor
  index: number
  chunk: Uint8Array
  filled: number
}

async function readFiles (crypto: Crypto, reader: ByteReader, header: Uint8Array, fileKey: Uint8Array, contents: BackupContents, blobs: BlobStore): Promise<number> {
  const descriptors = new Map<string, AttachmentDescriptor>()
  for (const e of contents.entries) {
    const d = e.namespace === 'dedup' ? descriptorOfEntry(e.key, e.value) : undefined
    if (d != null) descriptors.set(toHex(d.id), d)
  }
  let current: Current | undefined
  let files = 0
  for (let n = 0; ; n++) {
    const length = await reader.read(4)
    const size = length == null ? 0 : new DataView(length.buffer).getUint32(0)
    const sealed = size >= 17 && size <= MAX_FRAME_CIPHERTEXT ? await reader.read(size) : undefined
    if (sealed == null) throw new BackupError('the backup is cut short: its files are incomplete')
    const frame = await openFrame(crypto, fileKey, n, sealed, header)
    const body = frame.bytes.subarray(1)
    switch (frame.bytes[0]) {
      case FRAME_FILE: {
        await finish(current, blobs)
        const d = descriptors.get(toHex(body))
        if (body.length !== 16 || d == null) throw new BackupError('the backup holds a file that no message describes')
        current = { d, index: 0, chunk: new Uint8Array(chunkLength(d, 0)), filled: 0 }
        files++
        await putFull(current, blobs)
        break
      }
      case FRAME_DATA:
        if (current == null) throw new BackupError('the backup holds file bytes outside a file')
        await append(current, body, blobs)
        break
      case FRAME_END:
        if (!frame.last || body.length !== 4 || new DataView(body.buffer, body.byteOffset).getUint32(0) !== files) throw new BackupError('the backup\'s list of files is damaged')
        await finish(current, blobs)
        if (!(await reader.atEnd())) throw new BackupError('the backup has bytes after its end')
        return files
      default:
        throw new BackupError('the backup holds an unknown kind of frame')
    }
  }
}

async function openFrame (crypto: Crypto, fileKey: Uint8Array, n: number, sealed: Uint8Array, header: Uint8Array): Promise<{ bytes: Uint8Array, last: boolean }> {
  // The last frame is the end frame: try it as not-last first (every other frame is).
  for (const last of [false, true]) {
    try {
      return { bytes: await crypto.aead.decrypt(fileKey, frameNonce(n), sealed, concat(header, new Uint8Array([last ? 1 : 0]))), last }
    } catch {
      // Not this flag (or damaged): the other one, then the error below.
    }
  }
  throw new BackupError(`the backup is damaged (file frame ${n})`)
}

/** Stores the chunks of `c` that are full (an empty file's one empty chunk at once). */
async function putFull (c: Current, blobs: BlobStore): Promise<void> {
  const count = chunkCount(c.d)
  while (c.index < count && c.filled === c.chunk.length) {
    await blobs.putChunk(c.d.id, c.index, c.chunk)
    c.index++
    c.chunk = new Uint8Array(c.index < count ? chunkLength(c.d, c.index) : 0)
    c.filled = 0
  }
}

async function append (c: Current, data: Uint8Array, blobs: BlobStore): Promise<void> {
  let at = 0
  while (at < data.length) {
    if (c.index >= chunkCount(c.d)) throw new BackupError(`the backup holds more bytes of ${c.d.fileName} than its ${c.d.size}`)
    const take = Math.min(data.length - at, c.chunk.length - c.filled)
    c.chunk.set(data.subarray(at, at + take), c.filled)
    c.filled += take
    at += take
    await putFull(c, blobs)
  }
}

async function finish (c: Current | undefined, blobs: BlobStore): Promise<void> {
  if (c == null) return
  try {
    await blobs.markComplete(c.d.id, c.d)
  } catch (err) {
    throw new BackupError(`the backup's copy of ${c.d.fileName} is damaged or incomplete: ${(err as Error).message}`, { cause: err })
  }
}
