// The inventory of `watch`, shaped like an informer's: per target, the pod watcher (the reflector,
// src/kube/pod-watcher.ts) feeds what this keeps: each (re)list recorded page by page and pruned when complete, pod
// updates and deletions recorded as they come, and which image keys run where (RunningImages). It tells the
// submission stage which keys start running; an update that changes no image touches neither the store nor it.
import {setTimeout as sleep} from 'node:timers/promises'
import {messageOf} from '../errors.ts'
import {imageKeyOf} from '../images/image-key.ts'
import {imagesOfPod, type PodRecord} from '../images/pod-images.ts'
import {KubeApiClient} from '../kube/kube-api-client.ts'
import {followTargetPods, type FollowOptions} from '../kube/pod-watcher.ts'
import type {PodScope} from '../kube/pod-scope.ts'
import type {Target} from '../kube/target.ts'
import type {ImageObservation, ImageRef} from '../models/image.ts'
import {ListingRecording} from '../state/listing-recording.ts'
import {isStoreUnavailable} from '../state/store-health.ts'
import type {StateStore} from '../state/state-store.ts'
import {podImageSet, type PodImageSet, type RunningImages} from './running-images.ts'
import type {WatchLogger, WatchMetricsSink} from './watch-ports.ts'

export interface TargetInventoryOptions {
  targets: Target[]
  store: StateStore
  runId: string
  running: RunningImages
  logger: WatchLogger
  metrics?: WatchMetricsSink | undefined
  /** Cancels the streams for good (the service's signal). */
  signal: AbortSignal
  follow?: Omit<FollowOptions, 'signal'> | undefined
  createClient?: ((target: Target) => KubeApiClient) | undefined
  /** Keys that started running (a list completed, a pod changed). */
  started(keys: string[]): void
  /** What runs where changed (for the running-containers metric). */
  changed(): void
}

interface TargetState {
  target: Target
  synced: boolean
  /** The (re)list in progress, until `listed`: each page is recorded as it arrives; what runs where is kept here. */
  listing?: {pods: Map<string, PodImageSet>; images: Map<string, ImageRef>; recording: ListingRecording} | undefined
}

const podId = (pod: {namespace: string; name: string}): string => `${pod.namespace}/${pod.name}`

export class TargetInventory {
  readonly #o: TargetInventoryOptions
  readonly #targets: Map<string, TargetState>
  #streams = new AbortController()
  #followers: Array<Promise<void>> = []

  constructor(options: TargetInventoryOptions) {
    this.#o = options
    this.#targets = new Map(options.targets.map((target) => [target.id, {target, synced: false}]))
  }

