/**
 * The routes an express app or router serves, as `method path` with OpenAPI's `{param}` for
 * express's `:param`, read from its layer stack (sub-routers mounted without a path included):
 * what a test compares with an OpenAPI document's operations.
 */
interface Layer {
  readonly route?: { readonly path: string; readonly methods: Record<string, boolean> }
  readonly handle?: { readonly stack?: readonly Layer[] }
}

/** Every `method path` of `stack` (an express Router's `stack`, or an app's `router.stack`). */
export function routesOf(stack: readonly unknown[]): string[] {
  const routes: string[] = []
  for (const layer of stack as readonly Layer[]) {
    if (layer.route) {
      const path = layer.route.path.replace(/:(\w+)/g, '{$1}')
      const methods = Object.entries(layer.route.methods).filter(
        ([method, on]) => on && method !== '_all',
      )
      routes.push(...methods.map(([method]) => `${method} ${path}`))
    } else if (layer.handle?.stack) {
      routes.push(...routesOf(layer.handle.stack))
    }
  }
  return routes.sort()
}

/** Every `method path` of an OpenAPI document's `paths`. */
export function operationsOf(document: Record<string, unknown>): string[] {
  const paths = document.paths as Record<string, Record<string, unknown>>
  return Object.entries(paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`))
    .sort()
}
