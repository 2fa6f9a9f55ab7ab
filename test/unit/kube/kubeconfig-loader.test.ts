import assert from 'node:assert/strict'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {stringify} from 'yaml'
import {loadKubeconfigs} from '../../../src/kube/kubeconfig-loader.ts'
import {resolveTargets, targetsForStore} from '../../../src/kube/target.ts'
import {SnykWatchError} from '../../../src/errors.ts'

function kubeconfig(contexts: Array<{name: string; server: string}>, current?: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map((c) => ({name: c.name, cluster: {server: c.server}})),
    users: contexts.map((c) => ({name: c.name, user: {token: `t-${c.name}`}})),
    contexts: contexts.map((c) => ({name: c.name, context: {cluster: c.name, user: c.name}})),
    'current-context': current ?? '',
  })
}

describe('kubeconfig loading like kubectl', () => {
  let dir: string
  let first: string
  let second: string
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeconfig-test-'))
    first = path.join(dir, 'first.yaml')
    second = path.join(dir, 'second.yaml')
    await writeFile(first, kubeconfig([{name: 'prod', server: 'https://first.example:6443'}, {name: 'staging', server: 'https://staging.example'}], 'staging'))
    await writeFile(second, kubeconfig([{name: 'prod', server: 'https://second.example:6443'}, {name: 'dev', server: 'https://dev.example'}], 'dev'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  const load = (env: NodeJS.ProcessEnv, paths: string[] = []) => loadKubeconfigs({paths, env, homeDir: dir})

  it('merges the KUBECONFIG list with the first file winning for names and current-context', () => {
    const [source] = load({KUBECONFIG: [first, path.join(dir, 'missing.yaml'), second].join(path.delimiter)})
    assert.equal(source!.label, '$KUBECONFIG')
    assert.deepEqual(source!.config.getContexts().map((c) => c.name).sort(), ['dev', 'prod', 'staging'])
    assert.equal(source!.config.getCurrentContext(), 'staging')
    assert.equal(source!.config.getCluster('prod')?.server, 'https://first.example:6443')
    const targets = resolveTargets([source!], {contexts: [], allContexts: false})
    assert.deepEqual(targets.map((t) => t.name), ['staging'])
  })

  it('treats each --kubeconfig file as its own source: every (file, context) pair is a target', () => {
    const sources = load({}, [first, second])
    const targets = resolveTargets(sources, {contexts: [], allContexts: true})
    assert.deepEqual(targets.map((t) => t.name), [`${first}:prod`, 'staging', `${second}:prod`, 'dev'])
    assert.equal(targets[2]!.config.getCurrentCluster()?.server, 'https://second.example:6443')
    const prod = resolveTargets(sources, {contexts: ['prod'], allContexts: false})
    assert.equal(prod.length, 2, 'a context present in both files is a target in each')
  })

  it('on a shared (PostgreSQL) store, targets are identified by cluster name, which must be unique and given in a pod', () => {
    const sources = load({}, [first, second])
    const all = resolveTargets(sources, {contexts: [], allContexts: true})
    assert.deepEqual(targetsForStore(all, {clusterName: undefined, shared: false}), all, 'a local store keeps file#context ids')
    const fleet = targetsForStore(resolveTargets(sources, {contexts: ['staging', 'dev'], allContexts: false}), {clusterName: undefined, shared: true})
    assert.deepEqual(fleet.map((t) => t.id), ['cluster:staging', 'cluster:dev'], 'the same on every machine that names the cluster alike')
    const named = targetsForStore(resolveTargets(sources, {contexts: ['dev'], allContexts: false}), {clusterName: 'dev-eu-1', shared: true})
    assert.deepEqual(named.map((t) => [t.id, t.name]), [['cluster:dev-eu-1', 'dev-eu-1']])
    assert.throws(() => targetsForStore(all, {clusterName: 'x', shared: false}), /--cluster-name names one target, but 4 are selected/)
    const twoProds = targetsForStore(resolveTargets(sources, {contexts: ['prod'], allContexts: false}), {clusterName: undefined, shared: true})
    assert.deepEqual(twoProds.map((t) => t.id), [`cluster:${first}:prod`, `cluster:${second}:prod`], 'one context name in two files: two clusters, told apart')
    const inCluster = [{...all[0]!, source: 'in-cluster', id: 'in-cluster#in-cluster', name: 'in-cluster', context: 'in-cluster'}]
    assert.throws(() => targetsForStore(inCluster, {clusterName: undefined, shared: true}), (error: unknown) => {
      assert.ok(error instanceof SnykWatchError)
      assert.equal(error.code, 'CLUSTER_NAME_REQUIRED')
      assert.match(error.suggestions.join(' '), /--cluster-name/)
      return true
    })
    assert.deepEqual(targetsForStore(inCluster, {clusterName: 'prod-eu-1', shared: true}).map((t) => t.id), ['cluster:prod-eu-1'])
  })

  it('rejects a context that exists nowhere, naming those that do', () => {
    const sources = load({}, [first, second])
    assert.throws(() => resolveTargets(sources, {contexts: ['prod', 'qa'], allContexts: false}), (error: unknown) => {
      assert.ok(error instanceof SnykWatchError)
      assert.equal(error.exitCode, 2)
      assert.match(error.message, /"qa" not found/)
      assert.match(error.suggestions.join(' '), /dev, prod, staging/)
      return true
    })
  })

  it('falls back to ~/.kube/config, then explains what is missing', async () => {
    assert.throws(() => load({}), /no kubeconfig found/)
    assert.throws(() => load({}, [path.join(dir, 'nope.yaml')]), /does not exist/)
    assert.throws(() => load({KUBECONFIG: path.join(dir, 'nope.yaml')}), /none of the files in KUBECONFIG exist/)
  })
})
