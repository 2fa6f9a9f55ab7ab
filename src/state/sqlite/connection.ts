// The SQLite state database: opening it (private file, WAL, migrations, runtime check) and the one connection the
// store's parts share: its clock, prepared statements, read and write transactions.
//
// node:sqlite prints an ExperimentalWarning on Node 22 when it is first loaded. It is loaded lazily, here, so
// importing the store's modules (for types or `defaultStatePath`) prints nothing; bin/run.js filters the warning
// for the CLI, and tests tolerate it.
import {closeSync, mkdirSync, openSync} from 'node:fs'
import path from 'node:path'
import type {DatabaseSync, SQLInputValue, StatementSync} from 'node:sqlite'
import {latestSchemaVersion, migrate, schemaVersion} from '../migrations.ts'
import type {StateStoreOptions} from '../state-store.ts'
import {StateStoreError, translateSqliteError} from '../state-store-error.ts'

/**
 * Opens (creating it if needed) the state database at `file`, or `:memory:`. New directories get mode 0700, a
 * new file 0600 (SQLite gives its -wal and -shm files the same mode). Applies pending schema migrations.
 * @throws StateStoreError when the file was written by a newer version, is not a state database, or cannot be written.
 */
export function openSqliteConnection(file: string, options: StateStoreOptions = {}): SqliteConnection {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new TypeError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`)
  const {DatabaseSync} = loadSqlite(file)
  if (file !== ':memory:') createPrivateFile(file)
  let db: DatabaseSync
  try {
    db = new DatabaseSync(file, {timeout: busyTimeoutMs, enableForeignKeyConstraints: true})
  } catch (error) {
    throw translateSqliteError(error, file)
  }
  try {
    db.exec('PRAGMA journal_mode = WAL')
    // In WAL mode NORMAL never corrupts the file; a power loss (not a process crash) may lose the last commits.
    db.exec('PRAGMA synchronous = NORMAL')
    db.exec('PRAGMA foreign_keys = ON')
    const version = schemaVersion(db)
    if (version > latestSchemaVersion) {
      throw new StateStoreError(`the state database ${file} has schema version ${version}, written by a newer kubectl-snyk-watch; this version understands up to ${latestSchemaVersion}`, {
        code: 'STATE_STORE_TOO_NEW',
        path: file,
        suggestions: ['upgrade kubectl-snyk-watch (kubectl krew upgrade snyk-watch, or npm install -g kubectl-snyk-watch@latest)', 'or point --state at another file'],
      })
    }
    migrate(db)
  } catch (error) {
    db.close()
    throw translateSqliteError(error, file)
  }
  return new SqliteConnection(db, file, options.clock ?? Date.now)
}

/**
 * node:sqlite, loaded on first use. Needs Node.js 22.16 or later: the busy timeout option and array rows
 * (`setReturnArrays`) appeared there; before 22.13 the module also needed a flag.
 */
function loadSqlite(file: string): typeof import('node:sqlite') {
  const sqlite = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite') | undefined
  if (sqlite === undefined || typeof sqlite.StatementSync.prototype.setReturnArrays !== 'function') {
    throw new StateStoreError(`the state store needs Node.js 22.16 or later with node:sqlite; this is Node.js ${process.version}`, {
      code: 'STATE_STORE_UNSUPPORTED_RUNTIME',
      path: file,
      suggestions: ['upgrade Node.js to 22.16 or later', 'or install the single-executable build (kubectl krew install snyk-watch), which bundles its own Node.js'],
    })
  }
  return sqlite
}

function createPrivateFile(file: string): void {
  try {
    mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
    closeSync(openSync(file, 'wx', 0o600))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return
    throw new StateStoreError(`cannot create the state database ${file}: ${(error as Error).message}`, {
      code: 'STATE_STORE_UNWRITABLE',
      path: file,
      cause: error,
      suggestions: ['check that the directory is writable by this user', 'or point --state at a writable location'],
    })
  }
}


/** One connection to the SQLite state database, shared by the store's parts: the clock, prepared statements, transactions. */
export class SqliteConnection {
  /** The database file (or `:memory:`). */
  readonly path: string
  readonly #db: DatabaseSync
  readonly #clock: () => number
  readonly #statements = new Map<string, StatementSync>()
  readonly #arrayStatements = new Map<string, StatementSync>()

  /** Use `openSqliteConnection`. */
  constructor(db: DatabaseSync, file: string, clock: () => number) {
    this.#db = db
    this.path = file
    this.#clock = clock
  }

  /** The schema version of the open database. */
  get schemaVersion(): number {
    return schemaVersion(this.#db)
  }

  /** A cheap number that changes whenever another connection (another process) commits to the store: poll it to see changes. */
  dataVersion(): number {
    try {
      return Number(this.statement('PRAGMA data_version').get()?.['data_version'])
    } catch (error) {
      throw translateSqliteError(error, this.path)
    }
  }

  /** Closes the database (idempotent). */
  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }

  now(): number {
    return Math.floor(this.#clock())
  }

  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#db.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  /** A statement whose rows are arrays of column values, in select-list order. */
  arrayStatement(sql: string): StatementSync {
    let statement = this.#arrayStatements.get(sql)
    if (statement === undefined) {
      statement = this.#db.prepare(sql)
      statement.setReturnArrays(true)
      this.#arrayStatements.set(sql, statement)
    }
    return statement
  }

  /** One statement in its own (implicit) transaction. */
  run(sql: string, ...params: SQLInputValue[] | [Record<string, SQLInputValue>]): {changes: number | bigint} {
    try {
      return this.statement(sql).run(...(params as SQLInputValue[]))
    } catch (error) {
      throw translateSqliteError(error, this.path)
    }
  }

  /** `fn` in a read transaction: its queries see one snapshot, even while other processes write. */
  read<T>(fn: () => T): T {
    if (this.#db.isTransaction) return fn()
    try {
      this.#db.exec('BEGIN')
    } catch (error) {
      throw translateSqliteError(error, this.path)
    }
    try {
      return fn()
    } catch (error) {
      throw translateSqliteError(error, this.path)
    } finally {
      if (this.#db.isTransaction) this.#db.exec('COMMIT')
    }
  }

  /** `fn` in a BEGIN IMMEDIATE transaction: takes the write lock up front (waiting up to the busy timeout), so no other process can interleave. */
  write<T>(fn: () => T): T {
    try {
      this.#db.exec('BEGIN IMMEDIATE')
    } catch (error) {
      throw translateSqliteError(error, this.path)
    }
    try {
      const result = fn()
      this.#db.exec('COMMIT')
      return result
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw translateSqliteError(error, this.path)
    }
  }
}
