// `status --watch` in a child process of its own, over a state store that this test changes through the store's
// API, as sync or watch would from another process: a new frame (or JSON line) on each change and only then,
// and Ctrl+C (SIGINT) ends it with exit 0. stdout is a pipe, not a terminal: frames are printed one after another.
import assert from 'node:assert/strict'
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import type {ImageObservation} from '../../src/models/image.ts'
import type {SqliteStateStore} from '../../src/state/sqlite/sqlite-state-store.ts'
import {openStateStore} from '../../src/state/state-store.ts'
import type {StatusResult} from '../../src/status/status-result.ts'
import {listImages} from '../helpers/sqlite-store-reads.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const target = '/home/me/.kube/config#dev'
const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`

function observation(pod: string, repository: string, tag: string, n: number, extra: Partial<ImageObservation> = {}): ImageObservation {
  return {target, cluster: 'dev', namespace: 'shop', pod, container: 'c', containerKind: 'container', workload: {kind: 'Deployment', name: pod}, reference: `${repository}:${tag}`, image: {registry: 'docker.io', repository, tag}, runningDigest: digest(n), ...extra}
}

/** The command in a child process, with its stdout collected. */
class LiveStatus {
  readonly child: ChildProcessWithoutNullStreams
  stdout = ''
  stderr = ''
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>

  constructor(args: string[]) {
    this.child = spawn(path.join(root, 'node_modules', '.bin', 'node'), [path.join(root, 'test', 'helpers', 'status-command.ts'), ...args], {env: {...process.env, NO_COLOR: '1'}})
    this.child.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()))
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({code, signal})))
  }

  /** Waits until stdout matches `test` (10 s at most). */
  async waitFor(what: string, test: (stdout: string) => boolean): Promise<void> {
    for (const started = Date.now(); !test(this.stdout); await sleep(25)) {
      if (Date.now() - started > 10_000) assert.fail(`timed out waiting for ${what}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`)
      if (this.child.exitCode !== null) assert.fail(`exited ${this.child.exitCode} before ${what}; stderr:\n${this.stderr}`)
    }
  }

  async interrupt(): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
    this.child.kill('SIGINT')
    return this.exited
  }
}

const frames = (stdout: string): string[] => stdout.split(/\n(?=┌)/).filter((frame) => frame.startsWith('┌'))

describe('status --watch, a child process over a store another process writes', () => {
  let dir: string
  let state: string
  let store: SqliteStateStore
  let run: string
  const live: LiveStatus[] = []

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-status-watch-'))
    state = path.join(dir, 'state.db')
    store = openStateStore(state)
    run = store.beginRun('watch')
    store.recordObservations(run, target, [observation('web', 'library/nginx', '1.27', 1), observation('api', 'acme/api', '2.1-fips', 2)])
  })
  after(async () => {
    for (const status of live) if (status.child.exitCode === null) status.child.kill('SIGKILL')
    store.close()
    await rm(dir, {recursive: true, force: true})
  })

  const start = (args: string[]): LiveStatus => {
    const status = new LiveStatus(['--state', state, '--watch', '--interval', '100ms', ...args])
    live.push(status)
    return status
  }

  it('prints a frame, a new one when the store changes and none while it does not, and exits 0 on SIGINT', async () => {
    const status = start([])
    await status.waitFor('the first frame', (out) => /2 images, .* 1 FIPS/.test(out))
    assert.equal(frames(status.stdout).length, 1)
    assert.ok(!status.stdout.includes('\u001b['), 'no terminal control sequences when stdout is not a terminal')

    // Another process records a new pod and claims an image: the next poll sees the commit.
    store.recordObservations(run, target, [observation('cache', 'bitnami/redis', '7.2', 3)], {mode: 'merge'})
    const [nginxKey] = listImages(store).map((image) => image.key)
    store.claim(nginxKey!, {runId: run, resubmitAfterMs: 0, leaseMs: 60_000})
    await status.waitFor('a frame with the new image', (out) => /3 images, 0 monitored, 1 pending/.test(out))
    const latest = frames(status.stdout).at(-1)!
    assert.match(latest, /docker\.io\/bitnami\/redis/)
    assert.match(latest, /│ docker\.io\/acme\/api\s+│ 2\.1-fips\s+│ 000000000000 │ yes/)

    // A commit that changes nothing shown (a claim's lease renewed) and an idle store draw nothing new.
    const drawn = frames(status.stdout).length
    store.extendClaims(run, 120_000)
    await sleep(600)
    assert.equal(frames(status.stdout).length, drawn)

    const {code, signal} = await status.interrupt()
    assert.equal(signal, null, status.stderr)
    assert.equal(code, 0, status.stderr)
    assert.equal(status.stderr, '')
  })

  it('-o json: one document per line, a new one per change', async () => {
    const status = start(['-o', 'json'])
    await status.waitFor('the first document', (out) => out.endsWith('\n'))
    const first = JSON.parse(status.stdout.split('\n')[0]!) as StatusResult
    assert.equal(first.command, 'status')
    store.forgetPod(target, 'shop', 'cache')
    await status.waitFor('a second document', (out) => out.split('\n').length >= 3)
    const documents = status.stdout.trim().split('\n').map((line) => JSON.parse(line) as StatusResult)
    assert.equal(documents.at(-1)!.counts.images, first.counts.images - 1)
    assert.deepEqual((await status.interrupt()).code, 0)
  })

  it('refuses --fail-on, --refresh and --sbom with a usage error (exit 2)', async () => {
    for (const flag of [['--fail-on', 'high'], ['--refresh'], ['--sbom', dir]]) {
      const status = start(flag)
      const {code} = await status.exited
      assert.equal(code, 2, flag.join(' '))
      assert.match(status.stderr, new RegExp(`--watch cannot be used with ${flag[0]}`))
      assert.equal(status.stdout, '')
    }
  })
})
