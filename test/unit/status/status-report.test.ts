import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {UsageError} from '../../../src/errors.ts'
import {renderStatus} from '../../../src/render/status-table.ts'
import type {StatusFilters} from '../../../src/status/status-options.ts'
import {resolveStatusOptions} from '../../../src/status/status-options.ts'
import {countImages, evaluateGate, findDrift, groupImages, imageGlob, toStatusImage} from '../../../src/status/status-report.ts'
import type {StatusImage, StatusResult} from '../../../src/status/status-result.ts'
import type {ImageListing, Placement} from '../../../src/state/records.ts'

const noFilters: StatusFilters = {contexts: [], namespaces: [], images: [], results: []}

function placement(cluster: string, namespace: string, workload: string): Placement {
  const [kind = 'Deployment', name = 'web'] = workload.split('/')
  return {target: `/home/me/.kube/config#${cluster}`, cluster, namespace, pod: `${name}-1`, container: 'c', containerKind: 'container', workload: {kind, name}, reference: 'x', lastSeen: 1, runId: 'r'}
}

function listing(repository: string, tag: string, digest: string, placements: Placement[], extra: Partial<ImageListing> = {}): ImageListing {
  return {key: `docker.io/${repository}@${digest}`, image: {registry: 'docker.io', repository, tag, digest}, firstSeen: 1, lastSeen: 1, placements, ...extra}
}

const monitored = (at: number, counts?: {critical: number; high: number; medium: number; low: number}): Partial<ImageListing> => ({
  submission: {state: 'monitored', attempts: 1, updatedAt: at, submittedAt: at, monitoredAt: at, projects: [{id: `p-${at}`, url: `https://app.snyk.io/p-${at}`}]},
  ...(counts ? {issues: {...counts, updatedAt: at}} : {}),
})

const images = (listings: ImageListing[], filters: StatusFilters = noFilters): StatusImage[] =>
  listings.flatMap((l) => toStatusImage(l, filters, filters.images.map(imageGlob)) ?? [])

