// The two state store backends, opened the way the CLI opens them (`openStore` with a path or a postgres:// URL):
// the embedded SQLite file and a real PostgreSQL server (test/controlplane/postgres-server.ts). The contract tests
// run once per backend and use only the StateStore seam.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {PostgresServer} from '../../controlplane/postgres-server.ts'
import {openStore, type StateStore, type StateStoreOptions} from '../../../src/state/state-store.ts'

export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres'
  /** A new, empty store location (a file path, or a database URL). */
  location(): Promise<string>
  /** Stops what the backend started. */
  stop(): Promise<void>
}

export interface StoreLocation {
  readonly location: string
  /** Another connection to the same store (as another process would open it). */
  open(options?: StateStoreOptions): Promise<StateStore>
}

export function sqliteBackend(): StoreBackend {
  const dir = mkdtempSync(path.join(tmpdir(), 'snyk-watch-contract-'))
  let files = 0
  return {
    name: 'sqlite',
    location: async () => path.join(dir, `state-${++files}.db`),
    stop: async () => rmSync(dir, {recursive: true, force: true}),
  }
}

export async function postgresBackend(): Promise<StoreBackend & {server: PostgresServer}> {
  const server = await PostgresServer.start()
  return {name: 'postgres', server, location: () => server.createDatabase(), stop: () => server.stop()}
}

/** Every backend, started once for a test file; `stop` them in `after`. */
export async function allBackends(): Promise<StoreBackend[]> {
  return [sqliteBackend(), await postgresBackend()]
}

/** A fresh store location of `backend`, and a first store on it closed after the test. */
export async function freshStore(backend: StoreBackend, t: {after: (fn: () => Promise<void> | void) => void}, options: StateStoreOptions = {}): Promise<{store: StateStore; at: StoreLocation}> {
  const location = await backend.location()
  const opened: StateStore[] = []
  t.after(async () => {
    for (const store of opened) await store.close()
  })
  const at: StoreLocation = {
    location,
    open: async (more = {}) => {
      const store = await openStore(location, more)
      opened.push(store)
      return store
    },
  }
  return {store: await at.open(options), at}
}
