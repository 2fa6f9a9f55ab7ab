// The pod source of `sync`: one paginated LIST per target (or per namespace), keeping only what the
// pipeline needs from each page so memory does not grow with whole pod objects.
import {fipsAnnotationOf} from '../images/fips.ts'
import type {ContainerRecord, ContainerStatusRecord, PodRecord} from '../images/pod-images.ts'
import {KubeRequestError, metadataOnly, type KubeApiClient} from './kube-api-client.ts'
import {isIgnored, namespaceExcluder, type PodScope} from './pod-scope.ts'
import {describeKubeFailure, KubeRetryPolicy, type KubeRetryOptions, type RetryInfo} from './retry-policy.ts'
import {controllerOf, WorkloadResolver} from './workload-resolver.ts'

export interface TargetListing {
  /** The pods kept, unless `onPods` took them page by page. */
  pods: PodRecord[]
  podCount: number
  /** Pods left out by an ignore marker on the pod or its namespace, by --exclude-namespace or --skip-job-pods. */
  skippedPods: number
  /** Things the user should know that did not stop the listing. */
  warnings: string[]
  pages: number
  /** `metadata.resourceVersion` of the list (with several namespaces, of the last namespace listed). */
  resourceVersion: string
}

interface Named {
  name?: string
  image?: string
}
interface Status {
  name?: string
  imageID?: string
}
export interface RawPodMetadata {
  name?: string
  namespace?: string
  resourceVersion?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: Array<{kind?: string; name?: string; controller?: boolean}>
}
/** A pod as the API returns it, reduced to the fields the pod sources read. */
export interface RawPod {
  metadata?: RawPodMetadata
  spec?: {containers?: Named[]; initContainers?: Named[]; ephemeralContainers?: Named[]}
  status?: {containerStatuses?: Status[]; initContainerStatuses?: Status[]; ephemeralContainerStatuses?: Status[]}
}
export interface PodList {
  items?: RawPod[]
  metadata?: {continue?: string; resourceVersion?: string}
}
interface NamespaceMetadata {
  metadata?: {name?: string; labels?: Record<string, string>; annotations?: Record<string, string>}
}

const containers = (specs: Named[] | undefined): ContainerRecord[] =>
  (specs ?? []).flatMap((spec) => (spec.name && spec.image ? [{name: spec.name, image: spec.image}] : []))
const statuses = (list: Status[] | undefined): ContainerStatusRecord[] =>
  (list ?? []).flatMap((status) => (status.name && status.imageID ? [{name: status.name, imageID: status.imageID}] : []))

/**
 * The namespaces in scope, each with whether its ignore marker is set (`true` = ignored); undefined when
 * namespaces may not be read. A namespace named by the scope that does not exist is left out.
 */
export async function readNamespaceMarks(client: KubeApiClient, scope: PodScope, signal?: AbortSignal): Promise<Map<string, boolean> | undefined> {
  const opts = {accept: metadataOnly, ...(signal ? {signal} : {})}
  try {
    const namespaces: NamespaceMetadata[] = []
    if (scope.namespaces.length > 0) {
      for (const name of scope.namespaces) {
        try {
          namespaces.push(await client.getJson<NamespaceMetadata>(`/api/v1/namespaces/${encodeURIComponent(name)}`, {}, signal ? {signal} : {}))
        } catch (error) {
          if (!(error instanceof KubeRequestError && error.kind === 'not-found')) throw error
        }
      }
    } else {
      let token: string | undefined
      do {
        const page = await client.getJson<{items?: NamespaceMetadata[]; metadata?: {continue?: string}}>('/api/v1/namespaces', {limit: 500, continue: token}, opts)
        namespaces.push(...(page.items ?? []))
        token = page.metadata?.continue || undefined
      } while (token)
    }
    const selected = scope.namespaceSelector ? await selectedNamespaces(client, scope.namespaceSelector, undefined, signal) : undefined
    return new Map(namespaces.map((ns) => [ns.metadata?.name ?? '', isIgnored(ns.metadata ?? {}) || (selected !== undefined && !selected.has(ns.metadata?.name ?? ''))]))
  } catch (error) {
    if (error instanceof KubeRequestError && error.kind === 'forbidden') {
      if (scope.namespaceSelector) throw new KubeRequestError('forbidden', `--namespace-selector needs permission to list namespaces in ${client.target.name}: ${error.message}`, {status: 403, cause: error})
      return undefined
    }
    throw error
  }
}

