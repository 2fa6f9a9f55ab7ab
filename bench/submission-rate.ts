// Benchmarks P2 and P2b of the submission core against the Snyk emulator (contract validation on).
//
//     node bench/submission-rate.ts [--images 2000] [--rate 1200] [--concurrency 16] [--time-scale 5]
//
// The emulator runs in a worker thread (its own event loop, like a remote Snyk), with contract validation on;
// a contract violation fails the benchmark.
//
// Time is scaled to keep the run short: a "minute" lasts 60000 / time-scale ms, both for the emulator's rate
// limit window and for the core's --rate (requests per minute). Rates are printed per scaled minute, so the
// ratios are those a real run would have with one-minute windows (as long as the emulator keeps up: the
// capacity baseline shows how far above the configured rate it is).
//
// Baseline (measured first, same process, same emulator): the emulator's capacity, imports per scaled
// minute with no limiter (concurrency only).
// P2:  emulator limit = 2 x --rate.  Figure: achieved imports per minute / --rate.   Goal >= 0.95, zero 429.
// P2b: emulator limit = --rate / 2.  Figure: total time / (images / limit).          Goal <= 1.15, nothing lost.
import {parseArgs} from 'node:util'
import {Agent} from 'undici'
import {SnykClient} from '../src/snyk/snyk-client.ts'
import {LimiterRegistry} from '../src/submit/limiter-registry.ts'
import {SubmissionCore} from '../src/submit/submission-core.ts'
import type {SubmissionEvents} from '../src/submit/submission-core.ts'
import {RemoteEmulator} from './remote-emulator.ts'

const {values} = parseArgs({
  options: {
    images: {type: 'string', default: '2000'},
    rate: {type: 'string', default: '1200'},
    concurrency: {type: 'string', default: '16'},
    'time-scale': {type: 'string', default: '5'},
    'baseline-images': {type: 'string', default: '1000'},
  },
})
const images = positiveInteger('images', values.images)
const rate = positiveInteger('rate', values.rate)
const concurrency = positiveInteger('concurrency', values.concurrency)
const timeScale = Number(values['time-scale'])
if (!(timeScale >= 1)) throw new Error('--time-scale must be >= 1')
const baselineImages = positiveInteger('baseline-images', values['baseline-images'])
const minuteMs = 60_000 / timeScale

interface RunResult {
  readonly elapsedMs: number
  readonly submitted: number
  readonly failed: number
  readonly tooManyRequests: number
  readonly uniqueImported: number
  readonly pauses: number
  readonly finalRate: number
  /** Median and 95th percentile of the time from sending an import to its answer. */
  readonly latencyP50Ms: number
  readonly latencyP95Ms: number
}

