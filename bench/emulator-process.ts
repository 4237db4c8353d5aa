/** The emulator in its own process for the benchmark; prints its URL as one JSON line. */
import { startEmulator } from '../src/emulator/index.js';

const emulator = await startEmulator({ privacyFiltering: false });
console.log(JSON.stringify({ url: emulator.url }));
process.once('SIGTERM', () => void emulator.close().then(() => process.exit(0)));
