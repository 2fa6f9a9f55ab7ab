// A fake API client for the drivers' unit tests (a module boundary: the real client is tested against a real
// kube-apiserver in test/integration). It serves a fixed set of pods through paginated lists and, for watch,
// a stream the test pushes events into.
import {PassThrough, type Readable} from 'node:stream'
import {KubeRequestError, type KubeApiClient} from '../../../src/kube/kube-api-client.ts'
import type {RawPod} from '../../../src/kube/pod-lister.ts'
import type {Target} from '../../../src/kube/target.ts'

export function fakeTarget(name: string): Target {
  return {id: `fake#${name}`, name, context: name, source: 'fake', config: {getContextObject: () => ({user: 'tester'})} as unknown as Target['config']}
}

let podCounter = 0
/** A running pod of a Deployment (its ReplicaSet is unknown to the fake: the name convention resolves it). */
export function runningPod(namespace: string, deployment: string, images: Array<{image: string; digest?: string}>): RawPod {
  const name = `${deployment}-5d8f7c6b9-${(podCounter++).toString(36).padStart(5, 'x')}`
  return {
    metadata: {name, namespace, resourceVersion: String(100 + podCounter), ownerReferences: [{kind: 'ReplicaSet', name: `${deployment}-5d8f7c6b9`, controller: true}]},
    spec: {containers: images.map(({image}, i) => ({name: `c${i}`, image}))},
    status: {
      containerStatuses: images.flatMap(({image, digest}, i) => (digest ? [{name: `c${i}`, imageID: `${image.split(':')[0]}@${digest}`}] : [])),
    },
  }
}

export interface FakeKube {
  client: KubeApiClient
  /** Pods listed (and watched) from now on. */
  pods: RawPod[]
  /** Pushes a watch event to every open watch stream. */
  emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: RawPod): void
  /** Requests of the pod list, with their query. */
  listRequests: Array<Record<string, string | number | undefined>>
}

export function fakeKube(target: Target, pods: RawPod[], options: {failWith?: () => unknown} = {}): FakeKube {
  const streams = new Set<PassThrough>()
  const fake: FakeKube = {
    pods,
    listRequests: [],
    emit: (type, pod) => {
      for (const stream of streams) stream.write(`${JSON.stringify({type, object: pod})}\n`)
    },
    client: undefined as unknown as KubeApiClient,
  }
  const getJson = async (pathname: string, query: Record<string, string | number | undefined>): Promise<unknown> => {
    if (options.failWith) throw options.failWith()
    if (pathname === '/api/v1/pods') {
      fake.listRequests.push(query)
      const limit = Number(query['limit'] ?? 500)
      const start = Number(query['continue'] ?? 0)
      const items = fake.pods.slice(start, start + limit)
      const next = start + limit < fake.pods.length ? String(start + limit) : undefined
      return {items, metadata: {resourceVersion: '1000', ...(next ? {continue: next} : {})}}
    }
    if (pathname === '/api/v1/namespaces') {
      const names = [...new Set(fake.pods.map((pod) => pod.metadata?.namespace ?? ''))]
      return {items: names.map((name) => ({metadata: {name}})), metadata: {}}
    }
    if (pathname.endsWith('/replicasets') || pathname.endsWith('/jobs')) return {items: [], metadata: {}}
    throw new KubeRequestError('not-found', `${pathname} not found`, {status: 404})
  }
  const stream = async (_pathname: string, _query: unknown, {signal}: {signal: AbortSignal}): Promise<Readable> => {
    if (options.failWith) throw options.failWith()
    const body = new PassThrough()
    streams.add(body)
    const end = () => {
      streams.delete(body)
      body.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
    }
    if (signal.aborted) end()
    else signal.addEventListener('abort', end, {once: true})
    return body
  }
  fake.client = {target, getJson, stream, close: async () => {}} as unknown as KubeApiClient
  return fake
}
