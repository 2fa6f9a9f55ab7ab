// The options of every command in one place. One config file serves every command: a key is an error
// only when no command knows it, and each command reads the keys it has.
import type {OptionSpec} from './option-sources.ts'

/** Snyk and submission options shared by every command that talks to Snyk. */
const snykOptionSpecs: OptionSpec[] = [
  {name: 'org', kind: 'string'},
  {name: 'token-file', kind: 'string'},
  {name: 'api', kind: 'string'},
  {name: 'concurrency', kind: 'integer', min: 1, max: 100},
  {name: 'rate', kind: 'integer', min: 1, max: 100_000},
  {name: 'max-retries', kind: 'integer', min: 0, max: 20},
  {name: 'timeout', kind: 'duration', min: 1000},
  {name: 'state', kind: 'string'},
]

export const syncOptionSpecs: OptionSpec[] = [
  {name: 'kubeconfig', kind: 'strings'},
  {name: 'context', kind: 'strings'},
  {name: 'all-contexts', kind: 'boolean'},
  {name: 'cluster-name', kind: 'string'},
  {name: 'namespace', kind: 'strings'},
  {name: 'all-namespaces', kind: 'boolean'},
  {name: 'exclude-namespace', kind: 'strings'},
  {name: 'selector', kind: 'string'},
  {name: 'skip-job-pods', kind: 'boolean'},
  {name: 'integration', kind: 'strings'},
  {name: 'resubmit-after', kind: 'duration', min: 0},
  {name: 'forget-after', kind: 'duration', min: 3_600_000},
  {name: 'wait', kind: 'boolean'},
  {name: 'wait-timeout', kind: 'duration', min: 1000},
  {name: 'dry-run', kind: 'boolean'},
  {name: 'fail-on', kind: 'string'},
  {name: 'fail-on-new', kind: 'boolean'},
  ...snykOptionSpecs,
]

export const statusOptionSpecs: OptionSpec[] = [
  {name: 'by', kind: 'string'},
  {name: 'output', kind: 'string'},
  {name: 'context', kind: 'strings'},
  {name: 'namespace', kind: 'strings'},
  {name: 'image', kind: 'strings'},
  {name: 'result', kind: 'strings'},
  ...syncOptionSpecs.filter((spec) => spec.name === 'fail-on'),
  {name: 'refresh', kind: 'boolean'},
  {name: 'sbom', kind: 'string'},
  {name: 'fips', kind: 'boolean'},
  {name: 'all', kind: 'boolean'},
  {name: 'watch', kind: 'boolean'},
  {name: 'interval', kind: 'duration', min: 100, max: 3_600_000},
  ...snykOptionSpecs,
]

export const watchOptionSpecs: OptionSpec[] = [
  ...syncOptionSpecs.filter((spec) => !['wait', 'wait-timeout', 'dry-run', 'timeout', 'fail-on', 'fail-on-new'].includes(spec.name)),
  {name: 'listen', kind: 'string'},
  {name: 'leader-elect', kind: 'boolean'},
  {name: 'leader-elect-namespace', kind: 'string'},
  {name: 'leader-elect-name', kind: 'string'},
  {name: 'leader-elect-lease-duration', kind: 'duration', min: 2000},
  {name: 'namespace-selector', kind: 'string'},
  {name: 'shutdown-timeout', kind: 'duration', min: 0},
  {name: 'retry-after', kind: 'duration', min: 1000},
  {name: 'log-format', kind: 'string'},
  {name: 'log-level', kind: 'string'},
]

/** Every key a config file may hold. */
export const configFileKeys: ReadonlySet<string> = new Set([...syncOptionSpecs, ...statusOptionSpecs, ...watchOptionSpecs].map((spec) => spec.name))
