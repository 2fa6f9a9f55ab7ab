// One real Kubernetes control plane for tests: etcd + kube-apiserver on free loopback ports, in a
// temporary directory, with its own CA, RBAC authorization and service-account keys.
import type {ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {request as httpsRequest} from 'node:https'
import {networkInterfaces, tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import type {ControlPlaneBinaries} from './binaries.ts'
import {startProcess, stopProcess, tailOf} from './child-processes.ts'
import {ClusterPki, type IssuedCertificate} from './pki.ts'
import {freePort} from './ports.ts'

export interface LocalClusterOptions {
  name: string
  binaries: ControlPlaneBinaries
  /** Extra kube-apiserver flags, e.g. ['--min-request-timeout=5'] to make watches end often. */
  apiserverArgs?: string[]
  readyTimeoutMs?: number
}

/** kube-apiserver refuses a loopback advertise address; it derives one from the default route when there is one. */
function advertiseAddressArgs(): string[] {
  const candidates = Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal)
  return candidates.length > 0 ? [] : ['--advertise-address=192.0.2.250']
}

export class LocalCluster {
  readonly name: string
  readonly dir: string
  readonly pki: ClusterPki
  readonly binaries: ControlPlaneBinaries
  readonly apiserverPort: number
  readonly etcdPort: number
  private readonly etcdPeerPort: number
  readonly server: string
  /** A client certificate in the system:masters group. */
  admin!: IssuedCertificate
  /** A bearer token of a system:masters user (static token file), for exec plugins and in-cluster tests. */
  readonly adminToken = randomBytes(24).toString('hex')
  private etcd: ChildProcess | undefined
  private apiserver: ChildProcess | undefined
  private readonly apiserverArgs: string[]
  private readonly readyTimeoutMs: number
  private serving!: IssuedCertificate

  private constructor(options: LocalClusterOptions, dir: string, ports: {apiserver: number; etcd: number; etcdPeer: number}) {
    this.name = options.name
    this.dir = dir
    this.binaries = options.binaries
    this.pki = new ClusterPki(dir)
    this.apiserverPort = ports.apiserver
    this.etcdPort = ports.etcd
    this.etcdPeerPort = ports.etcdPeer
    this.server = `https://127.0.0.1:${ports.apiserver}`
    this.apiserverArgs = options.apiserverArgs ?? []
    this.readyTimeoutMs = options.readyTimeoutMs ?? 90_000
  }

  /**
   * Starts a cluster. A port found free can be taken by another process before etcd or kube-apiserver
   * binds it; then the cluster is started again on new ports (three attempts).
   */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await LocalCluster.startOnce(options)
      } catch (error) {
        if (attempt >= 3 || !/address already in use/.test(String(error))) throw error
      }
    }
  }

  private static async startOnce(options: LocalClusterOptions): Promise<LocalCluster> {
    const dir = await mkdtemp(path.join(tmpdir(), `snyk-watch-${options.name}-`))
    const ports = {apiserver: await freePort(), etcd: await freePort(), etcdPeer: await freePort()}
    const cluster = new LocalCluster(options, dir, ports)
    try {
      await cluster.pki.init(options.name)
      cluster.serving = await cluster.pki.issue('apiserver', {commonName: 'kube-apiserver', server: true})
      cluster.admin = await cluster.pki.issue('admin', {commonName: 'test-admin', organizations: ['system:masters']})
      await cluster.startEtcd()
      await cluster.startApiServer()
      return cluster
    } catch (error) {
      await cluster.stop()
      throw error
    }
  }

  get etcdUrl(): string {
    return `http://127.0.0.1:${this.etcdPort}`
  }

  private async startEtcd(): Promise<void> {
    const log = path.join(this.dir, 'etcd.log')
    this.etcd = startProcess(this.binaries.etcd, [
      `--name=${this.name}`,
      `--data-dir=${path.join(this.dir, 'etcd-data')}`,
      `--listen-client-urls=${this.etcdUrl}`,
      `--advertise-client-urls=${this.etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${this.etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${this.etcdPeerPort}`,
      `--initial-cluster=${this.name}=http://127.0.0.1:${this.etcdPeerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ], log)
    await this.waitFor('etcd', this.etcd, log, async () => {
      const response = await fetch(`${this.etcdUrl}/health`, {signal: AbortSignal.timeout(2000)})
      const body = (await response.json()) as {health?: string}
      return body.health === 'true'
    })
  }

  /** Starts kube-apiserver on this cluster's port (again, after stopApiServer, for restart tests). */
  async startApiServer(): Promise<void> {
    const log = path.join(this.dir, 'kube-apiserver.log')
    await writeFile(path.join(this.dir, 'tokens.csv'), `${this.adminToken},token-admin,token-admin-uid,"system:masters"\n`, {mode: 0o600})
    this.apiserver = startProcess(this.binaries.kubeApiserver, [
      `--etcd-servers=${this.etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${this.apiserverPort}`,
      `--cert-dir=${path.join(this.dir, 'apiserver-certs')}`,
      `--tls-cert-file=${this.serving.certFile}`,
      `--tls-private-key-file=${this.serving.keyFile}`,
      `--client-ca-file=${this.pki.caCertFile}`,
      '--authorization-mode=RBAC',
      `--token-auth-file=${path.join(this.dir, 'tokens.csv')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${this.pki.serviceAccountKeyFile}`,
      `--service-account-signing-key-file=${this.pki.serviceAccountKeyFile}`,
      '--disable-admission-plugins=ServiceAccount',
      '--profiling=false',
      ...advertiseAddressArgs(),
      ...this.apiserverArgs,
    ], log)
    await this.waitFor('kube-apiserver', this.apiserver, log, async () => (await this.get('/readyz')).status === 200)
  }

  async stopApiServer(): Promise<void> {
    if (this.apiserver) await stopProcess(this.apiserver)
    this.apiserver = undefined
  }

  /** PIDs of the running processes, for tests that check nothing is left behind. */
  get pids(): number[] {
    return [this.etcd?.pid, this.apiserver?.pid].filter((pid): pid is number => pid !== undefined)
  }

  private async waitFor(what: string, child: ChildProcess, log: string, ready: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${what} of cluster ${this.name} exited (${child.exitCode ?? child.signalCode}) while starting:\n${await tailOf(log)}`)
      }
      if (await ready().catch(() => false)) return
      await sleep(200)
    }
    throw new Error(`${what} of cluster ${this.name} was not ready within ${this.readyTimeoutMs} ms:\n${await tailOf(log)}`)
  }

  /** A GET on the API server as the admin user (or anonymously), verifying its serving certificate. */
  async get(pathname: string, options: {anonymous?: boolean} = {}): Promise<{status: number; body: string}> {
    return new Promise((resolve, reject) => {
      const request = httpsRequest(
        `${this.server}${pathname}`,
        {
          ca: this.pki.caCertPem,
          ...(options.anonymous || !this.admin ? {} : {cert: this.admin.certPem, key: this.admin.keyPem}),
          timeout: 5000,
        },
        (response) => {
          let body = ''
          response.setEncoding('utf8')
          response.on('data', (chunk: string) => (body += chunk))
          response.on('end', () => resolve({status: response.statusCode ?? 0, body}))
        },
      )
      request.on('timeout', () => request.destroy(new Error('timeout')))
      request.on('error', reject)
      request.end()
    })
  }

  /** The version the API server reports at /version. */
  async version(): Promise<string> {
    const {body} = await this.get('/version')
    return (JSON.parse(body) as {gitVersion: string}).gitVersion
  }

  /** Compacts etcd up to its current revision, so that older resourceVersions answer 410 Gone. */
  async compactEtcd(): Promise<number> {
    const range = await fetch(`${this.etcdUrl}/v3/kv/range`, {method: 'POST', body: JSON.stringify({key: Buffer.from('/').toString('base64')})})
    const revision = Number(((await range.json()) as {header: {revision: string}}).header.revision)
    const compaction = await fetch(`${this.etcdUrl}/v3/kv/compaction`, {method: 'POST', body: JSON.stringify({revision: String(revision), physical: true})})
    if (!compaction.ok) throw new Error(`etcd compaction failed: ${compaction.status} ${await compaction.text()}`)
    return revision
  }

  async stop(): Promise<void> {
    await this.stopApiServer()
    if (this.etcd) await stopProcess(this.etcd)
    this.etcd = undefined
    await rm(this.dir, {recursive: true, force: true})
  }

  /** Writes the apiserver log to a file outside the temp dir (for debugging a failed test). */
  async saveLogs(file: string): Promise<void> {
    await writeFile(file, await readFile(path.join(this.dir, 'kube-apiserver.log'), 'utf8').catch(() => ''))
  }
}
