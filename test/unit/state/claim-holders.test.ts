// The claim mechanism sync and watch share (src/state/claim-holders.ts, and the claim step of many keys in
// src/submit/claim-step.ts): a dead run's claims are given back at once on the same host, a live run's stay, other
// hosts are left to the lease, and a heartbeat renews a live run's claims.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'
import {test} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {claimLeaseMs, describeHolder, holderName, processAlive, releaseClaimsOfGoneRuns, releaseIfGone, runIsGone, startClaimHeartbeat} from '../../../src/state/claim-holders.ts'
import {openStateStore} from '../../../src/state/state-store.ts'
import {claimImages} from '../../../src/submit/claim-step.ts'
import {manyObservations, observation} from './fixtures/state-fixtures.ts'

const dev = '/home/me/.kube/config#dev'
const day = 86_400_000
const worker = fileURLToPath(new URL('./fixtures/dead-claimer.ts', import.meta.url))

/** A pid that existed and is gone: a child that exited and was reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], {stdio: 'ignore'})
  await new Promise((resolve) => child.on('close', resolve))
  assert.ok(child.pid !== undefined)
  return child.pid
}

/** A state file in which another process (now exited, killed in effect: it never finished its run) claimed `key`. */
async function claimedByDeadProcess(t: {after: (fn: () => Promise<void>) => void}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'claim-holders-'))
  t.after(() => rm(dir, {recursive: true, force: true}))
  const file = path.join(dir, 'state.db')
  const store = openStateStore(file)
  const observer = store.beginRun('sync')
  const [key] = store.recordObservations(observer, dev, [observation({target: dev})]).imageKeys
  assert.ok(key !== undefined)
  store.finishRun(observer, 'succeeded')
  const child = spawn(process.execPath, [worker, file, key], {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  await new Promise((resolve) => child.on('close', resolve))
  const runId = out.trim()
  assert.match(runId, /^[0-9a-f-]{36}$/)
  return {store, key, runId, pid: child.pid!}
}

test('processAlive: this process is, a reaped child is not, nonsense pids are not', async () => {
  assert.equal(processAlive(process.pid), true)
  assert.equal(processAlive(await deadPid()), false)
  assert.equal(processAlive(0), false)
  assert.equal(processAlive(-1), false)
})

test('runIsGone: finished, or unfinished on this host with its process gone; never a run on another host', async () => {
  const base = {id: 'r', command: 'sync', startedAt: 0}
  assert.equal(runIsGone({...base, pid: process.pid, host: hostname()}), false)
  assert.equal(runIsGone({...base, pid: process.pid, host: hostname(), finishedAt: 1}), true)
  const dead = await deadPid()
  assert.equal(runIsGone({...base, pid: dead, host: hostname()}), true)
  assert.equal(runIsGone({...base, pid: dead, host: 'another-host'}), false, 'elsewhere the lease decides')
})

test('the claims of a run whose process is gone are given back at once, and the run is recorded as failed', async (t) => {
  const {store, key, runId, pid} = await claimedByDeadProcess(t)
  t.after(() => store.close())
  const next = store.beginRun('sync')
  const refused = store.claim(key, {runId: next, resubmitAfterMs: day, leaseMs: claimLeaseMs})
  assert.equal(refused.claimed, false, 'the lease alone still protects it')
  assert.deepEqual(store.claimHolders().map((holder) => ({runId: holder.runId, claims: holder.claims})), [{runId, claims: 1}])
  assert.deepEqual(store.claimedKeys(runId), [key])

  const holder = await describeHolder(store, runId, Date.parse('2030-01-01T00:00:00Z'))
  assert.deepEqual(holder, {runId, pid, host: hostname(), until: '2030-01-01T00:00:00.000Z'})
  assert.equal(holderName(holder), `run ${runId} (pid ${pid} on ${hostname()})`)

  const gone = await releaseClaimsOfGoneRuns(store, {self: next})
  assert.deepEqual(gone.map((g) => ({id: g.run.id, keys: g.keys})), [{id: runId, keys: [key]}])
  assert.equal(store.getRun(runId)?.outcome, 'failed')
  assert.deepEqual(store.claimHolders(), [])
  assert.deepEqual(store.claim(key, {runId: next, resubmitAfterMs: day, leaseMs: claimLeaseMs}), {claimed: true, previousState: 'queued'})
  assert.deepEqual(await releaseClaimsOfGoneRuns(store, {self: next}), [], 'a live run (this process) keeps its claims')
  assert.equal(store.getSubmission(key)?.claim?.runId, next)
})

test('releaseIfGone: for a conflict met while claiming; a run on another host is left to its lease', async (t) => {
  const {store, key, runId} = await claimedByDeadProcess(t)
  t.after(() => store.close())
  assert.equal(await releaseIfGone(store, runId, 'another-host'), false)
  assert.equal(store.getSubmission(key)?.claim?.runId, runId)
  assert.equal((await releaseClaimsOfGoneRuns(store, {host: 'another-host'})).length, 0)
  assert.equal(await releaseIfGone(store, runId), true)
  assert.equal(store.getSubmission(key)?.claim, undefined)
  assert.equal(store.getSubmission(key)?.state, 'queued', 'back in the queue for the next run')
  assert.equal(await releaseIfGone(store, 'no-such-run'), false)
})

test('the heartbeat renews a live run\'s claims every third of the lease, until stopped', async (t) => {
  const store = openStateStore(':memory:')
  t.after(() => store.close())
  const run = store.beginRun('sync')
  const [key] = store.recordObservations(run, dev, [observation({target: dev})]).imageKeys
  assert.ok(key !== undefined)
  const leaseMs = 3_000
  store.claim(key, {runId: run, resubmitAfterMs: day, leaseMs})
  const first = store.getSubmission(key)!.claim!.expiresAt
  const heartbeat = startClaimHeartbeat(store, run, leaseMs)
  await sleep(1_300)
  const renewed = store.getSubmission(key)!.claim!.expiresAt
  assert.ok(renewed > first, `renewed: ${renewed} > ${first}`)
  heartbeat.stop()
  await sleep(1_300)
  assert.equal(store.getSubmission(key)!.claim!.expiresAt, renewed, 'no renewal once stopped')
})

test('claimImages (the claim step for many keys): one claimMany, each holder looked up once, the keys of a gone holder claimed again and marked taken over', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'claim-holders-'))
  t.after(() => rm(dir, {recursive: true, force: true}))
  const file = path.join(dir, 'state.db')
  const store = openStateStore(file)
  t.after(() => store.close())
  const observer = store.beginRun('sync')
  const keys = store.recordObservations(observer, dev, manyObservations(6, {target: dev})).imageKeys
  const [deadA, deadB, liveA, liveB, fresh, submitted] = keys as [string, string, string, string, string, string]
  store.finishRun(observer, 'succeeded')
  const child = spawn(process.execPath, [worker, file, deadA, deadB], {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  await new Promise((resolve) => child.on('close', resolve))
  const deadRun = out.trim()
  const live = store.beginRun('watch')
  const options = (runId: string) => ({runId, resubmitAfterMs: day, leaseMs: claimLeaseMs})
  for (const key of [liveA, liveB, submitted]) assert.equal(store.claim(key, options(live)).claimed, true)
  assert.equal(store.markSubmitting(submitted, live), true)
  store.recordSubmitted(submitted, live, {integrationId: 'i', integrationType: 'docker-hub', targetName: 'team/app-5:v1', jobUrl: 'https://api.snyk.io/v1/org/o/integrations/i/import/j'})

  const lookups: string[] = []
  const counting = new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'getRun') return (runId: string) => (lookups.push(runId), target.getRun(runId))
      const value = Reflect.get(target, name, receiver) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
  const me = store.beginRun('sync')
  const claims = await claimImages(counting, keys, options(me))
  assert.deepEqual(claims.get(deadA), {claimed: true, previousState: 'queued', takenOverFrom: deadRun})
  assert.deepEqual(claims.get(deadB), {claimed: true, previousState: 'queued', takenOverFrom: deadRun})
  for (const key of [liveA, liveB]) assert.deepEqual(pick(claims.get(key), ['claimed', 'reason', 'heldBy']), {claimed: false, reason: 'in-flight', heldBy: live})
  assert.deepEqual(claims.get(fresh), {claimed: true})
  assert.deepEqual(pick(claims.get(submitted), ['claimed', 'reason']), {claimed: false, reason: 'recent'})
  assert.deepEqual(lookups.sort(), [deadRun, live].sort(), 'each holder read once, not once per image it holds')
  assert.deepEqual(store.claimedKeys(me), [deadA, deadB, fresh].sort())
})

function pick(value: object | undefined, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((name) => [name, (value as Record<string, unknown> | undefined)?.[name]]))
}
