/**
 * The emulator in its own process for the benchmark; prints its URL as one JSON line.
 * BENCH_UPSTREAM_LATENCY_MS gives every answer a Graph-like delay.
 */
import { startEmulator } from '../src/emulator/index.js';

const emulator = await startEmulator({ privacyFiltering: false });
const latency = Number(process.env.BENCH_UPSTREAM_LATENCY_MS ?? 0);
if (latency > 0) emulator.faults.inject({ kind: 'latency', ms: latency }, { times: Number.POSITIVE_INFINITY });
console.log(JSON.stringify({ url: emulator.url }));
process.once('SIGTERM', () => void emulator.close().then(() => process.exit(0)));
