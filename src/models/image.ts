// What the pipeline knows about an image: its reference, where it runs, and the key it is deduplicated by.

/** A container image reference, normalised the way the container tooling does (`nginx` = `docker.io/library/nginx:latest`). */
export interface ImageRef {
  /** Registry host, with port if any: `docker.io`, `ghcr.io`, `localhost:5000`, `123456789012.dkr.ecr.eu-west-1.amazonaws.com`. */
  registry: string
  /** Repository path without the registry: `library/nginx`, `acme/api`, `team/sub/app`. */
  repository: string
  /** Tag; `latest` when the reference has neither tag nor digest; absent for a digest-only reference. */
  tag?: string
  /** Digest written in the reference itself (`@sha256:...`), if any. */
  digest?: string
}

/** Where a workload container runs. */
export type ContainerKind = 'container' | 'init' | 'ephemeral'

/** The top-level owner of a pod: Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet (bare) or the Pod itself. */
export interface WorkloadRef {
  kind: string
  name: string
}

/** One container of one pod in one target, as found by a pod source. */
export interface ImageObservation {
  /** Target id: `<kubeconfig path>#<context>` or `in-cluster`. */
  target: string
  /** Display name of the cluster (the context name, or --cluster-name). */
  cluster: string
  namespace: string
  pod: string
  container: string
  containerKind: ContainerKind
  workload: WorkloadRef
  /** The image as written in the pod spec. */
  reference: string
  image: ImageRef
  /** The digest the runtime resolved (from status imageID), when it is a repository digest. */
  runningDigest?: string
  /**
   * `registry/repository` the runtime reports for the running digest, only when it differs from the spec's
   * (docker reports the first of an image's repository digests, which may belong to another repository).
   */
  runningRepository?: string
  /** The pod's `snyk-watch.io/fips` annotation (`true`/`false`), when set: overrides the FIPS name heuristic (src/images/fips.ts). */
  fipsAnnotation?: boolean
}
