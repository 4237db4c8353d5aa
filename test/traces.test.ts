/**
 * Traces (issue 19): with an OpenTelemetry SDK registered (here an in-memory one), an operation's span holds
 * its budget waits, each wait the Graph request it let leave, each batch request its items; an incoming
 * `traceparent` continues the caller's trace and the Graph requests carry it on; no span holds a token.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEMO } from '../src/emulator/index.js';
import { tracesConfigured } from '../src/tracing.js';
import { InboxDocument } from './generated/graphql.js';
import { ACME, assertNoSecrets, serveOnLoopback, startHarness, type Harness } from './support/harness.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
beforeAll(() => {
  provider.register();
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
beforeEach(() => exporter.reset());

const INCOMING_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const INCOMING_PARENT_ID = 'b7ad6b7169203331';

const spansNamed = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((span) => span.name === name);
const only = (name: string): ReadableSpan => {
  const spans = spansNamed(name);
  expect(spans.map((span) => span.name)).toEqual([name]);
  return spans[0]!;
};
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

describe('traces of an inbox query (read cache off, a per-Page budget)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ scheduler: { pageCallsPerSecond: 10 } });
  });
  afterAll(() => h.close());
  beforeEach(() => h.emulator.log.clear());

  it('operation → budget wait → Graph batch request with one event per item', async () => {
    const result = await h.run(InboxDocument, { pageId: ACME, first: 3, messagesFirst: 1 });
    expect(result.errors).toBeUndefined();

    const operation = only('query Inbox');
    expect(operation.attributes).toEqual({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'Inbox' });
    expect(parentOf(operation)).toBeUndefined();
    // The page's own read spends no budget: only the conversations read waits in the Page's line.
    const wait = only('graph.budget.wait');
    expect(parentOf(wait)).toBe(idOf(operation));
    expect(wait.attributes).toEqual({ 'graph.budget.calls': 1, 'graph.attempt': 1, 'graph.budget.outcome': 'granted' });
    const request = only('graph.request');
    expect(parentOf(request)).toBe(idOf(wait));
    expect(request.attributes).toEqual({ 'http.request.method': 'POST', 'graph.batch.items': 2, 'http.response.status_code': 200 });
    expect(request.events.map((event) => [event.name, event.attributes])).toEqual([
      ['graph.batch.item', { 'graph.relative_path': 'v25.0/1000000001', 'http.response.status_code': 200 }],
      ['graph.batch.item', { 'graph.relative_path': 'v25.0/1000000001/conversations', 'http.response.status_code': 200 }],
    ]);
    expect(exporter.getFinishedSpans()).toHaveLength(3);
  });

  it("an incoming traceparent's trace continues, and the Graph request carries it on", async () => {
    const result = await h.run(
      InboxDocument,
      { pageId: ACME, first: 3, messagesFirst: 1 },
      { headers: { traceparent: `00-${INCOMING_TRACE_ID}-${INCOMING_PARENT_ID}-01` } },
    );
    expect(result.errors).toBeUndefined();
    expect(new Set(exporter.getFinishedSpans().map((span) => span.spanContext().traceId))).toEqual(new Set([INCOMING_TRACE_ID]));
    expect(parentOf(only('query Inbox'))).toBe(INCOMING_PARENT_ID);
    const request = only('graph.request');
    expect(h.emulator.log.entries.map((entry) => [entry.path, entry.traceparent])).toEqual([
      ['/v25.0/', `00-${INCOMING_TRACE_ID}-${idOf(request)}-01`],
    ]);
  });

  it('an operation over a WebSocket has its span, with its reads under it', async () => {
    const { server, origin } = await serveOnLoopback(h.app);
    const client = createClient({ url: `${origin.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const answer = await client.iterate({ query: print(InboxDocument), variables: { pageId: ACME, first: 3, messagesFirst: 1 } }).next();
      expect((answer.value as { errors?: unknown }).errors).toBeUndefined();
    } finally {
      await client.dispose();
      await server.drain(0);
    }
    const operation = only('query Inbox');
    expect(operation.attributes).toEqual({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'Inbox' });
    const wait = only('graph.budget.wait');
    expect(parentOf(wait)).toBe(idOf(operation));
    expect(parentOf(only('graph.request'))).toBe(idOf(wait));
  });

  it('no span holds a token, a proof or a Graph URL', async () => {
    await h.run(InboxDocument, { pageId: ACME, first: 3, messagesFirst: 1 });
    // A user's token too, whose Page token the gateway reads first (`me/accounts`).
    const result = await h.run(InboxDocument, { pageId: ACME, first: 1 }, { token: DEMO.tokens.alice });
    expect(result.errors).toBeUndefined();
    const spans = exporter.getFinishedSpans();
    const paths = (span: ReadableSpan): unknown[] =>
      span.events.length === 0
        ? [span.attributes['graph.relative_path']]
        : span.events.map((event) => event.attributes?.['graph.relative_path']);
    expect(spansNamed('graph.request').map(paths)).toEqual([
      ['v25.0/1000000001', 'v25.0/1000000001/conversations'],
      ['v25.0/me', 'v25.0/me/accounts'],
      ['v25.0/1000000001', 'v25.0/1000000001/conversations'],
    ]);
    for (const span of spans) {
      assertNoSecrets(JSON.stringify([span.name, span.attributes, span.events.map((event) => [event.name, event.attributes])]));
    }
  });
});

describe('traces of read cache lookups', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ cache: { maxAgeMs: 60_000 } });
  });
  afterAll(() => h.close());

  it('a miss, then a hit on the same read', async () => {
    await h.run(InboxDocument, { pageId: ACME, first: 3, messagesFirst: 1 });
    // The Page's name and its conversations: both kept by the read cache.
    expect(spansNamed('graph.cache.lookup').map((span) => span.attributes)).toEqual([
      { 'graph.cache.result': 'miss' },
      { 'graph.cache.result': 'miss' },
    ]);
    exporter.reset();
    // Another document making the same reads (the same one would be answered whole, with no lookup at all).
    const again = await h.post({ query: `${print(InboxDocument)}\n# again`, variables: { pageId: ACME, first: 3, messagesFirst: 1 } });
    expect(again.body.errors).toBeUndefined();
    const lookups = spansNamed('graph.cache.lookup');
    expect(lookups.map((span) => span.attributes)).toEqual([{ 'graph.cache.result': 'hit' }, { 'graph.cache.result': 'hit' }]);
    for (const lookup of lookups) expect(parentOf(lookup)).toBe(idOf(only('query Inbox')));
    expect(spansNamed('graph.request')).toEqual([]);
  });
});

describe('tracesConfigured: off unless the OTEL_* variables ask for traces', () => {
  it.each([
    [{}, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }, false],
  ])('%j → %s', (env, on) => {
    expect(tracesConfigured(env)).toBe(on);
  });
});
