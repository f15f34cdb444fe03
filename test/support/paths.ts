import { resolve } from 'node:path';

/**
 * The repository root, whether this file runs from test/support (jest, ts-jest) or
 * compiled from .build/test/support (benchmarks): helper scripts kept as .js and the
 * built CLI are found from here, never from the compiled copy's neighbours.
 */
export const REPO_ROOT = resolve(__dirname, __dirname.split(/[\\/]/).includes('.build') ? '../../..' : '../..');

export const repoPath = (...parts: string[]): string => resolve(REPO_ROOT, ...parts);
