// Targets: every (kubeconfig, context) pair to list pods in.
import {UsageError} from '../errors.ts'
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