/**
 * Names of the namespaces matching a label selector, evaluated by the API server (all of them, or only
 * `name` to test one namespace learnt after the list).
 */
export async function selectedNamespaces(client: KubeApiClient, selector: string, name: string | undefined, signal?: AbortSignal): Promise<Set<string>> {
  const selected = new Set<string>()
  let token: string | undefined
  do {
    const page = await client.getJson<{items?: NamespaceMetadata[]; metadata?: {continue?: string}}>(
      '/api/v1/namespaces',
      {limit: 500, continue: token, labelSelector: selector, fieldSelector: name === undefined ? undefined : `metadata.name=${name}`},
      {accept: metadataOnly, ...(signal ? {signal} : {})},
    )
    for (const ns of page.items ?? []) if (ns.metadata?.name) selected.add(ns.metadata.name)
    token = page.metadata?.continue || undefined
  } while (token)
  return selected
}

/**
 * Whether a pod is in scope. `ignored`: by its own ignore marker, which can change during the pod's life.
 * `excluded`: by a rule fixed until the next (re)list: an ignored or excluded namespace, a Job pod under --skip-job-pods.
 */
export type PodScopeVerdict = 'in-scope' | 'ignored' | 'excluded'

/**
 * The scope test of both pod sources. `namespaceMarks` from readNamespaceMarks (read live: a caller may
 * add namespaces it learns of later); undefined when namespaces may not be read (their marker is not applied).
 */
export function podScopeFilter(scope: PodScope, namespaceMarks: ReadonlyMap<string, boolean> | undefined): (metadata: RawPodMetadata) => PodScopeVerdict {
  const excluded = namespaceExcluder(scope.excludeNamespaces)
  return (metadata) => {
    const namespace = metadata.namespace ?? ''
    if (namespaceMarks?.get(namespace) === true || excluded(namespace)) return 'excluded'
    if (scope.skipJobPods && controllerOf(metadata)?.kind === 'Job') return 'excluded'
    return isIgnored(metadata) ? 'ignored' : 'in-scope'
  }
}

/** The PodRecord of a pod in scope: only what the pipeline needs, with its top-level workload. */
export function toPodRecord(raw: RawPod, resolver: WorkloadResolver): PodRecord {
  const metadata = raw.metadata ?? {}
  const namespace = metadata.namespace ?? ''
  const name = metadata.name ?? ''
  const owner = controllerOf(metadata)
  const fips = fipsAnnotationOf(metadata.annotations)
  return {
    namespace,
    name,
    workload: resolver.resolve({namespace, name, ...(metadata.labels ? {labels: metadata.labels} : {}), ...(owner ? {owner} : {})}),
    ...(fips === undefined ? {} : {fipsAnnotation: fips}),
    containers: containers(raw.spec?.containers),
    initContainers: containers(raw.spec?.initContainers),
    ephemeralContainers: containers(raw.spec?.ephemeralContainers),
    containerStatuses: statuses(raw.status?.containerStatuses),
    initContainerStatuses: statuses(raw.status?.initContainerStatuses),
    ephemeralContainerStatuses: statuses(raw.status?.ephemeralContainerStatuses),
  }
}

export interface ListOptions {
  signal?: AbortSignal
  pageSize?: number
  /** Called after each page with the number of pods kept so far; the next page waits for it. */
  onProgress?: (podsKept: number) => void | Promise<void>
  /** Takes each page's pods as they arrive (then `pods` stays empty), so memory holds one page at a time. */
  /** Awaited before the next page is asked for (a store that writes over the network slows the listing, not the memory). */
  onPods?: (pods: PodRecord[]) => void | Promise<void>
  /** Limits and delays of retries after transient failures (src/kube/retry-policy.ts; defaults there). */
  retry?: KubeRetryOptions
  /** Told before each retry of a request that failed transiently. */
  onRetry?: (info: RetryInfo) => void
}

