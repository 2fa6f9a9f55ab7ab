// The PostgreSQL state database: a small pool of `pg` (node-postgres) connections shared by the store's parts,
// the database's clock, transactions retried when the database says so (deadlock, serialization failure) or when
// the connection broke before COMMIT was sent, and errors a user can act on (host, reason, fix; never the password).
import pg from 'pg'
import {StateStoreError} from '../state-store-error.ts'
import type {StateStoreOptions} from '../state-store.ts'
import {connectionStringOf, maskedUrl, serverOf} from './location.ts'
import {migratePostgres} from './schema.ts'

/** Milliseconds since the epoch on the database's clock, at the moment the statement runs (not the transaction's start). */
export const dbNow = `(extract(epoch from clock_timestamp()) * 1000)::bigint`

/** What runs queries: the pool (one statement, its own transaction) or a client inside a transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>

export interface PostgresStoreOptions extends StateStoreOptions {
  /** Connections in the pool; default 4 (a sync or watch sends one statement at a time per worker). */
  poolSize?: number
  /** How long to wait for a connection to the server; default 10 s. */
  connectTimeoutMs?: number
  env?: NodeJS.ProcessEnv
}

// bigint (int8: our times, counts) as a JavaScript number: times in ms and counts stay far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

/** SQLSTATEs after which the same transaction may simply be run again: nothing of it was committed. */
const retryableStates = new Set(['40001', '40P01'])

function isConnectionError(error: unknown): boolean {
  const code = (error as {code?: unknown}).code
  if (typeof code === 'string' && (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03')) return true
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true
  const message = error instanceof Error ? error.message : ''
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message)
}

/** A failed TLS handshake or certificate check (Node's and OpenSSL's codes), or a server that offers no TLS. */
function isTlsError(error: unknown): boolean {
  const code = (error as {code?: unknown}).code
  if (typeof code === 'string' && (/^ERR_(TLS|SSL)_/.test(code) || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code))) return true
  return /does not support SSL/i.test(error instanceof Error ? error.message : '')
}

/** A `StateStoreError` for a database that cannot be reached or used; other errors unchanged. */
export function translatePostgresError(error: unknown, url: string, env: NodeJS.ProcessEnv = process.env): unknown {
  if (error instanceof StateStoreError) return error
  const shown = maskedUrl(url)
  const server = serverOf(url, env)
  const code = (error as {code?: unknown}).code
  const detail = error instanceof Error ? error.message : String(error)
  if (code === '28P01' || code === '28000') {
    return new StateStoreError(`the PostgreSQL server at ${server} refused the login for ${shown}: ${detail}`, {
      code: 'STATE_STORE_UNREACHABLE',
      path: shown,
      cause: error,
      suggestions: ['check the user and password (in the URL, PGPASSWORD or PGPASSFILE)', 'and that pg_hba.conf lets this host in'],
    })
  }
  if (code === '3D000') {
    return new StateStoreError(`the database of ${shown} does not exist on ${server}: ${detail}`, {
      code: 'STATE_STORE_UNREACHABLE',
      path: shown,
      cause: error,
      suggestions: ['create it (createdb, or CREATE DATABASE) and grant this user CREATE on it', 'or point --state at another database'],
    })
  }
  if (isTlsError(error)) {
    return new StateStoreError(`the TLS connection to the PostgreSQL state database at ${server} (${shown}) failed: ${detail}`, {
      code: 'STATE_STORE_UNREACHABLE',
      path: shown,
      cause: error,
      suggestions: [
        "sslmode=verify-full (and verify-ca) needs the CA that signed the server's certificate: sslrootcert=FILE in the URL, or PGSSLROOTCERT",
        'verify-full also needs a host name (or IP) the certificate names; sslmode=require encrypts without checking the certificate',
        'a server without TLS: enable ssl on it, or use sslmode=prefer',
      ],
    })
  }
  if (isConnectionError(error)) {
    return new StateStoreError(`cannot reach the PostgreSQL state database at ${server} (${shown}): ${detail}`, {
      code: 'STATE_STORE_UNREACHABLE',
      path: shown,
      cause: error,
      suggestions: ['check that the server is running and reachable from here (host, port, firewall, sslmode)', 'or use a local state file: --state ~/.local/state/kubectl-snyk-watch/state.db'],
    })
  }
  if (code === '42501') {
    return new StateStoreError(`the PostgreSQL user of ${shown} may not change the state tables: ${detail}`, {
      code: 'STATE_STORE_UNWRITABLE',
      path: shown,
      cause: error,
      suggestions: ['grant the user CREATE on the database and ownership of its tables (the first run creates them)'],
    })
  }
  return error
}

