// Which pods of a target are in scope: namespaces, exclusions, label selector, ignore markers, Job pods.
import picomatch from 'picomatch'

/** A pod or namespace labelled or annotated with this key set to "true" is skipped. */
export const ignoreKey = 'snyk-watch.io/ignore'

export interface PodScope {
  /** -n/--namespace; empty means all namespaces. */
  namespaces: string[]
  /** --exclude-namespace globs (`kube-*`). */
  excludeNamespaces: string[]
  /** -l/--selector, passed to the API server. */
  labelSelector?: string
  /** --skip-job-pods: leave out pods owned by Jobs (and so CronJobs). */
  skipJobPods: boolean
  /** watch --namespace-selector: only namespaces whose labels match (evaluated by the API server). */
  namespaceSelector?: string
}

interface Marked {
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export function isIgnored(metadata: Marked): boolean {
  return metadata.labels?.[ignoreKey] === 'true' || metadata.annotations?.[ignoreKey] === 'true'
}

/** Builds the namespace test for --exclude-namespace globs. */
export function namespaceExcluder(globs: string[]): (namespace: string) => boolean {
  if (globs.length === 0) return () => false
  const matchers = globs.map((glob) => picomatch(glob))
  return (namespace) => matchers.some((matches) => matches(namespace))
}
