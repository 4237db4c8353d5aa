/**
 * GraphiQL served whole by the gateway: its script, styles (fonts inlined), editor workers and favicon
 * come from `@graphql-yoga/render-graphiql` (the GraphiQL build yoga publishes, about 9 MB) and are served
 * under GRAPHIQL_ASSETS_PATH, so GraphiQL works with no internet. Yoga's built-in page loads them from
 * unpkg and stays at "Loading…" offline.
 */
import { createHash } from 'node:crypto';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

/** Where the assets are served, below the GraphQL endpoint so a proxy passing `/graphql` on passes them too. */
export const GRAPHIQL_ASSETS_PATH = '/graphql/graphiql';

/** Where the page remembers the demo query this browser was last shown (GraphiQL's own keys start `graphiql:`). */
export const DEMO_SEEN_KEY = 'graphiql:gateway-demo-seen';

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
}

interface Assets {
  /** Content hash, in every asset's URL: a new GraphiQL build gets new URLs, so browsers may cache forever. */
  version: string;
  files: ReadonlyMap<string, Asset>;
}

let loading: Promise<Assets> | undefined;

/** Loads and encodes the assets once per process, on the first request that needs them (not at start-up). */
function loadAssets(): Promise<Assets> {
  loading ??= import('@graphql-yoga/render-graphiql/graphiql').then((bundle) => {
    const text = (source: string, contentType: string): Asset => ({ body: Buffer.from(source), contentType });
    const favicon = /^data:([^;,]+);base64,(.*)$/s.exec(bundle.favicon);
    const files = new Map<string, Asset>([
      ['graphiql.js', text(bundle.js, 'text/javascript; charset=utf-8')],
      ['graphiql.css', text(bundle.css, 'text/css; charset=utf-8')],
      ['editor.worker.js', text(bundle.editorWorkerService, 'text/javascript; charset=utf-8')],
      ['json.worker.js', text(bundle.jsonWorker, 'text/javascript; charset=utf-8')],
      ['graphql.worker.js', text(bundle.graphqlWorker, 'text/javascript; charset=utf-8')],
    ]);
    if (favicon) files.set('favicon.ico', { body: Buffer.from(favicon[2]!, 'base64'), contentType: favicon[1]! });
    const hash = createHash('sha256');
    for (const [name, file] of files) hash.update(name).update(file.body);
    return { version: hash.digest('hex').slice(0, 16), files };
  });
  return loading;
}

/** JSON safe inside a `<script>`: no `</script>` in a string can end the element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));

/**
 * GraphiQL's page, for yoga's `renderGraphiQL` option: a small HTML page loading the assets from
 * {@link useGraphiQLAssets}. `defaultQuery` opens the first time a browser meets it, even where GraphiQL
 * has stored tabs (which otherwise win over `defaultQuery`).
 */
export async function renderGraphiQLPage(options: GraphiQLOptions): Promise<string> {
  const { version, files } = await loadAssets();
  const base = `${GRAPHIQL_ASSETS_PATH}/${version}`;
  const { defaultQuery, ...rest } = options;
  const favicon = options.favicon ?? (files.has('favicon.ico') ? `${base}/favicon.ico` : undefined);
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? 'GraphiQL')}</title>
    ${favicon === undefined ? '' : `<link rel="icon" href="${escapeHtml(favicon)}" />`}
    <link rel="stylesheet" href="${base}/graphiql.css" />
    <script src="${base}/graphiql.js"></script>
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
    <script>
      const workers = { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' };
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (moduleId, label) => ${scriptJson(base)} + '/' + workers[label] };
      const options = ${scriptJson(rest)};
      const demo = ${scriptJson(defaultQuery ?? null)};
      // GraphiQL opens the tabs it stored in localStorage and ignores defaultQuery once any exist (another
      // GraphiQL's on this origin too). Give it the demo as initialQuery the first time this browser meets
      // the demo: GraphiQL then selects the tab holding it, or adds one. Later visits restore the user's
      // tabs; a ?query= in the address (a shared link, a reload after an edit) always wins.
      if (demo !== null) {
        options.defaultQuery = demo;
        let demoIsNew = true;
        try {
          demoIsNew = localStorage.getItem(${scriptJson(DEMO_SEEN_KEY)}) !== demo;
          localStorage.setItem(${scriptJson(DEMO_SEEN_KEY)}, demo);
        } catch {}
        if (demoIsNew && !new URLSearchParams(location.search).has('query')) options.initialQuery = demo;
      }
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), options);
    </script>
  </body>
</html>
`;
}

/**
 * Serves GraphiQL's assets at `GRAPHIQL_ASSETS_PATH/<version>/<file>`, cacheable forever (the version is
 * their content hash). Put it after any plugin that sets `Cache-Control` on every response: its own
 * header must be the last word on these files.
 */
export function useGraphiQLAssets(): Plugin {
  const prefix = `${GRAPHIQL_ASSETS_PATH}/`;
  const isAsset = (pathname: string): boolean => pathname.startsWith(prefix);
  return {
    // Synchronous for every other request: an async hook would cost each of them a promise.
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (!isAsset(url.pathname) || (request.method !== 'GET' && request.method !== 'HEAD')) return;
      return serveAsset(request, url, fetchAPI, endResponse);
    },
    onResponse({ request, response }) {
      if (response.status === 200 && request.url.includes(prefix) && isAsset(new URL(request.url).pathname)) {
        response.headers.set('cache-control', 'public, max-age=31536000, immutable');
      }
    },
  };

  async function serveAsset(
    request: Request,
    url: URL,
    fetchAPI: { Response: typeof Response },
    endResponse: (response: Response) => void,
  ): Promise<void> {
    const { version, files } = await loadAssets();
    const [requestedVersion, name, ...extra] = url.pathname.slice(prefix.length).split('/');
    const file = requestedVersion === version && extra.length === 0 && name !== undefined ? files.get(name) : undefined;
    if (file === undefined) {
      endResponse(new fetchAPI.Response('Not found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } }));
      return;
    }
    endResponse(
      new fetchAPI.Response(request.method === 'HEAD' ? null : file.body, {
        headers: { 'content-type': file.contentType, 'content-length': String(file.body.byteLength) },
      }),
    );
  }
}
