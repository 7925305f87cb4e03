import { readdir, readFile, stat } from 'node:fs/promises'
import { dirname, extname, join, relative, resolve } from 'node:path'
import { isNode, LineCounter, parseDocument, visit, type Document } from 'yaml'
import type { z } from 'zod'
import {
  ConfigError,
  loadProvider,
  parseProvider,
  type ProvisioningProvider,
} from '../../../src/index.js'
import { ScenarioError, type ScenarioIssue } from './scenario-error.js'
import { checkedScenarioSchema, whenStepSchema, type ScenarioData } from './schema.js'

/** A scenario ready to run: its file, its checked content and its provider. */
export interface Scenario {
  /** The file as given (relative to the working directory when possible). */
  readonly file: string
  readonly data: ScenarioData
  readonly provider: ProvisioningProvider
}

const SCENARIO_EXTENSIONS = new Set(['.yaml', '.yml'])

/** A folder of this name, inside a searched folder, holds provider files, not scenarios. */
const PROVIDER_FOLDER = 'providers'
/** A file named like this is a provider file wherever it lies. */
const PROVIDER_FILE = /\.provider\.ya?ml$/

/**
 * Whether a file found in a searched folder is a scenario: a `.yaml`/`.yml` file that is neither
 * named `*.provider.yaml|yml` nor under a folder named `providers` (below the searched folder,
 * so that the searched folder's own location does not matter).
 */
export function isScenarioFile(pathInFolder: string): boolean {
  const parts = pathInFolder.split(/[\\/]/)
  const name = parts.at(-1) ?? ''
  return (
    SCENARIO_EXTENSIONS.has(extname(name)) &&
    !PROVIDER_FILE.test(name) &&
    !parts.slice(0, -1).includes(PROVIDER_FOLDER)
  )
}

/**
 * Alias expansions allowed in a scenario file (the yaml package counts each alias times the
 * aliases inside what it names): plenty for reusing a message text, and an alias bomb of a few
 * lines is refused before it expands.
 */
const MAX_YAML_ALIASES = 50
const MAX_ISSUES = 20

/**
 * The scenario files named by `paths`: files as they are, folders searched recursively for
 * `.yaml`/`.yml` files (sorted, so runs are repeatable), leaving out provider files (see
 * {@link isScenarioFile}) so that a scenario folder can carry its providers and be copied whole.
 * A path that does not exist is an error.
 */
export async function findScenarioFiles(paths: readonly string[]): Promise<string[]> {
  const found: string[] = []
  for (const path of paths) {
    const info = await stat(path).catch(() => null)
    if (!info) {
      throw new ScenarioError('SCENARIO_NOT_FOUND', path, [
        { path: '', reason: 'no such file or folder', line: null, column: null },
      ])
    }
    if (info.isDirectory()) {
      const entries = await readdir(path, { recursive: true, withFileTypes: true })
      found.push(
        ...entries
          .filter((entry) => entry.isFile())
          .map((entry) => join(entry.parentPath, entry.name))
          .filter((file) => isScenarioFile(relative(path, file)))
          .sort(),
      )
    } else {
      found.push(path)
    }
  }
  return [...new Set(found.map((file) => displayPath(file)))]
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file))
  return rel.startsWith('..') ? resolve(file) : rel
}

/** Reads, parses and checks one scenario file; every problem becomes a located {@link ScenarioError}. */
export async function loadScenario(file: string): Promise<Scenario> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new ScenarioError('SCENARIO_UNREADABLE', file, [
      {
        path: '',
        reason: `cannot be read (${error instanceof Error ? error.message : String(error)})`,
        line: null,
        column: null,
      },
    ])
  })
  return parseScenario(text, file)
}

/** Parses and checks scenario text (`file` names it in errors and anchors a provider file reference). */
export async function parseScenario(text: string, file: string): Promise<Scenario> {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      'SCENARIO_YAML',
      file,
      doc.errors.slice(0, MAX_ISSUES).map((error) => {
        const at = lineCounter.linePos(error.pos[0])
        return {
          path: '',
          reason: `YAML: ${error.message.split('\n')[0] ?? error.code}`,
          line: at.line,
          column: at.col,
        }
      }),
    )
  }
  const raw = toPlain(doc, lineCounter, file)
  const parsed = checkedScenarioSchema.safeParse(raw)
  if (!parsed.success) {
    const issues = parsed.error.issues
      .flatMap((issue) => specificIssues(issue, raw))
      .slice(0, MAX_ISSUES)
      .map((issue) => locate(doc, lineCounter, issue.path, issue.message))
    throw new ScenarioError('SCENARIO_INVALID', file, issues)
  }
  const provider = await resolveProvider(parsed.data.provider, file, doc, lineCounter)
  return { file, data: parsed.data, provider }
}

/**
 * The document as plain values. Aliases are resolved only here, so an alias without its anchor
 * and an alias bomb (a few lines that expand to millions of nodes) fail here: located errors too.
 */
