// Summarizes a V8 .cpuprofile (node --cpu-prof) by where the time goes: self and inclusive time per
// package (node_modules/<package>), per file of the build (dist/...), per node internal area, and
// native functions; and when the command's own code first ran (what start-up costs).

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** The area a frame belongs to: `undici`, `@oclif/core`, `dist/kube/pod-lister.js`, `node:internal/modules`, `(native) parse`, `(garbage collector)`. */
function areaOf(frame: CallFrame, root: string): string {
  const url = frame.url
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : `(native) ${frame.functionName || 'anonymous'}`
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/')
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url
  const modules = file.lastIndexOf('/node_modules/')
  if (modules >= 0) {
    const parts = file.slice(modules + '/node_modules/'.length).split('/')
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
  }
  return file.startsWith(root) ? file.slice(root.length).replace(/^\//, '') : file
}

export function summarizeCpuProfile(profile: CpuProfile, root: string, top = 15): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const selfFunction = new Map<string, number>()
  let total = 0
  let elapsed = 0
  let firstCommandUs: number | undefined
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    elapsed += delta
    const node = byId.get(profile.samples[i]!)
    if (!node) continue
    total += delta
    const area = areaOf(node.callFrame, root)
    self.set(area, (self.get(area) ?? 0) + delta)
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${area}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`
    selfFunction.set(fn, (selfFunction.get(fn) ?? 0) + delta)
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame
      const frameArea = areaOf(frame, root)
      if (firstCommandUs === undefined && frameArea.startsWith('dist/commands/') && frame.functionName === 'run') firstCommandUs = elapsed
      seen.add(frameArea)
    }
    for (const frameArea of seen) inclusive.set(frameArea, (inclusive.get(frameArea) ?? 0) + delta)
  }
  const msOf = (us: number) => `${(us / 1000).toFixed(0).padStart(6)} ms`
  const share = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`
  const rows = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .filter(([name]) => name !== '(root)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, us]) => `    ${msOf(us)} ${share(us)}  ${name}`)
      .join('\n')
  return [
    `  profiled ${msOf(total).trim()} of samples over ${msOf(profile.endTime - profile.startTime).trim()}; the command's run() first sampled at ${firstCommandUs === undefined ? '(never)' : msOf(firstCommandUs).trim()}`,
    '  self time by area:',
    rows(self, top),
    '  inclusive time by area (a sample counts once for each area on its stack):',
    rows(inclusive, top),
    '  self time by function:',
    rows(selfFunction, top),
  ].join('\n')
}
