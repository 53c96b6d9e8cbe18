/**
 * How the messenger's parts write: through one group-commit writer, so that
 * a message, its session states and its outbox entries land in one batch
 * (synced unless said otherwise), in call order. A failed write drops the
 * cached sessions it carried, so that their next use reads what is on disk.
 */
import type { BatchOp, GroupCommitWriter } from '../store/index.js'
import type { Sessions } from './sessions.js'

/** Options of a {@link Commit}. */
export interface CommitOptions {
  /** Written without fsync (for writes whose loss only means work done again); default synced. */
  sync?: boolean
  /** Called once the batch is queued: the sessions' next states may be made now (they commit after these). */
  release?: Array<() => void>
}

/** Commits a batch; on failure the cached sessions of `sessionKeys` are dropped. */
export type Commit = (ops: BatchOp[], sessionKeys?: Uint8Array[], options?: CommitOptions) => Promise<void>

/** The {@link Commit} of a writer and the sessions it writes. */
export function committer (writer: Pick<GroupCommitWriter, 'commit'>, sessions: Pick<Sessions, 'forget'>): Commit {
  return async (ops, sessionKeys = [], options = {}) => {
    try {
      const written = writer.commit(ops, options)
      for (const release of options.release ?? []) release()
      await written
    } catch (err) {
      for (const key of sessionKeys) sessions.forget(key)
      throw err
    }
  }
}