describe('status report', () => {
  const nginx = listing('library/nginx', '1.27', 'sha256:aaaa', [placement('east', 'shop', 'Deployment/web'), placement('west', 'shop', 'Deployment/web')], monitored(10, {critical: 0, high: 2, medium: 1, low: 0}))
  const redis = listing('bitnami/redis', '7.2', 'sha256:bbbb', [placement('east', 'cache', 'StatefulSet/redis')], {submission: {state: 'skipped', attempts: 0, updatedAt: 1, projects: [], skip: {reason: 'no integration', fix: 'add one'}}})
  const api = listing('acme/api', '2.1', 'sha256:cccc', [placement('west', 'shop', 'Pod/api')])

  it('reports result, reason and where each image runs', () => {
    const [n, r, a] = images([nginx, redis, api])
    assert.equal(n?.result, 'monitored')
    assert.deepEqual(n?.runsIn.namespaces, ['east/shop', 'west/shop'])
    assert.deepEqual(n?.vulnerabilities, {critical: 0, high: 2, medium: 1, low: 0, updatedAt: new Date(10).toISOString()})
    assert.equal(r?.result, 'skipped')
    assert.equal(r?.reason, 'no integration')
    assert.equal(a?.result, 'not-submitted')
  })

  it('filters by context (name or target), namespace, glob and result, keeping only matching placements', () => {
    const west = images([nginx, redis, api], {...noFilters, contexts: ['west']})
    assert.deepEqual(west.map((i) => i.image), ['docker.io/library/nginx:1.27', 'docker.io/acme/api:2.1'])
    assert.deepEqual(west[0]?.runsIn.clusters, ['west'])
    assert.deepEqual(images([nginx, redis, api], {...noFilters, namespaces: ['cache']}).map((i) => i.repository), ['bitnami/redis'])
    assert.deepEqual(images([nginx, redis, api], {...noFilters, images: ['nginx:*']}).map((i) => i.repository), ['library/nginx'])
    assert.deepEqual(images([nginx, redis, api], {...noFilters, images: ['docker.io/*/redis*']}).map((i) => i.repository), ['bitnami/redis'])
    assert.deepEqual(images([nginx, redis, api], {...noFilters, results: ['not-submitted', 'skipped']}).map((i) => i.repository), ['bitnami/redis', 'acme/api'])
  })

  it('--all also lists images that run nowhere now (history), unless filtering by where they run', () => {
    const gone = listing('acme/old', '0.9', 'sha256:dddd', [], monitored(5))
    assert.deepEqual(images([nginx, gone]).map((i) => i.repository), ['library/nginx'], 'by default: what runs now')
    const all = images([nginx, gone], {...noFilters, all: true})
    assert.deepEqual(all.map((i) => i.repository), ['library/nginx', 'acme/old'])
    assert.deepEqual(all[1]?.runsIn, {clusters: [], namespaces: [], workloads: [], containers: 0})
    assert.equal(all[1]?.result, 'monitored')
    assert.deepEqual(images([nginx, gone], {...noFilters, all: true, contexts: ['east']}).map((i) => i.repository), ['library/nginx'])
  })

  it('groups by cluster, namespace and workload', () => {
    const all = images([nginx, redis, api])
    assert.deepEqual(groupImages(all, 'cluster').map((g) => [g.cluster, g.images.length]), [['east', 2], ['west', 2]])
    assert.deepEqual(groupImages(all, 'namespace').map((g) => `${g.cluster}/${g.namespace}`), ['east/cache', 'east/shop', 'west/shop'])
    const workloads = groupImages(all, 'workload')
    assert.deepEqual(workloads.map((g) => g.workload), ['StatefulSet/redis', 'Deployment/web', 'Deployment/web', 'Pod/api'])
    assert.deepEqual(workloads.find((g) => g.cluster === 'west' && g.workload === 'Deployment/web')?.vulnerabilities, {critical: 0, high: 2, medium: 1, low: 0})
  })

  it('the gate trips at or above the severity, names the images, and counts images it cannot judge', () => {
    const all = images([nginx, redis, api])
    assert.deepEqual(evaluateGate(all, 'high'), {failOn: 'high', tripped: true, images: [{image: 'docker.io/library/nginx:1.27', digest: 'sha256:aaaa', critical: 0, high: 2, medium: 1, low: 0}], unknown: 2})
    assert.equal(evaluateGate(all, 'critical').tripped, false)
    assert.equal(evaluateGate(all, 'low').tripped, true)
    assert.equal(countImages(all, 0).high, 2)
  })

  it('drift: one tag at two digests, and a digest Snyk has not imported', () => {
    const rebuilt = listing('library/nginx', '1.27', 'sha256:dddd', [placement('west', 'canary', 'Deployment/web')], {submission: {state: 'submitted', attempts: 1, updatedAt: 20, projects: []}})
    const all = [nginx, rebuilt]
    const drift = findDrift(images(all), all)
    assert.deepEqual(drift.map((d) => d.kind), ['tag-digests-differ', 'not-what-snyk-imported'])
    assert.deepEqual(drift[1], {kind: 'not-what-snyk-imported', tag: 'docker.io/library/nginx:1.27', digest: 'sha256:dddd', monitoredDigest: 'sha256:aaaa', runsIn: ['west/canary']})
    assert.deepEqual(findDrift(images([nginx]), [nginx]), [])
  })

  it('classifies FIPS by name and by the pods\' annotation, counts it, filters on it and shows it', () => {
    const fipsNamed = listing('chainguard/nginx-fips', '1.27', 'sha256:eeee', [placement('east', 'shop', 'Deployment/edge')])
    const annotated = listing('acme/crypto', '1.0', 'sha256:ffff', [{...placement('east', 'shop', 'Deployment/crypto'), fipsAnnotation: true}, placement('west', 'shop', 'Deployment/crypto')])
    const conflicting = listing('acme/shared', '3', 'sha256:abab', [{...placement('east', 'a', 'Deployment/x'), fipsAnnotation: true}, {...placement('west', 'b', 'Deployment/y'), fipsAnnotation: false}])
    const all = images([nginx, fipsNamed, annotated, conflicting])
    assert.deepEqual(all.map((i) => [i.repository, i.fips, i.fipsSource]), [
      ['library/nginx', false, 'name'],
      ['chainguard/nginx-fips', true, 'name'],
      ['acme/crypto', true, 'annotation'],
      ['acme/shared', false, 'conflicting-annotations'],
    ])
    // The annotation is the image's: it counts even when the filters leave out the annotated pod.
    assert.equal(images([annotated], {...noFilters, contexts: ['west']})[0]?.fips, true)
    assert.deepEqual(images([nginx, fipsNamed, annotated], {...noFilters, fips: true}).map((i) => i.repository), ['chainguard/nginx-fips', 'acme/crypto'])
    assert.deepEqual(images([nginx, fipsNamed, annotated], {...noFilters, fips: false}).map((i) => i.repository), ['library/nginx'])
    assert.equal(countImages(all, 0).fips, 2)
    assert.deepEqual(groupImages(all, 'cluster').map((g) => [g.cluster, g.fips]), [['east', 2], ['west', 1]])

    const result: StatusResult = {schemaVersion: 1, command: 'status', outcome: 'ok', exitCode: 0, generatedAt: '', statePath: '/s', view: 'image', counts: countImages(all, 0), images: all, drift: []}
    const text = renderStatus(result, 160)
    assert.match(text, /│ FIPS │/)
    assert.match(text, /nginx-fips\s+│ 1\.27\s+│ eeee\s+│ yes {2}│/)
    assert.match(text, /, 2 FIPS,/)
    assert.match(text, /pods running this image disagree on snyk-watch\.io\/fips \(counted as not FIPS\): docker\.io\/acme\/shared:3/)
    assert.match(renderStatus(result, 200, true), /│ yes\s+│[^\n]*\n[^\n]*│ \(annotation\)\s+│/, 'wide says what decided it')
    assert.doesNotMatch(renderStatus(result, 60), /FIPS │/, 'a narrow table leaves the FIPS column out (the summary still counts them)')
  })

  it('renders tables that fit the width, without colour', () => {
    const all = images([nginx, redis, api])
    const result: StatusResult = {schemaVersion: 1, command: 'status', outcome: 'ok', exitCode: 0, generatedAt: '', statePath: '/s', view: 'image', counts: countImages(all, 0), images: all, drift: []}
    for (const [width, wide] of [[60, false], [80, false], [120, true], [200, true]] as const) {
      const text = renderStatus(result, width, wide)
      for (const line of text.split('\n').filter((l) => /^[│┌├└]/.test(l))) assert.ok(line.length <= width, `${width}: ${line}`)
      assert.ok(!text.includes('\u001b['))
    }
    assert.match(renderStatus(result, 200, true), /https:\/\/app\.snyk\.io\/p-10/)
    assert.match(renderStatus(result, 200), /0\/2\/1\/0/)
  })
})

