// The counts of `sync --json`: a dry run submits and records nothing, and says so; what it would do has its own counts.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {countResults, type ImageResult, type SyncImage, type SyncTarget} from '../../../src/sync/sync-result.ts'

const target: SyncTarget = {name: 'prod-eu', context: 'prod-eu', source: '/home/me/.kube/config', status: 'ok', pods: 1000, images: 3, skippedPods: 0, warnings: []}
const images = (...results: ImageResult[]): SyncImage[] =>
  results.map((result, i) => ({image: `docker.io/acme/app-${i}:1`, key: String(i), registry: 'docker.io', repository: `acme/app-${i}`, tag: '1', result, runsIn: {clusters: ['prod-eu'], namespaces: 1, workloads: [], containers: 1}}))

describe('sync counts', () => {
  it('a dry run counts what it would submit and skip, and submits and skips nothing', () => {
    const counts = countResults([target], images('would-submit', 'would-submit', 'would-skip'), 1200)
    assert.equal(counts.submitted, 0)
    assert.equal(counts.skipped, 0)
    assert.equal(counts.wouldSubmit, 2)
    assert.equal(counts.wouldSkip, 1)
    assert.equal(counts.images, 3)
  })

  it('a run counts what it did, and has the dry-run counts at 0: the same fields every time', () => {
    const counts = countResults([target], images('submitted', 'monitored', 'skipped', 'failed', 'unchanged'), 1200)
    assert.deepEqual(counts, {targets: 1, targetsFailed: 0, pods: 1000, containers: 1200, images: 5, submitted: 1, monitored: 1, unchanged: 1, inFlight: 0, skipped: 1, failed: 1, pending: 0, interrupted: 0, wouldSubmit: 0, wouldSkip: 0})
    assert.deepEqual(Object.keys(countResults([target], images('would-submit'), 1)), Object.keys(counts))
  })
})
