// The images one pod runs: one observation per container of each kind, with the running digest from
// the container's status, matched by container name.

import type {ContainerKind, ImageObservation, WorkloadRef} from '../models/image.ts'
import {formatRepository, InvalidImageReferenceError, parseImageReference} from './image-reference.ts'
import type {InvalidImageReferenceReason} from './image-reference.ts'
import {parseImageID} from './running-digest.ts'

/** A container of the pod spec: only what image extraction needs. */
export interface ContainerRecord {
  name: string
  /** `spec.*containers[].image` as written. */
  image: string
}

/** A container status: `status.*ContainerStatuses[]`, only what image extraction needs. */
export interface ContainerStatusRecord {
  name: string
  /** As the runtime reports it; empty until the container has started. */
  imageID: string
}

/**
 * The part of a pod that image extraction reads. Structurally a subset of a Kubernetes pod flattened
 * by the pod source, which also resolves the top-level workload (ignore rules are applied before).
 */
export interface PodRecord {
  namespace: string
  name: string
  workload: WorkloadRef
  containers: readonly ContainerRecord[]
  initContainers?: readonly ContainerRecord[]
  ephemeralContainers?: readonly ContainerRecord[]
  containerStatuses?: readonly ContainerStatusRecord[]
  initContainerStatuses?: readonly ContainerStatusRecord[]
  ephemeralContainerStatuses?: readonly ContainerStatusRecord[]
  /** The pod's `snyk-watch.io/fips` annotation, when it is `true` or `false`: overrides the FIPS name heuristic (src/images/fips.ts). */
  fipsAnnotation?: boolean
}

/** Where the pod was found. */
export interface PodLocation {
  /** Target id: `<kubeconfig path>#<context>` or `in-cluster`. */
  target: string
  /** Display name of the cluster. */
  cluster: string
}

/** A container whose image could not be used; the pod's other containers are unaffected. */
export interface ImageProblem {
  target: string
  cluster: string
  namespace: string
  pod: string
  container: string
  containerKind: ContainerKind
  workload: WorkloadRef
  /** The image as written in the pod spec. */
  reference: string
  reason: InvalidImageReferenceReason
  /** What is wrong, for people: `invalid image reference "Nginx": repository name "library/Nginx" must be lowercase`. */
  message: string
}

export interface PodImages {
  observations: ImageObservation[]
  problems: ImageProblem[]
}

const KINDS: ReadonlyArray<{
  kind: ContainerKind
  containers: (pod: PodRecord) => readonly ContainerRecord[] | undefined
  statuses: (pod: PodRecord) => readonly ContainerStatusRecord[] | undefined
}> = [
  {kind: 'init', containers: (pod) => pod.initContainers, statuses: (pod) => pod.initContainerStatuses},
  {kind: 'container', containers: (pod) => pod.containers, statuses: (pod) => pod.containerStatuses},
  {kind: 'ephemeral', containers: (pod) => pod.ephemeralContainers, statuses: (pod) => pod.ephemeralContainerStatuses},
]

/** Observations for every init, regular and ephemeral container of a pod (in that order), and the containers whose image is invalid. */
export function imagesOfPod(pod: PodRecord, location: PodLocation): PodImages {
  const result: PodImages = {observations: [], problems: []}
  for (const {kind, containers, statuses} of KINDS) {
    const imageIDs = new Map((statuses(pod) ?? []).map((status) => [status.name, status.imageID]))
    for (const container of containers(pod) ?? []) {
      const where = {
        target: location.target,
        cluster: location.cluster,
        namespace: pod.namespace,
        pod: pod.name,
        container: container.name,
        containerKind: kind,
        workload: pod.workload,
        reference: container.image,
      }
      let image
      try {
        image = parseImageReference(container.image)
      } catch (error) {
        if (!(error instanceof InvalidImageReferenceError)) throw error
        result.problems.push({...where, reason: error.reason, message: error.message})
        continue
      }
      const observation: ImageObservation = {...where, image}
      if (pod.fipsAnnotation !== undefined) observation.fipsAnnotation = pod.fipsAnnotation
      const running = parseImageID(imageIDs.get(container.name) ?? '')
      if (running.kind === 'repository-digest') {
        observation.runningDigest = running.digest
        const runningRepository = formatRepository(running)
        if (runningRepository !== formatRepository(image)) observation.runningRepository = runningRepository
      }
      result.observations.push(observation)
    }
  }
  return result
}
