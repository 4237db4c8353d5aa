/**
 * The emulator's deterministic demo world, one job per module: the `DEMO` fixture (`seed/demo.ts`), the word
 * tables (`seed/words.ts`), the draws over the PRNG (`seed/draws.ts`, `random.ts`), messages (`seed/content.ts`),
 * the world (`seed/world.ts`) and the showcase content (`seed/showcase.ts`).
 */
export { DEMO, SEED_NOW } from './seed/demo.js';
export { createSeedWorld, type SeedWorld, snippetOf } from './seed/world.js';
export { AGENCY, createAgencyWorld } from './seed/agency.js';
export { BRAND, createBrandWorld } from './seed/brand.js';
export { createScaleWorld, SCALE } from './seed/scale.js';
