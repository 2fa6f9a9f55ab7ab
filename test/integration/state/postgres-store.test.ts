// What only the PostgreSQL store has to get right, on a real server: processes creating the schema at the same
// moment, logins refused without the password showing, connections the server drops, a schema from a newer version,
// and TLS (a second server with a certificate from a test CA).
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import pg from 'pg'
import {StateStoreError} from '../../../src/state/state-store-error.ts'
import {openStore} from '../../../src/state/state-store.ts'
import {ClusterPki} from '../../controlplane/pki.ts'
import {PostgresServer} from '../../controlplane/postgres-server.ts'
import {manyObservations, repoRoot} from '../../unit/state/fixtures/state-fixtures.ts'

describe('the PostgreSQL state store', () => {
  let server: PostgresServer
  before(async () => {
    server = await PostgresServer.start()
  })
  after(() => server?.stop())

  const sql = async (url: string, text: string) => {
    const client = new pg.Client({connectionString: url})
    await client.connect()
    try {
      return (await client.query(text)).rows as Array<Record<string, unknown>>
    } finally {
      await client.end()
    }
  }

  it('eight connections opening a new database at once (as processes starting together do) create the schema once, under the advisory lock', async () => {
    const url = await server.createDatabase('racing')
    const stores = await Promise.all(Array.from({length: 8}, () => openStore(url)))
    try {
      assert.deepEqual(await sql(url, 'SELECT version FROM snyk_watch_schema'), [{version: 1}])
      const run = await stores[3]!.beginRun('sync')
      assert.equal((await stores[5]!.getRun(run))?.command, 'sync', 'one schema, seen by all')
    } finally {
      for (const store of stores) await store.close()
    }
  })

  it('a refused login names the server and the fix, with the URL masked and no password', async () => {
    const url = (await server.createDatabase('login')).replace(encodeURIComponent(server.password), 'wrong-secret-pw')
    await assert.rejects(openStore(url), (error: unknown) => {
      assert.ok(error instanceof StateStoreError)
      assert.equal(error.code, 'STATE_STORE_UNREACHABLE')
      assert.match(error.message, new RegExp(`refused the login for postgres://${server.user}:\\*{5}@127\\.0\\.0\\.1:${server.port}/`))
      assert.doesNotMatch(`${error.message} ${error.path} ${error.suggestions.join(' ')}`, /wrong-secret-pw/)
      assert.match(error.suggestions.join(' '), /PGPASSWORD or PGPASSFILE/)
      return true
    })
  })

  it('connections the server drops (a failover, an idle timeout) are replaced: the next calls succeed', async () => {
    const url = await server.createDatabase('dropped')
    const store = await openStore(url)
    try {
      const run = await store.beginRun('watch')
      const keys = (await store.recordObservations(run, 'cluster:a', manyObservations(5, {target: 'cluster:a'}))).imageKeys
      const killed = await sql(server.url(), "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'kubectl-snyk-watch'")
      assert.ok(killed.length > 0, 'the store had connections to drop')
      for (const key of keys) assert.equal((await store.claim(key, {runId: run, resubmitAfterMs: 0, leaseMs: 60_000})).claimed, true)
      assert.equal((await store.claimedKeys(run)).length, 5)
    } finally {
      await store.close()
    }
  })

  it('a database written by a newer version is refused (exit 2), not migrated down', async () => {
    const url = await server.createDatabase('newer')
    await (await openStore(url)).close()
    await sql(url, 'UPDATE snyk_watch_schema SET version = 99')
    await assert.rejects(openStore(url), (error: unknown) => error instanceof StateStoreError && error.code === 'STATE_STORE_TOO_NEW' && error.exitCode === 2 && /schema version 99/.test(error.message))
  })

  it('status --watch on the database: a new document when another process commits (LISTEN/NOTIFY), none while nothing changes', async (t) => {
    const url = await server.createDatabase('live')
    const store = await openStore(url)
    t.after(() => store.close())
    const run = await store.beginRun('sync')
    await store.recordObservations(run, 'cluster:a', manyObservations(2, {target: 'cluster:a', cluster: 'a'}))
    const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'node'), [path.join(repoRoot, 'test', 'helpers', 'status-command.ts'), '--state', url, '--watch', '-o', 'json', '--interval', '100ms'], {stdio: ['ignore', 'pipe', 'pipe']})
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const documents = () => stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as {counts: {images: number}; statePath: string})
    const waitFor = async (what: string, test: () => boolean) => {
      for (const started = Date.now(); !test(); await sleep(25)) if (Date.now() - started > 15_000) assert.fail(`timed out waiting for ${what}; stdout:\n${stdout}\nstderr:\n${stderr}`)
    }
    await waitFor('the first document', () => documents().length === 1)
    assert.equal(documents()[0]?.counts.images, 2)
    assert.match(documents()[0]!.statePath, /^postgres:\/\/snyk_watch_admin:\*{5}@/)
    await sleep(500)
    assert.equal(documents().length, 1, 'nothing new while nothing changes')
    await store.recordObservations(run, 'cluster:b', manyObservations(3, {target: 'cluster:b', cluster: 'b', prefix: 'b'}))
    await waitFor('a document with the new images', () => documents().at(-1)?.counts.images === 5)
    child.kill('SIGINT')
    await new Promise((resolve) => child.once('exit', resolve))
    assert.equal(child.exitCode, 0, stderr)
    assert.ok(!(stdout + stderr).includes(server.password))
  })
})

