// What a person reads after `sync`: the demo's inventory (several registries, one without an integration,
// an image pinned by digest only) planned by the real integration map, under --dry-run and after a run.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatImageRef, parseImageReference} from '../../../src/images/image-reference.ts'
import {createIntegrationMap} from '../../../src/images/integration-map.ts'
import {renderSyncSummary} from '../../../src/render/sync-summary.ts'
import {countResults, type SyncImage, type SyncResult, type SyncTarget} from '../../../src/sync/sync-result.ts'
import {columnLines, linesSpelling, tableLines} from './table-text.ts'

const hex = (seed: string) => seed.repeat(64).slice(0, 64)
const envoyDigest = `sha256:${hex('e3')}`
const references = [
  'nginx:1.27',
  'bitnami/redis:7.2',
  '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:4.2.0',
  'ghcr.io/acme/ledger:1.9',
  'quay.io/acme/migrate:v3',
  'gcr.io/acme-prod/reports:2024.11',
  'registry.acme.internal:5000/ops/tools:7',
  `envoyproxy/envoy@${envoyDigest}`,
]
const integrations = createIntegrationMap({discovered: {'docker-hub': 'd0c4e7b1-0000-4000-8000-000000000001', ecr: 'ec7e7b1a-0000-4000-8000-000000000002', 'github-cr': '9c7e7b1a-0000-4000-8000-000000000003', 'quay-cr': '90a7e7b1-0000-4000-8000-000000000004', gcr: '6c7e7b1a-0000-4000-8000-000000000005'}})

function inventory(dryRun: boolean): SyncResult {
  const images = references.map((reference, i): SyncImage => {
    const ref = parseImageReference(reference)
    const digest = ref.digest ?? `sha256:${hex(String(i))}`
    const image: SyncImage = {image: formatImageRef(ref), key: reference, registry: ref.registry, repository: ref.repository, ...(ref.tag ? {tag: ref.tag} : {}), digest, result: dryRun ? 'would-submit' : 'submitted', runsIn: {clusters: i % 2 ? ['prod-eu'] : ['prod-eu', 'prod-us'], namespaces: 1, workloads: [], containers: 1 + (i % 3)}}
    const plan = integrations.planImport(ref)
    if (plan.outcome === 'skip') return {...image, result: dryRun ? 'would-skip' : 'skipped', reason: plan.reason, fix: plan.fix}
    return {...image, integration: {type: plan.integrationType, id: plan.integrationId}, snykTarget: plan.targetName}
  })
  const targets: SyncTarget[] = ['prod-eu', 'prod-us'].map((name) => ({name, context: name, source: '/home/me/.kube/config', status: 'ok', pods: 14, images: 6, skippedPods: 0, warnings: []}))
  return {schemaVersion: 1, command: 'sync', dryRun, outcome: 'succeeded', exitCode: 0, startedAt: '', finishedAt: '', durationMs: 1, counts: countResults(targets, images, 30), targets, images, drift: [], problems: []}
}

/** The summary's tables: targets, then images. */
const tables = (text: string) => text.split(/\n(?=┌)/)