function toPlain(doc: Document, lineCounter: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    let at: { line: number; col: number } | null = null
    visit(doc, {
      Alias(_key, node) {
        const unresolved = node.resolve(doc) === undefined
        if (node.range && (unresolved || at === null)) {
          at = lineCounter.linePos(node.range[0])
          if (unresolved) {
            return visit.BREAK
          }
        }
        return undefined
      },
    })
    const found = at as { line: number; col: number } | null
    throw new ScenarioError('SCENARIO_YAML', file, [
      {
        path: '',
        reason: /alias count/i.test(message)
          ? `YAML: aliases expand to too many nodes (more than ${MAX_YAML_ALIASES} alias expansions)`
          : `YAML: ${message.split('\n')[0] ?? message}`,
        line: found?.line ?? 1,
        column: found?.col ?? 1,
      },
    ])
  }
}

type Issue = z.core.$ZodIssue

/**
 * A union that matched no branch says only "invalid input"; the branch the author meant is the one
 * named by the step's key (crm, utility, api, run, ca), else the one that got furthest.
 */
function specificIssues(issue: Issue, raw: unknown): { path: PropertyKey[]; message: string }[] {
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const value = valueAt(raw, issue.path)
    if (issue.path.length === 2 && issue.path[0] === 'when') {
      const chosen = whenStepSchema.options.find((option) =>
        Object.keys(option.shape).some(
          (key) => key !== 'comment' && key !== 'expect' && isRecord(value) && key in value,
        ),
      )
      if (!chosen) {
        return [
          {
            path: issue.path,
            message: 'must be a step with one of the keys crm, utility, api, run or ca',
          },
        ]
      }
      const result = chosen.safeParse(value)
      if (!result.success) {
        return result.error.issues.flatMap((inner) =>
          specificIssues({ ...inner, path: [...issue.path, ...inner.path] }, raw),
        )
      }
    }
    const best = [...issue.errors].sort(
      (a, b) => depth(b) - depth(a) || a.length - b.length,
    )[0] as Issue[]
    return best.flatMap((inner) =>
      specificIssues({ ...inner, path: [...issue.path, ...inner.path] }, raw),
    )
  }
  return [{ path: issue.path, message: wording(issue) }]
}

function depth(issues: readonly Issue[]): number {
  return Math.max(0, ...issues.map((issue) => issue.path.length))
}

function wording(issue: Issue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `'${k}'`).join(', ')} (check the spelling against conformance/README.md)`
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? issue.message
    const key = issue.path.at(-1)
    // YAML reads an unquoted 01450250001 as the number 1450250001: the leading zero is gone.
    const hint =
      typeof key === 'string' && /^\d+$/.test(key)
        ? ` (YAML read the key as the number ${key}: quote it, e.g. '01450250001')`
        : ''
    return `key: ${inner}${hint}`
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
    return `is required (${issue.expected})`
  }
  return issue.message
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw
  for (const key of path) {
    value = isRecord(value) || Array.isArray(value) ? (value as never)[key as never] : undefined
  }
  return value
}

/** The closest node that exists on the path (a missing key points at its parent). */
function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  reason: string,
): ScenarioIssue {
  const keys = path.map((key) => (typeof key === 'symbol' ? String(key) : key))
  let line: number | null = null
  let column: number | null = null
  for (let length = keys.length; length >= 0; length--) {
    const node: unknown = length === 0 ? doc.contents : doc.getIn(keys.slice(0, length), true)
    if (isNode(node) && node.range) {
      const at = lineCounter.linePos(node.range[0])
      line = at.line
      column = at.col
      break
    }
  }
  // Nothing to point at (an empty file): its first line.
  return { path: formatPath(keys), reason, line: line ?? 1, column: column ?? 1 }
}

function formatPath(keys: readonly (string | number)[]): string {
  return keys
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${key}`))
    .join('')
}

async function resolveProvider(
  provider: ScenarioData['provider'],
  file: string,
  doc: Document,
  lineCounter: LineCounter,
): Promise<ProvisioningProvider> {
  try {
    return typeof provider === 'string'
      ? await loadProvider(resolve(dirname(file), provider))
      : parseProvider(provider, `${file} (provider)`)
  } catch (error) {
    if (error instanceof ConfigError) {
      const base = typeof provider === 'string' ? [] : ['provider']
      const issues =
        error.issues.length > 0
          ? error.issues.map((issue) =>
              locate(
                doc,
                lineCounter,
                [
                  'provider',
                  ...(typeof provider === 'string' ? [] : issue.path.split('.').filter(Boolean)),
                ],
                typeof provider === 'string'
                  ? `${provider}: ${issue.path} ${issue.rule}`
                  : issue.rule,
              ),
            )
          : [locate(doc, lineCounter, ['provider', ...base.slice(1)], error.message)]
      throw new ScenarioError('PROVIDER_INVALID', file, issues)
    }
    throw error
  }
}
