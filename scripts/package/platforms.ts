// The platforms an executable is built for, named as Go and krew name them (<os>-<arch>), and what follows from
// one: its os and arch, and the name of the executable in dist/release/bin/<os>-<arch>/.

export const platforms = ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64', 'windows-amd64'] as const
export type Platform = (typeof platforms)[number]
export type Os = 'linux' | 'darwin' | 'windows'
export type Arch = 'amd64' | 'arm64'

export function isPlatform(text: string): text is Platform {
  return (platforms as readonly string[]).includes(text)
}

/** `text` as a platform, or an error that lists the platforms. */
export function parsePlatform(text: string): Platform {
  if (!isPlatform(text)) throw new Error(`unknown platform "${text}": use one of ${platforms.join(', ')}`)
  return text
}

export function osArchOf(platform: Platform): {os: Os; arch: Arch} {
  const [os, arch] = platform.split('-') as [Os, Arch]
  return {os, arch}
}

/** The name kubectl finds the plugin by: kubectl-snyk_watch, with .exe on Windows. */
export function executableName(platform: Platform): string {
  return osArchOf(platform).os === 'windows' ? 'kubectl-snyk_watch.exe' : 'kubectl-snyk_watch'
}

/** The platform this process runs on, if it is one we build for. */
export function hostPlatform(): Platform | undefined {
  const os = process.platform === 'win32' ? 'windows' : process.platform
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const name = `${os}-${arch}`
  return isPlatform(name) ? name : undefined
}