describe('the PostgreSQL state store over TLS (sslmode, sslrootcert, PGSSLMODE, PGSSLROOTCERT)', () => {
  let server: PostgresServer
  let pki: ClusterPki
  let otherCa: ClusterPki
  let dir: string
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-pg-tls-'))
    for (const name of ['ca', 'other']) await mkdir(path.join(dir, name))
    pki = new ClusterPki(path.join(dir, 'ca'))
    await pki.init('database')
    otherCa = new ClusterPki(path.join(dir, 'other'))
    await otherCa.init('someone-else')
    server = await PostgresServer.start({tls: await pki.issue('postgres', {commonName: 'postgres', server: true})})
  })
  after(async () => {
    await server?.stop()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  /** Whether the server sees an encrypted connection to `database` (one the store holds open). */
  const encryptedConnections = async (database: string): Promise<number> => {
    const client = new pg.Client({connectionString: server.url()})
    await client.connect()
    try {
      const {rows} = await client.query<{n: number}>('SELECT count(*)::int AS n FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE ssl AND datname = $1', [database])
      return rows[0]!.n
    } finally {
      await client.end()
    }
  }

  it('sslmode=verify-full with the CA in the URL: the store works over an encrypted connection', async () => {
    const url = new URL(await server.createDatabase('verified'))
    url.searchParams.set('sslmode', 'verify-full')
    url.searchParams.set('sslrootcert', pki.caCertFile)
    const store = await openStore(url.href)
    try {
      const run = await store.beginRun('sync')
      assert.equal((await store.getRun(run))?.command, 'sync')
      assert.ok((await encryptedConnections(url.pathname.slice(1))) > 0, 'the server sees TLS connections of the store')
    } finally {
      await store.close()
    }
  })

  it("the same from libpq's environment (PGSSLMODE, PGSSLROOTCERT), the URL naming neither", async () => {
    const url = await server.createDatabase('environment')
    const store = await openStore(url, {env: {...process.env, PGSSLMODE: 'verify-full', PGSSLROOTCERT: pki.caCertFile}})
    try {
      await store.beginRun('sync')
      assert.ok((await encryptedConnections(new URL(url).pathname.slice(1))) > 0)
    } finally {
      await store.close()
    }
  })

  it('a certificate from another CA is refused under verify-full: exit 2 from the CLI, with the reason and no password', async () => {
    const url = new URL(await server.createDatabase('untrusted'))
    url.searchParams.set('sslmode', 'verify-full')
    const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'node'), [path.join(repoRoot, 'test', 'helpers', 'status-command.ts'), '--state', url.href], {
      env: {...process.env, PGSSLROOTCERT: otherCa.caCertFile, NO_COLOR: '1'},
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    assert.equal(code, 2, output)
    assert.match(output, /certificate/i)
    assert.match(output, new RegExp(`127\\.0\\.0\\.1:${server.port}`))
    assert.ok(!output.includes(server.password), 'no password in the output')
    assert.doesNotMatch(output, /\n\s+at .+\(.+:\d+:\d+\)/, 'no stack trace')
  })

  it('sslmode=require encrypts without checking the certificate; a server without TLS is refused', async () => {
    const url = new URL(await server.createDatabase('required'))
    url.searchParams.set('sslmode', 'require')
    const store = await openStore(url.href)
    try {
      await store.beginRun('sync')
      assert.ok((await encryptedConnections(url.pathname.slice(1))) > 0)
    } finally {
      await store.close()
    }
    const plain = await PostgresServer.start()
    try {
      const plainUrl = new URL(await plain.createDatabase('plain'))
      plainUrl.searchParams.set('sslmode', 'require')
      await assert.rejects(openStore(plainUrl.href), (error: unknown) => {
        assert.ok(error instanceof StateStoreError)
        assert.equal(error.code, 'STATE_STORE_UNREACHABLE')
        assert.match(error.message, /SSL|TLS/)
        return true
      })
    } finally {
      await plain.stop()
    }
  })
})
