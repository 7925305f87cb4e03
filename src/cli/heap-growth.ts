/**
 * How far V8 lets the adapter's heap grow past what was live at its last full collection. V8's own
 * factor (up to about 4x) lets a delivering adapter reach a peak RSS several times its live heap:
 * the garbage of each SOAP exchange waits for a full collection that comes late. A fixed, smaller
 * factor (`--heap-growing-percent`) collects sooner for a little more CPU, and unlike a heap cap
 * (`--max-old-space-size`) it never makes a process with a large PENDING backlog run out of heap.
 * The CLI sets it at start (docs/decisions/0021-adapter-heap-growth.md).
 * @module
 */

/** The `--heap-growth` the CLI uses when none is given: 30 % over the live heap. */
export const DEFAULT_HEAP_GROWTH_PERCENT = 30

/** The smallest and largest `--heap-growth` accepted (besides 0, V8's own sizing). */
export const HEAP_GROWTH_RANGE = { min: 10, max: 400 } as const

/** What the CLI does with the heap: set the growth, or leave V8's sizing and say why. */
export type HeapGrowthDecision =
  | { readonly kind: 'set'; readonly percent: number; readonly flag: string }
  | { readonly kind: 'v8-default'; readonly reason: 'asked' | 'node-flag' }

/** V8 flag names in both spellings V8 accepts (`_` or `-`), normalised to dashes. */
function flagNames(words: readonly string[]): string[] {
  return words
    .filter((word) => word.startsWith('--'))
    .map((word) => (word.split('=')[0] ?? '').replaceAll('_', '-'))
}

/**
 * Decides the heap growth for `percent` (0: V8's own sizing): a growth set by Node flags on the
 * command line (`execArgv`) or in `NODE_OPTIONS` wins, so an operator's own tuning is never
 * overridden.
 */
export function decideHeapGrowth(
  percent: number,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): HeapGrowthDecision {
  const given = flagNames([...execArgv, ...(nodeOptions ?? '').split(/\s+/)])
  if (given.includes('--heap-growing-percent')) {
    return { kind: 'v8-default', reason: 'node-flag' }
  }
  if (percent === 0) {
    return { kind: 'v8-default', reason: 'asked' }
  }
  return { kind: 'set', percent, flag: `--heap-growing-percent=${percent}` }
}

/** The start line that says how the heap is sized. */
export function heapGrowthLine(decision: HeapGrowthDecision): string {
  switch (decision.kind) {
    case 'set':
      return `  Memory: the heap grows ${decision.percent} % past the live heap between full collections (--heap-growth; 0 leaves V8's own sizing)`
    case 'v8-default':
      return decision.reason === 'asked'
        ? "  Memory: V8's own heap sizing (--heap-growth 0)"
        : '  Memory: the heap growth given to Node (--heap-growing-percent) is kept'
  }
}
