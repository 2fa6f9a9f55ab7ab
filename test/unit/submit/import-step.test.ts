// The import step both drivers share, against a real in-memory store and a fake submitter: what the store holds
// after Snyk accepts, refuses the token, fails, or the run is cut off.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {AuthError} from '../../../src/errors.ts'
import {openStateStore} from '../../../src/state/state-store.ts'
import type {ImageSubmitter} from '../../../src/submit/image-submitter.ts'
import {importClaimed} from '../../../src/submit/import-step.ts'
import {observation} from '../state/fixtures/state-fixtures.ts'

const plan = {outcome: 'import', integrationId: 'int-1', integrationType: 'docker-hub', targetName: 'library/nginx:1.25'} as const

function fakeSubmitter(importImage: ImageSubmitter['importImage']): ImageSubmitter {
  return {
    integrationMap: () => Promise.reject(new Error('not used')),
    importImage,
    waitForJob: () => Promise.reject(new Error('not used')),
    snapshot: () => ({inFlight: 0, retries: 0}),
    classify: (error) => ({fatal: error instanceof AuthError, retryable: true, message: (error as Error).message}),
  }
}

function claimed(t: {after: (fn: () => void) => void}) {
  const store = openStateStore(':memory:')
  t.after(() => store.close())
  const runId = store.beginRun('sync')
  const [key] = store.recordObservations(runId, 'dev', [observation({target: 'dev'})]).imageKeys
  assert.ok(key)
  assert.equal(store.claim(key, {runId, resubmitAfterMs: 0, leaseMs: 60_000}).claimed, true)
  assert.equal(store.markSubmitting(key, runId), true)
  return {store, runId, key}
}

test('accepted: every key is recorded submitted with the job, and the claim is given back', async (t) => {
  const {store, runId, key} = claimed(t)
  const step = await importClaimed({store, submitter: fakeSubmitter(async () => ({jobUrl: 'https://api.snyk.io/job-1'})), runId, keys: [key], plan, signal: new AbortController().signal, cancelled: () => false})
  assert.deepEqual(step, {kind: 'submitted', jobUrl: 'https://api.snyk.io/job-1'})
  const record = store.getSubmission(key)
  assert.equal(record?.state, 'submitted')
  assert.equal(record?.jobUrl, 'https://api.snyk.io/job-1')
  assert.equal(record?.claim, undefined)
})

test('a failure is recorded as failed with the message', async (t) => {
  const {store, runId, key} = claimed(t)
  const step = await importClaimed({store, submitter: fakeSubmitter(async () => Promise.reject(new Error('HTTP 500 from Snyk'))), runId, keys: [key], plan, signal: new AbortController().signal, cancelled: () => false})
  assert.deepEqual(step, {kind: 'failed', message: 'HTTP 500 from Snyk', retryable: true})
  assert.equal(store.getSubmission(key)?.state, 'failed')
  assert.equal(store.getSubmission(key)?.error?.message, 'HTTP 500 from Snyk')
})

test('a rejected token stops the run: the claim goes back to the queue for the next run', async (t) => {
  const {store, runId, key} = claimed(t)
  const refused = new AuthError('Snyk refused the token', {code: 'AUTH'})
  const step = await importClaimed({store, submitter: fakeSubmitter(async () => Promise.reject(refused)), runId, keys: [key], plan, signal: new AbortController().signal, cancelled: () => false})
  assert.deepEqual(step, {kind: 'fatal', error: refused})
  assert.equal(store.getSubmission(key)?.state, 'queued')
  assert.equal(store.getSubmission(key)?.claim, undefined)
  assert.equal(store.pendingWork().length, 1)
})

test('cut off while in flight: not recorded as failed, back to the queue', async (t) => {
  const {store, runId, key} = claimed(t)
  const controller = new AbortController()
  const submitter = fakeSubmitter((_plan, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))))
  const running = importClaimed({store, submitter, runId, keys: [key], plan, signal: controller.signal, cancelled: () => controller.signal.aborted})
  controller.abort()
  assert.deepEqual(await running, {kind: 'cut-off'})
  assert.equal(store.getSubmission(key)?.state, 'queued')
  assert.equal(store.getSubmission(key)?.error, undefined)
})
