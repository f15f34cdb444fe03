/** Prints docs/tieredtable-reference.md (`make docs`). An entry point: it writes to stdout. */
import { renderSpecReference } from './spec-docs';

process.stdout.write(renderSpecReference());
