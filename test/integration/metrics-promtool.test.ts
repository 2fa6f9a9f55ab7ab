// The live /metrics of a running `watch` (a real API server, the Snyk emulator) passes the real
// `promtool check metrics`: prom-client's default metrics and ours, with their labelled series present.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {accessSync, constants} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {after, before, describe, it, type TestContext} from 'node:test'
import {parse, stringify} from 'yaml'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {startWatch, until} from '../helpers/watch-fixture.ts'

/** promtool's path on PATH; fails (never skips) when it is missing, since CI installs it. */
function findPromtool(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'promtool')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  assert.fail('promtool is not on PATH: install Debian\'s "prometheus" package (apt-get install prometheus), which provides /usr/bin/promtool')
}

describe('/metrics and promtool', () => {
  let promtool: string
  let set: ClusterSet
  let kubeconfig: string

  before(async () => {
    promtool = findPromtool()
    set = await startClusters(1, {names: ['live']})
    kubeconfig = await writeKubeconfig(path.join(set.workDir, 'config'), [{name: 'live', cluster: set.clusters[0]!}])
    // A second target that is never reachable: watch_restarts_total{target="gone"} in the exposition.
    const config = parse(await readFile(kubeconfig, 'utf8')) as {clusters: Array<{name: string; cluster: {server: string}}>; contexts: Array<{name: string; context: {cluster: string; user: string}}>}
    config.clusters.push({name: 'gone', cluster: {...config.clusters[0]!.cluster, server: 'https://127.0.0.1:9'}})
    config.contexts.push({name: 'gone', context: {...config.contexts[0]!.context, cluster: 'gone'}})
    await writeFile(kubeconfig, stringify(config))
    await set.fixtures[0]!.createNamespace('apps')
  })
  after(() => set?.stop())

  it('promtool check metrics passes on the live /metrics of watch, after submissions, a Snyk retry and target restarts', async (t: TestContext) => {
    const snyk = await withSnykEmulator(t)
    // One failed attempt: a retry, and request durations with outcome="error" as well as "ok".
    snyk.faults.push({when: {operationId: 'Importtargets'}, fault: {kind: 'status', status: 503}})
    const fixture = set.fixtures[0]!
    await fixture.createPod({name: 'web', namespace: 'apps', containers: [{name: 'nginx', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}]})
    await fixture.createPod({name: 'api', namespace: 'apps', containers: [{name: 'api', image: 'ghcr.io/acme/api:2', digest: digestOf('api:2')}]})

    const flags = {
      kubeconfig: [kubeconfig],
      'all-contexts': true,
      namespace: ['apps'],
      org: snyk.orgId,
      api: snyk.url,
      state: path.join(set.workDir, 'watch.db'),
      listen: '127.0.0.1:0',
    }
    const watch = await startWatch(flags, {HOME: set.workDir, SNYK_TOKEN: snyk.token})
    t.after(() => watch.stop())
    const scrape = async (): Promise<string> => {
      const response = await fetch(`${watch.url}/metrics`)
      assert.equal(response.status, 200)
      return response.text()
    }

    // The labelled series promtool should see, not just their HELP and TYPE lines.
    const expected = [
      /^snyk_watch_submissions_total\{result="submitted"\} 2$/m,
      /^snyk_watch_submissions_total\{result="failed"\} 0$/m,
      /^snyk_watch_snyk_request_duration_seconds_bucket\{le="0\.025",outcome="ok"\} \d+$/m,
      /^snyk_watch_snyk_request_duration_seconds_count\{outcome="error"\} [1-9]\d*$/m,
      /^snyk_watch_snyk_retries_total [1-9]\d*$/m,
      /^snyk_watch_watch_restarts_total\{target="gone"\} [1-9]\d*$/m,
      /^snyk_watch_target_synced\{target="live"\} 1$/m,
      /^snyk_watch_target_synced\{target="gone"\} 0$/m,
      /^snyk_watch_running_containers\{image="docker\.io\/library\/nginx@sha256:[0-9a-f]+"\} 1$/m,
      /^snyk_watch_process_cpu_seconds_total \S+$/m,
      /^snyk_watch_process_resident_memory_bytes \d+$/m,
      /^snyk_watch_process_open_fds \d+$/m,
      /^snyk_watch_nodejs_eventloop_lag_seconds \S+$/m,
      /^snyk_watch_nodejs_heap_size_used_bytes \d+$/m,
      /^snyk_watch_nodejs_active_handles\{type="\w+"\} \d+$/m,
    ]
    let body = ''
    try {
      await until('submissions, a Snyk retry and a restart of the unreachable target in /metrics', async () => {
        body = await scrape()
        return expected.every((series) => series.test(body))
      }, 30_000)
    } catch (error) {
      const missing = expected.filter((series) => !series.test(body)).map(String)
      throw new Error(`${(error as Error).message}; missing:\n${missing.join('\n')}\n--- the exposition ---\n${body}`, {cause: error})
    }

    const check = spawnSync(promtool, ['check', 'metrics'], {input: body, encoding: 'utf8', timeout: 30_000})
    assert.ifError(check.error)
    assert.equal(check.status, 0, `promtool check metrics exited with ${check.status}:\n${check.stdout}${check.stderr}\n--- the exposition ---\n${body}`)
    assert.equal(await watch.stop(), 0)
  })
})