describe('sync summary', () => {
  it('on a 150-column terminal: the targets table is as narrow as its content, the images table takes the room', () => {
    const text = renderSyncSummary(inventory(true), 150)
    const [targets, images] = tables(text)
    assert.match(targets!, /^│ prod-eu │ 14 {3}│ 6 {6}│ ok {5}│$/m, 'STATUS is as wide as its head')
    assert.ok(tableLines(images!).every((line) => line.length <= 150))
    for (const word of ['container', 'containers', 'digest', 'tag', 'spec', 'would-submit', 'would-skip', 'integration']) {
      assert.ok(images!.includes(word), word)
    }
    // Every sentence of a reason or fix, and every place an image runs, reads back whole: no word was cut.
    const result = inventory(true)
    const detail = columnLines(images!, 3)
    for (const image of result.images.filter((i) => i.reason)) {
      linesSpelling(detail, image.reason!.replace(envoyDigest, `sha256:${hex('e3').slice(0, 12)}`))
      linesSpelling(detail, `fix: ${image.fix!.replace(envoyDigest, `sha256:${hex('e3').slice(0, 12)}`)}`)
    }
    for (const place of ['prod-eu (2 containers)', 'prod-eu, prod-us (3 containers)']) linesSpelling(columnLines(images!, 4), place)
  })

  it('wraps a long registry host at its `.`, `:` and `/`', () => {
    const text = renderSyncSummary(inventory(true), 100)
    const lines = linesSpelling(columnLines(text, 0), 'registry.acme.internal:5000/ops/tools:7')
    assert.ok(lines.length > 1)
    for (const line of lines.slice(0, -1)) assert.match(line, /[.:/]$/, JSON.stringify(lines))
    assert.doesNotMatch(text, /registry\.acm\s|in the po\s/)
  })

  it('shows an image pinned by digest, and every digest column, with a short digest', () => {
    const text = renderSyncSummary(inventory(true), 150)
    assert.ok(!text.includes(hex('e3')), 'the 64 hex digits appear nowhere')
    linesSpelling(columnLines(text, 0), `docker.io/envoyproxy/envoy@sha256:${hex('e3').slice(0, 12)}`)
    const digests = columnLines(tables(text)[1]!, 1).filter((cell) => cell !== '' && cell !== 'DIGEST')
    assert.deepEqual(digests, [hex('0'), hex('1'), hex('2'), hex('3'), hex('4'), hex('5'), hex('6'), hex('e3')].map((h) => h.slice(0, 12)))
  })

  it('every line of each table has the same width and fits the terminal, from 40 to 200 columns', () => {
    for (const dryRun of [true, false]) {
      for (let width = 40; width <= 200; width += 8) {
        for (const table of tables(renderSyncSummary(inventory(dryRun), width))) {
          const widths = new Set(tableLines(table).map((line) => line.length))
          assert.equal(widths.size, 1, `${width}: ${[...widths].join(', ')}`)
          assert.ok([...widths][0]! <= width, `${width}: ${[...widths][0]}`)
        }
      }
    }
  })

  it('a dry run says what it would submit and skip; a run, what it submitted', () => {
    assert.match(renderSyncSummary(inventory(true), 150), /^8 unique images in 28 pods, 6 would be submitted, 2 would be skipped$/m)
    assert.match(renderSyncSummary(inventory(false), 150), /^8 unique images in 28 pods, 6 submitted, 0 unchanged, 2 skipped, 0 failed$/m)
  })

  it('--fail-on: the gate verdict under the counts, what --fail-on-new judged, and counts that could not be read', () => {
    const result = inventory(false)
    const nginx = {image: 'docker.io/library/nginx:1.27', critical: 0, high: 2, medium: 0, low: 1}
    result.gate = {failOn: 'high', tripped: true, images: [nginx], unknown: 1, newOnly: false, judged: 8, refresh: {projects: 6, counted: 6}}
    const lines = renderSyncSummary(result, 150).trimEnd().split('\n')
    assert.equal(lines.at(-1), 'gate: FAILED (--fail-on high): 1 image with high or worse issues: docker.io/library/nginx:1.27')
    result.gate = {failOn: 'critical', tripped: false, images: [], unknown: 0, newOnly: true, judged: 1, refresh: {projects: 1, counted: 0, error: "could not read Snyk's results: HTTP 503"}}
    const passed = renderSyncSummary(result, 150).trimEnd().split('\n')
    assert.deepEqual(passed.slice(-2), [
      "counts: could not read Snyk's results: HTTP 503 (the gate judged the stored counts)",
      'gate: passed (--fail-on critical --fail-on-new: 1 new image judged)',
    ])
  })
})
