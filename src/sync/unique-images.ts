// One unique image `sync` listed and where it runs, summed up as its observations arrive: the observations are
// recorded page by page and dropped, so memory grows with images and workloads, not with pods.
import type {ImageObservation, ImageRef} from '../models/image.ts'
import type {SyncImage} from './sync-result.ts'

export interface UniqueImage {
  key: string
  image: ImageRef
  digest: string | undefined
  clusters: Set<string>
  /** `cluster/namespace` */
  namespaces: Set<string>
  /** `namespace/kind/name` */
  workloads: Set<string>
  containers: number
}

export function uniqueImageOf(key: string, observation: ImageObservation): UniqueImage {
  return {key, image: observation.image, digest: observation.runningDigest ?? observation.image.digest, clusters: new Set(), namespaces: new Set(), workloads: new Set(), containers: 0}
}

export function addPlacement(entry: UniqueImage, observation: ImageObservation): void {
  entry.clusters.add(observation.cluster)
  entry.namespaces.add(`${observation.cluster}/${observation.namespace}`)
  entry.workloads.add(`${observation.namespace}/${observation.workload.kind}/${observation.workload.name}`)
  entry.containers++
}

export function placementSummary(entry: UniqueImage): SyncImage['runsIn'] {
  return {clusters: [...entry.clusters].sort(), namespaces: entry.namespaces.size, workloads: [...entry.workloads].sort().slice(0, 20), containers: entry.containers}
}


/** Adds one target's images to the run's. */
export function mergeImages(into: Map<string, UniqueImage>, from: ReadonlyMap<string, UniqueImage>): void {
  for (const [key, mine] of from) {
    const entry = into.get(key)
    if (entry === undefined) {
      into.set(key, mine)
      continue
    }
    for (const cluster of mine.clusters) entry.clusters.add(cluster)
    for (const namespace of mine.namespaces) entry.namespaces.add(namespace)
    for (const workload of mine.workloads) entry.workloads.add(workload)
    entry.containers += mine.containers
  }
}
