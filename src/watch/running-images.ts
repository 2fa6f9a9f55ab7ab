// What runs where, in memory, for `watch`: per target and pod, the image keys of its containers and a
// signature of what the store knows of it; per image key, how many containers run it.
//
// This is what keeps `watch` churn-free: a pod update whose signature is unchanged (a readiness flip, a
// restart count, an annotation) touches neither the store nor the queue, and only a key going from zero
// running containers to one or more is a candidate for submission.
import {createHash} from 'node:crypto'
import type {ImageObservation, ImageRef} from '../models/image.ts'
import {imageKeyOf} from '../images/image-key.ts'

export interface PodImageSet {
  /** Everything the store records of the pod's containers: a change means a store write. */
  signature: string
  /** The image key of each container (repeated keys are repeated containers). */
  keys: string[]
}

export interface RunningImage {
  key: string
  image: ImageRef
  /** Containers running it, over every target. */
  containers: number
  /** Whether the running digest is known (from the container status or the reference). */
  hasDigest: boolean
  /** When this process first saw it running. */
  since: number
}

/** The key, signature and digest knowledge of a pod's observations. */
export function podImageSet(observations: readonly ImageObservation[]): PodImageSet {
  const keys = observations.map((observation) => imageKeyOf(observation))
  // A digest of what the store records, not the text: tens of thousands of pods are followed for days.
  const signature = createHash('sha1')
    .update(observations.map((o, index) => `${o.containerKind}/${o.container}=${keys[index]}|${o.reference}|${o.workload.kind}/${o.workload.name}|${o.fipsAnnotation ?? ''}`).join('\n'))
    .digest('base64')
  return {signature, keys}
}

export class RunningImages {
  readonly #targets = new Map<string, Map<string, PodImageSet>>()
  readonly #images = new Map<string, RunningImage>()
  readonly #clock: () => number

  constructor(clock: () => number = Date.now) {
    this.#clock = clock
  }

  /** Whether the pod is known with exactly this signature (then nothing needs doing). */
  unchanged(target: string, pod: string, signature: string): boolean {
    return this.#targets.get(target)?.get(pod)?.signature === signature
  }

  /**
   * Sets a pod's containers. Returns the keys that started running (from zero containers to some).
   * `images` gives the reference of each key (the first observation of it).
   */
  setPod(target: string, pod: string, set: PodImageSet, images: ReadonlyMap<string, ImageRef>): string[] {
    let pods = this.#targets.get(target)
    if (!pods) this.#targets.set(target, (pods = new Map()))
    const previous = pods.get(pod)
    pods.set(pod, set)
    const started = this.#add(set.keys, images)
    if (previous) this.#remove(previous.keys)
    return started.filter((key) => (this.#images.get(key)?.containers ?? 0) > 0)
  }

  /** Removes a pod. Returns whether it was known. */
  deletePod(target: string, pod: string): boolean {
    const pods = this.#targets.get(target)
    const previous = pods?.get(pod)
    if (!pods || !previous) return false
    pods.delete(pod)
    this.#remove(previous.keys)
    return true
  }

  /** Replaces a target's pods with a complete listing (kept as given). Returns the keys that started running. */
  replaceTarget(target: string, listing: Map<string, PodImageSet>, images: ReadonlyMap<string, ImageRef>): string[] {
    const previous = this.#targets.get(target)
    this.#targets.set(target, listing)
    const started: string[] = []
    for (const set of listing.values()) started.push(...this.#add(set.keys, images))
    if (previous) for (const set of previous.values()) this.#remove(set.keys)
    return [...new Set(started)].filter((key) => (this.#images.get(key)?.containers ?? 0) > 0)
  }

  get(key: string): RunningImage | undefined {
    return this.#images.get(key)
  }

  get size(): number {
    return this.#images.size
  }

  keys(): IterableIterator<string> {
    return this.#images.keys()
  }

  /** Containers per image key (for the metrics gauge). */
  containerCounts(): Map<string, number> {
    return new Map([...this.#images].map(([key, image]) => [key, image.containers]))
  }

  podCount(target?: string): number {
    if (target !== undefined) return this.#targets.get(target)?.size ?? 0
    let count = 0
    for (const pods of this.#targets.values()) count += pods.size
    return count
  }

  /** Counts the keys' containers; each key of `keys` is replaced by the one string kept for it (pods share it). */
  #add(keys: string[], images: ReadonlyMap<string, ImageRef>): string[] {
    const started: string[] = []
    keys.forEach((key, index) => {
      const entry = this.#images.get(key)
      if (entry) {
        entry.containers++
        keys[index] = entry.key
        return
      }
      const image = images.get(key)
      if (!image) return
      this.#images.set(key, {key, image, containers: 1, hasDigest: key.includes('@'), since: this.#clock()})
      started.push(key)
    })
    return started
  }

  #remove(keys: readonly string[]): void {
    for (const key of keys) {
      const entry = this.#images.get(key)
      if (!entry) continue
      entry.containers--
      if (entry.containers <= 0) this.#images.delete(key)
    }
  }
}
