import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {imagesOfPod} from '../../../src/images/pod-images.ts'
import type {PodRecord} from '../../../src/images/pod-images.ts'

const APP = `sha256:${'a'.repeat(64)}`
const MIGRATE = `sha256:${'b'.repeat(64)}`
const SIDECAR = `sha256:${'c'.repeat(64)}`
const LOCATION = {target: '/home/me/.kube/config#prod', cluster: 'prod'}

function pod(overrides: Partial<PodRecord> = {}): PodRecord {
  return {
    namespace: 'shop',
    name: 'api-7d9f-xk2p',
    workload: {kind: 'Deployment', name: 'api'},
    containers: [{name: 'api', image: 'ghcr.io/acme/api:2.1'}],
    ...overrides,
  }
}

describe('imagesOfPod', () => {
  it('observes regular, init and ephemeral containers with the digest each one runs', () => {
    const {observations, problems} = imagesOfPod(
      pod({
        initContainers: [{name: 'migrate', image: 'ghcr.io/acme/migrate:2.1'}],
        containers: [
          {name: 'api', image: 'ghcr.io/acme/api:2.1'},
          {name: 'proxy', image: 'envoyproxy/envoy:v1.31'},
        ],
        ephemeralContainers: [{name: 'debugger', image: 'busybox'}],
        // Statuses come in any order; they are matched by name, within their kind.
        containerStatuses: [
          {name: 'proxy', imageID: `docker-pullable://envoyproxy/envoy@${SIDECAR}`},
          {name: 'api', imageID: `ghcr.io/acme/api@${APP}`},
        ],
        initContainerStatuses: [{name: 'migrate', imageID: `ghcr.io/acme/migrate@${MIGRATE}`}],
        ephemeralContainerStatuses: [{name: 'debugger', imageID: ''}],
      }),
      LOCATION,
    )
    assert.deepEqual(problems, [])
    assert.deepEqual(
      observations.map((o) => [o.containerKind, o.container, `${o.image.registry}/${o.image.repository}:${o.image.tag}`, o.runningDigest]),
      [
        ['init', 'migrate', 'ghcr.io/acme/migrate:2.1', MIGRATE],
        ['container', 'api', 'ghcr.io/acme/api:2.1', APP],
        ['container', 'proxy', 'docker.io/envoyproxy/envoy:v1.31', SIDECAR],
        ['ephemeral', 'debugger', 'docker.io/library/busybox:latest', undefined],
      ],
    )
  })

  it('says where every observation comes from', () => {
    const [observation] = imagesOfPod(pod({containerStatuses: [{name: 'api', imageID: `ghcr.io/acme/api@${APP}`}]}), LOCATION).observations
    assert.deepEqual(observation, {
      target: '/home/me/.kube/config#prod',
      cluster: 'prod',
      namespace: 'shop',
      pod: 'api-7d9f-xk2p',
      container: 'api',
      containerKind: 'container',
      workload: {kind: 'Deployment', name: 'api'},
      reference: 'ghcr.io/acme/api:2.1',
      image: {registry: 'ghcr.io', repository: 'acme/api', tag: '2.1'},
      runningDigest: APP,
    })
  })

  it('leaves the running digest out for a container that has not started or runs a local image', () => {
    const {observations} = imagesOfPod(
      pod({
        containers: [
          {name: 'pending', image: 'nginx:1.27'},
          {name: 'no-status', image: 'redis:7'},
          {name: 'local', image: 'my-app:dev'},
        ],
        containerStatuses: [
          {name: 'pending', imageID: ''},
          {name: 'local', imageID: `docker://sha256:${'d'.repeat(64)}`},
        ],
      }),
      LOCATION,
    )
    assert.deepEqual(
      observations.map((o) => [o.container, o.runningDigest]),
      [
        ['pending', undefined],
        ['no-status', undefined],
        ['local', undefined],
      ],
    )
  })

  it('does not take a status of another kind for a container of the same name', () => {
    const {observations} = imagesOfPod(
      pod({
        initContainers: [{name: 'setup', image: 'busybox'}],
        containers: [{name: 'app', image: 'nginx'}],
        containerStatuses: [{name: 'setup', imageID: `docker.io/library/busybox@${APP}`}],
      }),
      LOCATION,
    )
    assert.deepEqual(observations.map((o) => o.runningDigest), [undefined, undefined])
  })

  it('notes when the runtime reports the digest of another repository', () => {
    const [observation] = imagesOfPod(
      pod({
        containers: [{name: 'api', image: 'mirror.example.com/acme/api:2.1'}],
        containerStatuses: [{name: 'api', imageID: `docker-pullable://acme/api@${APP}`}],
      }),
      LOCATION,
    ).observations
    assert.equal(observation?.runningDigest, APP)
    assert.equal(observation?.runningRepository, 'docker.io/acme/api')
  })

  it('reports a container with an invalid image as a problem and keeps the others', () => {
    const {observations, problems} = imagesOfPod(
      pod({
        containers: [
          {name: 'api', image: 'ghcr.io/acme/api:2.1'},
          {name: 'broken', image: 'Acme/API:latest'},
        ],
        initContainers: [{name: 'empty', image: ''}],
      }),
      LOCATION,
    )
    assert.deepEqual(observations.map((o) => o.container), ['api'])
    assert.deepEqual(
      problems.map((p) => [p.containerKind, p.container, p.reference, p.reason]),
      [
        ['init', 'empty', '', 'empty'],
        ['container', 'broken', 'Acme/API:latest', 'uppercase'],
      ],
    )
    assert.match(problems[1]?.message ?? '', /must be lowercase/)
    assert.deepEqual(problems[1]?.workload, {kind: 'Deployment', name: 'api'})
  })
})
