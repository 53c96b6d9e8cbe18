/** Chunk index ranges: the receiver's "what I still need", half-open [start, end). */
import { MAX_CHUNK_INDEX, MAX_RANGES } from './constants.js'
import { AttachmentProtocolError } from './errors.js'

/** Chunks start..end-1. */
export interface ChunkRange {
  start: number
  end: number
}

/** Ascending distinct indices to the fewest ranges. */
export function toRanges (indices: Iterable<number>): ChunkRange[] {
  const ranges: ChunkRange[] = []
  for (const i of indices) {
    const last = ranges[ranges.length - 1]
    if (last !== undefined && i < last.end) throw new RangeError(`indices must ascend without repeats: ${i} after ${last.end - 1}`)
    if (last !== undefined && last.end === i) last.end = i + 1
    else ranges.push({ start: i, end: i + 1 })
  }
  return ranges
}

/** Throws AttachmentProtocolError unless ranges are 1..`maxRanges` ascending, non-empty, non-overlapping, within bounds. */
export function checkRanges (ranges: readonly ChunkRange[], maxRanges: number = MAX_RANGES): void {
  if (ranges.length === 0) throw new AttachmentProtocolError('request names no chunks')
  if (ranges.length > maxRanges) throw new AttachmentProtocolError(`request has ${ranges.length} ranges, over ${maxRanges}`)
  let previousEnd = 0
  for (const r of ranges) {
    if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start >= r.end || r.end > MAX_CHUNK_INDEX) {
      throw new AttachmentProtocolError(`bad range ${r.start}..${r.end}`)
    }
    if (r.start < previousEnd) throw new AttachmentProtocolError('ranges must ascend without overlapping')
    previousEnd = r.end
  }
}

/** Every index of the ranges, in order. */
export function * rangeIndices (ranges: readonly ChunkRange[]): Generator<number> {
  for (const r of ranges) {
    for (let i = r.start; i < r.end; i++) yield i
  }
}

/** How many indices the ranges cover. */
export function rangeSize (ranges: readonly ChunkRange[]): number {
  return ranges.reduce((n, r) => n + r.end - r.start, 0)
}
