// Test fixtures for real local clusters: start them once per test file, stop them after, also when a test fails.
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {ensureControlPlaneBinaries, type ControlPlaneBinaries} from '../controlplane/binaries.ts'
import {LocalCluster} from '../controlplane/local-cluster.ts'
import {KubeFixture} from './kube-objects.ts'

export interface ClusterSet {
  binaries: ControlPlaneBinaries
  clusters: LocalCluster[]
  fixtures: KubeFixture[]
  /** A scratch directory for kubeconfigs, state files and the like, removed by stop(). */
  workDir: string
  stop(): Promise<void>
}

/** Starts `count` independent clusters (each its own etcd and kube-apiserver) concurrently. */
export async function startClusters(count: number, options: {apiserverArgs?: string[]; names?: string[]} = {}): Promise<ClusterSet> {
  const binaries = await ensureControlPlaneBinaries((line) => console.error(line))
  const workDir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-test-'))
  const names = options.names ?? Array.from({length: count}, (_, i) => `cluster-${String.fromCharCode(97 + i)}`)
  const started = await Promise.allSettled(
    names.map((name) => LocalCluster.start({name, binaries, ...(options.apiserverArgs ? {apiserverArgs: options.apiserverArgs} : {})})),
  )
  const clusters = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const stop = async () => {
    await Promise.all(clusters.map((cluster) => cluster.stop()))
    await rm(workDir, {recursive: true, force: true})
  }
  const failure = started.find((result) => result.status === 'rejected')
  if (failure) {
    await stop()
    throw failure.reason
  }
  return {binaries, clusters, fixtures: clusters.map((cluster) => new KubeFixture(cluster)), workDir, stop}
}
