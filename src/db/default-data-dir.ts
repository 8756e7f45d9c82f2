/** Where the embedded ledger lives by default, relative to the working directory (no module loaded for it). */
import { join } from 'node:path';

export const DEFAULT_DATA_DIR = join('.hh-sync', 'pgdata');