  /** Follows every target with `scope` until `stop` or `restart`. */
  start(scope: PodScope): void {
    this.#streams = new AbortController()
    const signal = AbortSignal.any([this.#streams.signal, this.#o.signal])
    this.#followers = [...this.#targets.values()].map((state) => this.#follow(state, scope, signal))
  }

  /** New filters: the streams stop and start again with `scope` (a relist), unless `stopping()` by then. */
  restart(scope: PodScope, stopping: () => boolean): void {
    this.#streams.abort()
    const previous = this.#followers
    this.#followers = []
    void Promise.allSettled(previous).then(() => {
      if (!stopping()) this.start(scope)
    })
  }

  /** Stops the streams and waits for them to end. */
  async stop(): Promise<void> {
    this.#streams.abort()
    await Promise.allSettled(this.#followers)
  }

  /** Names of the targets whose first list has not completed. */
  unsynced(): string[] {
    return [...this.#targets.values()].filter((state) => !state.synced).map((state) => state.target.name)
  }

  async #follow(state: TargetState, scope: PodScope, signal: AbortSignal): Promise<void> {
    const {target} = state
    const client = this.#o.createClient?.(target) ?? new KubeApiClient(target)
    const location = {target: target.id, cluster: target.name}
    // 0 until its first list completes, so a target that never lists shows as not synced rather than not at all.
    if (!state.synced) this.#o.metrics?.targetSynced(target.name, false)
    try {
      // A store that does not answer (a shared database restarting) ends the stream with its error: follow
      // again, with a growing pause, from a new list, which records everything the stream could not.
      let pauseMs = 1_000
      for (;;) {
        const followedSince = Date.now()
        try {
          await followTargetPods(
            client,
            scope,
            {
              listStarted: async () => {
                state.listing = {pods: new Map(), images: new Map(), recording: await ListingRecording.start(this.#o.store, this.#o.runId, target.id)}
              },
              listPage: async (pods) => {
                const listing = state.listing
                if (!listing) return
                // Recorded page by page (src/state/listing-recording.ts), pruned when complete.
                const observations: ImageObservation[] = []
                for (const pod of pods) {
                  const found = this.#observe(pod, location)
                  listing.pods.set(podId(pod), podImageSet(found))
                  for (const observation of found) {
                    observations.push(observation)
                    const key = imageKeyOf(observation)
                    if (!listing.images.has(key)) listing.images.set(key, observation.image)
                  }
                }
                this.#recorded(await listing.recording.page(observations), target)
              },
              listed: async (info) => {
                const listing = state.listing
                state.listing = undefined
                if (!listing) return
                await listing.recording.complete()
                const started = this.#o.running.replaceTarget(target.id, listing.pods, listing.images)
                this.#o.changed()
                for (const warning of info.warnings) this.#o.logger.warn({target: target.name}, warning)
                this.#o.logger.info({target: target.name, pods: info.podCount, images: started.length, relist: info.relist}, info.relist ? 'relisted' : 'listed')
                if (!state.synced) {
                  state.synced = true
                  this.#o.metrics?.targetSynced(target.name, true)
                }
                this.#o.started(started)
              },
              upserted: async (pod) => {
                const observations = this.#observe(pod, location)
                const set = podImageSet(observations)
                const id = podId(pod)
                if (this.#o.running.unchanged(target.id, id, set.signature)) return
                const images = new Map(observations.map((o, index) => [set.keys[index]!, o.image]))
                const recorded = await this.#o.store.recordObservations(this.#o.runId, target.id, observations, {mode: 'merge'})
                this.#recorded(recorded, target)
                const started = this.#o.running.setPod(target.id, id, set, images)
                this.#o.changed()
                this.#o.started(started)
              },
              deleted: async (pod) => {
                if (!this.#o.running.deletePod(target.id, podId(pod))) return
                await this.#o.store.forgetPod(target.id, pod.namespace, pod.name)
                this.#o.changed()
              },
              restarting: (info) => {
                this.#o.metrics?.watchRestarted(target.name)
                this.#o.logger.warn({target: target.name, reason: info.reason, attempt: info.attempt, retryInMs: Math.round(info.delayMs), relist: info.relist}, 'watch interrupted; reconnecting')
              },
            },
            {...this.#o.follow, signal},
          )
          return
        } catch (error) {
          if (signal.aborted || !isStoreUnavailable(error)) throw error
          // A stream that ran for a while starts over from the shortest pause.
          pauseMs = Date.now() - followedSince > 60_000 ? 1_000 : pauseMs
          this.#o.logger.warn({target: target.name, error: messageOf(error), retryInMs: pauseMs}, 'the state store does not answer; listing the target again')
          await sleep(pauseMs, undefined, {signal}).catch(() => {})
          if (signal.aborted) return
          pauseMs = Math.min(pauseMs * 2, 30_000)
        }
      }
    } catch (error) {
      if (!signal.aborted) this.#o.logger.error({target: target.name, error: messageOf(error)}, 'following the target stopped')
    } finally {
      await client.close()
    }
  }

  #observe(pod: PodRecord, location: {target: string; cluster: string}): ImageObservation[] {
    const found = imagesOfPod(pod, location)
    for (const problem of found.problems) this.#o.logger.debug({target: location.cluster, namespace: problem.namespace, pod: problem.pod, container: problem.container}, problem.message)
    return found.observations
  }

  #recorded(recorded: {newImageKeys: string[]; drift: Array<{tag: string; previousDigest: string; digest: string}>}, target: Target): void {
    for (let i = 0; i < recorded.newImageKeys.length; i++) this.#o.metrics?.imageDiscovered()
    for (const event of recorded.drift) {
      this.#o.logger.warn({target: target.name, tag: event.tag, previousDigest: event.previousDigest, digest: event.digest}, 'drift: the tag runs a new digest')
    }
  }
}
