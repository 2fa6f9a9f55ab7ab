// The pod source of `sync`: one paginated LIST per target (or per namespace), keeping only what the
// pipeline needs from each page so memory does not grow with whole pod objects.
import type {ContainerRecord, ContainerStatusRecord, PodRecord} from '../images/pod-images.ts'
import {KubeRequestError, metadataOnly, type KubeApiClient} from './kube-api-client.ts'
import {isIgnored, namespaceExcluder, type PodScope} from './pod-scope.ts'
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
}

interface Named {
  name?: string
  image?: string
}
interface Status {
  name?: string
  imageID?: string
}
interface RawPod {
  metadata?: {name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: Array<{kind?: string; name?: string; controller?: boolean}>}
  spec?: {containers?: Named[]; initContainers?: Named[]; ephemeralContainers?: Named[]}
  status?: {containerStatuses?: Status[]; initContainerStatuses?: Status[]; ephemeralContainerStatuses?: Status[]}
}
interface PodList {
  items?: RawPod[]
  metadata?: {continue?: string}
}
interface NamespaceMetadata {
  metadata?: {name?: string; labels?: Record<string, string>; annotations?: Record<string, string>}
}

const containers = (specs: Named[] | undefined): ContainerRecord[] =>
  (specs ?? []).flatMap((spec) => (spec.name && spec.image ? [{name: spec.name, image: spec.image}] : []))
const statuses = (list: Status[] | undefined): ContainerStatusRecord[] =>
  (list ?? []).flatMap((status) => (status.name && status.imageID ? [{name: status.name, imageID: status.imageID}] : []))

/** Namespaces whose ignore marker is set; undefined when namespaces may not be read. */
async function ignoredNamespaces(client: KubeApiClient, scope: PodScope, signal?: AbortSignal): Promise<Set<string> | undefined> {
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
    return new Set(namespaces.filter((ns) => isIgnored(ns.metadata ?? {})).map((ns) => ns.metadata?.name ?? ''))
  } catch (error) {
    if (error instanceof KubeRequestError && error.kind === 'forbidden') return undefined
    throw error
  }
}

export interface ListOptions {
  signal?: AbortSignal
  pageSize?: number
  /** Called after each page with the number of pods kept so far; the next page waits for it. */
  onProgress?: (podsKept: number) => void | Promise<void>
  /** Takes each page's pods as they arrive (then `pods` stays empty), so memory holds one page at a time. */
  onPods?: (pods: PodRecord[]) => void
}

/** Lists the pods of one target in scope. Throws KubeRequestError when the target cannot be listed at all. */
export async function listTargetPods(client: KubeApiClient, scope: PodScope, options: ListOptions = {}): Promise<TargetListing> {
  const signal = options.signal
  const warnings: string[] = []
  const resolver = new WorkloadResolver()
  const [ignored] = await Promise.all([ignoredNamespaces(client, scope, signal), resolver.load(client, scope.namespaces, signal)])
  if (!ignored) warnings.push(`not allowed to read namespaces in ${client.target.name}: the ${'snyk-watch.io/ignore'} marker on namespaces is not applied`)
  const excluded = namespaceExcluder(scope.excludeNamespaces)

  const pods: PodRecord[] = []
  let podCount = 0
  const seen = new Set<string>()
  let skippedPods = 0
  let pages = 0
  let expiries = 0
  const paths = scope.namespaces.length === 0 ? ['/api/v1/pods'] : scope.namespaces.map((ns) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`)
  for (const pathname of paths) {
    let token: string | undefined
    let more = true
    while (more) {
      let page: PodList
      try {
        page = await client.getJson<PodList>(pathname, {limit: options.pageSize ?? 250, continue: token, labelSelector: scope.labelSelector}, signal ? {signal} : {})
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
      const kept: PodRecord[] = options.onPods ? [] : pods
      for (const raw of page.items ?? []) {
        const metadata = raw.metadata ?? {}
        const namespace = metadata.namespace ?? ''
        const name = metadata.name ?? ''
        const key = `${namespace}/${name}`
        if (seen.has(key)) continue
        seen.add(key)
        const owner = controllerOf(metadata)
        if (isIgnored(metadata) || ignored?.has(namespace) || excluded(namespace) || (scope.skipJobPods && owner?.kind === 'Job')) {
          skippedPods++
          continue
        }
        podCount++
        kept.push({
          namespace,
          name,
          workload: resolver.resolve({namespace, name, ...(metadata.labels ? {labels: metadata.labels} : {}), ...(owner ? {owner} : {})}),
          containers: containers(raw.spec?.containers),
          initContainers: containers(raw.spec?.initContainers),
          ephemeralContainers: containers(raw.spec?.ephemeralContainers),
          containerStatuses: statuses(raw.status?.containerStatuses),
          initContainerStatuses: statuses(raw.status?.initContainerStatuses),
          ephemeralContainerStatuses: statuses(raw.status?.ephemeralContainerStatuses),
        })
      }
      if (options.onPods) options.onPods(kept)
      await options.onProgress?.(podCount)
      token = page.metadata?.continue || undefined
      more = token !== undefined
    }
  }
  return {pods, podCount, skippedPods, warnings, pages}
}
