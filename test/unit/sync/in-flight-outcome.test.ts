// Images held by another live run are neither submitted nor confirmed: a run that ends with some is `partial`
// (exit 3), never `succeeded`; the summary says which run holds them and until when, and what was taken over.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {renderSyncSummary} from '../../../src/render/sync-summary.ts'
import {countResults, outcomeOf, type ImageResult, type SyncImage, type SyncResult, type SyncTarget} from '../../../src/sync/sync-result.ts'

const target: SyncTarget = {name: 'prod-eu', context: 'prod-eu', source: '/home/me/.kube/config', status: 'ok', pods: 10, images: 3, skippedPods: 0, warnings: []}
const images = (...results: ImageResult[]): SyncImage[] =>
  results.map((result, i) => ({image: `docker.io/acme/app-${i}:1`, key: String(i), registry: 'docker.io', repository: `acme/app-${i}`, tag: '1', result, snykTarget: `acme/app-${i}:1`, integration: {type: 'docker-hub', id: 'd'}, runsIn: {clusters: ['prod-eu'], namespaces: 1, workloads: [], containers: 1}}))

describe('sync outcome with images in flight elsewhere', () => {
  it('is partial with exit 3, not succeeded', () => {
    assert.deepEqual(outcomeOf(countResults([target], images('submitted', 'in-flight'), 2), false), {outcome: 'partial', exitCode: 3})
    assert.deepEqual(outcomeOf(countResults([target], images('in-flight'), 1), false), {outcome: 'partial', exitCode: 3}, 'partial, not failed: nothing failed')
    assert.deepEqual(outcomeOf(countResults([target], images('submitted', 'unchanged'), 2), false), {outcome: 'succeeded', exitCode: 0})
    assert.deepEqual(outcomeOf(countResults([target], images('in-flight'), 1), true), {outcome: 'interrupted', exitCode: 130})
  })

  it('the summary names the holder of each image in flight elsewhere, and the run whose claims were taken over', () => {
    const list = images('in-flight', 'submitted', 'submitted')
    const holder = {runId: '6ddef488-0000-4000-8000-000000000001', pid: 4242, host: 'laptop', until: '2026-12-02T00:01:00.000Z'}
    Object.assign(list[0]!, {heldBy: holder, reason: `run ${holder.runId} (pid 4242 on laptop) is submitting it; its claim holds until ${holder.until} unless renewed`})
    for (const image of list.slice(1)) image.takenOverFrom = '0b7a2c11-0000-4000-8000-000000000002'
    const counts = countResults([target], list, 3)
    const {outcome, exitCode} = outcomeOf(counts, false)
    const result: SyncResult = {schemaVersion: 1, command: 'sync', dryRun: false, outcome, exitCode, startedAt: '', finishedAt: '', durationMs: 0, counts, targets: [target], images: list, drift: [], problems: []}
    const text = renderSyncSummary(result, 400)
    assert.match(text, /in-flight/)
    assert.match(text, /pid 4242 on laptop\) is submitting it; its claim holds until 2026-12-02T00:01:00\.000Z/)
    assert.match(text, /1 in flight elsewhere/)
    assert.match(text, /took over 2 images from run 0b7a2c11-0000-4000-8000-000000000002, which stopped without finishing/)
  })
})
