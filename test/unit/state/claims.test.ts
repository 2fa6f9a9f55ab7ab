// Claims: which run submits which image, so no image is submitted twice and nothing found is lost.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import type {ClaimResult} from '../../../src/state/records.ts'
import {openStateStore, type StateStore} from '../../../src/state/state-store.ts'
import {manyObservations, observation} from './fixtures/state-fixtures.ts'
import {lastRun, listImages} from '../../helpers/sqlite-store-reads.ts'

const dev = '/home/me/.kube/config#dev'
const hour = 3_600_000
const day = 24 * hour
const lease = 10 * 60_000

function setup(t: {after: (fn: () => void) => void}) {
  let now = 1_700_000_000_000
  const store = openStateStore(':memory:', {clock: () => now})
  t.after(() => store.close())
  const observer = store.beginRun('sync')
  const [key] = store.recordObservations(observer, dev, [observation({target: dev})]).imageKeys
  assert.ok(key !== undefined)
  return {store, key, advance: (ms: number) => (now += ms), now: () => now}
}

/** Why a claim was refused; undefined when it was granted. */
function reasonOf(result: ClaimResult): string | undefined {
  return result.claimed ? undefined : result.reason
}

function submit(store: StateStore, key: string, runId: string): void {
  assert.equal(store.markSubmitting(key, runId), true)
  store.recordSubmitted(key, runId, {integrationId: 'int-1', integrationType: 'docker-hub', targetName: 'library/nginx:1.25', jobUrl: 'https://api.snyk.io/v1/org/o/integrations/int-1/import/job-1'})
}

test('a new image is claimed, and not again by another run while the claim holds', (t) => {
  const {store, key, now} = setup(t)
  const a = store.beginRun('sync')
  const b = store.beginRun('watch')
  assert.deepEqual(store.claim(key, {runId: a, resubmitAfterMs: day, leaseMs: lease}), {claimed: true})
  assert.deepEqual(store.claim(key, {runId: b, resubmitAfterMs: day, leaseMs: lease}), {claimed: false, reason: 'in-flight', heldBy: a, expiresAt: now() + lease})
  assert.deepEqual(store.claim(key, {runId: a, resubmitAfterMs: day, leaseMs: lease}), {claimed: false, reason: 'in-flight', heldBy: a, expiresAt: now() + lease}, 'the same run does not queue it twice either')
  assert.equal(store.getSubmission(key)?.state, 'queued')
})

test('a submitted image is not resubmitted before resubmit-after, and is after', (t) => {
  const {store, key, advance, now} = setup(t)
  const first = store.beginRun('sync')
  assert.equal(store.claim(key, {runId: first, resubmitAfterMs: day, leaseMs: lease}).claimed, true)
  submit(store, key, first)
  store.recordMonitored(key, {projects: [{id: 'proj-1', name: 'library/nginx:1.25', url: 'https://app.snyk.io/org/o/project/proj-1'}]})
  const submittedAt = now()
  const submission = store.getSubmission(key)
  assert.equal(submission?.state, 'monitored')
  assert.equal(submission.attempts, 1)
  assert.equal(submission.claim, undefined, 'the claim is released once submitted')
  assert.deepEqual(submission.projects, [{id: 'proj-1', name: 'library/nginx:1.25', url: 'https://app.snyk.io/org/o/project/proj-1'}])

  advance(hour)
  const second = store.beginRun('sync')
  assert.deepEqual(store.claim(key, {runId: second, resubmitAfterMs: day, leaseMs: lease}), {claimed: false, reason: 'recent', submittedAt, resubmitAt: submittedAt + day})

  advance(day)
  const third = store.beginRun('sync')
  assert.deepEqual(store.claim(key, {runId: third, resubmitAfterMs: day, leaseMs: lease}), {claimed: true, previousState: 'monitored'})
  submit(store, key, third)
  assert.equal(store.getSubmission(key)?.attempts, 2)
  assert.deepEqual(store.getSubmission(key)?.projects.map((p) => p.id), ['proj-1'], 'the projects of the previous import stay until the new one completes')
})

test('a failed image is retried by the next run, not by the run that failed it', (t) => {
  const {store, key, advance} = setup(t)
  const first = store.beginRun('sync')
  store.claim(key, {runId: first, resubmitAfterMs: day, leaseMs: lease})
  assert.equal(store.markSubmitting(key, first), true)
  store.recordFailed(key, first, {error: 'Snyk answered 503 Service Unavailable', retryable: true})
  const failed = store.getSubmission(key)
  assert.equal(failed?.state, 'failed')
  assert.deepEqual(failed.error, {message: 'Snyk answered 503 Service Unavailable', retryable: true})
  assert.equal(failed.claim, undefined)
  assert.deepEqual(store.claim(key, {runId: first, resubmitAfterMs: day, leaseMs: lease}), {claimed: false, reason: 'failed-recently', at: failed.updatedAt})

  advance(60_000)
  const next = store.beginRun('sync')
  assert.deepEqual(store.claim(key, {runId: next, resubmitAfterMs: day, leaseMs: lease}), {claimed: true, previousState: 'failed'})
  submit(store, key, next)
  const submitted = store.getSubmission(key)
  assert.equal(submitted?.state, 'submitted')
  assert.equal(submitted.error, undefined, 'the old error is cleared')
  assert.equal(submitted.attempts, 2)
})

