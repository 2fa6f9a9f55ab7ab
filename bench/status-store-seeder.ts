// A state store as a fleet fills it, for the benchmarks that read one (bench/status.ts, bench/package.ts): three
// clusters, 20 namespaces, one workload per image; 80 % monitored with issue counts, 10 % skipped, 5 % failed,
// 5 % never submitted.
import type {ImageObservation} from '../src/models/image.ts'
import {openStateStore} from '../src/state/state-store.ts'

const digest = (i: number): string => `sha256:${i.toString(16).padStart(8, '0').repeat(8)}`

/** Writes `imageCount` images into a new state store at `file`, through the store's own API, as sync fills it. */
export function seedStatusStore(file: string, imageCount: number): void {
  const store = openStateStore(file)
  const runId = store.beginRun('bench')
  const clusters = ['prod-eu', 'prod-us', 'staging']
  const byTarget = new Map<string, ImageObservation[]>()
  for (let i = 0; i < imageCount; i++) {
    const cluster = clusters[i % clusters.length]!
    const target = `/home/me/.kube/config#${cluster}`
    const list = byTarget.get(target) ?? []
    byTarget.set(target, list)
    list.push({target, cluster, namespace: `ns-${i % 20}`, pod: `app-${i}-7d9f-abcde`, container: 'app', containerKind: 'container', workload: {kind: 'Deployment', name: `app-${i}`}, reference: `registry.example.com/team/app-${i}:v1`, image: {registry: 'registry.example.com', repository: `team/app-${i}`, tag: 'v1'}, runningDigest: digest(i)})
  }
  const keys: string[] = []
  for (const [target, observations] of byTarget) keys.push(...store.recordObservations(runId, target, observations).imageKeys)
  store.claimMany(keys, {runId, resubmitAfterMs: 0, leaseMs: 600_000})
  const counts = []
  for (const [i, key] of keys.entries()) {
    const bucket = i % 20
    if (bucket < 16) {
      store.recordSubmitted(key, runId, {integrationId: 'int-1', integrationType: 'harbor-cr', targetName: `team/app-${i}:v1`, jobUrl: `https://api.snyk.io/v1/org/o/integrations/int-1/import/job-${i}`})
      store.recordMonitored(key, {projects: [{id: `project-${i}`, url: `https://app.snyk.io/org/o/project/project-${i}`}]})
      counts.push({projectId: `project-${i}`, critical: i % 3 === 0 ? 1 : 0, high: i % 7, medium: i % 11, low: i % 13})
    } else if (bucket < 18) {
      store.recordSkipped(key, runId, {reason: 'no Snyk integration for registry registry.example.com', fix: 'pass --integration registry.example.com=TYPE:ID'})
    } else if (bucket < 19) {
      store.recordFailed(key, runId, {error: 'Snyk answered 400 Bad Request', retryable: false})
    } else {
      store.release(key, runId)
    }
  }
  store.recordIssueCounts(counts)
  store.finishRun(runId, 'succeeded')
  store.close()
}