/**
 * Lists the pods of one target in scope. Transient failures are retried (retry-policy.ts) and the list resumes
 * where it stopped. Throws KubeRequestError (or the network error of a cut answer) when the target cannot be
 * listed at all, or still fails after the retries.
 */
export async function listTargetPods(client: KubeApiClient, scope: PodScope, options: ListOptions = {}): Promise<TargetListing> {
  const signal = options.signal
  const warnings: string[] = []
  // Transient failures (connection refused or reset, GOAWAY, 429, 5xx) are retried with backoff, a bounded
  // number of times; a page is asked again with the same continue token, so nothing is skipped, and pods
  // already handed over are not handed over again (`seen`).
  const policy = new KubeRetryPolicy(options.retry)
  let interruptions = 0
  let lastInterruption = ''
  const retrying = {
    ...(signal ? {signal} : {}),
    onRetry: (info: RetryInfo) => {
      interruptions++
      lastInterruption = describeKubeFailure(info.error)
      options.onRetry?.(info)
    },
  }
  let resolver = new WorkloadResolver()
  const [marks] = await policy.run(async () => {
    resolver = new WorkloadResolver()
    return Promise.all([readNamespaceMarks(client, scope, signal), resolver.load(client, scope.namespaces, signal)])
  }, retrying)
  if (!marks) warnings.push(namespacesUnreadableWarning(client))
  const inScope = podScopeFilter(scope, marks)

  const pods: PodRecord[] = []
  let podCount = 0
  const seen = new Set<string>()
  let skippedPods = 0
  let pages = 0
  let expiries = 0
  let resourceVersion = ''
  const paths = scope.namespaces.length === 0 ? ['/api/v1/pods'] : scope.namespaces.map((ns) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`)
  for (const pathname of paths) {
    let token: string | undefined
    let more = true
    while (more) {
      let page: PodList
      try {
        const query = {limit: options.pageSize ?? 250, continue: token, labelSelector: scope.labelSelector}
        page = await policy.run(() => client.getJson<PodList>(pathname, query, signal ? {signal} : {}), retrying)
      } catch (error) {
        if (error instanceof KubeRequestError && error.kind === 'expired' && token && ++expiries <= 5) {
          // The continue token expired (etcd compacted past it): resume with the inconsistent token the
          // server offers, or start the list again; pods already kept are not kept twice.
          warnings.push(`the pod list of ${client.target.name} expired while paging and was resumed`)
          token = error.continueToken
          continue
        }
        throw error
      }
      pages++
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion
      const kept: PodRecord[] = options.onPods ? [] : pods
      for (const raw of page.items ?? []) {
        const metadata = raw.metadata ?? {}
        const namespace = metadata.namespace ?? ''
        const name = metadata.name ?? ''
        const key = `${namespace}/${name}`
        if (seen.has(key)) continue
        seen.add(key)
        if (inScope(metadata) !== 'in-scope') {
          skippedPods++
          continue
        }
        podCount++
        kept.push(toPodRecord(raw, resolver))
      }
      if (options.onPods) await options.onPods(kept)
      await options.onProgress?.(podCount)
      token = page.metadata?.continue || undefined
      more = token !== undefined
    }
  }
  if (interruptions > 0) warnings.push(`the pod list of ${client.target.name} was resumed after ${interruptions} ${interruptions === 1 ? 'retry' : 'retries'} (last failure: ${lastInterruption})`)
  return {pods, podCount, skippedPods, warnings, pages, resourceVersion}
}

export function namespacesUnreadableWarning(client: KubeApiClient): string {
  return `not allowed to read namespaces in ${client.target.name}: the ${'snyk-watch.io/ignore'} marker on namespaces is not applied`
}
