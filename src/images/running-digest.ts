// What a container runtime says a container runs: `status.*ContainerStatuses[].imageID`.
//
// The kubelet copies the runtime's image reference into imageID, and each runtime writes it differently:
//
//   containerd, CRI-O         docker.io/library/nginx@sha256:<manifest digest>       a repository digest
//   docker (dockershim,       docker-pullable://nginx@sha256:<manifest digest>       a repository digest, familiar name
//     cri-dockerd)            docker://sha256:<image id>                              built or loaded locally: no digest
//   containerd (imported      sha256:<config digest>                                  the image id: no repository digest
//     image), CRI-O
//   not started yet           ""                                                       nothing known yet
//
// Only a repository digest identifies the image in a registry; an image id (the digest of the image's
// config) is never a registry digest, so it is not reported as one.

import type {ImageRef} from '../models/image.ts'
import {InvalidImageReferenceError, isValidDigest, parseImageReference} from './image-reference.ts'

/** What one imageID says about the image a container runs. */
export type RunningImage =
  /** A repository digest, and the repository the runtime pulled it from (normalised: `docker.io/library/nginx`). */
  | {kind: 'repository-digest'; digest: string; registry: string; repository: string}
  /** A local image id (`sha256:...` config digest): the runtime has no registry digest for the image. */
  | {kind: 'image-id'; imageId: string}
  /** The container has not started (empty imageID). */
  | {kind: 'unknown'}
  /** A form no runtime we know writes; kept so it can be reported. */
  | {kind: 'unrecognised'; imageID: string}

const RUNTIME_PREFIXES = ['docker-pullable://', 'docker://'] as const

/** Read an imageID in any runtime's form. Never throws. */
export function parseImageID(imageID: string): RunningImage {
  const text = imageID.trim()
  if (text === '') return {kind: 'unknown'}
  let rest = text
  for (const prefix of RUNTIME_PREFIXES) {
    if (rest.startsWith(prefix)) {
      rest = rest.slice(prefix.length)
      break
    }
  }
  if (isValidDigest(rest)) return {kind: 'image-id', imageId: rest}
  if (!rest.includes('@')) return {kind: 'unrecognised', imageID}
  let ref: ImageRef
  try {
    ref = parseImageReference(rest)
  } catch (error) {
    if (error instanceof InvalidImageReferenceError) return {kind: 'unrecognised', imageID}
    throw error
  }
  if (ref.digest === undefined) return {kind: 'unrecognised', imageID}
  return {kind: 'repository-digest', digest: ref.digest, registry: ref.registry, repository: ref.repository}
}

/** The repository digest a container runs (`sha256:...`), or undefined when the runtime reports none. */
export function runningDigestOf(imageID: string): string | undefined {
  const running = parseImageID(imageID)
  return running.kind === 'repository-digest' ? running.digest : undefined
}
