import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile, copyFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// `npm run test:pack`: what another project gets from `npm install conax-contego-sim`. It packs
// this repository as npm publish would, installs the tarball in a scratch TypeScript project
// (strict, NodeNext) in a temporary folder, type-checks scripts/pack-consumer/main.ts there and
// runs it and the bins. Dependencies come from npm's cache when they are there (--prefer-offline).
const ROOT = join(import.meta.dirname, '..')
const run = promisify(execFile)
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx'
const MINUTES = 60_000

interface PackageJson {
  readonly name: string
  readonly version: string
}

async function installedVersion(name: string): Promise<string> {
  const file = join(ROOT, 'node_modules', name, 'package.json')
  return (JSON.parse(await readFile(file, 'utf8')) as PackageJson).version
}

let dir = ''
let project = ''
let own: PackageJson

beforeAll(async () => {
  own = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as PackageJson
  dir = await mkdtemp(join(tmpdir(), 'conax-pack-'))
  project = join(dir, 'consumer')
  // npm pack runs prepare (the build), so the tarball holds this tree's dist/.
  const packed = await run(NPM, ['pack', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  })
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [
    { filename: string },
  ]
  await mkdir(join(project, 'src'), { recursive: true })
  await copyFile(join(ROOT, 'scripts', 'pack-consumer', 'main.ts'), join(project, 'src', 'main.ts'))
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'pack-consumer',
      private: true,
      type: 'module',
      dependencies: {
        [own.name]: `file:${join(dir, filename)}`,
        typescript: await installedVersion('typescript'),
        '@types/node': await installedVersion('@types/node'),
      },
    }),
  )
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: ['node'],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        verbatimModuleSyntax: true,
        outDir: 'dist',
        rootDir: 'src',
      },
      include: ['src'],
    }),
  )
  await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: project,
    maxBuffer: 64 * 1024 * 1024,
  })
}, 10 * MINUTES)

afterAll(async () => {
  if (dir !== '') {
    await rm(dir, { recursive: true, force: true })
  }
})

describe('the packed package, installed in another project', () => {
  it(
    'type-checks under strict NodeNext and runs: a simulator with a SOAP call, a shipped scenario, the adapter',
    async () => {
      // Type errors fail here, with tsc's own lines in the message.
      await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: project })
      const { stdout } = await run(process.execPath, [join(project, 'dist', 'main.js')], {
        cwd: project,
      })
      const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>
      expect(report).toEqual({
        soapStatus: 200,
        soapOk: true,
        products: ['GFA1'],
        verdicts: ['passed'],
        action: 'BECOME_SUBSCRIBER',
        planAction: 'function',
      })
    },
    5 * MINUTES,
  )

  it(
    'runs its bins with npx: help and version',
    async () => {
      const help = await run(NPX, ['--no-install', 'conax-sim', '--help'], { cwd: project })
      expect(help.stdout).toContain('Usage: conax-sim')
      for (const bin of ['conax-sim', 'conax-adapter', 'conax-conformance']) {
        const version = await run(NPX, ['--no-install', bin, '--version'], { cwd: project })
        expect(version.stdout.trim(), bin).toBe(own.version)
      }
    },
    2 * MINUTES,
  )

  it('holds only what runs: no sources, tests, benchmarks or source maps', async () => {
    const { stdout } = await run(NPM, ['ls', '--parseable', own.name], { cwd: project })
    const installed = stdout.trim().split('\n').at(-1) ?? ''
    const files = await run('find', [installed, '-type', 'f'])
    const paths = files.stdout
      .trim()
      .split('\n')
      .map((file) => file.slice(installed.length + 1))
    expect(paths).toContain('dist/simulator/src/index.js')
    expect(paths).toContain('fixtures/wsdl/subscription.wsdl')
    // What the code reads at run time: the consoles' static files, the SQL migrations, the demo.
    expect(paths).toEqual(
      expect.arrayContaining([
        'common/console/console.js',
        'simulator/console/app.js',
        'src/console/app.js',
        'src/infrastructure/postgres/migrations/0001_initial.sql',
        'fixtures/examples/crm-history.yaml',
      ]),
    )
    expect(
      paths.filter((path) =>
        /\.test\.|\.map$|\/bench\/|^(src|simulator|common|conformance)\/.*\.ts$/.test(path),
      ),
    ).toEqual([])
  })
})
