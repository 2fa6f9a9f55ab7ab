// What `sync` and `watch` share: the targets (kubeconfigs x contexts), the pod scope, the Snyk settings and
// where the state store is.
import {homedir} from 'node:os'
import {UsageError} from '../errors.ts'
import type {PodScope} from '../kube/pod-scope.ts'
import type {TargetSelection} from '../kube/target.ts'
import type {OptionValue} from './option-sources.ts'
import {defaults} from './defaults.ts'
import {snykSettingsOf, type SnykSettings} from './snyk-settings.ts'

export interface PipelineOptions extends SnykSettings {
  kubeconfigs: string[]
  targets: TargetSelection
  scope: PodScope
  statePath: string | undefined
  /** Placements not seen for this long are removed from the store (--forget-after). */
  forgetAfterMs: number
  /** --cluster-name: the name of the one selected target. */
  clusterName: string | undefined
  homeDir: string
}

/** The shared options from resolved option values; `needsSnyk` false (--dry-run) skips the token and org. */
export function pipelineOptionsOf(o: Record<string, OptionValue | undefined>, env: NodeJS.ProcessEnv, needsSnyk: boolean): PipelineOptions {
  const namespaces = (o.namespace as string[] | undefined) ?? []
  if (namespaces.length > 0 && o['all-namespaces'] === true) {
    throw new UsageError('--namespace and --all-namespaces cannot be used together', {code: 'USAGE', suggestions: ['pass -n NAMESPACE (repeatable) or -A']})
  }
  return {
    kubeconfigs: (o.kubeconfig as string[] | undefined) ?? [],
    targets: {contexts: (o.context as string[] | undefined) ?? [], allContexts: o['all-contexts'] === true},
    scope: {
      namespaces,
      excludeNamespaces: (o['exclude-namespace'] as string[] | undefined) ?? [],
      ...(o.selector ? {labelSelector: o.selector as string} : {}),
      skipJobPods: o['skip-job-pods'] === true,
    },
    ...snykSettingsOf(o, env, {needed: needsSnyk}),
    statePath: o.state as string | undefined,
    clusterName: o['cluster-name'] as string | undefined,
    forgetAfterMs: (o['forget-after'] as number | undefined) ?? defaults.forgetAfterMs,
    homeDir: env.HOME || homedir(),
  }
}
