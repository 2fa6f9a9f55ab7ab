// The `status` tables on the shared writer: results and names wrap between words, widths follow the content.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {renderStatus} from '../../../src/render/status-table.ts'
import type {StatusImage, StatusResult} from '../../../src/status/status-result.ts'
import {columnLines, linesSpelling, tableLines} from './table-text.ts'

const hex = (seed: string) => seed.repeat(64).slice(0, 64)

function image(registry: string, repository: string, tag: string | undefined, result: StatusImage['result'], extra: Partial<StatusImage> = {}): StatusImage {
  const digest = `sha256:${hex(String(repository.length))}`
  return {
    image: `${registry}/${repository}${tag ? `:${tag}` : ''}`, key: `${registry}/${repository}@${digest}`, registry, repository, ...(tag ? {tag} : {}), digest, result, fips: false, fipsSource: 'name', projects: [],
    runsIn: {clusters: ['prod-eu'], namespaces: ['prod-eu/shop'], workloads: ['prod-eu/shop/Deployment/web'], containers: 1}, ...extra,
  }
}

const pinned = `sha256:${hex('e3')}`
const images = [
  image('docker.io', 'library/nginx', '1.27', 'monitored', {vulnerabilities: {critical: 0, high: 2, medium: 13, low: 7, updatedAt: ''}}),
  image('quay.io', 'acme/hsm-proxy', '3.0', 'monitored', {fips: true, vulnerabilities: {critical: 1, high: 0, medium: 3, low: 7, updatedAt: ''}}),
  image('registry.acme.internal:5000', 'ops/tools', '7', 'skipped', {reason: 'no Snyk integration for registry registry.acme.internal:5000'}),
  image('docker.io', 'envoyproxy/envoy', undefined, 'skipped', {digest: pinned, reason: `image docker.io/envoyproxy/envoy@${pinned} is referenced by digest only, and Snyk imports images by tag`}),
]
const status: StatusResult = {schemaVersion: 1, command: 'status', outcome: 'ok', exitCode: 0, generatedAt: '', statePath: '/s', view: 'image', counts: {images: 4, monitored: 2, pending: 0, failed: 0, skipped: 2, notSubmitted: 0, fips: 1, critical: 1, high: 2, medium: 16, low: 14, drift: 0}, images, drift: []}

describe('status table', () => {
  it('wraps results and image names between words, never inside one', () => {
    const text = renderStatus(status, 100)
    const result = columnLines(text, 5)
    assert.ok(linesSpelling(result, 'skipped: no Snyk integration for registry registry.acme.internal:5000').length > 1)
    linesSpelling(result, `skipped: image docker.io/envoyproxy/envoy@sha256:${hex('e3').slice(0, 12)} is referenced by digest only, and Snyk imports images by tag`)
    linesSpelling(columnLines(text, 0), 'registry.acme.internal:5000/ops/tools')
    assert.ok(!text.includes(hex('e3')), 'a reason quotes a digest short too')
  })

  it('sizes columns by their content: a digest is 12 hex digits, FIPS and C/H/M/L as wide as their heads and counts', () => {
    const text = renderStatus({...status, images: images.slice(0, 3)}, 160)
    assert.match(text, new RegExp(`│ quay\\.io/acme/hsm-proxy +│ 3\\.0  │ ${hex('14').slice(0, 12)} │ yes  │ prod-eu \\(1 ns, 1 workload\\) │ monitored +│ 1/0/3/7  │$`, 'm'))
    assert.match(text, /│ 0\/2\/13\/7 │$/m)
    // On a wider terminal every column is exactly as wide as its widest cell.
    const roomy = renderStatus({...status, images: images.slice(0, 3)}, 250)
    assert.match(roomy, /^│ registry\.acme\.internal:5000\/ops\/tools │ 7 {4}│ 9{12} │ no {3}│ prod-eu \(1 ns, 1 workload\) │ skipped: no Snyk integration for registry registry\.acme\.internal:5000 │ - {8}│$/m)
  })

  it('every line of the table has the same width and fits the terminal; the FIPS column goes first when narrow', () => {
    for (const wide of [false, true]) {
      for (let width = 40; width <= 200; width += 10) {
        const text = renderStatus(status, width, wide)
        const widths = new Set(tableLines(text).map((line) => line.length))
        assert.equal(widths.size, 1, `${width}: ${[...widths].join(', ')}`)
        assert.ok([...widths][0]! <= width, `${width}${wide ? ' wide' : ''}: ${[...widths][0]}`)
      }
    }
    assert.match(renderStatus(status, 100), /│ FIPS │/)
    assert.doesNotMatch(renderStatus(status, 60), /│ FIPS/)
  })
})
