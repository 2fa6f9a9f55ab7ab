// Targets: every (kubeconfig, context) pair to list pods in.
import {ConfigError, UsageError} from '../errors.ts'
import type {Kubeconfig} from './kubeconfig.ts'
import type {KubeconfigSource} from './kubeconfig-loader.ts'

export interface Target {
  /** Stable id: `<source>#<context>`. */
  id: string
  /** Name shown to people: the context name, or `<source>:<context>` where two sources share a context name. */
  name: string
  context: string
  source: string
  /** A kubeconfig whose current context is this target's. */
  config: Kubeconfig
}

export interface TargetSelection {
  /** --context, repeatable. Empty: each source's current context. */
  contexts: string[]
  allContexts: boolean
}

function withContext(source: KubeconfigSource, context: string): Kubeconfig {
  return source.config.withCurrentContext(context)
}

/**
 * What a context names and its kubeconfig lacks, as kubectl's validation reports it: a cluster entry (there is no
 * server to talk to) or a user entry (requests would go without the credentials meant). A context without a user
 * is anonymous, as for kubectl.
 */
function brokenEntries(source: KubeconfigSource, contextName: string): Array<{problem: string; fixes: string[]}> {
  const context = source.config.getContextObject(contextName)
  if (!context) return []
  const where = source.label === '$KUBECONFIG' ? 'the files of $KUBECONFIG' : source.label
  const flag = source.label === '$KUBECONFIG' || source.label === 'in-cluster' ? '' : ` --kubeconfig ${source.label}`
  const broken: Array<{problem: string; fixes: string[]}> = []
  const clusters = source.config.getClusters().map((c) => c.name)
  if (!context.cluster || !clusters.includes(context.cluster)) {
    broken.push({
      problem: context.cluster
        ? `context "${contextName}" names cluster "${context.cluster}", which ${where} does not define`
        : `context "${contextName}" in ${where} names no cluster`,
      fixes: [
        `add the cluster entry: kubectl config set-cluster ${context.cluster || 'NAME'} --server=https://HOST:6443${flag}`,
        `or point the context at a defined cluster${clusters.length > 0 ? ` (${clusters.join(', ')})` : ''}: kubectl config set-context ${contextName} --cluster=NAME${flag}`,
      ],
    })
  }
  const users = source.config.getUsers().map((u) => u.name)
  if (context.user && !users.includes(context.user)) {
    broken.push({
      problem: `context "${contextName}" names user "${context.user}", which ${where} does not define`,
      fixes: [
        `add the user entry: kubectl config set-credentials ${context.user} --client-certificate=... --client-key=... (or --token=...)${flag}`,
        `or point the context at a defined user${users.length > 0 ? ` (${users.join(', ')})` : ''}: kubectl config set-context ${contextName} --user=NAME${flag}`,
      ],
    })
  }
  return broken
}

export function resolveTargets(sources: KubeconfigSource[], selection: TargetSelection): Target[] {
  if (selection.allContexts && selection.contexts.length > 0) {
    throw new UsageError('--all-contexts and --context cannot be used together', {code: 'USAGE', suggestions: ['pass either --all-contexts or one --context per context']})
  }
  const pairs: Array<{source: KubeconfigSource; context: string}> = []
  for (const source of sources) {
    const available = source.config.getContexts().map((context) => context.name)
    if (selection.allContexts) {
      for (const context of available) pairs.push({source, context})
    } else if (selection.contexts.length > 0) {
      for (const context of selection.contexts) if (available.includes(context)) pairs.push({source, context})
    } else {
      const current = source.config.getCurrentContext()
      if (current && available.includes(current)) pairs.push({source, context: current})
    }
  }

  const everyContext = [...new Set(sources.flatMap((source) => source.config.getContexts().map((context) => context.name)))].sort()
  const missing = selection.contexts.filter((context) => !pairs.some((pair) => pair.context === context))
  if (missing.length > 0) {
    throw new UsageError(`context ${missing.map((c) => `"${c}"`).join(', ')} not found in ${sources.map((s) => s.label).join(', ')}`, {
      code: 'CONTEXT_NOT_FOUND',
      suggestions: [everyContext.length > 0 ? `contexts that exist: ${everyContext.join(', ')}` : 'the kubeconfig has no contexts', 'list them with: kubectl config get-contexts'],
    })
  }
  if (pairs.length === 0) {
    throw new UsageError(`no current context is set in ${sources.map((s) => s.label).join(', ')}`, {
      code: 'NO_CONTEXT',
      suggestions: [everyContext.length > 0 ? `pass --context NAME (one of: ${everyContext.join(', ')}) or --all-contexts` : 'add a context to the kubeconfig'],
    })
  }

  const broken = pairs.flatMap(({source, context}) => brokenEntries(source, context))
  if (broken.length > 0) {
    throw new ConfigError(broken.map((b) => b.problem).join('; '), {code: 'KUBECONFIG_ENTRY_MISSING', suggestions: [...new Set(broken.flatMap((b) => b.fixes))]})
  }

  const contextCounts = new Map<string, number>()
  for (const {context} of pairs) contextCounts.set(context, (contextCounts.get(context) ?? 0) + 1)
  return pairs.map(({source, context}) => ({
    id: `${source.label}#${context}`,
    name: (contextCounts.get(context) ?? 0) > 1 ? `${source.label}:${context}` : context,
    context,
    source: source.label,
    config: withContext(source, context),
  }))
}

/**
 * The targets as the state store records them. `--cluster-name` names the one selected target. On a store other
 * machines share (PostgreSQL), a target's listing replaces what the store holds under its id, so ids must be the
 * same cluster's on every machine and differ between clusters: there a target is identified by its cluster name
 * (`--cluster-name`, else the context name), and a pod's own cluster (`in-cluster`, the same name everywhere)
 * must be named.
 */
export function targetsForStore(targets: Target[], {clusterName, shared}: {clusterName: string | undefined; shared: boolean}): Target[] {
  let named = targets
  if (clusterName) {
    if (targets.length !== 1) {
      throw new ConfigError(`--cluster-name names one target, but ${targets.length} are selected`, {code: 'USAGE', suggestions: ['use --cluster-name with one context (or in a pod), or leave it out']})
    }
    named = [{...targets[0]!, name: clusterName}]
  }
  if (!shared) return named
  const inCluster = named.find((target) => target.source === 'in-cluster')
  if (inCluster !== undefined && !clusterName) {
    throw new ConfigError('on a shared state database, the cluster this pod runs in needs a name of its own: every cluster is "in-cluster" from the inside', {
      code: 'CLUSTER_NAME_REQUIRED',
      suggestions: ['pass --cluster-name NAME (or set SNYK_WATCH_CLUSTER_NAME), unique in the fleet, e.g. prod-eu-1'],
    })
  }
  const ids = new Map<string, Target>()
  for (const target of named) {
    const other = ids.get(target.name)
    if (other !== undefined) {
      throw new ConfigError(`two selected targets have the cluster name "${target.name}" (${other.id} and ${target.id}); on a shared state database each cluster's name must be unique`, {
        code: 'USAGE',
        suggestions: ['select one of them with --context', 'or rename a context (kubectl config rename-context)'],
      })
    }
    ids.set(target.name, target)
  }
  return named.map((target) => ({...target, id: `cluster:${target.name}`}))
}
