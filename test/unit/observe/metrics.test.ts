// The Prometheus exposition of `watch`: names, labels, series that come and go, and the Snyk metrics fed
// by a real submission core's events.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {SnykHttpError} from '../../../src/snyk/snyk-http-error.ts'
import {droppedDefaultMetrics, WatchMetrics} from '../../../src/observe/metrics.ts'
import {LimiterRegistry} from '../../../src/submit/limiter-registry.ts'
import {SubmissionCore} from '../../../src/submit/submission-core.ts'

/** The sample lines of the exposition (no # HELP / # TYPE). */
async function samples(metrics: WatchMetrics): Promise<string[]> {
  return (await metrics.metrics()).split('\n').filter((line) => line !== '' && !line.startsWith('#'))
}

describe('WatchMetrics', () => {
  it('exposes the watch counters and gauges with their labels', async () => {
    const metrics = new WatchMetrics({defaultMetrics: false})
    metrics.imageDiscovered()
    metrics.imageDiscovered()
    metrics.submission('submitted')
    metrics.submission('submitted')
    metrics.submission('skipped')
    metrics.setQueueDepth(7)
    metrics.setInFlight(3)
    metrics.watchRestarted('prod')
    metrics.targetSynced('prod', true)
    metrics.targetSynced('staging', false)
    metrics.setLeader(true)
    const lines = await samples(metrics)
    for (const expected of [
      'snyk_watch_images_discovered_total 2',
      'snyk_watch_submissions_total{result="submitted"} 2',
      'snyk_watch_submissions_total{result="skipped"} 1',
      'snyk_watch_submissions_total{result="failed"} 0',
      'snyk_watch_submissions_total{result="monitored"} 0',
      'snyk_watch_queue_depth 7',
      'snyk_watch_submissions_in_flight 3',
      'snyk_watch_watch_restarts_total{target="prod"} 1',
      'snyk_watch_target_synced{target="prod"} 1',
      'snyk_watch_target_synced{target="staging"} 0',
      'snyk_watch_leader 1',
      'snyk_watch_snyk_retries_total 0',
      'snyk_watch_snyk_rate_limit_pauses_total 0',
    ]) {
      assert.ok(lines.includes(expected), `missing "${expected}" in:\n${lines.join('\n')}`)
    }
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/)
  })

  it('replaces the running containers series: an image that stops running has none', async () => {
    const metrics = new WatchMetrics({defaultMetrics: false})
    metrics.setRunningContainers(new Map([['docker.io/library/nginx@sha256:aa', 3], ['quay.io/acme/agent@sha256:bb', 1]]))
    let lines = await samples(metrics)
    assert.ok(lines.includes('snyk_watch_running_containers{image="docker.io/library/nginx@sha256:aa"} 3'))
    assert.ok(lines.includes('snyk_watch_running_containers{image="quay.io/acme/agent@sha256:bb"} 1'))

    metrics.setRunningContainers(new Map([['docker.io/library/nginx@sha256:aa', 2], ['quay.io/acme/agent@sha256:bb', 0]]))
    lines = await samples(metrics)
    assert.deepEqual(lines.filter((line) => line.startsWith('snyk_watch_running_containers')), ['snyk_watch_running_containers{image="docker.io/library/nginx@sha256:aa"} 2'])
  })

  it('adds the process metrics with the snyk_watch_ prefix, on its own registry', async () => {
    const first = new WatchMetrics()
    const second = new WatchMetrics()
    const text = await first.metrics()
    const names = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]))
    for (const expected of [
      'snyk_watch_process_cpu_seconds_total',
      'snyk_watch_process_cpu_user_seconds_total',
      'snyk_watch_process_cpu_system_seconds_total',
      'snyk_watch_process_start_time_seconds',
      'snyk_watch_process_resident_memory_bytes',
      'snyk_watch_process_open_fds',
      'snyk_watch_process_max_fds',
      'snyk_watch_nodejs_eventloop_lag_seconds',
      'snyk_watch_nodejs_eventloop_lag_p99_seconds',
      'snyk_watch_nodejs_gc_duration_seconds',
      'snyk_watch_nodejs_heap_size_used_bytes',
      'snyk_watch_nodejs_heap_size_total_bytes',
      'snyk_watch_nodejs_heap_space_size_used_bytes',
      'snyk_watch_nodejs_external_memory_bytes',
      'snyk_watch_nodejs_active_handles',
      'snyk_watch_nodejs_active_requests',
      'snyk_watch_nodejs_active_resources',
      'snyk_watch_nodejs_version_info',
    ]) {
      assert.ok(names.has(expected), `missing ${expected} in:\n${[...names].join('\n')}`)
    }
    assert.match(text, /^snyk_watch_process_resident_memory_bytes \d+/m)
    assert.match(text, /^snyk_watch_nodejs_heap_size_used_bytes \d+/m)
    first.imageDiscovered()
    assert.match(await second.metrics(), /^snyk_watch_images_discovered_total 0$/m)
  })

  it('drops the default gauges named like counters (_total), which promtool check metrics rejects', async () => {
    const offending = ['snyk_watch_nodejs_active_handles_total', 'snyk_watch_nodejs_active_requests_total', 'snyk_watch_nodejs_active_resources_total']
    assert.deepEqual([...droppedDefaultMetrics].sort(), offending)
    const text = await new WatchMetrics().metrics()
    for (const name of offending) {
      assert.ok(!new RegExp(`^(# (HELP|TYPE) )?${name}\\b`, 'm').test(text), `${name} is still exposed`)
    }
    // No gauge (or anything but a counter) of ours or prom-client's ends in _total.
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (name!.endsWith('_total')) assert.equal(type, 'counter', `${name} is a ${type} named like a counter`)
    }
  })

  it('counts retries, 429 pauses and request durations from a submission core, until detached', async () => {
    const metrics = new WatchMetrics({defaultMetrics: false})
    const core = new SubmissionCore({token: 't', registry: new LimiterRegistry(), ratePerMinute: 600_000, backoff: {minTimeoutMs: 1, maxTimeoutMs: 5}})
    const detach = metrics.attachCore(core)
    const answers = [
      new SnykHttpError({kind: 'http', method: 'POST', path: '/v1/import', status: 503}),
      new SnykHttpError({kind: 'http', method: 'POST', path: '/v1/import', status: 429, retryAfterMs: 20}),
    ]
    assert.equal(
      await core.run('import nginx', async () => {
        const answer = answers.shift()
        if (answer) throw answer
        return 'done'
      }),
      'done',
    )
    await assert.rejects(
      core.run('import bad', async () => {
        throw new SnykHttpError({kind: 'http', method: 'POST', path: '/v1/import', status: 400})
      }),
    )
    const lines = await samples(metrics)
    assert.ok(lines.includes('snyk_watch_snyk_retries_total 2'), lines.join('\n'))
    assert.ok(lines.includes('snyk_watch_snyk_rate_limit_pauses_total 1'), lines.join('\n'))
    assert.ok(lines.includes('snyk_watch_snyk_request_duration_seconds_count{outcome="ok"} 1'), lines.join('\n'))
    assert.ok(lines.includes('snyk_watch_snyk_request_duration_seconds_count{outcome="error"} 3'), lines.join('\n'))
    assert.ok(lines.some((line) => line.startsWith('snyk_watch_snyk_request_duration_seconds_bucket{le="0.025",outcome="ok"}')))

    detach()
    await core.run('import redis', async () => 'done')
    assert.ok((await samples(metrics)).includes('snyk_watch_snyk_request_duration_seconds_count{outcome="ok"} 1'))
    core.close()
  })
})