test('a long-running watch retries its own failures after retryAfterMs', (t) => {
  const {store, key, advance} = setup(t)
  const watch = store.beginRun('watch')
  const options = {runId: watch, resubmitAfterMs: day, leaseMs: lease, retryAfterMs: 15 * 60_000}
  store.claim(key, options)
  store.recordFailed(key, watch, {error: 'timed out', retryable: true})
  advance(60_000)
  assert.equal(store.claim(key, options).claimed, false)
  advance(15 * 60_000)
  assert.equal(store.claim(key, options).claimed, true)
})

test('a skipped image is reconsidered by the next run (its integration may exist now)', (t) => {
  const {store, key} = setup(t)
  const first = store.beginRun('sync')
  store.claim(key, {runId: first, resubmitAfterMs: day, leaseMs: lease})
  store.recordSkipped(key, first, {reason: 'no Snyk integration for docker.io in org acme', fix: 'add a Docker Hub integration in Snyk, or pass --integration docker.io=<id>'})
  assert.deepEqual(store.getSubmission(key)?.skip, {reason: 'no Snyk integration for docker.io in org acme', fix: 'add a Docker Hub integration in Snyk, or pass --integration docker.io=<id>'})
  assert.equal(reasonOf(store.claim(key, {runId: first, resubmitAfterMs: day, leaseMs: lease})), 'skipped-recently')
  const next = store.beginRun('sync')
  assert.deepEqual(store.claim(key, {runId: next, resubmitAfterMs: day, leaseMs: lease}), {claimed: true, previousState: 'skipped'})
})

test('an expired claim (its run was killed) is taken over; the old run then learns it lost it', (t) => {
  const {store, key, advance} = setup(t)
  const crashed = store.beginRun('sync')
  store.claim(key, {runId: crashed, resubmitAfterMs: day, leaseMs: lease})
  advance(lease - 1)
  const next = store.beginRun('sync')
  assert.equal(reasonOf(store.claim(key, {runId: next, resubmitAfterMs: day, leaseMs: lease})), 'in-flight')
  advance(1)
  assert.deepEqual(store.claim(key, {runId: next, resubmitAfterMs: day, leaseMs: lease}), {claimed: true, takenOverFrom: crashed, previousState: 'queued'})
  assert.equal(store.markSubmitting(key, crashed), false, 'a run that lost its claim must not send the import')
  assert.equal(store.markSubmitting(key, next), true)
})

test('markSubmitting and extendClaims renew the lease of a live run', (t) => {
  const {store, key, advance} = setup(t)
  const slow = store.beginRun('watch')
  const other = store.beginRun('sync')
  store.claim(key, {runId: slow, resubmitAfterMs: day, leaseMs: lease})
  advance(lease - 1_000)
  assert.equal(store.extendClaims(slow, lease), 1)
  advance(lease - 1_000)
  assert.equal(store.markSubmitting(key, slow, {leaseMs: lease}), true)
  advance(lease - 1_000)
  assert.equal(reasonOf(store.claim(key, {runId: other, resubmitAfterMs: day, leaseMs: lease})), 'in-flight')
})

test('release gives a claim back so the next run takes it at once', (t) => {
  const {store, key} = setup(t)
  const interrupted = store.beginRun('sync')
  store.claim(key, {runId: interrupted, resubmitAfterMs: day, leaseMs: lease})
  store.markSubmitting(key, interrupted)
  assert.equal(store.release(key, 'someone-else'), false)
  assert.equal(store.release(key, interrupted), true)
  const released = store.getSubmission(key)
  assert.equal(released?.state, 'queued')
  assert.equal(released.claim, undefined)
  const next = store.beginRun('sync')
  assert.equal(store.claim(key, {runId: next, resubmitAfterMs: day, leaseMs: lease}).claimed, true)
})

test('finishing a run releases whatever it still holds', (t) => {
  const {store, key} = setup(t)
  const run = store.beginRun('sync')
  store.claim(key, {runId: run, resubmitAfterMs: day, leaseMs: lease})
  store.finishRun(run, 'interrupted', {found: 1, submitted: 0})
  assert.equal(store.getSubmission(key)?.claim, undefined)
  assert.deepEqual(store.getRun(run)?.counts, {found: 1, submitted: 0})
  assert.equal(store.getRun(run)?.outcome, 'interrupted')
  assert.equal(lastRun(store, 'sync')?.id, run)
})

