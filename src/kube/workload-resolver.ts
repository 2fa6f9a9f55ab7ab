// Resolves a pod's owner to its top-level workload without one API call per pod: the ReplicaSets and
// Jobs of the target are listed once, metadata only. Where those lists are not allowed (a restricted
// user), naming conventions stand in: a Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`.
// A long-running pod source (watch) learns the owners created after load() on demand: one metadata GET
// per unknown ReplicaSet or Job, cached (see learn()).
import type {WorkloadRef} from '../models/image.ts'
import {KubeRequestError, metadataOnly, type KubeApiClient} from './kube-api-client.ts'

interface OwnerReference {
  kind?: string
  name?: string
  controller?: boolean
}

interface ObjectMetadata {
  name?: string
  namespace?: string
  labels?: Record<string, string>
  ownerReferences?: OwnerReference[]
}

/** Accept header asking for one object's metadata only (PartialObjectMetadata). */
const objectMetadataOnly = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json'

/** Owners learned after load() beyond which the oldest entries are forgotten (and looked up again when needed). */
const learnedLimit = 10_000

interface MetadataList {
  items?: Array<{metadata?: ObjectMetadata}>
  metadata?: {continue?: string}
}

export function controllerOf(metadata: {ownerReferences?: OwnerReference[]}): {kind: string; name: string} | undefined {
  const owners = metadata.ownerReferences ?? []
  const owner = owners.find((o) => o.controller) ?? owners[0]
  return owner?.kind && owner.name ? {kind: owner.kind, name: owner.name} : undefined
}

export class WorkloadResolver {
  /** `namespace/name` of a ReplicaSet or Job -> its controller. */
  private readonly replicaSetOwners = new Map<string, {kind: string; name: string} | null>()
  private readonly jobOwners = new Map<string, {kind: string; name: string} | null>()
  private replicaSetsKnown = false
  private jobsKnown = false
  private loadedSizes = {replicaSets: 0, jobs: 0}

  /** Lists ReplicaSets and Jobs (metadata only) in the given namespaces (all when empty). */
  async load(client: KubeApiClient, namespaces: string[], signal?: AbortSignal): Promise<void> {
    const collect = async (group: string, resource: string, into: Map<string, {kind: string; name: string} | null>): Promise<boolean> => {
      const paths = namespaces.length === 0 ? [`${group}/${resource}`] : namespaces.map((ns) => `${group}/namespaces/${ns}/${resource}`)
      try {
        for (const pathname of paths) {
          let token: string | undefined
          do {
            const page = await client.getJson<MetadataList>(pathname, {limit: 500, continue: token}, {accept: metadataOnly, ...(signal ? {signal} : {})})
            for (const item of page.items ?? []) {
              const metadata = item.metadata ?? {}
              into.set(`${metadata.namespace}/${metadata.name}`, controllerOf(metadata) ?? null)
            }
            token = page.metadata?.continue || undefined
          } while (token)
        }
        return true
      } catch (error) {
        // Not allowed (or an old list expired): fall back to naming conventions for this kind.
        if (error instanceof KubeRequestError && error.kind !== 'unreachable' && error.kind !== 'unauthorized') return false
        throw error
      }
    }
    const [replicaSets, jobs] = await Promise.all([collect('/apis/apps/v1', 'replicasets', this.replicaSetOwners), collect('/apis/batch/v1', 'jobs', this.jobOwners)])
    this.replicaSetsKnown = replicaSets
    this.jobsKnown = jobs
    this.loadedSizes = {replicaSets: this.replicaSetOwners.size, jobs: this.jobOwners.size}
  }

  /**
   * Makes sure the owner of a pod seen after load() is known: a ReplicaSet or Job created since then is
   * read with one metadata GET and cached (a deleted one as having no controller). Nothing happens when
   * the owner is already known, is of another kind, or its kind could not be listed (conventions apply).
   * Never throws on API errors (the pod then resolves as it would without the lookup), only on abort.
   */
  async learn(client: KubeApiClient, namespace: string, owner: {kind: string; name: string} | undefined, signal?: AbortSignal): Promise<void> {
    if (owner?.kind !== 'ReplicaSet' && owner?.kind !== 'Job') return
    const replicaSet = owner.kind === 'ReplicaSet'
    if (!(replicaSet ? this.replicaSetsKnown : this.jobsKnown)) return
    const into = replicaSet ? this.replicaSetOwners : this.jobOwners
    const key = `${namespace}/${owner.name}`
    if (into.has(key)) return
    const pathname = `${replicaSet ? '/apis/apps/v1' : '/apis/batch/v1'}/namespaces/${encodeURIComponent(namespace)}/${replicaSet ? 'replicasets' : 'jobs'}/${encodeURIComponent(owner.name)}`
    try {
      const object = await client.getJson<{metadata?: ObjectMetadata}>(pathname, {}, {accept: objectMetadataOnly, ...(signal ? {signal} : {})})
      into.set(key, controllerOf(object.metadata ?? {}) ?? null)
    } catch (error) {
      if (signal?.aborted) throw error
      if (!(error instanceof KubeRequestError && error.kind === 'not-found')) return
      into.set(key, null)
    }
    // Bounded: entries beyond what load() found plus learnedLimit push out the oldest.
    const limit = (replicaSet ? this.loadedSizes.replicaSets : this.loadedSizes.jobs) + learnedLimit
    if (into.size > limit) {
      const oldest = into.keys().next()
      if (!oldest.done) into.delete(oldest.value)
    }
  }

  /** The top-level workload of a pod. */
  resolve(pod: {namespace: string; name: string; labels?: Record<string, string>; owner?: {kind: string; name: string}}): WorkloadRef {
    const owner = pod.owner
    if (!owner) return {kind: 'Pod', name: pod.name}
    if (owner.kind === 'ReplicaSet') {
      const parent = this.replicaSetOwners.get(`${pod.namespace}/${owner.name}`)
      if (parent) return parent
      if (parent === null) return owner
      const hash = pod.labels?.['pod-template-hash']
      if (!this.replicaSetsKnown && hash && owner.name.endsWith(`-${hash}`)) return {kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1)}
      return owner
    }
    if (owner.kind === 'Job') {
      const parent = this.jobOwners.get(`${pod.namespace}/${owner.name}`)
      if (parent) return parent
      // A CronJob names its Jobs `<cronjob>-<scheduled time in minutes>`.
      const scheduled = /^(.+)-\d{8,}$/.exec(owner.name)
      if (!this.jobsKnown && parent === undefined && scheduled?.[1]) return {kind: 'CronJob', name: scheduled[1]}
      return owner
    }
    return owner
  }
}