describe('status options', () => {
  it('come from flags, then SNYK_WATCH_<FLAG>, and reject unknown values', () => {
    const options = resolveStatusOptions({}, {SNYK_WATCH_FAIL_ON: 'high', SNYK_WATCH_BY: 'namespace', SNYK_WATCH_NAMESPACE: 'a,b', HOME: '/nowhere'}, undefined)
    assert.equal(options.failOn, 'high')
    assert.equal(options.view, 'namespace')
    assert.deepEqual(options.filters.namespaces, ['a', 'b'])
    assert.equal(options.refresh, false)
    assert.throws(() => resolveStatusOptions({'fail-on': 'severe'}, {HOME: '/nowhere'}, undefined), /--fail-on must be one of critical, high, medium, low/)
    assert.throws(() => resolveStatusOptions({refresh: true}, {HOME: '/nowhere'}, undefined), /needs an API token/)
    assert.throws(() => resolveStatusOptions({refresh: true}, {HOME: '/nowhere', SNYK_TOKEN: 't'}, undefined), /needs the Snyk organization/)
  })

  it('--fips and --no-fips filter; without either, both', () => {
    const env = {HOME: '/nowhere'}
    assert.equal(resolveStatusOptions({fips: true}, env, undefined).filters.fips, true)
    assert.equal(resolveStatusOptions({fips: false}, env, undefined).filters.fips, false)
    assert.equal(resolveStatusOptions({}, {...env, SNYK_WATCH_FIPS: 'false'}, undefined).filters.fips, false)
    assert.equal('fips' in resolveStatusOptions({}, env, undefined).filters, false)
  })

  it('--watch: every 1s by default; --fail-on, --refresh and --sbom on the command line are usage errors, from the environment they are left out', () => {
    const env = {HOME: '/nowhere'}
    const watch = resolveStatusOptions({watch: true}, env, undefined)
    assert.equal(watch.watch, true)
    assert.equal(watch.intervalMs, 1000)
    assert.equal(resolveStatusOptions({watch: true, interval: '250ms'}, env, undefined).intervalMs, 250)
    assert.throws(() => resolveStatusOptions({watch: true, interval: '10ms'}, env, undefined), /--interval must be a duration in the allowed range/)
    for (const flags of [{'fail-on': 'high'}, {refresh: true}, {sbom: '/tmp/sboms'}]) {
      assert.throws(() => resolveStatusOptions({watch: true, ...flags}, {...env, SNYK_TOKEN: 't'}, undefined), (error: unknown) => {
        assert.ok(error instanceof UsageError)
        assert.equal(error.exitCode, 2)
        assert.match(error.message, new RegExp(`--watch cannot be used with --${Object.keys(flags)[0]}`))
        return true
      })
    }
    const fromEnv = resolveStatusOptions({watch: true}, {...env, SNYK_WATCH_FAIL_ON: 'high', SNYK_WATCH_REFRESH: 'true', SNYK_WATCH_SBOM: '/tmp/sboms'}, undefined)
    assert.deepEqual([fromEnv.failOn, fromEnv.refresh, fromEnv.sbomDir], [undefined, false, undefined])
    assert.equal(resolveStatusOptions({}, {...env, SNYK_WATCH_FAIL_ON: 'high'}, undefined).failOn, 'high', 'without --watch they apply')
  })
})
