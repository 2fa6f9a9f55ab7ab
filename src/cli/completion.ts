// Shell completion the way kubectl (1.26+) completes plugins: kubectl runs `kubectl_complete-snyk_watch` with the
// plugin's arguments and the word being completed (the last one, "" after a space), and reads one candidate per line
// (a TAB, then a description, may follow) and a last line `:<directive>` (cobra's ShellCompDirective bits: 4 = no
// file completion). Our `kubectl_complete-snyk_watch` runs `kubectl-snyk_watch __complete ARGS`, answered here from
// oclif's manifest without loading oclif or a command.
//
// Values: the flag's options from the manifest (`-o`, `--fail-on`, `--by`, `--result`, ...), contexts from the
// kubeconfig, namespaces from the cluster when it answers within a second; files for file flags.
import path from 'node:path'
import type {KubeConfig} from '@kubernetes/client-node'

/** The parts of oclif's manifest completion reads. */
export interface CompletionManifest {
  commands: Record<string, {summary?: string; flags: Record<string, {name: string; char?: string; type: 'option' | 'boolean'; options?: string[]; summary?: string; description?: string; hidden?: boolean}>}>
}

export const Directive = {default: 0, error: 1, noSpace: 2, noFileComp: 4} as const

/** Flags whose value is a path: the shell completes files. */
const fileFlags = new Set(['kubeconfig', 'state', 'token-file', 'config', 'sbom'])

export interface CompletionIO {
  env: NodeJS.ProcessEnv
  /** Namespaces of the cluster of `context` (undefined: the kubeconfig's current context), within the caller's time bound. */
  listNamespaces?: (kubeconfig: KubeConfig, context: string | undefined) => Promise<string[]>
}

type Flag = CompletionManifest['commands'][string]['flags'][string]

const line = (value: string, description?: string) => (description ? `${value}\t${description.split('\n')[0]!.slice(0, 80)}` : value)

function flagNamed(flags: Record<string, Flag>, word: string): Flag | undefined {
  if (word.startsWith('--')) return flags[word.slice(2).split('=')[0]!]
  if (/^-[a-zA-Z]$/.test(word)) return Object.values(flags).find((flag) => flag.char === word.slice(1))
  return undefined
}

/** The values given to a repeatable or single flag among `args` (`--flag value` and `--flag=value`). */
function valuesOf(args: readonly string[], names: readonly string[]): string[] {
  const values: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    for (const name of names) {
      if (arg === name && i + 1 < args.length) values.push(args[i + 1]!)
      else if (arg.startsWith(`${name}=`)) values.push(arg.slice(name.length + 1))
    }
  }
  return values
}

/** The kubeconfig `--kubeconfig` (the first) or $KUBECONFIG (the first file) or ~/.kube/config names; loaded only when a value needs it. */
async function kubeconfigOf(args: readonly string[], env: NodeJS.ProcessEnv): Promise<KubeConfig> {
  const {KubeConfig} = await import('@kubernetes/client-node')
  const config = new KubeConfig()
  const files = valuesOf(args, ['--kubeconfig'])
  const first = files[0] ?? env['KUBECONFIG']?.split(path.delimiter).find(Boolean) ?? path.join(env['HOME'] ?? '', '.kube', 'config')
  try {
    config.loadFromFile(first)
  } catch {
    // No kubeconfig: no contexts to offer.
  }
  return config
}

/** The lines `__complete` prints for `args` (the last is the word being completed). */
export async function complete(manifest: CompletionManifest, args: readonly string[], io: CompletionIO): Promise<string[]> {
  const words = args.length === 0 ? [''] : args
  const current = words.at(-1)!
  const before = words.slice(0, -1)
  const commands = Object.keys(manifest.commands).sort()
  const command = before.find((word) => !word.startsWith('-'))
  const done = (candidates: string[], directive: number = Directive.noFileComp) => [...candidates, `:${directive}`]
  if (command === undefined) {
    if (current.startsWith('-')) return done(['--help', '--version'].filter((flag) => flag.startsWith(current)))
    return done(commands.filter((id) => id.startsWith(current)).map((id) => line(id, manifest.commands[id]!.summary)))
  }
  const spec = manifest.commands[command]
  if (spec === undefined) return done([], Directive.error)
  const flags = spec.flags

  // The value of the flag before the current word.
  const previous = before.at(-1)
  const valueOf = previous !== undefined && !previous.includes('=') ? flagNamed(flags, previous) : undefined
  const inline = /^(--[^=]+)=(.*)$/.exec(current)
  const flag = inline ? flagNamed(flags, inline[1]!) : valueOf?.type === 'option' ? valueOf : undefined
  if (flag !== undefined) {
    const partial = inline ? inline[2]! : current
    const prefix = inline ? `${inline[1]}=` : ''
    const offer = (values: readonly string[]) => done(values.filter((value) => value.startsWith(partial)).map((value) => `${prefix}${value}`))
    if (flag.options) return offer(flag.options)
    if (fileFlags.has(flag.name)) return done([], Directive.default)
    if (flag.name === 'context') return offer((await kubeconfigOf(before, io.env)).getContexts().map((context) => context.name).sort())
    if (flag.name === 'namespace' && io.listNamespaces) {
      const kubeconfig = await kubeconfigOf(before, io.env)
      const namespaces = await io.listNamespaces(kubeconfig, valuesOf(before, ['--context'])[0]).catch(() => [])
      return offer(namespaces.sort())
    }
    return done([])
  }
  if (current.startsWith('-')) {
    const names = Object.values(flags).filter((f) => !f.hidden).sort((a, b) => a.name.localeCompare(b.name))
    return done(names.map((f) => line(`--${f.name}`, f.summary ?? f.description)).filter((candidate) => candidate.startsWith(current)))
  }
  return done([])
}

/** Namespaces through the API of `context` (else the current one), given up after `timeoutMs`: a cluster that does not answer completes nothing. */
export async function listNamespacesWithin(kubeconfig: KubeConfig, context: string | undefined, timeoutMs: number): Promise<string[]> {
  const {CoreV1Api} = await import('@kubernetes/client-node')
  if (context !== undefined) kubeconfig.setCurrentContext(context)
  const list = kubeconfig.makeApiClient(CoreV1Api).listNamespace()
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref())
  const answer = await Promise.race([list, timeout])
  return answer.items.map((namespace) => namespace.metadata?.name ?? '').filter(Boolean)
}

/** `__complete ARGS`: prints the candidates and the directive, then ends the process (a request cut off by the timeout must not hold it). */
export async function runCompletion(manifest: CompletionManifest, args: readonly string[], env: NodeJS.ProcessEnv): Promise<never> {
  let lines: string[]
  try {
    lines = await complete(manifest, args, {env, listNamespaces: (kubeconfig, context) => listNamespacesWithin(kubeconfig, context, 1000)})
  } catch {
    lines = [`:${Directive.error}`]
  }
  process.stdout.write(`${lines.join('\n')}\n`, () => process.exit(0))
  return new Promise<never>(() => {})
}