/**
 * Opens a pool on `url`, checks that the server answers and applies the schema's migrations (under an advisory
 * lock: processes starting together apply each migration once).
 * @throws StateStoreError when the server cannot be reached, refuses the login, or holds a newer schema.
 */
export async function openPostgresConnection(url: string, options: PostgresStoreOptions = {}): Promise<PostgresConnection> {
  const env = options.env ?? process.env
  const pool = new pg.Pool({
    connectionString: connectionStringOf(url, env),
    max: options.poolSize ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'kubectl-snyk-watch',
    types,
  })
  // An idle connection the server drops (restart, failover) must not crash the process: the pool discards it.
  pool.on('error', () => {})
  const connection = new PostgresConnection(pool, url, options.clock, env)
  try {
    await connection.transaction((q) => migratePostgres(q, maskedUrl(url)), {retries: 0})
  } catch (error) {
    await pool.end().catch(() => {})
    throw translatePostgresError(error, url, env)
  }
  return connection
}

/** The pool and the clock the store's parts share. */
export class PostgresConnection {
  /** The URL with its password masked: what users see. */
  readonly path: string
  readonly #url: string
  readonly #pool: pg.Pool
  readonly #clock: (() => number) | undefined
  readonly #env: NodeJS.ProcessEnv
  #closed = false

  constructor(pool: pg.Pool, url: string, clock: (() => number) | undefined, env: NodeJS.ProcessEnv) {
    this.#pool = pool
    this.#url = url
    this.path = maskedUrl(url)
    this.#clock = clock
    this.#env = env
  }

  /** The connection string (password included) for a dedicated connection: LISTEN needs one of its own. */
  get connectionString(): string {
    return connectionStringOf(this.#url, this.#env)
  }

  /** The clock given to the store (tests), else null: statements then read the database's clock (`dbNow`). */
  fixedNow(): number | null {
    return this.#clock === undefined ? null : Math.floor(this.#clock())
  }

  /** `coalesce($n, <database clock>)`: the time a statement writes or compares. */
  nowParam(index: number): string {
    return `coalesce($${index}::bigint, ${dbNow})`
  }

  async now(q: Queryable = this.#pool): Promise<number> {
    const fixed = this.fixedNow()
    if (fixed !== null) return fixed
    const {rows} = await this.query<{now: number}>(`SELECT ${dbNow} AS now`, [], q)
    return rows[0]!.now
  }

  /** One statement in its own transaction (on the pool), or in the caller's (`q`). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], q: Queryable = this.#pool): Promise<pg.QueryResult<R>> {
    try {
      return await q.query<R>(sql, params)
    } catch (error) {
      throw translatePostgresError(error, this.#url, this.#env)
    }
  }

  /**
   * `fn` in one transaction on one connection. Run again (up to `retries` times) after a deadlock or serialization
   * failure, or when the connection broke before COMMIT was sent: in those cases nothing of it was committed. A
   * connection lost during COMMIT is not retried (it may have committed): the error goes to the caller.
   */
  async transaction<T>(fn: (q: Queryable) => Promise<T>, {retries = 3, isolation = 'READ COMMITTED'}: {retries?: number; isolation?: string} = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient | undefined
      let committing = false
      try {
        client = await this.#pool.connect()
        await client.query(`BEGIN ISOLATION LEVEL ${isolation}`)
        const result = await fn(client)
        committing = true
        await client.query('COMMIT')
        client.release()
        return result
      } catch (error) {
        const broken = isConnectionError(error)
        if (client !== undefined) {
          if (broken) client.release(true)
          else {
            await client.query('ROLLBACK').catch(() => {})
            client.release()
          }
        }
        const code = (error as {code?: unknown}).code
        const again = attempt < retries && !committing && (retryableStates.has(String(code)) || broken)
        if (!again) throw translatePostgresError(error, this.#url, this.#env)
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt + Math.random() * 20))
      }
    }
  }

  /** A read-only transaction on one snapshot (REPEATABLE READ): a report's queries agree with each other. */
  async snapshot<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.transaction(fn, {isolation: 'REPEATABLE READ READ ONLY'})
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#pool.end()
  }
}
