import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {imagesOfPod, type PodRecord} from '../../../src/images/pod-images.ts'
import {podImageSet, RunningImages} from '../../../src/watch/running-images.ts'

const digest = (seed: string) => `sha256:${seed.repeat(64).slice(0, 64)}`
const pod = (name: string, images: Array<[string, string | undefined]>, labels: Record<string, string> = {}): PodRecord => ({
  namespace: 'shop',
  name,
  workload: {kind: 'Deployment', name: labels['app'] ?? name},
  containers: images.map(([image], index) => ({name: `c${index}`, image})),
  containerStatuses: images.flatMap(([image, sha], index) => (sha ? [{name: `c${index}`, imageID: `${image.includes('/') ? image.split(':')[0] : `docker.io/library/${image.split(':')[0]}`}@${sha}`}] : [])),
})

function apply(running: RunningImages, record: PodRecord): string[] {
  const observations = imagesOfPod(record, {target: 't', cluster: 'c'}).observations
  const set = podImageSet(observations)
  const images = new Map(observations.map((o, i) => [set.keys[i]!, o.image]))
  return running.setPod('t', `${record.namespace}/${record.name}`, set, images)
}

describe('RunningImages', () => {
  it('reports a key as started only when its first container appears', () => {
    const running = new RunningImages(() => 1000)
    assert.deepEqual(apply(running, pod('a', [['nginx:1.27', digest('a')]])), [`docker.io/library/nginx@${digest('a')}`])
    assert.deepEqual(apply(running, pod('b', [['nginx:1.27', digest('a')]])), [], 'a second container of a running image is not new')
    assert.equal(running.get(`docker.io/library/nginx@${digest('a')}`)?.containers, 2)
  })

  it('an update that changes nothing recorded has the same signature; a moved digest starts a new key', () => {
    const running = new RunningImages()
    const first = pod('a', [['nginx:1.27', digest('a')]])
    apply(running, first)
    const same = podImageSet(imagesOfPod(first, {target: 't', cluster: 'c'}).observations)
    assert.ok(running.unchanged('t', 'shop/a', same.signature))
    const moved = apply(running, pod('a', [['nginx:1.27', digest('b')]]))
    assert.deepEqual(moved, [`docker.io/library/nginx@${digest('b')}`])
    assert.equal(running.get(`docker.io/library/nginx@${digest('a')}`), undefined, 'the old digest no longer runs')
  })

  it('a container without a running digest is a tag key without digest, replaced once it starts', () => {
    const running = new RunningImages()
    assert.deepEqual(apply(running, pod('a', [['nginx:1.27', undefined]])), ['docker.io/library/nginx:1.27'])
    assert.equal(running.get('docker.io/library/nginx:1.27')?.hasDigest, false)
    apply(running, pod('a', [['nginx:1.27', digest('c')]]))
    assert.equal(running.get('docker.io/library/nginx:1.27'), undefined)
    assert.equal(running.get(`docker.io/library/nginx@${digest('c')}`)?.hasDigest, true)
  })

  it('deleting pods and replacing a target update the counts', () => {
    const running = new RunningImages()
    apply(running, pod('a', [['nginx:1.27', digest('a')], ['redis:7', digest('e')]]))
    apply(running, pod('b', [['nginx:1.27', digest('a')]]))
    assert.equal(running.deletePod('t', 'shop/a'), true)
    assert.equal(running.deletePod('t', 'shop/a'), false)
    assert.deepEqual([...running.containerCounts()], [[`docker.io/library/nginx@${digest('a')}`, 1]])
    const listing = new Map([['shop/c', podImageSet(imagesOfPod(pod('c', [['redis:7', digest('e')]]), {target: 't', cluster: 'c'}).observations)]])
    const started = running.replaceTarget('t', listing, new Map([[`docker.io/library/redis@${digest('e')}`, {registry: 'docker.io', repository: 'library/redis', tag: '7'}]]))
    assert.deepEqual(started, [`docker.io/library/redis@${digest('e')}`])
    assert.equal(running.size, 1)
    assert.equal(running.podCount(), 1)
  })
})
