/**
 * Starting OpenTelemetry's Node SDK, for traces only, when the standard `OTEL_*` variables ask for it
 * (opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables). Off by default: the gateway's
 * spans (graph-api/tracing.ts, plugins/use-tracing.ts) then go to `@opentelemetry/api`'s no-op tracer.
 */
import { SERVICE_NAME } from './graph-api/tracing.js';

/** A started SDK: `shutdown()` exports the spans still buffered. */
export interface Tracing {
  /** What the start-up log says of it. */
  readonly description: string;
  shutdown(): Promise<void>;
}

/**
 * Whether `env` asks for traces: an exporter other than `none` (`OTEL_TRACES_EXPORTER`) or an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), unless `OTEL_SDK_DISABLED=true`.
 * The SDK alone would export to localhost:4318 with no variable set at all: the gateway asks first.
 */
export function tracesConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (exporters.length > 0) return !exporters.every((name) => name === 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/**
 * Starts the SDK when `env` asks for traces (see {@link tracesConfigured}); `undefined` otherwise. The SDK reads
 * every other `OTEL_*` variable itself (protocol, headers, sampler, propagators, resource attributes); its
 * metrics and logs stay off (the gateway's metrics are Prometheus', its logs pino's). Imported lazily: a gateway
 * without traces never loads it.
 */
export async function startTracing(env: NodeJS.ProcessEnv): Promise<Tracing | undefined> {
  if (!tracesConfigured(env)) return undefined;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || SERVICE_NAME,
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const exporter = env.OTEL_TRACES_EXPORTER?.trim() || 'otlp';
  const endpoint = originOf(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
  return {
    description: `Traces: exported with OTEL_TRACES_EXPORTER=${exporter}${endpoint === undefined ? '' : ` to ${endpoint}`}`,
    shutdown: () => sdk.shutdown(),
  };
}

/** An endpoint's origin only: its userinfo or query could hold a credential, which a log line must not. */
function originOf(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
