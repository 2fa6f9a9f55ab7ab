// The state store's user-facing errors: a file or a database that cannot be used, with what to do about it.
import {ConfigError} from '../errors.ts'

export type StateStoreErrorCode =
  /** Written by a newer kubectl-snyk-watch (schema version above the one this code knows). */
  | 'STATE_STORE_TOO_NEW'
  /** Not a SQLite database, or damaged. */
  | 'STATE_STORE_UNREADABLE'
  /** Another process held the database locked for longer than the busy timeout. */
  | 'STATE_STORE_BUSY'
  /** Cannot create, open or write the file (permissions, read-only or full file system). */
  | 'STATE_STORE_UNWRITABLE'
  /** This Node.js has no usable node:sqlite (older than 22.16). */
  | 'STATE_STORE_UNSUPPORTED_RUNTIME'
  /** The PostgreSQL server cannot be reached, refuses the login, or has no such database. */
  | 'STATE_STORE_UNREACHABLE'

export class StateStoreError extends ConfigError {
  declare readonly code: StateStoreErrorCode
  /** The state file concerned, or the database's URL with its password masked. */
  readonly path: string

  constructor(message: string, options: {code: StateStoreErrorCode; path: string; suggestions: string[]; cause?: unknown}) {
    super(message, {code: options.code, suggestions: options.suggestions, cause: options.cause})
    this.name = 'StateStoreError'
    this.path = options.path
  }
}

/** SQLite primary result codes we turn into a `StateStoreError`. */
const SQLITE_PERM = 3
const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6
const SQLITE_READONLY = 8
const SQLITE_IOERR = 10
const SQLITE_CORRUPT = 11
const SQLITE_FULL = 13
const SQLITE_CANTOPEN = 14
const SQLITE_NOTADB = 26

function sqliteCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return undefined
  const code = (error as {errcode: unknown}).errcode
  // Extended result codes carry the primary code in the low byte.
  return typeof code === 'number' ? code & 0xff : undefined
}

/** A `StateStoreError` for SQLite errors the user can act on; any other error unchanged. */
export function translateSqliteError(error: unknown, path: string): unknown {
  const detail = error instanceof Error ? error.message : String(error)
  switch (sqliteCode(error)) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return new StateStoreError(`the state database ${path} stayed locked by another process: ${detail}`, {
        code: 'STATE_STORE_BUSY',
        path,
        cause: error,
        suggestions: ['try again when the other kubectl-snyk-watch run has finished', 'or give this run its own state file with --state'],
      })
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return new StateStoreError(`${path} is not a usable kubectl-snyk-watch state database: ${detail}`, {
        code: 'STATE_STORE_UNREADABLE',
        path,
        cause: error,
        suggestions: [`move ${path} aside (the next run starts from an empty state and submits every image again)`, 'or point --state at another file'],
      })
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
      return new StateStoreError(`cannot write the state database ${path}: ${detail}`, {
        code: 'STATE_STORE_UNWRITABLE',
        path,
        cause: error,
        suggestions: ['check that the file and its directory are writable by this user and the file system has free space', 'or point --state at a writable location'],
      })
    default:
      return error
  }
}