/** Imports `count` unique images through a fresh core (own registry: a fresh lane) and the emulator. */
async function importAll(snyk: RemoteEmulator, prefix: string, count: number, ratePerMinute: number): Promise<RunResult> {
  const agent = new Agent({connections: concurrency * 2})
  const client = new SnykClient({token: snyk.token, apiBase: snyk.url, dispatcher: agent})
  const core = new SubmissionCore({token: snyk.token, registry: new LimiterRegistry(), concurrency, ratePerMinute, minuteMs, backoff: {minTimeoutMs: 50, maxTimeoutMs: 2000}})
  let pauses = 0
  const onPaused = (..._args: SubmissionEvents['paused']): void => {
    pauses += 1
  }
  core.on('paused', onPaused)
  const latencies: number[] = []
  const before = await snyk.report(prefix)
  const started = performance.now()
  const outcomes = await Promise.allSettled(
    Array.from({length: count}, (_, i) =>
      core.run(`import ${i}`, async (signal) => {
        const sent = performance.now()
        try {
          return await client.importImage(snyk.orgId, snyk.dockerHubIntegration, `${prefix}/app-${i}:1.0`, signal)
        } finally {
          latencies.push(performance.now() - sent)
        }
      }),
    ),
  )
  const elapsedMs = performance.now() - started
  const after = await snyk.report(prefix)
  core.close()
  await agent.close()
  return {
    elapsedMs,
    submitted: outcomes.filter((outcome) => outcome.status === 'fulfilled').length,
    failed: outcomes.filter((outcome) => outcome.status === 'rejected').length,
    tooManyRequests: after.tooManyRequests - before.tooManyRequests,
    uniqueImported: after.importedTargets,
    pauses,
    finalRate: core.lane.gate.ratePerMinute,
    latencyP50Ms: percentile(latencies, 0.5),
    latencyP95Ms: percentile(latencies, 0.95),
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
}

function perMinute(count: number, elapsedMs: number): number {
  return (count / elapsedMs) * minuteMs
}

function positiveInteger(name: string, value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} must be an integer >= 1`)
  return number
}

const fmt = (value: number, digits = 0): string => value.toFixed(digits)

const snyk = await RemoteEmulator.start({requests: 1_000_000, windowMs: minuteMs})
let failedGoals = 0
try {
  console.log(`submission-rate: ${images} images, --rate ${rate}/min, --concurrency ${concurrency}, time scale 1/${timeScale} (a minute lasts ${fmt(minuteMs)} ms)`)

  // Baseline: the emulator's capacity, no pacing.
  const capacity = await importAll(snyk, 'baseline', baselineImages, 1_000_000_000)
  const capacityPerMinute = perMinute(capacity.submitted, capacity.elapsedMs)
  console.log(`baseline  emulator capacity: ${fmt(capacityPerMinute)} imports/min (${capacity.submitted} in ${fmt(capacity.elapsedMs)} ms); --rate is ${fmt(rate / capacityPerMinute, 3)} of it`)
  if (rate > 0.7 * capacityPerMinute) {
    console.log('warning   the emulator cannot comfortably sustain --rate on this machine now (busy?): P2 measures the machine, not the core. Use a smaller --time-scale (e.g. 2, slower requests) or run it when the machine is idle.')
  }

  // P2: limit above the configured rate.
  await snyk.setRateLimit({requests: rate * 2, windowMs: minuteMs})
  const p2 = await importAll(snyk, 'p2', images, rate)
  const achieved = perMinute(p2.submitted, p2.elapsedMs)
  const p2Ratio = achieved / rate
  const p2Ok = p2Ratio >= 0.95 && p2.tooManyRequests === 0 && p2.submitted === images
  if (!p2Ok) failedGoals += 1
  console.log(
    `P2   achieved ${fmt(achieved)} imports/min over ${images} images in ${fmt(p2.elapsedMs)} ms; ` +
      `ratio to --rate ${rate}: ${fmt(p2Ratio, 3)} (goal >= 0.95); 429s: ${p2.tooManyRequests} (goal 0); ` +
      `ratio to capacity baseline: ${fmt(achieved / capacityPerMinute, 3)}; latency p50 ${fmt(p2.latencyP50Ms, 1)} ms, p95 ${fmt(p2.latencyP95Ms, 1)} ms ` +
      `(--concurrency ${concurrency} sustains ${fmt((concurrency / Math.max(p2.latencyP95Ms, 0.001)) * minuteMs)}/min at p95)  ${p2Ok ? 'OK' : 'MISSED'}`,
  )

  // P2b: limit at half the configured rate.
  const limit = Math.floor(rate / 2)
  await snyk.setRateLimit({requests: limit, windowMs: minuteMs})
  const p2b = await importAll(snyk, 'p2b', images, rate)
  const idealMs = (images / limit) * minuteMs
  const p2bRatio = p2b.elapsedMs / idealMs
  const lost = images - p2b.uniqueImported
  const p2bOk = p2bRatio <= 1.15 && lost === 0 && p2b.failed === 0
  if (!p2bOk) failedGoals += 1
  console.log(
    `P2b  ${images} images in ${fmt(p2b.elapsedMs)} ms with the limit at ${limit}/min; ideal ${fmt(idealMs)} ms; ` +
      `ratio ${fmt(p2bRatio, 3)} (goal <= 1.15); lost ${lost}, failed ${p2b.failed} (goal 0); ` +
      `429s ${p2b.tooManyRequests}, pauses ${p2b.pauses}, rate converged to ${fmt(p2b.finalRate)}/min  ${p2bOk ? 'OK' : 'MISSED'}`,
  )
  const {violations} = await snyk.report('')
  if (violations > 0) {
    failedGoals += 1
    console.log(`contract violations: ${violations}`)
  }
} finally {
  await snyk.close()
}
process.exitCode = failedGoals > 0 ? 1 : 0
