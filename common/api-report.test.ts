import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// The public surface of each entry point of the package, as a checked-in list (docs/api/): a name
// added, removed or turned from a type into a value fails this test until the list is updated on
// purpose with `npm run api:report`, so nothing becomes public (or stops being) by accident.
const ROOT = join(import.meta.dirname, '..')
const ENTRY_POINTS = {
  simulator: 'simulator/src/index.ts',
  adapter: 'src/index.ts',
  conformance: 'conformance/src/index.ts',
} as const

type Entry = keyof typeof ENTRY_POINTS

function kindOf(symbol: ts.Symbol): string {
  const flags = symbol.flags
  if (flags & ts.SymbolFlags.Class) {
    return 'class'
  }
  if (flags & ts.SymbolFlags.Function) {
    return 'function'
  }
  if (flags & ts.SymbolFlags.Variable) {
    return 'const'
  }
  if (flags & ts.SymbolFlags.Interface) {
    return 'interface'
  }
  if (flags & ts.SymbolFlags.TypeAlias) {
    return 'type'
  }
  return 'other'
}

/** `kind name` of every export of each entry point, sorted by name. */
function publicNames(): Record<Entry, string[]> {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (file) => ts.sys.readFile(file))
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT)
  const files = Object.values(ENTRY_POINTS).map((file) => join(ROOT, file))
  const program = ts.createProgram(files, { ...options, noEmit: true })
  const checker = program.getTypeChecker()
  const names = {} as Record<Entry, string[]>
  for (const [entry, file] of Object.entries(ENTRY_POINTS) as [Entry, string][]) {
    const source = program.getSourceFile(join(ROOT, file))!
    const module = checker.getSymbolAtLocation(source)!
    names[entry] = checker
      .getExportsOfModule(module)
      .map((symbol) => {
        const target =
          symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
        return `${kindOf(target)} ${symbol.name}`
      })
      .sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!))
  }
  return names
}

const reportFile = (entry: Entry): string => join(ROOT, 'docs', 'api', `${entry}.api.txt`)

function report(entry: Entry, names: readonly string[]): string {
  return [
    `# Public names of conax-contego-sim/${entry} (${ENTRY_POINTS[entry]}); npm run api:report rewrites this file.`,
    ...names,
    '',
  ].join('\n')
}

describe('the public surface of the package', () => {
  it('is the checked-in API report of each entry point', () => {
    const names = publicNames()
    for (const entry of Object.keys(ENTRY_POINTS) as Entry[]) {
      const expected = report(entry, names[entry])
      if (process.env.UPDATE_API_REPORT === '1') {
        writeFileSync(reportFile(entry), expected)
      }
      const actual = existsSync(reportFile(entry)) ? readFileSync(reportFile(entry), 'utf8') : ''
      expect(actual, `docs/api/${entry}.api.txt: run npm run api:report if intended`).toBe(expected)
    }
  }, 60_000)

  it('exports each entry point and its types from dist/, and ships what the code reads at run time', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      private?: boolean
      exports: Record<string, { types: string; default: string } | string>
      files: string[]
      bin: Record<string, string>
      version: string
    }
    expect(pkg.private).toBeUndefined()
    for (const [entry, source] of Object.entries(ENTRY_POINTS)) {
      const compiled = source.replace(/\.ts$/, '')
      expect(pkg.exports[`./${entry}`]).toEqual({
        types: `./dist/${compiled}.d.ts`,
        default: `./dist/${compiled}.js`,
      })
    }
    for (const needed of [
      'bin/',
      'fixtures/catalogue.json',
      'fixtures/wsdl/',
      'fixtures/scenarios/',
      'conformance/scenario.schema.json',
    ]) {
      expect(pkg.files).toContain(needed)
    }
    for (const bin of Object.values(pkg.bin)) {
      expect(existsSync(join(ROOT, bin)), bin).toBe(true)
    }
    expect(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')).toContain(`## [${pkg.version}]`)
  })
})
