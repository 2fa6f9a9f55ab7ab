// Where a PostgreSQL state store is: a `postgres://` or `postgresql://` URL, completed by libpq's environment
// (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGPASSFILE, PGDATABASE, PGSSLMODE, PGSSLROOTCERT), and shown to users with
// its password masked.

/** Whether `--state` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(location)
}

/** The URL with its password (and a `password` query parameter) replaced by `*****`: what logs, errors and `--json` show. */
export function maskedUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // Not parseable: mask whatever sits between `user:` and `@`, and any password parameter.
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1*****@').replace(/([?&]password=)[^&]*/i, '$1*****')
  }
  if (parsed.password !== '') parsed.password = '*****'
  for (const name of [...parsed.searchParams.keys()]) if (name.toLowerCase() === 'password') parsed.searchParams.set(name, '*****')
  return parsed.toString()
}

/** `host:port` the URL (or libpq's environment) points at, for error messages. */
export function serverOf(url: string, env: NodeJS.ProcessEnv = process.env): string {
  let host = env['PGHOST'] ?? 'localhost'
  let port = env['PGPORT'] ?? '5432'
  try {
    const parsed = new URL(url)
    const queryHost = parsed.searchParams.get('host')
    if (parsed.hostname !== '') host = decodeURIComponent(parsed.hostname)
    else if (queryHost !== null) host = queryHost
    if (parsed.port !== '') port = parsed.port
  } catch {
    // keep the environment's
  }
  return `${host}:${port}`
}

/**
 * The connection string handed to the client: libpq's meaning of `sslmode` (`require` encrypts without checking
 * the certificate, `verify-full` checks it and the host name), and PGSSLROOTCERT when the URL names no root
 * certificate. The rest of libpq's environment (PGHOST, PGUSER, PGPASSWORD, PGPASSFILE, ...) the client reads itself.
 */
export function connectionStringOf(url: string, env: NodeJS.ProcessEnv = process.env): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return url
  }
  const sslmode = parsed.searchParams.get('sslmode') ?? env['PGSSLMODE']
  if (sslmode !== undefined && sslmode !== 'disable') {
    if (!parsed.searchParams.has('sslmode')) parsed.searchParams.set('sslmode', sslmode)
    if (!parsed.searchParams.has('sslrootcert') && env['PGSSLROOTCERT'] !== undefined) parsed.searchParams.set('sslrootcert', env['PGSSLROOTCERT'])
    parsed.searchParams.set('uselibpqcompat', 'true')
  }
  return parsed.toString()
}

/**
 * A password given on the command line (`--state postgres://user:secret@...`) would show in `ps` and
 * /proc/<pid>/cmdline for as long as the process runs: the process title is rewritten with the URL masked.
 * (The environment, SNYK_WATCH_STATE or PGPASSWORD, is readable only by the same user and root.)
 */
export function hidePasswordFromProcessTitle(url: string, argv: readonly string[] = process.argv): void {
  if (maskedUrl(url) === url || !argv.some((arg) => arg.includes(url))) return
  process.title = ['kubectl-snyk-watch', ...argv.slice(2).map((arg) => arg.replaceAll(url, maskedUrl(url)))].join(' ')
}
