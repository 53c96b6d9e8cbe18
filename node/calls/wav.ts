/**
 * WAV files for CLI calls: read any 16-bit PCM WAV (mono or stereo, any
 * rate) as 48 kHz mono, which is what a call sends (10 ms frames of 480
 * samples, Opus inside @roamhq/wrtc); write 48 kHz mono 16-bit.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises'

/** The sample rate of call audio. */
export const CALL_SAMPLE_RATE = 48_000

/** Largest WAV file read (about 10 minutes of 48 kHz stereo). */
export const MAX_WAV_BYTES = 128 * 1024 * 1024

/** A file that is not a WAV file this reads; the message is one line naming the file. */
export class WavFormatError extends Error {
  override readonly name = 'WavFormatError'
}

/** Linear resampling of mono 16-bit samples. */
export function resample (samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return samples
  const out = new Int16Array(Math.floor(samples.length * to / from))
  for (let i = 0; i < out.length; i++) {
    const x = i * from / to
    const i0 = Math.floor(x)
    const i1 = Math.min(i0 + 1, samples.length - 1)
    const t = x - i0
    out[i] = Math.round(samples[i0] * (1 - t) + samples[i1] * t)
  }
  return out
}

/** Parses WAV bytes into 48 kHz mono samples; `name` is for messages. */
export function parseWav (bytes: Uint8Array, name: string): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const tag = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4))
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new WavFormatError(`${name} is not a WAV file (no RIFF/WAVE header)`)
  let format: { channels: number, rate: number, bits: number, code: number } | undefined
  let at = 12
  while (at + 8 <= bytes.byteLength) {
    const id = tag(at)
    const size = view.getUint32(at + 4, true)
    const body = at + 8
    if (body + size > bytes.byteLength && id !== 'data') throw new WavFormatError(`${name}: the ${id.trim()} chunk runs past the end of the file`)
    if (id === 'fmt ') {
      if (size < 16) throw new WavFormatError(`${name}: the fmt chunk is too short`)
      format = { code: view.getUint16(body, true), channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) }
    } else if (id === 'data') {
      if (format == null) throw new WavFormatError(`${name}: the data chunk comes before the fmt chunk`)
      // 0xFFFE (extensible) carries plain PCM too; its sub-format is not checked here.
      if (format.code !== 1 && format.code !== 0xfffe) throw new WavFormatError(`${name}: only PCM WAV files are supported (format ${format.code})`)
      if (format.bits !== 16) throw new WavFormatError(`${name}: only 16-bit samples are supported, got ${format.bits}-bit`)
      if (format.channels < 1 || format.channels > 8) throw new WavFormatError(`${name}: ${format.channels} channels`)
      if (format.rate < 8000 || format.rate > 192_000) throw new WavFormatError(`${name}: sample rate ${format.rate} Hz is not supported (8,000 to 192,000)`)
      const end = Math.min(bytes.byteLength, body + size)
      const frames = Math.floor((end - body) / (2 * format.channels))
      if (frames === 0) throw new WavFormatError(`${name} holds no audio`)
      const mono = new Int16Array(frames)
      for (let i = 0; i < frames; i++) {
        let sum = 0
        for (let c = 0; c < format.channels; c++) sum += view.getInt16(body + (i * format.channels + c) * 2, true)
        mono[i] = Math.round(sum / format.channels)
      }
      return resample(mono, format.rate, CALL_SAMPLE_RATE)
    }
    at = body + size + (size % 2)
  }
  throw new WavFormatError(`${name}: no audio data chunk`)
}

/** Reads a WAV file as 48 kHz mono; one-line WavFormatError for anything else (missing file included). */
export async function readWav (path: string): Promise<Int16Array> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new WavFormatError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  if (bytes.byteLength > MAX_WAV_BYTES) throw new WavFormatError(`${path} is larger than ${MAX_WAV_BYTES / 1024 / 1024} MiB`)
  return parseWav(bytes, path)
}

/** 48 kHz mono 16-bit WAV bytes. */
export function encodeWav (samples: Int16Array, rate = CALL_SAMPLE_RATE): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2)
  const view = new DataView(out.buffer)
  const put = (at: number, s: string): void => { for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i) }
  put(0, 'RIFF'); view.setUint32(4, 36 + samples.length * 2, true); put(8, 'WAVE')
  put(12, 'fmt '); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true)
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true)
  put(36, 'data'); view.setUint32(40, samples.length * 2, true)
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + i * 2, samples[i], true)
  return out
}

/**
 * Writes 48 kHz mono samples as a WAV file, whole or not at all: written
 * beside it and renamed over it, so that a reader (a script waiting for the
 * recording of a call) never sees it empty or cut short.
 */
export async function writeWav (path: string, samples: Int16Array): Promise<void> {
  const partial = `${path}.${process.pid}.partial`
  try {
    await writeFile(partial, encodeWav(samples))
    await rename(partial, path)
  } catch (err) {
    await rm(partial, { force: true })
    throw err
  }
}

/** A sine tone, for tests and benchmarks. */
export function tone (frequency: number, seconds: number, amplitude = 8000): Int16Array {
  const out = new Int16Array(Math.round(seconds * CALL_SAMPLE_RATE))
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin(2 * Math.PI * frequency * i / CALL_SAMPLE_RATE))
  return out
}

/** The power at `frequency` (Goertzel), to tell which tone a recording holds. */
export function goertzel (samples: Int16Array, frequency: number, rate = CALL_SAMPLE_RATE): number {
  const k = 2 * Math.cos(2 * Math.PI * frequency / rate)
  let s1 = 0
  let s2 = 0
  for (const x of samples) {
    const s0 = x + k * s1 - s2
    s2 = s1
    s1 = s0
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2
}