test('claimMany decides a whole listing in one transaction', (t) => {
  const {store, advance} = setup(t)
  const observer = store.beginRun('sync')
  const keys = store.recordObservations(observer, 'kc#big', manyObservations(500, {target: 'kc#big'})).imageKeys
  const a = store.beginRun('sync')
  const first = store.claimMany(keys, {runId: a, resubmitAfterMs: day, leaseMs: lease})
  assert.equal([...first.values()].filter((result) => result.claimed).length, 500)
  advance(1_000)
  const b = store.beginRun('sync')
  const second = store.claimMany([...keys, ...keys], {runId: b, resubmitAfterMs: day, leaseMs: lease})
  assert.equal(second.size, 500)
  assert.ok([...second.values()].every((result) => !result.claimed && result.reason === 'in-flight'))
})

test('claim options are validated and unknown images are a bug', (t) => {
  const {store, key} = setup(t)
  const run = store.beginRun('sync')
  assert.throws(() => store.claim(key, {runId: run, resubmitAfterMs: day, leaseMs: 0}), /leaseMs must be a positive, finite number of milliseconds, got 0/)
  assert.throws(() => store.claim(key, {runId: run, resubmitAfterMs: Number.NaN, leaseMs: lease}), /resubmitAfterMs must be a non-negative/)
  assert.throws(() => store.claim('docker.io/library/unknown:1', {runId: run, resubmitAfterMs: day, leaseMs: lease}), {name: 'BugError', message: /record its observation first/})
})

test('persistQueue stores what watch still had queued, and pendingWork lists it for the next start', (t) => {
  const {store, advance} = setup(t)
  const observer = store.beginRun('watch')
  const keys = store.recordObservations(observer, 'kc#big', manyObservations(6, {target: 'kc#big'})).imageKeys
  const [claimedQueued, claimedSending, done, notClaimed, heldByOther, failed] = keys as [string, string, string, string, string, string]
  const watch = store.beginRun('watch')
  const other = store.beginRun('sync')
  const options = {runId: watch, resubmitAfterMs: day, leaseMs: lease}
  store.claim(claimedQueued, options)
  store.claim(claimedSending, options)
  store.markSubmitting(claimedSending, watch)
  store.claim(done, options)
  submit(store, done, watch)
  store.claim(heldByOther, {...options, runId: other})
  store.claim(failed, options)
  store.recordFailed(failed, watch, {error: 'boom', retryable: true})

  // SIGTERM: the in-memory queue still holds these (the sending one was aborted).
  advance(1_000)
  assert.equal(store.persistQueue([claimedQueued, claimedSending, done, notClaimed, heldByOther, failed], watch), 4)
  store.finishRun(watch, 'interrupted', {})

  const pending = store.pendingWork()
  assert.deepEqual(
    pending.map((work) => [work.key, work.state, work.claim?.runId ?? null]).sort(),
    [
      [claimedQueued, 'queued', null],
      [claimedSending, 'queued', null],
      [notClaimed, 'queued', null],
      [heldByOther, 'queued', other],
      [failed, 'queued', null],
    ].sort(),
  )
  assert.deepEqual(pending.find((work) => work.key === claimedSending)?.image, {registry: 'registry.example.com', repository: 'team/app-1', tag: 'v1', digest: listImages(store).find((i) => i.key === claimedSending)?.image.digest})
  assert.equal(store.getSubmission(claimedSending)?.attempts, 1, 'the aborted attempt is counted')

  // The next start resumes them at once, without waiting for any lease.
  const next = store.beginRun('watch')
  const resumed = store.claimMany(pending.map((work) => work.key), {runId: next, resubmitAfterMs: day, leaseMs: lease})
  assert.deepEqual([...resumed].filter(([, result]) => result.claimed).map(([key]) => key).sort(), [claimedQueued, claimedSending, notClaimed, failed].sort())
  assert.equal(resumed.get(heldByOther)?.claimed, false)
})

test('pendingWork shows claims of a killed run as expired once their lease ran out', (t) => {
  const {store, key, advance} = setup(t)
  const killed = store.beginRun('sync')
  store.claim(key, {runId: killed, resubmitAfterMs: day, leaseMs: lease})
  store.markSubmitting(key, killed)
  assert.deepEqual(store.pendingWork().map((work) => [work.state, work.claim?.expired]), [['submitting', false]])
  advance(lease)
  assert.deepEqual(store.pendingWork().map((work) => [work.state, work.claim?.expired]), [['submitting', true]])
})
